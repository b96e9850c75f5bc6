import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import {
  endpointSlice,
  eventually,
  type FakeApiServer,
  rejection,
  startFakeApiServer,
  v1Endpoints,
  within,
} from '@endpoint-watch/testing';
import { firstValueFrom, timeout } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { loadKubeConfig } from '../../src/config/index.js';
import { watchEndpoints } from '../../src/endpoints/watch-endpoints.js';
import { KubeApiError, KubeTransportError } from '../../src/transport/kube-api-error.js';
import { createKubeClient, type KubeClient } from '../../src/transport/kube-client.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function server(options: Parameters<typeof startFakeApiServer>[0]): Promise<FakeApiServer> {
  const s = await startFakeApiServer(options);
  cleanups.push(() => s.close());
  return s;
}
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ew-transport-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
function client(config: Parameters<typeof createKubeClient>[0]): KubeClient {
  const c = createKubeClient(config);
  cleanups.push(() => c.close());
  return c;
}
function kubeconfigFile(s: FakeApiServer, options: Parameters<FakeApiServer['kubeconfig']>[0] = {}): string {
  const path = join(tempDir(), 'config');
  writeFileSync(path, s.kubeconfig(options));
  return path;
}

describe('TLS verification', () => {
  it('verifies the apiserver certificate against tlsServerName (the seed scenario)', async () => {
    const s = await server({ tls: { names: ['cluster.condi.me'] } });
    const path = kubeconfigFile(s);
    const config = loadKubeConfig({ kubeconfig: path, tlsServerName: 'cluster.condi.me', env: {} });
    const version = (await client(config).getJson('/version')) as { major?: string };
    expect(version.major).toBeDefined();
  });

  it('fails with a clear error, and sends no token, when the certificate names another host', async () => {
    const s = await server({ tls: { names: ['cluster.condi.me'] } });
    const config = loadKubeConfig({ kubeconfig: kubeconfigFile(s), env: {} });
    const error = await rejection(client(config).getJson('/version'));
    expect(error).toBeInstanceOf(KubeTransportError);
    expect(error.code).toBe('ERR_KUBE_TLS_NAME');
    expect(error.message).toContain('tlsServerName');
    // The names the certificate is valid for, so that the user knows what to set.
    expect(error.message).toContain('the certificate names DNS:cluster.condi.me');
    expect(s.requests).toHaveLength(0); // the handshake failed before any request, so no token left
  });

  it('fails when the CA does not match', async () => {
    const a = await server({ tls: true });
    const b = await server({ tls: true });
    const config = loadKubeConfig({ server: a.url, token: a.token, ca: b.tls?.ca });
    const error = await rejection(client(config).getJson('/version'));
    expect(error.code).toBe('ERR_KUBE_TLS_TRUST');
    expect(a.requests).toHaveLength(0);
  });

  it('presents a client certificate (mTLS)', async () => {
    const s = await server({ tls: true, requireClientCertificate: true, token: false });
    const config = loadKubeConfig({ kubeconfig: kubeconfigFile(s), env: {} });
    await expect(client(config).getJson('/version')).resolves.toBeDefined();
  });
});

