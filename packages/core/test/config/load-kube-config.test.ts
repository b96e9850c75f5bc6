import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadKubeConfig } from '../../src/config/index.js';
import { KubeConfigError } from '../../src/errors.js';
import {
  b64,
  CA_PEM,
  CERT_PEM,
  KEY_PEM,
  kubeconfig,
  load,
  serviceAccountDir,
  simpleKubeconfig,
  tempDir,
  writeFile,
  writeKubeconfig,
} from './helpers.js';

function homeWithConfig(config: Record<string, unknown>): string {
  const home = tempDir('ew-home-');
  writeKubeconfig(path.join(home, '.kube', 'config'), config);
  return home;
}

function catchError(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('resolution order', () => {
  const inClusterEnv = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };

  it('explicit server wins over KUBECONFIG, home and in-cluster', () => {
    const dir = tempDir();
    const envFile = writeKubeconfig(
      path.join(dir, 'env-config'),
      simpleKubeconfig({ server: 'https://env:1' }),
    );
    const config = load({
      server: 'https://explicit.example:6443/',
      token: 'explicit-token',
      env: { KUBECONFIG: envFile, ...inClusterEnv },
      homeDir: homeWithConfig(simpleKubeconfig({ server: 'https://home:1' })),
      inCluster: { serviceAccountDir: serviceAccountDir({ token: 'sa' }), force: false },
    });
    expect(config.source).toBe('options');
    expect(config.server).toBe('https://explicit.example:6443');
    expect(config.namespace).toBe('default');
    expect(config.context).toBeUndefined();
  });

  it('the kubeconfig option wins over KUBECONFIG', () => {
    const dir = tempDir();
    const optionFile = writeKubeconfig(path.join(dir, 'a'), simpleKubeconfig({ server: 'https://option:1' }));
    const envFile = writeKubeconfig(path.join(dir, 'b'), simpleKubeconfig({ server: 'https://env:1' }));
    const config = load({ kubeconfig: optionFile, env: { KUBECONFIG: envFile } });
    expect(config.server).toBe('https://option:1');
    expect(config.source).toBe('kubeconfig');
  });

  it('KUBECONFIG wins over ~/.kube/config', () => {
    const dir = tempDir();
    const envFile = writeKubeconfig(
      path.join(dir, 'env-config'),
      simpleKubeconfig({ server: 'https://env:1' }),
    );
    const config = load({
      env: { KUBECONFIG: envFile },
      homeDir: homeWithConfig(simpleKubeconfig({ server: 'https://home:1' })),
    });
    expect(config.server).toBe('https://env:1');
    expect(config.context).toBe('ctx');
  });

  it('~/.kube/config wins over in-cluster', () => {
    const config = load({
      env: inClusterEnv,
      homeDir: homeWithConfig(simpleKubeconfig({ server: 'https://home:1' })),
      inCluster: { serviceAccountDir: serviceAccountDir({ token: 'sa' }), force: false },
    });
    expect(config.server).toBe('https://home:1');
    expect(config.source).toBe('kubeconfig');
  });

  it('falls back to in-cluster when no kubeconfig exists', () => {
    const config = load({
      env: inClusterEnv,
      inCluster: { serviceAccountDir: serviceAccountDir({ token: 'sa', ca: CA_PEM }), force: false },
    });
    expect(config.source).toBe('in-cluster');
    expect(config.server).toBe('https://10.96.0.1:443');
  });

  it('inCluster with a directory forces in-cluster even when KUBECONFIG is set', () => {
    const dir = tempDir();
    const envFile = writeKubeconfig(
      path.join(dir, 'env-config'),
      simpleKubeconfig({ server: 'https://env:1' }),
    );
    const config = load({
      env: { KUBECONFIG: envFile, ...inClusterEnv },
      inCluster: { serviceAccountDir: serviceAccountDir({ token: 'sa', ca: CA_PEM }) },
    });
    expect(config.source).toBe('in-cluster');
  });

  it('throws a KubeConfigError naming everything it tried when nothing is configured', () => {
    const home = tempDir('ew-home-');
    const err = catchError(() => loadKubeConfig({ env: {}, homeDir: home }));
    expect(err).toBeInstanceOf(KubeConfigError);
    expect((err as KubeConfigError).code).toBe('ERR_KUBECONFIG');
    expect(err.message).toContain('KUBECONFIG');
    expect(err.message).toContain(path.join(home, '.kube', 'config'));
    expect(err.message).toContain('KUBERNETES_SERVICE_HOST');
  });

  it('does not fall back to in-cluster with inCluster: false', () => {
    const err = catchError(() =>
      load({
        env: inClusterEnv,
        inCluster: false,
      }),
    );
    expect(err).toBeInstanceOf(KubeConfigError);
    expect(err.message).toContain('disabled');
  });

  it('rejects connection options without server', () => {
    const err = catchError(() => load({ token: 'orphan-token-value' }));
    expect(err).toBeInstanceOf(KubeConfigError);
    expect(err.message).toContain('options.token');
    expect(err.message).not.toContain('orphan-token-value');
  });
});

