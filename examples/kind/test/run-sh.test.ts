// run.sh needs docker, kind and kubectl. Here it runs against stand-ins for them that only record their
// arguments, which checks the order of the steps, the image names and the teardown; shellcheck lints it.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const runSh = fileURLToPath(new URL('../run.sh', import.meta.url));
const hasShellcheck = spawnSync('shellcheck', ['--version']).status === 0;
const hasBash = spawnSync('bash', ['--version']).status === 0;

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** Runs run.sh with recording stand-ins for docker, kind and kubectl; `failOn` makes the call containing it fail. */
function runWithStubs(args: string[], failOn?: string) {
  dir = mkdtempSync(join(tmpdir(), 'kind-run-sh-'));
  const log = join(dir, 'calls.log');
  for (const tool of ['docker', 'kind', 'kubectl']) {
    const stub = join(dir, tool);
    writeFileSync(
      stub,
      [
        '#!/usr/bin/env bash',
        `printf '%s\\n' "${tool} $*" >> "$STUB_LOG"`,
        `if [ -n "$STUB_FAIL_ON" ] && [[ "${tool} $*" == *"$STUB_FAIL_ON"* ]]; then exit 3; fi`,
        'exit 0',
      ].join('\n'),
    );
    chmodSync(stub, 0o755);
  }
  const result = spawnSync('bash', [runSh, ...args], {
    encoding: 'utf8',
    timeout: 15_000,
    env: {
      PATH: `${dir}${delimiter}${process.env.PATH}`,
      STUB_LOG: log,
      STUB_FAIL_ON: failOn ?? '',
      OBSERVE_SECONDS: '0',
      KIND_CLUSTER_NAME: 'ew-test',
    },
  });
  const calls = readFileSync(log, 'utf8').trim().split('\n');
  return { ...result, calls };
}

/** The index of the first call matching `pattern` after `from`; -1 when none. */
const indexOf = (calls: string[], pattern: RegExp, from = 0) => {
  const i = calls.slice(from).findIndex((call) => pattern.test(call));
  return i < 0 ? -1 : i + from;
};

describe('run.sh', () => {
  it.skipIf(!hasShellcheck)(
    hasShellcheck
      ? 'is clean under shellcheck'
      : 'is clean under shellcheck (SKIPPED: shellcheck is not installed)',
    () => {
      const result = spawnSync('shellcheck', ['--severity=style', '--external-sources', runSh], {
        encoding: 'utf8',
      });
      expect(result.stdout + result.stderr).toBe('');
      expect(result.status).toBe(0);
    },
  );

  it.skipIf(!hasBash)(
    'creates the cluster, builds, loads, deploys, scales 3 → 6 → 2 and deletes the cluster',
    () => {
      const { status, calls, stderr } = runWithStubs([]);
      expect(status, stderr).toBe(0);
      const steps = [
        /^kind create cluster --name ew-test --config \S+\/examples\/kind\/kind-config\.yaml/,
        /^docker build --file \S+\/examples\/kind\/Dockerfile --target echo --tag endpoint-watch-demo\/echo:dev \S+$/,
        /^docker build --file \S+\/examples\/kind\/Dockerfile --target client --tag endpoint-watch-demo\/client:dev \S+$/,
        /^kind load docker-image --name ew-test endpoint-watch-demo\/echo:dev endpoint-watch-demo\/client:dev$/,
        /^kubectl --context kind-ew-test apply --filename \S+\/examples\/kind\/manifests\/$/,
        /^kubectl .*rollout status deployment\/echo/,
        /^kubectl .*rollout status deployment\/client/,
        /^kubectl .*scale deployment\/echo --replicas=6$/,
        /^kubectl .*rollout status deployment\/echo/,
        /^kubectl .*scale deployment\/echo --replicas=2$/,
        /^kubectl .*rollout status deployment\/echo/,
        /^kind delete cluster --name ew-test$/,
      ];
      let at = 0;
      for (const step of steps) {
        const i = indexOf(calls, step, at);
        expect(i, `${step} after call ${at} in:\n${calls.join('\n')}`).toBeGreaterThanOrEqual(0);
        at = i + 1;
      }
      // The log follower runs in the background: it starts after the client's rollout, but its
      // call may be recorded after later ones.
      expect(indexOf(calls, /^kubectl .*logs --follow .*deployment\/client/)).toBeGreaterThan(
        indexOf(calls, /^kubectl .*rollout status deployment\/client/),
      );
      // the build context is the repository root, where the Dockerfile's COPY paths start
      const build = calls.find((call) => call.startsWith('docker build'))!;
      expect(build.split(' ').at(-1)).toBe(
        fileURLToPath(new URL('../../..', import.meta.url)).replace(/\/$/, ''),
      );
      expect(
        calls.filter((call) => call.includes('--namespace') && !call.includes('endpoint-watch-demo')),
      ).toEqual([]);
    },
  );

  it.skipIf(!hasBash)('keeps the cluster with --keep', () => {
    const { status, calls } = runWithStubs(['--keep']);
    expect(status).toBe(0);
    expect(indexOf(calls, /^kind create cluster/)).toBeGreaterThanOrEqual(0);
    expect(indexOf(calls, /^kind delete cluster/)).toBe(-1);
  });

  it.skipIf(!hasBash)('deletes the cluster when a step fails, and fails', () => {
    const { status, calls } = runWithStubs([], 'apply --filename');
    expect(status).not.toBe(0);
    expect(indexOf(calls, /scale deployment/)).toBe(-1);
    expect(calls.at(-1)).toBe('kind delete cluster --name ew-test');
  });

  it.skipIf(!hasBash)('rejects unknown arguments before touching anything', () => {
    const result = spawnSync('bash', [runSh, '--bogus'], { encoding: 'utf8', timeout: 15_000 });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('unknown argument: --bogus');
  });
});
