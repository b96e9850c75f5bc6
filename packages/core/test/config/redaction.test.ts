import path from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { KubeConfig } from '../../src/config/index.js';
import { Secret } from '../../src/config/index.js';
import {
  b64,
  CA_PEM,
  CERT_PEM,
  execCredential,
  expectNotShown,
  KEY_MARKER,
  KEY_PEM,
  load,
  serviceAccountDir,
  setPluginResponse,
  simpleKubeconfig,
  tempDir,
  writeExecPlugin,
  writeFile,
  writeKubeconfig,
} from './helpers.js';

const TOKEN = 'tkn-DO-NOT-LEAK-1a2b3c';

function expectNoSecrets(value: unknown, secrets: readonly string[] = [TOKEN, KEY_MARKER]) {
  expectNotShown(value, secrets);
}

async function expectRedacted(config: KubeConfig) {
  expectNoSecrets(config);
  const credentials = await config.auth.credentials();
  // The secret is really there…
  const revealed = [credentials.token?.reveal(), credentials.clientCertificate?.key.reveal()].join('\n');
  expect(revealed.includes(TOKEN) || revealed.includes(KEY_PEM)).toBe(true);
  // …but neither the credentials nor the config (now holding a cache) show it.
  expectNoSecrets(credentials);
  expectNoSecrets(config);
  expect(`${credentials.token ?? ''}`).not.toContain(TOKEN);
}

describe('secrets never leak through inspect, JSON or string conversion', () => {
  it('Secret itself', () => {
    const secret = new Secret(TOKEN);
    expectNoSecrets(secret);
    expectNoSecrets({ nested: { secret } });
    expect(`Bearer ${secret}`).toBe('Bearer [redacted]');
    expect(secret.reveal()).toBe(TOKEN);
  });

  it('explicit options with token and client key', async () => {
    await expectRedacted(
      load({ server: 'https://x', token: TOKEN, clientCertificate: CERT_PEM, clientKey: KEY_PEM }),
    );
  });

  it('kubeconfig with token and key data', async () => {
    const dir = tempDir();
    const file = writeKubeconfig(
      path.join(dir, 'config'),
      simpleKubeconfig({
        cluster: { 'certificate-authority-data': b64(CA_PEM) },
        user: { token: TOKEN, 'client-certificate-data': b64(CERT_PEM), 'client-key-data': b64(KEY_PEM) },
      }),
    );
    await expectRedacted(load({ kubeconfig: file }));
  });

  it('token file and in-cluster', async () => {
    const dir = tempDir();
    writeFile(path.join(dir, 'tok'), TOKEN);
    const file = writeKubeconfig(path.join(dir, 'config'), simpleKubeconfig({ user: { tokenFile: 'tok' } }));
    await expectRedacted(load({ kubeconfig: file }));
    await expectRedacted(
      load({
        env: { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' },
        inCluster: { serviceAccountDir: serviceAccountDir({ token: TOKEN, ca: CA_PEM }) },
      }),
    );
  });

  it('exec plugin output and exec env values', async () => {
    const dir = tempDir('ew-exec-');
    const command = writeExecPlugin(dir);
    setPluginResponse(dir, { stdout: execCredential({ token: TOKEN }) });
    const file = writeKubeconfig(
      path.join(dir, 'config'),
      simpleKubeconfig({
        user: {
          exec: {
            apiVersion: 'client.authentication.k8s.io/v1',
            command,
            env: [{ name: 'PLUGIN_EXTRA', value: 'env-secret-DO-NOT-LEAK' }],
          },
        },
      }),
    );
    const config = load({ kubeconfig: file });
    expectNoSecrets(config, ['env-secret-DO-NOT-LEAK']);
    await expectRedacted(config);
    expectNoSecrets(config, ['env-secret-DO-NOT-LEAK']);
  });

  it('errors about a failing exec plugin do not contain the token it printed', async () => {
    const dir = tempDir('ew-exec-');
    const command = writeExecPlugin(dir);
    setPluginResponse(dir, { stdout: { kind: 'ExecCredential', status: { token: TOKEN } } });
    const file = writeKubeconfig(
      path.join(dir, 'config'),
      simpleKubeconfig({ user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command } } }),
    );
    const err = await load({ kubeconfig: file })
      .auth.credentials()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(Error);
    expectNoSecrets(err);
    expect(inspect(err)).toContain('apiVersion');
  });
});