describe('KUBECONFIG merging', () => {
  it('merges files first-wins per entry and takes the first non-empty current-context', () => {
    const dir = tempDir();
    const first = writeKubeconfig(
      path.join(dir, 'first'),
      kubeconfig({
        current: '',
        clusters: [{ name: 'shared', value: { server: 'https://first:1' } }],
        contexts: [{ name: 'ctx-b', value: { cluster: 'shared', user: 'u', namespace: 'from-first' } }],
      }),
    );
    const second = writeKubeconfig(
      path.join(dir, 'second'),
      kubeconfig({
        current: 'ctx-b',
        clusters: [{ name: 'shared', value: { server: 'https://second:1' } }],
        users: [{ name: 'u', value: { token: 'second-token' } }],
        contexts: [{ name: 'ctx-b', value: { cluster: 'shared', user: 'u', namespace: 'from-second' } }],
      }),
    );
    const third = writeKubeconfig(path.join(dir, 'third'), kubeconfig({ current: 'ctx-c' }));
    const config = load({ env: { KUBECONFIG: [first, second, third].join(path.delimiter) } });
    expect(config.context).toBe('ctx-b');
    expect(config.server).toBe('https://first:1');
    expect(config.namespace).toBe('from-first');
  });

  it('uses the user defined by a later file', async () => {
    const dir = tempDir();
    const first = writeKubeconfig(
      path.join(dir, 'first'),
      kubeconfig({
        current: 'ctx',
        clusters: [{ name: 'c', value: { server: 'https://first:1' } }],
        contexts: [{ name: 'ctx', value: { cluster: 'c', user: 'u' } }],
      }),
    );
    const second = writeKubeconfig(
      path.join(dir, 'second'),
      kubeconfig({ users: [{ name: 'u', value: { token: 'second-token' } }] }),
    );
    const config = load({ env: { KUBECONFIG: `${first}${path.delimiter}${second}` } });
    expect((await config.auth.credentials()).token?.reveal()).toBe('second-token');
  });

  it('skips missing KUBECONFIG entries and empty list elements', () => {
    const dir = tempDir();
    const real = writeKubeconfig(path.join(dir, 'real'), simpleKubeconfig({ server: 'https://real:1' }));
    const missing = path.join(dir, 'missing');
    const config = load({ env: { KUBECONFIG: [missing, '', real].join(path.delimiter) } });
    expect(config.server).toBe('https://real:1');
  });

  it('does not read ~/.kube/config when every KUBECONFIG entry is missing (kubectl semantics)', () => {
    const dir = tempDir();
    const err = catchError(() =>
      load({
        env: { KUBECONFIG: path.join(dir, 'missing') },
        homeDir: homeWithConfig(simpleKubeconfig({ server: 'https://home:1' })),
      }),
    );
    expect(err).toBeInstanceOf(KubeConfigError);
    expect(err.message).toContain(path.join(dir, 'missing'));
  });

  it('fails on a missing path given in the kubeconfig option', () => {
    const dir = tempDir();
    const missing = path.join(dir, 'nope.yaml');
    const err = catchError(() => load({ kubeconfig: missing }));
    expect(err).toBeInstanceOf(KubeConfigError);
    expect(err.message).toContain(missing);
    expect(err.message).toContain('not found');
  });

  it('merges an array given as the kubeconfig option', () => {
    const dir = tempDir();
    const a = writeKubeconfig(path.join(dir, 'a'), kubeconfig({ current: 'ctx' }));
    const b = writeKubeconfig(
      path.join(dir, 'b'),
      simpleKubeconfig({ server: 'https://b:1', context: 'ctx' }),
    );
    expect(load({ kubeconfig: [a, b] }).server).toBe('https://b:1');
  });
});

