import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadKubeConfig } from '../../src/config/index.js';
import { KubeConfigError } from '../../src/errors.js';
import { fuzzRuns, fuzzTimeout } from '../support/fuzz.js';
import { absurdNumber, hostileString, longRun, looseValue } from '../support/json-arbitraries.js';
import { b64, CA_PEM, expectNotShown, pem, tempDir, writeFile } from './helpers.js';

/** Distinct per run, so that a leak is never a coincidence. */
const secretArb = fc.stringMatching(/^[a-z0-9]{10}$/).map((s) => `sekret-${s}`);

/** Names that collide across entries, and ones that should not be names at all. */
const name = fc.oneof(
  { weight: 12, arbitrary: fc.constant('a') },
  { weight: 3, arbitrary: fc.constantFrom('b', 'c') },
  { weight: 1, arbitrary: hostileString },
);

/** Paths relative to the kubeconfig's directory: a PEM file, a file of junk, a directory, nothing, NUL. */
const fileRef = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('ca.pem', 'sub/../ca.pem') },
  { weight: 2, arbitrary: fc.constantFrom('junk', 'sub', 'missing.pem', '', 'a\u0000b') },
);

const server = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.constantFrom(
      'https://c.example:6443',
      'c.example',
      'http://10.0.0.1',
      'https://[fd00::1]:443/',
    ),
  },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'https://user:pw@c.example',
      'ftp://c.example',
      'https://c.example/?q=1',
      'https://c.example:99999',
      '',
      '   ',
    ),
  },
  { weight: 4, arbitrary: hostileString },
  // Rare: each costs milliseconds to write and parse, and one in a run is enough to show a hang.
  { weight: 1, arbitrary: longRun.map((run) => `https://c.example/${run}x`) },
);

const base64Data = fc.oneof(
  { weight: 10, arbitrary: fc.constant(b64(CA_PEM)) },
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      b64('not a certificate'),
      '%%%',
      'QUJD=',
      '====',
      'AB=CD',
      'Zm9v\nYmFy',
      '\u00e9\u00e9',
    ),
  },
  { weight: 3, arbitrary: hostileString },
  { weight: 1, arbitrary: longRun.map((run) => `${run}!`) },
);

const cluster = fc
  .tuple(
    fc.record(
      { server, 'tls-server-name': hostileString, 'insecure-skip-tls-verify': fc.boolean() },
      { requiredKeys: ['server'] },
    ),
    fc.oneof(
      fc.constant({}),
      fc.record({ 'certificate-authority-data': base64Data }),
      fc.record({ 'certificate-authority': fileRef }),
    ),
  )
  .map(([fields, ca]) => ({ ...fields, ...ca }));

/** A user with one way to authenticate (or none), all its secrets `secret`. */
function userArb(secret: string) {
  return fc.oneof(
    fc.constant({}),
    fc.constant({ token: secret }),
    fc.record({ tokenFile: fileRef }),
    fc.record({
      'client-certificate-data': base64Data,
      'client-key-data': fc.constant(b64(pem('PRIVATE KEY', secret))),
    }),
    fc.record({ 'client-certificate': fileRef, 'client-key': fileRef }),
    fc.record(
      {
        exec: fc.record(
          {
            apiVersion: fc.constantFrom(
              'client.authentication.k8s.io/v1',
              'client.authentication.k8s.io/v1beta1',
            ),
            command: fc.constantFrom('kubelogin', './plugin', '/bin/false'),
            args: fc.array(fc.oneof(fc.constant(secret), hostileString), { maxLength: 2 }),
            env: fc.array(fc.record({ name: fc.constantFrom('A', 'B'), value: fc.constant(secret) }), {
              maxLength: 2,
            }),
            provideClusterInfo: fc.boolean(),
            interactiveMode: fc.constantFrom('Never', 'IfAvailable', 'Always'),
          },
          { requiredKeys: ['apiVersion', 'command'] },
        ),
      },
      { requiredKeys: ['exec'] },
    ),
    fc.constant({ username: 'admin', password: secret }),
    fc.constant({ token: secret, 'auth-provider': { name: 'oidc' } }),
  );
}

const context = fc.record(
  { cluster: name, user: name, namespace: hostileString },
  { requiredKeys: ['cluster'] },
);

/** A list of named entries: names collide, as they may across merged files. */
const entries = <T>(field: string, value: fc.Arbitrary<T>) =>
  fc.array(
    fc.record({ name, value }).map((e) => ({ name: e.name, [field]: e.value })),
    { minLength: 1, maxLength: 3 },
  );