describe('errors', () => {
  it('carries the apiserver Status', async () => {
    const s = await server({ tls: true });
    const c = client(loadKubeConfig({ kubeconfig: kubeconfigFile(s), env: {} }));
    const error = await rejection(c.getJson('/api/v1/namespaces/default/pods'));
    expect(error).toBeInstanceOf(KubeApiError);
    expect((error as unknown as KubeApiError).statusCode).toBe(404);
    expect((error as unknown as KubeApiError).status.reason).toBe('NotFound');
  });

  it('carries the Status message, in the error and in its text', async () => {
    const s = await server({ tls: true });
    s.faults.failNext(1, 403, { reason: 'Forbidden', message: 'cannot list endpointslices in shop' });
    const c = client(loadKubeConfig({ kubeconfig: kubeconfigFile(s), env: {} }));
    const error = (await rejection(
      c.getJson('/apis/discovery.k8s.io/v1/endpointslices'),
    )) as unknown as KubeApiError;
    expect(error.status).toMatchObject({
      code: 403,
      reason: 'Forbidden',
      message: 'cannot list endpointslices in shop',
    });
    expect(error.message).toContain('cannot list endpointslices in shop');
  });

  it('turns a body that is not a Status (a proxy’s HTML page) into a KubeApiError keeping its text', async () => {
    const proxy = createServer((_request, response) => {
      response.writeHead(502, { 'content-type': 'text/html' });
      response.end('<html><body>502 Bad Gateway</body></html>');
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => proxy.close(() => resolve())));
    const { port } = proxy.address() as AddressInfo;
    const error = await rejection(
      client(loadKubeConfig({ server: `http://127.0.0.1:${port}` })).getJson('/version'),
    );
    expect(error).toBeInstanceOf(KubeApiError);
    expect((error as unknown as KubeApiError).statusCode).toBe(502);
    expect((error as unknown as KubeApiError).status.message).toContain('502 Bad Gateway');
  });

  it('never follows a redirect: the token stays with the apiserver, the 3xx is an error', async () => {
    const elsewhere: string[] = [];
    const thief = createServer((request, response) => {
      elsewhere.push(String(request.headers.authorization));
      response.end('{}');
    });
    await new Promise<void>((resolve) => thief.listen(0, '127.0.0.2', resolve));
    const thiefPort = (thief.address() as AddressInfo).port;
    const redirecting = createServer((_request, response) => {
      response.writeHead(302, { location: `http://127.0.0.2:${thiefPort}/steal` });
      response.end();
    });
    await new Promise<void>((resolve) => redirecting.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () => new Promise<void>((resolve) => thief.close(() => resolve())),
      () => new Promise<void>((resolve) => redirecting.close(() => resolve())),
    );
    const { port } = redirecting.address() as AddressInfo;
    const c = client(loadKubeConfig({ server: `http://127.0.0.1:${port}`, token: 'secret-token' }));
    for (const request of [c.getJson('/version'), c.stream('/apis/discovery.k8s.io/v1/endpointslices')]) {
      const error = await rejection(request);
      expect(error).toBeInstanceOf(KubeApiError);
      expect((error as unknown as KubeApiError).statusCode).toBe(302);
      expect(error.message).not.toContain('secret-token');
    }
    expect(elsewhere).toEqual([]);
  });

  it('takes a server path with a long run of slashes in linear time (a backtracking regex took minutes)', async () => {
    const slashes = '/'.repeat(200_000);
    const c = client(loadKubeConfig({ server: `http://127.0.0.1:1${slashes}x`, token: 't' }));
    expect(c.config.server.endsWith(`${slashes}x`)).toBe(true);
    await c.close();
  });

  it('reports an unreachable apiserver', async () => {
    const s = await server({ tls: true });
    const url = s.url;
    await s.close();
    const config = loadKubeConfig({ server: url, token: 'x', ca: s.tls?.ca });
    const error = await rejection(client(config).getJson('/version'));
    expect(error.code).toBe('ERR_KUBE_UNREACHABLE');
  });

  it('never shows the token in errors or inspect output', async () => {
    const s = await server({ tls: true, token: 'super-secret-token-value' });
    const config = loadKubeConfig({ server: s.url, token: 'super-secret-token-value', ca: s.tls?.ca });
    const c = client(config);
    s.setToken('rotated-other-token');
    const error = await rejection(c.getJson('/version'));
    expect((error as unknown as KubeApiError).statusCode).toBe(401);
    for (const text of [
      inspect(error, { depth: 10 }),
      JSON.stringify(error),
      inspect(c, { depth: 10 }),
      inspect(config, { depth: 10 }),
    ]) {
      expect(text).not.toContain('super-secret-token-value');
    }
  });

  it('never shows the token in transport errors either (here: an untrusted certificate)', async () => {
    const s = await server({ tls: true, token: 'super-secret-token-value' });
    const other = await server({ tls: true });
    const config = loadKubeConfig({ server: s.url, token: 'super-secret-token-value', ca: other.tls?.ca });
    const error = await rejection(client(config).getJson('/version'));
    expect(error).toBeInstanceOf(KubeTransportError);
    for (const text of [error.message, inspect(error, { depth: 10 }), JSON.stringify(error)]) {
      expect(text).not.toContain('super-secret-token-value');
    }
  });

  it('aborts a request with its signal', async () => {
    const s = await server({ tls: true });
    const c = client(loadKubeConfig({ kubeconfig: kubeconfigFile(s), env: {} }));
    const controller = new AbortController();
    const stream = await c.stream('/apis/discovery.k8s.io/v1/namespaces/default/endpointslices', {
      query: { watch: true },
      signal: controller.signal,
    });
    await s.waitForWatches(1);
    controller.abort();
    const reading = (async () => {
      for await (const _chunk of stream.body) {
        // nothing arrives; the abort ends the loop
      }
    })();
    await expect(reading).rejects.toThrow();
    await eventually(() => s.openWatches === 0, 'the watch to close');
  });

  it('aborts a request still waiting for its credentials (a slow exec plugin, say)', async () => {
    const s = await server({ tls: true });
    const config = loadKubeConfig({ kubeconfig: kubeconfigFile(s), env: {} });
    // credentials that arrive only when the caller gives up
    const credentials = (options?: { signal?: AbortSignal }) =>
      new Promise<never>((_resolve, reject) => {
        options?.signal?.addEventListener('abort', () => reject(options.signal?.reason));
      });
    const c = client({ ...config, auth: { ...config.auth, credentials } });
    const controller = new AbortController();
    const pending = rejection(c.getJson('/version', { signal: controller.signal }));
    controller.abort();
    const error = await within(pending, 5_000, 'the aborted request to end');
    expect(error.name).toBe('AbortError');
    expect(s.requests).toHaveLength(0);
  });
});