describe('contexts and namespaces', () => {
  function twoContexts(): string {
    const dir = tempDir();
    return writeKubeconfig(
      path.join(dir, 'config'),
      kubeconfig({
        current: 'dev',
        clusters: [
          { name: 'dev-cluster', value: { server: 'https://dev:6443' } },
          { name: 'prod-cluster', value: { server: 'https://prod:6443' } },
        ],
        users: [{ name: 'u', value: { token: 't' } }],
        contexts: [
          { name: 'dev', value: { cluster: 'dev-cluster', user: 'u', namespace: 'dev-ns' } },
          { name: 'prod', value: { cluster: 'prod-cluster', user: 'u' } },
        ],
      }),
    );
  }

  it('uses current-context by default', () => {
    const config = load({ kubeconfig: twoContexts() });
    expect(config.context).toBe('dev');
    expect(config.server).toBe('https://dev:6443');
    expect(config.namespace).toBe('dev-ns');
  });

  it('selects another context with the context option; namespace defaults to "default"', () => {
    const config = load({ kubeconfig: twoContexts(), context: 'prod' });
    expect(config.context).toBe('prod');
    expect(config.server).toBe('https://prod:6443');
    expect(config.namespace).toBe('default');
  });

  it('options.namespace overrides the context namespace', () => {
    expect(load({ kubeconfig: twoContexts(), namespace: 'override' }).namespace).toBe('override');
  });

  it('an unknown context is a KubeConfigError naming the context, the file and the available ones', () => {
    const file = twoContexts();
    const err = catchError(() => load({ kubeconfig: file, context: 'staging' }));
    expect(err).toBeInstanceOf(KubeConfigError);
    expect(err.message).toContain('"staging"');
    expect(err.message).toContain(file);
    expect(err.message).toContain('"dev", "prod"');
  });

  it('a missing current-context is an error', () => {
    const dir = tempDir();
    const file = writeKubeconfig(path.join(dir, 'config'), { ...simpleKubeconfig(), 'current-context': '' });
    expect(() => load({ kubeconfig: file })).toThrow(/no current-context/);
  });

  it('a context naming a missing cluster or user is an error', () => {
    const dir = tempDir();
    const noCluster = writeKubeconfig(
      path.join(dir, 'a'),
      kubeconfig({ current: 'x', contexts: [{ name: 'x', value: { cluster: 'ghost' } }] }),
    );
    expect(() => load({ kubeconfig: noCluster })).toThrow(/Cluster "ghost" of context "x"/);
    const noUser = writeKubeconfig(
      path.join(dir, 'b'),
      kubeconfig({
        current: 'x',
        clusters: [{ name: 'c', value: { server: 'https://c:1' } }],
        contexts: [{ name: 'x', value: { cluster: 'c', user: 'phantom' } }],
      }),
    );
    expect(() => load({ kubeconfig: noUser })).toThrow(/User "phantom" of context "x"/);
  });

  it('a context without user is anonymous', async () => {
    const dir = tempDir();
    const file = writeKubeconfig(
      path.join(dir, 'config'),
      kubeconfig({
        current: 'x',
        clusters: [{ name: 'c', value: { server: 'https://c:1' } }],
        contexts: [{ name: 'x', value: { cluster: 'c' } }],
      }),
    );
    expect(await load({ kubeconfig: file }).auth.credentials()).toEqual({});
  });
});