/** Anything that may be written where some field of a kubeconfig is expected. */
const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  looseValue,
  hostileString,
  absurdNumber,
  base64Data,
  fileRef,
  server,
);

/** A secret field of the right type or a wrong one: its value must not show whatever the shape. */
const secretField = (secret: string) =>
  fc.tuple(
    fc.constantFrom('token', 'password', 'client-key-data'),
    fc.constantFrom(secret, [secret], { value: secret }, `${secret}\n${secret}`, b64(secret)),
  );

/** Every path to a value inside `value` (objects and arrays walked; the root is the empty path). */
function paths(value: unknown, at: (string | number)[] = []): (string | number)[][] {
  const out = [at];
  if (typeof value === 'object' && value !== null) {
    for (const [key, child] of Object.entries(value)) {
      out.push(...paths(child, [...at, Array.isArray(value) ? Number(key) : key]));
    }
  }
  return out;
}

/**
 * `doc` with a change at its `pick`-th path: without `field`, the value there replaced; with one, that
 * field set on the object there (a known field of the wrong type, or one too many).
 */
function corrupt(doc: unknown, pick: number, field: string, replacement: unknown): unknown {
  const all = paths(doc);
  const target = all[pick % all.length]!;
  const copy = structuredClone(doc);
  let node = copy as Record<string | number, unknown>;
  for (const key of target.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = target[target.length - 1];
  const at = last === undefined ? copy : node[last];
  if (field !== '') {
    if (typeof at === 'object' && at !== null && !Array.isArray(at))
      (at as Record<string, unknown>)[field] = replacement;
  } else if (last !== undefined) node[last] = replacement;
  return copy;
}

const FIELDS = [
  '',
  'server',
  'certificate-authority-data',
  'token',
  'tokenFile',
  'exec',
  'command',
  'apiVersion',
  'env',
  'args',
  'cluster',
  'user',
  'name',
  'proxy-url',
  'as',
  'insecure-skip-tls-verify',
];

/** A kubeconfig, valid except for a few corruptions: so that each check past the first is reached. */
function documentArb(secret: string) {
  const valid = fc.record({
    apiVersion: fc.constant('v1'),
    kind: fc.constant('Config'),
    'current-context': name,
    clusters: entries('cluster', cluster),
    users: entries('user', userArb(secret)),
    contexts: entries('context', context),
  });
  const edit = fc.oneof(
    fc.tuple(fc.nat(), fc.constantFrom(...FIELDS), wrongValue),
    // Secrets go only where secrets belong: a secret echoed as a context name is no leak.
    secretField(secret).chain(([field, value]) => fc.tuple(fc.nat(), fc.constant(field), fc.constant(value))),
  );
  return fc
    .tuple(valid, fc.array(edit, { maxLength: 2 }))
    .map(([doc, edits]) =>
      edits.reduce<unknown>((d, [pick, field, value]) => corrupt(d, pick, field, value), doc),
    );
}

const asText = fc.constantFrom(
  (doc: unknown) => stringify(doc),
  (doc: unknown) => JSON.stringify(doc) ?? '',
);

/** YAML's sharp edges, to be strung together at random. */
const yamlPiece = fc.oneof(
  fc.constantFrom(
    '%YAML 1.1\n---\n',
    '%YAML 9.9\n---\n',
    '---\n',
    '...\n',
    '&a ',
    '*a',
    '*nope',
    '<<: ',
    '<<: *a',
    '? ',
    '- ',
    ': ',
    '[',
    ']',
    '{',
    '}',
    ', ',
    '"',
    "'",
    '|',
    '>-',
    '#',
    '!!binary ',
    '!!set ',
    '!!omap ',
    '!!timestamp ',
    '!!int ',
    '!foo ',
    '!!map ',
    '\n',
    '  ',
    '\t',
    'clusters:',
    'users:',
    'contexts:',
    'current-context: a',
    'name: a',
    'cluster:',
    'server: https://c.example',
    'certificate-authority-data: ',
    '__proto__:',
    '1e400',
    '0x1F',
  ),
  hostileString,
);

/** Entity expansion: each level refers `width` times to the one below. */
const aliasBomb = fc
  .tuple(fc.integer({ min: 2, max: 12 }), fc.integer({ min: 2, max: 10 }), fc.boolean())
  .map(([levels, width, asContexts]) => {
    const lines = ['l0: &l0 ["x", "x"]'];
    for (let i = 1; i <= levels; i++)
      lines.push(
        `l${i}: &l${i} [${Array(width)
          .fill(`*l${i - 1}`)
          .join(', ')}]`,
      );
    lines.push(asContexts ? `contexts: *l${levels}` : `current-context: *l${levels}`);
    return lines.join('\n');
  });

const deeplyNested = fc
  .tuple(fc.integer({ min: 100, max: 5_000 }), fc.constantFrom('[', '{a: '))
  .map(([depth, open]) => `clusters: ${open.repeat(depth)}1${(open === '[' ? ']' : '}').repeat(depth)}\n`);

/** A valid kubeconfig with a few pieces dropped in, cut out or repeated: text that is almost right. */
const mutated = fc
  .tuple(fc.array(fc.tuple(fc.nat(), fc.nat(8), yamlPiece), { minLength: 1, maxLength: 4 }), fc.boolean())
  .map(([edits, json]) => {
    const doc = {
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'a',
      clusters: [
        { name: 'a', cluster: { server: 'https://c.example', 'certificate-authority-data': b64(CA_PEM) } },
      ],
      users: [{ name: 'a', user: { token: 'placeholder' } }],
      contexts: [{ name: 'a', context: { cluster: 'a', user: 'a' } }],
    };
    let text = json ? JSON.stringify(doc) : stringify(doc);
    for (const [at, cut, piece] of edits) {
      const from = at % (text.length + 1);
      text = text.slice(0, from) + piece + text.slice(from + cut);
    }
    return text;
  });

const rawText = fc.oneof(
  { weight: 4, arbitrary: mutated },
  { weight: 3, arbitrary: fc.array(yamlPiece, { maxLength: 30 }).map((pieces) => pieces.join('')) },
  { weight: 1, arbitrary: aliasBomb },
  { weight: 1, arbitrary: deeplyNested },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
);

/**
 * A directory with the files a kubeconfig may refer to (a PEM file, junk, a directory) and a loader of
 * kubeconfig texts written there. The loader returns the config or the error, which must be a
 * KubeConfigError.
 */
function kubeconfigLoader() {
  const dir = tempDir('ew-kubeconfig-fuzz-');
  writeFile(path.join(dir, 'ca.pem'), CA_PEM);
  writeFile(path.join(dir, 'junk'), 'not PEM at all');
  fs.mkdirSync(path.join(dir, 'sub'));
  const files = [path.join(dir, 'config-1'), path.join(dir, 'config-2')];
  return (texts: readonly string[], context: string | undefined, warnings: string[] = []) => {
    texts.forEach((text, i) => {
      fs.writeFileSync(files[i]!, text);
    });
    try {
      return loadKubeConfig({
        kubeconfig: files.slice(0, texts.length),
        env: {},
        homeDir: dir,
        warn: (message) => warnings.push(message),
        ...(context === undefined ? {} : { context }),
      });
    } catch (error) {
      expect(error).toBeInstanceOf(KubeConfigError);
      expect((error as KubeConfigError).code).toBe('ERR_KUBECONFIG');
      return error as KubeConfigError;
    }
  };
}

/** An error message without its names and values: what kind of refusal it is. */
function outcomeKind(message: string): string {
  return message.replace(/"[^"]*"|\/\S*/g, '').slice(0, 60);
}

describe('loadKubeConfig under hostile kubeconfigs (fuzz)', { timeout: fuzzTimeout }, () => {
  it('a document of wrong shapes and values gives a config or a KubeConfigError, and never shows a secret', () => {
    const load = kubeconfigLoader();
    const outcomes = new Set<string>();
    fc.assert(
      fc.property(
        secretArb.chain((secret) =>
          fc.tuple(
            fc.constant(secret),
            fc.array(fc.tuple(documentArb(secret), asText), { minLength: 1, maxLength: 2 }),
            fc.option(name, { nil: undefined }),
          ),
        ),
        ([secret, docs, context]) => {
          const warnings: string[] = [];
          const result = load(
            docs.map(([doc, toText]) => toText(doc)),
            context,
            warnings,
          );
          outcomes.add(result instanceof Error ? outcomeKind(result.message) : 'loaded');
          expectNotShown(result, [secret]);
          expectNotShown(warnings, [secret]);
        },
      ),
      { numRuns: fuzzRuns(300, 3) },
    );
    // The documents must reach past the first checks: many different refusals, and some configs.
    expect(outcomes.has('loaded')).toBe(true);
    expect(outcomes.size).toBeGreaterThan(15);
  });

  it('any text, alias bombs and deep nesting included, gives a config or a KubeConfigError', () => {
    const load = kubeconfigLoader();
    fc.assert(
      fc.property(rawText, fc.option(name, { nil: undefined }), (text, context) => {
        load([text], context);
      }),
      { numRuns: fuzzRuns(300, 3) },
    );
  });
});
