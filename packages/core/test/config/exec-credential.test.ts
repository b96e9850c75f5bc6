import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExecCredentialSource, type ExecCredentialSourceOptions } from '../../src/config/index.js';
import { ExecCredentialError, KubeConfigError } from '../../src/errors.js';
import {
  b64,
  CA_PEM,
  CERT_PEM,
  execCredential,
  KEY_PEM,
  load,
  pluginRun,
  pluginRuns,
  setPluginResponse,
  simpleKubeconfig,
  tempDir,
  writeExecPlugin,
  writeKubeconfig,
} from './helpers.js';

const V1 = 'client.authentication.k8s.io/v1';
const T0 = Date.parse('2030-01-01T00:00:00Z');

function setup(
  response: Parameters<typeof setPluginResponse>[1],
  options: Partial<ExecCredentialSourceOptions> = {},
) {
  const dir = tempDir('ew-exec-');
  const command = writeExecPlugin(dir);
  setPluginResponse(dir, response);
  const clock = { t: T0 };
  const source = new ExecCredentialSource({ command, apiVersion: V1, now: () => clock.t, ...options });
  return { dir, command, source, clock };
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  const result = await promise.then(
    () => undefined,
    (err: unknown) => err as Error,
  );
  if (!result) throw new Error('expected a rejection');
  return result;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('ExecCredentialSource', () => {
  it('runs the plugin with KUBERNETES_EXEC_INFO, args, extra env and no stdin', async () => {
    const { dir, source } = setup(
      { stdout: execCredential({ token: 'exec-token-{n}' }) },
      { args: ['get-token', '--cluster', 'c1'], env: [{ name: 'PLUGIN_EXTRA', value: 'extra-value' }] },
    );
    const credentials = await source.credentials();
    expect(credentials.token?.reveal()).toBe('exec-token-1');
    expect(credentials.clientCertificate).toBeUndefined();
    const run = pluginRun(dir, 1);
    expect(JSON.parse(run.execInfo)).toEqual({
      apiVersion: V1,
      kind: 'ExecCredential',
      spec: { interactive: false },
    });
    expect(run.args).toEqual(['get-token', '--cluster', 'c1']);
    expect(run.extra).toBe('extra-value');
    expect(run.stdinBytes).toBe(0);
  });

  it('accepts v1beta1 and client certificate output', async () => {
    const { source } = setup(
      {
        stdout: execCredential(
          { clientCertificateData: CERT_PEM, clientKeyData: KEY_PEM },
          'client.authentication.k8s.io/v1beta1',
        ),
      },
      { apiVersion: 'client.authentication.k8s.io/v1beta1' },
    );
    const credentials = await source.credentials();
    expect(credentials.clientCertificate?.cert).toBe(CERT_PEM);
    expect(credentials.clientCertificate?.key.reveal()).toBe(KEY_PEM);
    expect(credentials.token).toBeUndefined();
  });

  it('caches until expirationTimestamp, then runs again', async () => {
    const { dir, source, clock } = setup({
      stdout: execCredential({ token: 'exec-token-{n}', expirationTimestamp: '2030-01-01T00:05:00Z' }),
    });
    expect((await source.credentials()).token?.reveal()).toBe('exec-token-1');
    clock.t = T0 + 5 * 60_000 - 1;
    expect((await source.credentials()).token?.reveal()).toBe('exec-token-1');
    expect(pluginRuns(dir)).toBe(1);
    clock.t = T0 + 5 * 60_000;
    expect((await source.credentials()).token?.reveal()).toBe('exec-token-2');
    expect(pluginRuns(dir)).toBe(2);
  });

  it('without expirationTimestamp caches until refresh: true', async () => {
    const { dir, source, clock } = setup({ stdout: execCredential({ token: 'exec-token-{n}' }) });
    expect((await source.credentials()).token?.reveal()).toBe('exec-token-1');
    clock.t += 365 * 24 * 3600_000;
    expect((await source.credentials()).token?.reveal()).toBe('exec-token-1');
    expect(pluginRuns(dir)).toBe(1);
    expect((await source.credentials({ refresh: true })).token?.reveal()).toBe('exec-token-2');
    expect((await source.credentials()).token?.reveal()).toBe('exec-token-2');
    expect(pluginRuns(dir)).toBe(2);
  });

  it('shares one run between concurrent callers', async () => {
    const { dir, source } = setup({ stdout: execCredential({ token: 'exec-token-{n}' }), delayMs: 300 });
    const results = await Promise.all(Array.from({ length: 5 }, () => source.credentials()));
    expect(results.map((c) => c.token?.reveal())).toEqual(Array(5).fill('exec-token-1'));
    expect(pluginRuns(dir)).toBe(1);
  });

  it('reports a non-zero exit with its code and the stderr tail', async () => {
    const { source } = setup({ stderr: `${'noise '.repeat(500)}\nerror: login required\n`, exitCode: 3 });
    const err = await failure(source.credentials());
    expect(err).toBeInstanceOf(ExecCredentialError);
    expect((err as ExecCredentialError).code).toBe('ERR_EXEC_CREDENTIAL');
    expect(err.message).toContain('exited with code 3');
    expect(err.message).toContain('error: login required');
    expect(err.message.length).toBeLessThan(1_300);
  });

  it('runs again after a failure instead of caching it', async () => {
    const { dir, source } = setup({ exitCode: 1 });
    await failure(source.credentials());
    setPluginResponse(dir, { stdout: execCredential({ token: 'exec-token-{n}' }) });
    expect((await source.credentials()).token?.reveal()).toBe('exec-token-2');
  });

  it('rejects output that is not JSON without quoting it', async () => {
    const { source } = setup({ stdout: `{"apiVersion":"${V1}","status":{"token":"leaky-secret-1"` });
    const err = await failure(source.credentials());
    expect(err).toBeInstanceOf(ExecCredentialError);
    expect(err.message).toMatch(/JSON/);
    expect(err.message).not.toContain('leaky-secret-1');
  });

  it('rejects a wrong apiVersion', async () => {
    const { source } = setup({
      stdout: execCredential({ token: 'leaky-secret-2' }, 'client.authentication.k8s.io/v1alpha1'),
    });
    const err = await failure(source.credentials());
    expect(err).toBeInstanceOf(ExecCredentialError);
    expect(err.message).toContain('client.authentication.k8s.io/v1alpha1');
    expect(err.message).toContain(V1);
    expect(err.message).not.toContain('leaky-secret-2');
  });

  it.each([
    [{}, /neither a token nor a client certificate/],
    [
      { token: 'leaky-secret-3', clientCertificateData: CERT_PEM },
      /clientCertificateData without clientKeyData/,
    ],
    [{ token: 'leaky-secret-3', expirationTimestamp: 'tomorrow' }, /expirationTimestamp/],
    [{ token: 42 }, /status\.token/],
  ])('rejects an invalid status %#', async (status, message) => {
    const { source } = setup({ stdout: execCredential(status) });
    const err = await failure(source.credentials());
    expect(err).toBeInstanceOf(ExecCredentialError);
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain('leaky-secret-3');
  });

  it('kills the plugin and fails after the timeout', async () => {
    const { dir, source } = setup(
      { stdout: execCredential({ token: 't' }), delayMs: 30_000 },
      { timeoutMs: 400 },
    );
    // The plugin would answer after 30 s: the error proves the 400 ms timeout ended the wait.
    const err = await failure(source.credentials());
    expect(err).toBeInstanceOf(ExecCredentialError);
    expect(err.message).toMatch(/timed out after 400 ms/);
    const pid = Number(fs.readFileSync(path.join(dir, 'pid'), 'utf8'));
    const deadline = Date.now() + 3_000;
    while (processAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    expect(processAlive(pid)).toBe(false);
  });

  it('explains a missing command with the installHint', async () => {
    const dir = tempDir();
    const source = new ExecCredentialSource({
      command: path.join(dir, 'no-such-plugin'),
      apiVersion: V1,
      installHint: 'Install it with: brew install no-such-plugin',
    });
    const err = await failure(source.credentials());
    expect(err).toBeInstanceOf(ExecCredentialError);
    expect(err.message).toContain('not found');
    expect(err.message).toContain('brew install no-such-plugin');
  });

  it('runs the command without a shell: metacharacters in the command or its args are not interpreted', async () => {
    const dir = tempDir();
    const marker = path.join(dir, 'pwned');
    // Through a shell, either of these would create the marker file.
    const inCommand = new ExecCredentialSource({ command: `touch ${marker}; echo`, apiVersion: V1 });
    const err = await failure(inCommand.credentials());
    expect(err).toBeInstanceOf(ExecCredentialError);
    expect(err.message).toContain('not found');
    const { source } = setup(
      { stdout: execCredential({ token: 't' }) },
      { args: [`$(touch ${marker})`, `; touch ${marker}`, `\`touch ${marker}\``] },
    );
    await source.credentials();
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('lets an aborted caller go without cancelling the shared run', async () => {
    const { dir, source } = setup({ stdout: execCredential({ token: 'exec-token-{n}' }), delayMs: 300 });
    const controller = new AbortController();
    const aborted = source.credentials({ signal: controller.signal });
    const other = source.credentials();
    controller.abort(new Error('caller gave up'));
    await expect(aborted).rejects.toThrow('caller gave up');
    expect((await other).token?.reveal()).toBe('exec-token-1');
    expect(pluginRuns(dir)).toBe(1);
  });
});

describe('exec users in a kubeconfig', () => {
  it('resolves a relative command against the kubeconfig directory, passes args/env and runs lazily', async () => {
    const dir = tempDir('ew-exec-');
    writeExecPlugin(path.join(dir), 'plugin.cjs');
    setPluginResponse(dir, { stdout: execCredential({ token: 'kc-exec-{n}' }) });
    const file = writeKubeconfig(
      path.join(dir, 'config'),
      simpleKubeconfig({
        cluster: { 'certificate-authority-data': b64(CA_PEM), 'tls-server-name': 'api.internal' },
        user: {
          exec: {
            apiVersion: V1,
            command: './plugin.cjs',
            args: ['token'],
            env: [{ name: 'PLUGIN_EXTRA', value: 'from-kubeconfig' }],
            provideClusterInfo: true,
            interactiveMode: 'IfAvailable',
          },
        },
      }),
    );
    const otherCwd = tempDir();
    const cwd = process.cwd();
    process.chdir(otherCwd);
    let config: ReturnType<typeof load>;
    try {
      config = load({ kubeconfig: file });
    } finally {
      process.chdir(cwd);
    }
    expect(pluginRuns(dir)).toBe(0);
    expect((await config.auth.credentials()).token?.reveal()).toBe('kc-exec-1');
    const run = pluginRun(dir, 1);
    expect(run.args).toEqual(['token']);
    expect(run.extra).toBe('from-kubeconfig');
    expect(JSON.parse(run.execInfo).spec).toEqual({
      interactive: false,
      cluster: {
        server: 'https://c.example:6443',
        'certificate-authority-data': b64(CA_PEM),
        'tls-server-name': 'api.internal',
      },
    });
  });

  it('combines a static client certificate with an exec token', async () => {
    const dir = tempDir('ew-exec-');
    const command = writeExecPlugin(dir);
    setPluginResponse(dir, { stdout: execCredential({ token: 'exec-token-{n}' }) });
    const file = writeKubeconfig(
      path.join(dir, 'config'),
      simpleKubeconfig({
        user: {
          'client-certificate-data': b64(CERT_PEM),
          'client-key-data': b64(KEY_PEM),
          exec: { apiVersion: V1, command },
        },
      }),
    );
    const credentials = await load({ kubeconfig: file }).auth.credentials();
    expect(credentials.token?.reveal()).toBe('exec-token-1');
    expect(credentials.clientCertificate?.cert).toBe(CERT_PEM);
  });

  it.each([
    [{ command: 'x' }, /no apiVersion/],
    [{ apiVersion: 'client.authentication.k8s.io/v1alpha1', command: 'x' }, /v1alpha1.*not supported/],
    [{ apiVersion: V1, command: 'x', interactiveMode: 'Always' }, /interactiveMode "Always"/],
  ])('rejects unusable exec settings at load %#', (exec, message) => {
    const dir = tempDir();
    const file = writeKubeconfig(path.join(dir, 'config'), simpleKubeconfig({ user: { exec } }));
    expect(() => load({ kubeconfig: file })).toThrow(KubeConfigError);
    expect(() => load({ kubeconfig: file })).toThrow(message);
  });
});