describe('cluster and user fields', () => {
  it('resolves relative paths against the directory of the file that defined the entry', async () => {
    const dirA = tempDir();
    const dirB = tempDir();
    writeFile(path.join(dirA, 'certs', 'ca.crt'), CA_PEM);
    writeFile(path.join(dirB, 'pki', 'client.crt'), CERT_PEM);
    writeFile(path.join(dirB, 'pki', 'client.key'), KEY_PEM);
    writeFile(path.join(dirB, 'token'), 'file-token\n');
    const a = writeKubeconfig(
      path.join(dirA, 'config'),
      kubeconfig({
        current: 'ctx',
        clusters: [{ name: 'c', value: { server: 'https://a:1', 'certificate-authority': 'certs/ca.crt' } }],
        contexts: [{ name: 'ctx', value: { cluster: 'c', user: 'u' } }],
      }),
    );
    const b = writeKubeconfig(
      path.join(dirB, 'config'),
      kubeconfig({
        users: [
          {
            name: 'u',
            value: {
              'client-certificate': 'pki/client.crt',
              'client-key': './pki/client.key',
              tokenFile: 'token',
            },
          },
        ],
      }),
    );
    const cwd = process.cwd();
    const config = load({ env: { KUBECONFIG: `${a}${path.delimiter}${b}` } });
    expect(process.cwd()).toBe(cwd);
    expect(config.tls.ca).toBe(CA_PEM);
    const credentials = await config.auth.credentials();
    expect(credentials.clientCertificate?.cert).toBe(CERT_PEM);
    expect(credentials.clientCertificate?.key.reveal()).toBe(KEY_PEM);
    expect(credentials.token?.reveal()).toBe('file-token');
  });

  it('decodes base64 *-data fields', async () => {
    const dir = tempDir();
    const file = writeKubeconfig(
      path.join(dir, 'config'),
      simpleKubeconfig({
        cluster: { 'certificate-authority-data': b64(CA_PEM) },
        user: { 'client-certificate-data': b64(CERT_PEM), 'client-key-data': b64(KEY_PEM) },
      }),
    );
    const config = load({ kubeconfig: file });
    expect(config.tls).toEqual({ ca: CA_PEM, insecureSkipTlsVerify: false });
    const credentials = await config.auth.credentials();
    expect(credentials.clientCertificate?.cert).toBe(CERT_PEM);
    expect(credentials.clientCertificate?.key.reveal()).toBe(KEY_PEM);
    expect(credentials.token?.reveal()).toBeUndefined();
  });

  it('rejects invalid base64 and non-PEM data', () => {
    const dir = tempDir();
    const bad = writeKubeconfig(
      path.join(dir, 'bad'),
      simpleKubeconfig({ cluster: { 'certificate-authority-data': 'not base64 !!' } }),
    );
    expect(() => load({ kubeconfig: bad })).toThrow(
      /certificate-authority-data of cluster "c" .* not valid base64/,
    );
    const notPem = writeKubeconfig(
      path.join(dir, 'not-pem'),
      simpleKubeconfig({ cluster: { 'certificate-authority-data': b64('hello') } }),
    );
    expect(() => load({ kubeconfig: notPem })).toThrow(/does not contain a PEM block/);
  });

  it('refuses a long run of whitespace that ends in a non-base64 character without backtracking over it', () => {
    const dir = tempDir();
    const file = writeKubeconfig(
      path.join(dir, 'config'),
      simpleKubeconfig({ cluster: { 'certificate-authority-data': `${' '.repeat(200_000)}!` } }),
    );
    // A check that backtracks over the run takes minutes here: the test timeout tells.
    expect(() => load({ kubeconfig: file })).toThrow(/not valid base64/);
  });

  it('names a missing certificate-authority file', () => {
    const dir = tempDir();
    const file = writeKubeconfig(
      path.join(dir, 'config'),
      simpleKubeconfig({ cluster: { 'certificate-authority': 'missing-ca.crt' } }),
    );
    expect(() => load({ kubeconfig: file })).toThrow(path.join(dir, 'missing-ca.crt'));
  });

  it('uses the cluster tls-server-name and lets options.tlsServerName override it', () => {
    const dir = tempDir();
    const file = writeKubeconfig(
      path.join(dir, 'config'),
      simpleKubeconfig({
        server: 'https://10.1.2.3:6443',
        cluster: { 'tls-server-name': 'from-file.example' },
      }),
    );
    expect(load({ kubeconfig: file }).tls.serverName).toBe('from-file.example');
    const overridden = load({ kubeconfig: file, tlsServerName: 'cluster.condi.me' });
    expect(overridden.tls.serverName).toBe('cluster.condi.me');
    expect(overridden.server).toBe('https://10.1.2.3:6443');
  });

  it('honours insecure-skip-tls-verify and warns exactly once', () => {
    const dir = tempDir();
    const file = writeKubeconfig(
      path.join(dir, 'config'),
      simpleKubeconfig({ server: 'https://insecure:6443', cluster: { 'insecure-skip-tls-verify': true } }),
    );
    const warn = vi.fn();
    const config = load({ kubeconfig: file, warn });
    expect(config.tls.insecureSkipTlsVerify).toBe(true);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]?.[0]).toContain('https://insecure:6443');
  });

  it('emits a process warning with a code when no warn is given', () => {
    const dir = tempDir();
    const file = writeKubeconfig(
      path.join(dir, 'config'),
      simpleKubeconfig({ cluster: { 'insecure-skip-tls-verify': true } }),
    );
    const emit = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    loadKubeConfig({ kubeconfig: file, env: {} });
    expect(emit).toHaveBeenCalledTimes(1);
    expect(emit.mock.calls[0]?.[1]).toEqual({ code: 'ENDPOINT_WATCH_INSECURE_TLS' });
  });

  it('does not warn for a verified connection', () => {
    const dir = tempDir();
    const file = writeKubeconfig(path.join(dir, 'config'), simpleKubeconfig());
    const warn = vi.fn();
    expect(load({ kubeconfig: file, warn }).tls.insecureSkipTlsVerify).toBe(false);
    expect(warn).not.toHaveBeenCalled();
  });

  it('rejects a CA together with insecure-skip-tls-verify', () => {
    const dir = tempDir();
    const file = writeKubeconfig(
      path.join(dir, 'config'),
      simpleKubeconfig({
        cluster: { 'insecure-skip-tls-verify': true, 'certificate-authority-data': b64(CA_PEM) },
      }),
    );
    expect(() => load({ kubeconfig: file })).toThrow(KubeConfigError);
  });

  it.each([
    ['https://h.example:6443/', 'https://h.example:6443'],
    ['https://h.example/prefix//', 'https://h.example/prefix'],
    ['h.example:6443', 'https://h.example:6443'],
    ['https://[fd00::1]:6443/', 'https://[fd00::1]:6443'],
  ])('normalises server %s to %s', (server, expected) => {
    const dir = tempDir();
    const file = writeKubeconfig(path.join(dir, 'config'), simpleKubeconfig({ server }));
    expect(load({ kubeconfig: file }).server).toBe(expected);
  });

  it('drops trailing slashes without backtracking over a long run of slashes inside the path', () => {
    const dir = tempDir();
    const slashes = '/'.repeat(200_000);
    // A pattern that backtracks over the run takes minutes here: the test timeout tells.
    const inside = writeKubeconfig(
      path.join(dir, 'a'),
      simpleKubeconfig({ server: `https://h.example${slashes}x` }),
    );
    expect(load({ kubeconfig: inside }).server).toBe(`https://h.example${slashes}x`);
    const trailing = writeKubeconfig(
      path.join(dir, 'b'),
      simpleKubeconfig({ server: `https://h.example${slashes}` }),
    );
    expect(load({ kubeconfig: trailing }).server).toBe('https://h.example');
  });

  it('rejects servers that are not http(s) URLs and servers with credentials', () => {
    const dir = tempDir();
    const ftp = writeKubeconfig(path.join(dir, 'a'), simpleKubeconfig({ server: 'ftp://x' }));
    expect(() => load({ kubeconfig: ftp })).toThrow(/https/);
    const creds = writeKubeconfig(path.join(dir, 'b'), simpleKubeconfig({ server: 'https://me:pw-4711@x' }));
    const err = catchError(() => load({ kubeconfig: creds }));
    expect(err.message).toContain('credentials');
    expect(err.message).not.toContain('pw-4711');
  });

  it.each([
    [
      { 'auth-provider': { name: 'oidc', config: { 'id-token': 'oidc-secret-123' } } },
      /auth-provider "oidc".*exec/,
    ],
    [{ username: 'admin', password: 'hunter2-secret-123' }, /basic auth.*exec/],
    [{ token: 'tok-secret-123', as: 'someone' }, /impersonation/],
  ])('rejects unsupported user auth %#', (user, message) => {
    const dir = tempDir();
    const file = writeKubeconfig(path.join(dir, 'config'), simpleKubeconfig({ user }));
    const err = catchError(() => load({ kubeconfig: file }));
    expect(err).toBeInstanceOf(KubeConfigError);
    expect(err.message).toMatch(message);
    expect(err.message).toContain('user "u"');
    expect(err.message).not.toContain('secret-123');
  });

  it('rejects proxy-url as unsupported', () => {
    const dir = tempDir();
    const file = writeKubeconfig(
      path.join(dir, 'config'),
      simpleKubeconfig({ cluster: { 'proxy-url': 'http://proxy:3128' } }),
    );
    expect(() => load({ kubeconfig: file })).toThrow(/proxy-url, which is not supported/);
  });

  it('a cluster without server is an error', () => {
    const dir = tempDir();
    const file = writeKubeconfig(
      path.join(dir, 'config'),
      kubeconfig({
        current: 'x',
        clusters: [{ name: 'c', value: { 'tls-server-name': 'a' } }],
        contexts: [{ name: 'x', value: { cluster: 'c' } }],
      }),
    );
    expect(() => load({ kubeconfig: file })).toThrow(/cluster "c" in .* has no server/);
  });

  it('reports invalid YAML with a position but without quoting the file', () => {
    const dir = tempDir();
    const file = writeFile(
      path.join(dir, 'config'),
      'users:\n- name: u\n  user:\n    token: yaml-secret-987 : [\n',
    );
    const err = catchError(() => load({ kubeconfig: file }));
    expect(err).toBeInstanceOf(KubeConfigError);
    expect(err.message).toContain(file);
    expect(err.message).toMatch(/line \d+, column \d+/);
    expect(err.message).not.toContain('yaml-secret-987');
  });

  it.each([
    [
      'an alias bomb',
      [
        'a: &a [x, x, x, x, x, x, x, x, x, x]',
        'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
        'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
        'contexts: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
      ],
    ],
    ['an alias without anchor', ['current-context: *nowhere-secret-321']],
    [
      'a YAML 1.1 merge of a scalar',
      ['%YAML 1.1', '---', 'users:', '- name: u', '  user:', '    <<: merge-secret-321'],
    ],
  ])('refuses %s with a KubeConfigError that quotes nothing', (_what, lines) => {
    const dir = tempDir();
    const file = writeFile(path.join(dir, 'config'), `${lines.join('\n')}\n`);
    const err = catchError(() => load({ kubeconfig: file }));
    expect(err).toBeInstanceOf(KubeConfigError);
    expect(err.message).toContain(file);
    expect(err.message).not.toContain('secret-321');
  });

  it('reports schema errors by path without values', () => {
    const dir = tempDir();
    const file = writeFile(
      path.join(dir, 'config'),
      'users:\n- name: u\n  user:\n    token: [schema-secret-654]\n',
    );
    const err = catchError(() => load({ kubeconfig: file }));
    expect(err.message).toContain('users.0.user.token');
    expect(err.message).not.toContain('schema-secret-654');
  });

  it('accepts an empty kubeconfig file in a merge', () => {
    const dir = tempDir();
    const empty = writeFile(path.join(dir, 'empty'), '');
    const real = writeKubeconfig(path.join(dir, 'real'), simpleKubeconfig({ server: 'https://real:1' }));
    expect(load({ kubeconfig: [empty, real] }).server).toBe('https://real:1');
  });
});

