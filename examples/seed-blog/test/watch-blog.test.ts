// The seed scenario against the fake apiserver set up like a pod sees its cluster: reached by IP
// (KUBERNETES_SERVICE_HOST=127.0.0.1) with a certificate valid only for cluster.condi.me, and a
// service-account directory with the token, the CA and the namespace.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  endpointSlice,
  eventually,
  type FakeApiServer,
  startFakeApiServer,
  v1Endpoints,
} from '@endpoint-watch/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs example without type declarations
import { BLOG_STORY } from '../embedded-cluster.mjs';
// @ts-expect-error: a plain .mjs example without type declarations
import { runProgram, watchBlog } from '../watch-blog.mjs';

const NAMESPACE = 'web';
let server: FakeApiServer;
let dir: string;
let env: Record<string, string>;
const stops: (() => Promise<unknown>)[] = [];

beforeEach(async () => {
  server = await startFakeApiServer({ tls: { names: ['cluster.condi.me'] } });
  dir = mkdtempSync(join(tmpdir(), 'seed-blog-'));
  env = { ...server.writeServiceAccount(dir, { namespace: NAMESPACE }).env };
});
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const blogEndpoints = (ready: string[], notReady: string[] = []) =>
  v1Endpoints({
    namespace: NAMESPACE,
    service: 'blog',
    subsets: [{ addresses: ready, notReadyAddresses: notReady, ports: [{ name: 'http', port: 8080 }] }],
  });

/** Runs watchBlog in-process; returns what it printed and warned, and stops it after the test. */
function start(extra: Record<string, unknown> = {}, moreEnv: Record<string, string> = {}) {
  const printed: string[] = [];
  const warned: string[] = [];
  const sets: Array<{ all: Array<{ address: string }> }> = [];
  const controller = new AbortController();
  const done = watchBlog({
    env: { ...env, ...moreEnv },
    serviceAccountDir: dir,
    signal: controller.signal,
    print: (line: string) => printed.push(line),
    warn: (line: string) => warned.push(line),
    onSet: (set: (typeof sets)[number]) => sets.push(set),
    ...extra,
  }) as Promise<void>;
  stops.push(() => {
    controller.abort();
    return done;
  });
  return { printed, warned, sets, done };
}

