/**
 * The packages as a user gets them: every workspace package packed (`pnpm pack`, which turns
 * `workspace:^` into semver ranges), the tarballs installed with npm into a fresh project outside
 * the workspace (no links), then an ESM program, a CommonJS program, and the user's `tsc` under
 * node16, nodenext and bundler resolution with `exactOptionalPropertyTypes` and no `skipLibCheck`.
 * publint and arethetypeswrong check each tarball. npm installs the third-party dependencies from
 * the registry (its cache after the first run).
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const consumerSources = fileURLToPath(new URL('../consumer', import.meta.url));
const PACKAGES = ['core', 'testing', 'balancer', 'undici', 'axios', 'grpc', 'cli'] as const;
/** Libraries of observables: rxjs comes from their user, or `instanceof Observable` breaks. */
const RXJS_PEERS = new Set(['core', 'balancer', 'undici', 'axios', 'grpc']);

let work: string;
let packs: string;
let project: string;
const tarballs = new Map<string, string>();

async function sh(command: string, args: string[], cwd: string, timeoutMs = 120_000) {
  return run(command, args, {
    cwd,
    timeout: timeoutMs,
    maxBuffer: 16 * 1024 * 1024,
    env: { ...process.env },
  });
}

/** The files of a tarball and its package.json. */
async function contents(tarball: string): Promise<{ files: string[]; manifest: Record<string, unknown> }> {
  const { stdout } = await sh('tar', ['tzf', tarball], work);
  const { stdout: json } = await sh('tar', ['xzf', tarball, '-O', 'package/package.json'], work);
  return {
    files: stdout
      .split('\n')
      .filter(Boolean)
      .map((f) => f.replace(/^package\//, '')),
    manifest: JSON.parse(json) as Record<string, unknown>,
  };
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ew-pack-'));
  packs = join(work, 'packs');
  project = join(work, 'consumer');
  for (const name of PACKAGES) {
    await sh('pnpm', ['pack', '--pack-destination', packs], join(root, 'packages', name));
  }
  for (const file of readdirSync(packs)) {
    const name = /^endpoint-watch-([a-z]+)-/.exec(file)?.[1];
    if (name) tarballs.set(name, join(packs, file));
  }
  rmSync(project, { recursive: true, force: true });
  await sh('mkdir', ['-p', project], work);
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2),
  );
  for (const file of readdirSync(consumerSources))
    copyFileSync(join(consumerSources, file), join(project, file));
  await sh(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      ...PACKAGES.map((name) => tarballs.get(name) ?? name),
      'rxjs@^7.8.2',
      'axios@^1.7.0',
      'undici@~7.30.2',
      // The oldest grpc-js of @endpoint-watch/grpc's peer range: its declarations must type-check
      // against 1.10's typings too (the workspace builds against 1.14).
      '@grpc/grpc-js@1.10.12',
      'typescript@~5.9.0',
      '@types/node@^20.19.0',
    ],
    project,
    300_000,
  );
}, 420_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the packed packages, installed with npm outside the workspace', () => {
  it('packs every package: build, declarations, README and LICENSE; no build info, no tests; registry metadata', async () => {
    expect([...tarballs.keys()].sort()).toEqual([...PACKAGES].sort());
    for (const name of PACKAGES) {
      const { files, manifest } = await contents(tarballs.get(name) as string);
      expect(files, name).toEqual(
        expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts']),
      );
      expect(
        files.filter((f) => /tsbuildinfo|(^|\/)test\/|\.test\.|node_modules/.test(f)),
        name,
      ).toEqual([]);
      expect(manifest, name).toMatchObject({
        license: 'Apache-2.0',
        repository: { type: 'git', directory: `packages/${name}` },
        homepage: expect.stringMatching(/^https:\/\//),
        bugs: { url: expect.stringMatching(/^https:\/\//) },
        keywords: expect.arrayContaining([expect.any(String)]),
      });
      const ranges = JSON.stringify([manifest.dependencies, manifest.peerDependencies]);
      expect(ranges, `${name}: workspace ranges must publish as semver`).not.toMatch(/workspace:/);
      const deps = (manifest.dependencies ?? {}) as Record<string, string>;
      const peers = (manifest.peerDependencies ?? {}) as Record<string, string>;
      if (RXJS_PEERS.has(name)) {
        expect(peers.rxjs, `${name}: rxjs is a peer`).toMatch(/^\^7\./);
        expect(deps.rxjs, `${name}: rxjs is not a dependency`).toBeUndefined();
      }
      for (const [dep, range] of Object.entries(deps)) {
        if (dep.startsWith('@endpoint-watch/')) expect(range, `${name} → ${dep}`).toMatch(/^\^\d/);
      }
    }
  });

  it('passes publint (strict) and arethetypeswrong (ESM-only profile)', async () => {
    const bin = (tool: string) => join(root, 'node_modules', '.bin', tool);
    for (const name of PACKAGES) {
      const tarball = tarballs.get(name) as string;
      const lint = await sh(bin('publint'), ['run', tarball, '--strict'], work);
      expect(lint.stdout, name).toContain('All good');
      // Exits non-zero on any problem; ESM-only packages ignore the CommonJS-resolution rows.
      await sh(bin('attw'), [tarball, '--profile', 'esm-only', '--format', 'ascii'], work, 180_000);
    }
  }, 600_000);

  it('runs an ESM program: endpoints from the fake apiserver, requests balanced over two pods by undici and axios', async () => {
    const { stdout } = await sh('node', ['esm.mjs'], project);
    expect(JSON.parse(stdout.trim().split('\n').at(-1) as string)).toEqual({
      endpoints: ['127.0.0.2', '127.0.0.3'],
      seen: ['127.0.0.2', '127.0.0.3'],
      axios: ['127.0.0.2', '127.0.0.3'],
      balancer: expect.stringMatching(/^127\.0\.0\.[23]$/),
      otel: 'ERR_MODULE_NOT_FOUND',
      measured: expect.stringMatching(/^127\.0\.0\.[23]$/),
    });
    // One copy of each shared dependency: npm deduplicated the peers with the user's.
    const { stdout: tree } = await sh('npm', ['ls', 'rxjs', 'undici', '--all', '--parseable'], project);
    const copies = (dep: string) =>
      tree.split('\n').filter((line) => line.endsWith(`/node_modules/${dep}`)).length;
    expect(copies('rxjs')).toBe(1);
    expect(copies('undici')).toBe(1);
  }, 60_000);

  it('runs a CommonJS program (require of ESM)', async () => {
    const { stdout } = await sh('node', ['cjs.cjs'], project);
    expect(JSON.parse(stdout.trim().split('\n').at(-1) as string)).toEqual({
      endpoints: ['10.0.0.1'],
      loaded: ['function', 'function', 'function', 'function'],
    });
  }, 60_000);

  it.each([
    ['node16', 'node16'],
    ['nodenext', 'nodenext'],
    ['esnext', 'bundler'],
  ])(
    'type-checks under module %s / moduleResolution %s, exactOptionalPropertyTypes, no skipLibCheck',
    async (module, resolution) => {
      const config = join(project, `tsconfig.${resolution}.json`);
      writeFileSync(
        config,
        JSON.stringify({
          compilerOptions: {
            module,
            moduleResolution: resolution,
            target: 'es2022',
            strict: true,
            exactOptionalPropertyTypes: true,
            noUncheckedIndexedAccess: true,
            skipLibCheck: false,
            noEmit: true,
            types: ['node'],
          },
          files: ['types.ts'],
        }),
      );
      const tsc = join(project, 'node_modules', '.bin', 'tsc');
      const result = await sh(tsc, ['-p', config], project).catch((error: { stdout?: string }) => error);
      expect('stdout' in result ? result.stdout : '', `tsc ${resolution}`).toBe('');
      expect(readFileSync(join(project, 'node_modules', 'typescript', 'package.json'), 'utf8')).toMatch(
        /"version": "5\.9\./,
      );
    },
    120_000,
  );
});