describe('explicit options', () => {
  it('builds from server, token, ca, namespace and tlsServerName', async () => {
    const config = load({
      server: 'https://10.0.0.1:6443',
      token: 'static-token',
      ca: CA_PEM,
      namespace: 'apps',
      tlsServerName: 'cluster.condi.me',
    });
    expect(config).toMatchObject({
      server: 'https://10.0.0.1:6443',
      namespace: 'apps',
      source: 'options',
      tls: { ca: CA_PEM, serverName: 'cluster.condi.me', insecureSkipTlsVerify: false },
    });
    expect((await config.auth.credentials()).token?.reveal()).toBe('static-token');
  });

  it('reads caFile, tokenFile and client certificate/key files; accepts PEM data too', async () => {
    const dir = tempDir();
    const caFile = writeFile(path.join(dir, 'ca.crt'), CA_PEM);
    const tokenFile = writeFile(path.join(dir, 'token'), 'token-from-file\n');
    const certFile = writeFile(path.join(dir, 'tls.crt'), CERT_PEM);
    const fromFiles = load({
      server: 'https://x',
      caFile,
      tokenFile,
      clientCertificate: certFile,
      clientKey: KEY_PEM,
    });
    expect(fromFiles.tls.ca).toBe(CA_PEM);
    const credentials = await fromFiles.auth.credentials();
    expect(credentials.token?.reveal()).toBe('token-from-file');
    expect(credentials.clientCertificate?.cert).toBe(CERT_PEM);
    expect(credentials.clientCertificate?.key.reveal()).toBe(KEY_PEM);
  });

  it('warns for insecureSkipTlsVerify', () => {
    const warn = vi.fn();
    const config = load({ server: 'https://x', insecureSkipTlsVerify: true, warn });
    expect(config.tls.insecureSkipTlsVerify).toBe(true);
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('fails at load for a missing token file, naming it', () => {
    const dir = tempDir();
    const tokenFile = path.join(dir, 'absent');
    expect(() => load({ server: 'https://x', tokenFile })).toThrow(tokenFile);
  });

  it('requires clientCertificate and clientKey together and never echoes a bad key', () => {
    expect(() => load({ server: 'https://x', clientCertificate: CERT_PEM })).toThrow(/together/);
    const err = catchError(() =>
      load({ server: 'https://x', clientCertificate: CERT_PEM, clientKey: 'raw-key-material-777' }),
    );
    expect(err).toBeInstanceOf(KubeConfigError);
    expect(err.message).not.toContain('raw-key-material-777');
    expect(err.cause).toBeUndefined();
  });
});