describe('seed-blog: the ready addresses of the blog Service, from inside a pod', () => {
  it('prints the ready address:port list from v1 Endpoints each time it changes, and only then', async () => {
    expect(env.KUBERNETES_SERVICE_HOST).toBe('127.0.0.1');
    server.upsert(blogEndpoints(['10.1.0.5', '10.1.0.4'], ['10.1.0.6']));
    const { printed, sets } = start();

    await eventually(() => printed.length === 1, 'the first list');
    expect(printed[0]).toBe('blog: 10.1.0.4:8080 10.1.0.5:8080');

    server.upsert(blogEndpoints(['10.1.0.4', '10.1.0.5', '10.1.0.6'])); // 10.1.0.6 became ready
    await eventually(() => printed.length === 2, 'the second list');
    server.upsert(blogEndpoints(['10.1.0.4', '10.1.0.5', '10.1.0.6'], ['10.1.0.9'])); // no ready change
    // Wait until the program has seen that set: it must print nothing for it.
    await eventually(
      () => sets.some((set) => set.all.some((e) => e.address === '10.1.0.9')),
      'the unready pod',
    );
    server.upsert(blogEndpoints([], ['10.1.0.4'])); // nothing ready
    await eventually(() => printed.length >= 3, 'the third list');
    expect(printed).toEqual([
      'blog: 10.1.0.4:8080 10.1.0.5:8080',
      'blog: 10.1.0.4:8080 10.1.0.5:8080 10.1.0.6:8080',
      'blog: (none ready)',
    ]);

    const watched = server.requests.filter((r) => r.status === 200).map((r) => r.path);
    expect(watched).toContain(`/api/v1/namespaces/${NAMESPACE}/endpoints`);
    expect(watched.some((path) => path.includes('endpointslices'))).toBe(false);
  });

  it('reads EndpointSlices with source endpointslices (option or SOURCE env), ready ones only', async () => {
    server.upsert(
      endpointSlice({
        namespace: NAMESPACE,
        service: 'blog',
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
        endpoints: [
          { addresses: ['10.1.0.7'] },
          { addresses: ['10.1.0.8'], ready: false, serving: true, terminating: true },
        ],
      }),
    );
    const fromOption = start({ source: 'endpointslices' });
    const fromEnv = start({}, { SOURCE: 'endpointslices' });
    await eventually(() => fromOption.printed.length === 1 && fromEnv.printed.length === 1, 'both lists');
    expect(fromOption.printed).toEqual(['blog: 10.1.0.7:8080']);
    expect(fromEnv.printed).toEqual(['blog: 10.1.0.7:8080']);
    expect(
      server.requests.some(
        (r) => r.path === `/apis/discovery.k8s.io/v1/namespaces/${NAMESPACE}/endpointslices`,
      ),
    ).toBe(true);
  });

  it('verifies the certificate against CLUSTER_NAME: a wrong name never connects', async () => {
    server.upsert(blogEndpoints(['10.1.0.4']));
    const { printed, warned } = start({}, { CLUSTER_NAME: 'other.example' });
    await eventually(() => warned.length > 0, 'a retry warning');
    expect(warned[0]).toMatch(/^watch retrying: ERR_KUBE_TLS_NAME /);
    expect(printed).toEqual([]);
    // no request got through the handshake, so the token was never sent
    expect(server.requests).toEqual([]);
  });

  it('fails clearly outside a pod (no KUBERNETES_SERVICE_HOST)', async () => {
    await expect(watchBlog({ env: {}, serviceAccountDir: dir })).rejects.toThrow(/KUBERNETES_SERVICE_HOST/);
  });

  /** The program in-process: exit code, stdout lines, stderr lines. */
  async function program(argv: string[], programEnv: Record<string, string>) {
    const out: string[] = [];
    const err: string[] = [];
    const code = (await runProgram({
      argv,
      env: programEnv,
      print: (line: string) => out.push(line),
      warn: (line: string) => err.push(...line.split('\n')),
      stepMs: 0,
    })) as number;
    return { code, out, err };
  }
  const STORY_LINES = [
    'blog: 10.1.0.4:8080 10.1.0.5:8080',
    'blog: 10.1.0.4:8080 10.1.0.5:8080 10.1.0.6:8080',
    'blog: (none ready)',
    'blog: 10.1.0.7:8080',
  ];

  it('outside a pod the program runs against an embedded cluster, plays its story and ends with 0', async () => {
    expect(BLOG_STORY).toHaveLength(STORY_LINES.length);
    for (const argv of [[], ['--source', 'endpointslices']]) {
      const run = await program(argv, {});
      expect(run.out).toEqual(STORY_LINES);
      expect(run.err).toHaveLength(1);
      expect(run.err[0]).toMatch(
        /^seed-blog: not in a pod \(KUBERNETES_SERVICE_HOST is not set\): watching an embedded cluster, the fake apiserver of @endpoint-watch\/testing at https:\/\/127\.0\.0\.1:\d+ /,
      );
      expect(run.code).toBe(0);
    }
  });

  it('a real cluster it cannot reach: exit 1 with what failed and what to check, no stack trace', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const address = closed.address();
    const port = String(typeof address === 'object' && address ? address.port : 0);
    await new Promise((resolve) => closed.close(resolve));
    const run = await program(['--service-account-dir', dir], { ...env, KUBERNETES_SERVICE_PORT: port });
    expect(run.code).toBe(1);
    expect(run.out).toEqual([]);
    expect(run.err).toEqual([
      `seed-blog: cannot watch Service blog: GET /api/v1/namespaces/${NAMESPACE}/endpoints: cannot reach https://127.0.0.1:${port} (ECONNREFUSED)`,
      `Is KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=${port} the apiserver, reachable from here?`,
    ]);
  });

  it('the program stops on a 403 or a wrong CLUSTER_NAME before the first set, saying what to do', async () => {
    server.faults.failNext(Number.POSITIVE_INFINITY, 403, { reason: 'Forbidden', message: 'forbidden' });
    const forbidden = await program(['--service-account-dir', dir, '--source', 'endpointslices'], env);
    expect(forbidden.code).toBe(1);
    expect(forbidden.err.at(-1)).toBe(
      "Grant list and watch on endpointslices.discovery.k8s.io in the namespace to the pod's service account.",
    );
    server.faults.clear();
    const wrongName = await program(['--service-account-dir', dir], {
      ...env,
      CLUSTER_NAME: 'other.example',
    });
    expect(wrongName.code).toBe(1);
    expect(wrongName.err[0]).toMatch(
      /^seed-blog: cannot watch Service blog: .*not valid for the name "other\.example"/,
    );
    expect(wrongName.err.at(-1)).toBe('Set CLUSTER_NAME to a name the apiserver certificate carries.');
  });

  const script = fileURLToPath(new URL('../watch-blog.mjs', import.meta.url));
  const built = existsSync(fileURLToPath(new URL('../../../packages/core/dist/index.js', import.meta.url)));
  /** The program as a child process with only `childEnv`; killed after the test if still running. */
  function spawnProgram(args: string[], childEnv: Record<string, string>) {
    const child = spawn(process.execPath, [script, ...args], {
      env: { PATH: process.env.PATH ?? '', ...childEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    stops.push(async () => {
      child.kill('SIGKILL');
      await exited;
    });
    const output = { stdout: '', stderr: '' };
    child.stdout.on('data', (chunk) => {
      output.stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output.stderr += chunk;
    });
    return { child, exited, output };
  }

  it.skipIf(!built)(
    `${built ? '' : '(SKIPPED: packages/core is not built; run `pnpm build`) '}runs as a program and exits cleanly on SIGTERM`,
    async () => {
      server.upsert(blogEndpoints(['10.1.0.4', '10.1.0.5']));
      const { child, exited, output } = spawnProgram(
        ['--service-account-dir', dir, '--source', 'endpoints'],
        env,
      );
      await eventually(() => output.stdout.includes('\n'), `the first line (stderr: ${output.stderr})`);
      expect(output.stdout).toBe('blog: 10.1.0.4:8080 10.1.0.5:8080\n');
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(output.stderr).toBe('');
    },
  );

  it.skipIf(!built)('as a program outside a pod: the embedded cluster, its story, exit 0', async () => {
    const { exited, output } = spawnProgram([], {});
    expect(await exited).toBe(0);
    expect(output.stdout).toBe(`${STORY_LINES.join('\n')}\n`);
    expect(output.stderr).toMatch(/^seed-blog: not in a pod .*\n$/);
  });
});