describe('token rotation', () => {
  it('re-reads a rotated service-account token after a 401 and retries', async () => {
    const s = await server({ tls: { names: ['cluster.condi.me'] }, token: 'token-one' });
    const dir = tempDir();
    s.writeServiceAccount(dir, { namespace: 'shop' });
    const port = new URL(s.url).port;
    const config = loadKubeConfig({
      inCluster: { serviceAccountDir: dir },
      tlsServerName: 'cluster.condi.me',
      env: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: port },
    });
    expect(config.namespace).toBe('shop');
    const c = client(config);
    await c.getJson('/version');
    s.setToken('token-two');
    writeFileSync(join(dir, 'token'), 'token-two');
    await expect(c.getJson('/version')).resolves.toBeDefined();
    expect(s.requests.map((r) => r.status)).toEqual([200, 401, 200]);
  });
});

describe('the seed scenario, end to end', () => {
  it('inside a pod: ready addresses of the blog Service via the mounted service account', async () => {
    const s = await server({
      tls: { names: ['cluster.condi.me'] },
      initialObjects: [
        v1Endpoints({
          namespace: 'blog',
          service: 'blog',
          subsets: [
            {
              addresses: ['10.42.0.7', '10.42.1.9'],
              notReadyAddresses: ['10.42.2.3'],
              ports: [{ port: 2368 }],
            },
          ],
        }),
        endpointSlice({
          namespace: 'blog',
          service: 'blog',
          ports: [{ port: 2368 }],
          endpoints: [
            { addresses: ['10.42.0.7'] },
            { addresses: ['10.42.1.9'] },
            { addresses: ['10.42.2.3'], ready: false },
          ],
        }),
      ],
    });
    const dir = tempDir();
    s.writeServiceAccount(dir, { namespace: 'blog' });
    const config = loadKubeConfig({
      inCluster: { serviceAccountDir: dir },
      tlsServerName: 'cluster.condi.me',
      env: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: new URL(s.url).port },
    });
    const c = client(config);
    for (const source of ['endpoints', 'endpointslices'] as const) {
      const set = await firstValueFrom(
        watchEndpoints(c, { namespace: config.namespace, service: 'blog', source }).pipe(timeout(8000)),
      );
      expect(set.endpoints.map((e) => `${e.address}:${e.port}`).sort()).toEqual([
        '10.42.0.7:2368',
        '10.42.1.9:2368',
      ]);
    }
  });
});
