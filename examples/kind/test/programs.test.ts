// The client and echo programs of the kind demo, run locally: two echo "pods" on 127.0.0.2 and
// 127.0.0.3 (same port), published as the echo Service's EndpointSlices in the fake apiserver, and the
// client's logic pointed at it with a kubeconfig, as it would be at a cluster.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { endpointSlice, type FakeApiServer, startFakeApiServer } from '@endpoint-watch/testing';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs example without type declarations
import { runClient } from '../src/client.mjs';
// @ts-expect-error: a plain .mjs example without type declarations
import { startEcho } from '../src/echo.mjs';

interface Echo {
  port: number;
  close(options?: { drainMs?: number }): Promise<void>;
}

const NAMESPACE = 'endpoint-watch-demo';
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Echo pods on 127.0.0.2, 127.0.0.3, … on one port (the first binds port 0; retried if taken). */
async function startEchoPods(names: string[]): Promise<{ port: number; addresses: string[] }> {
  const addresses = names.map((_, i) => `127.0.0.${i + 2}`);
  for (let round = 0; ; round++) {
    const started: Echo[] = [];
    try {
      let port = 0;
      for (const [i, podName] of names.entries()) {
        const echo = (await startEcho({ host: addresses[i], port, podName, podIp: addresses[i] })) as Echo;
        started.push(echo);
        port = echo.port;
      }
      cleanups.push(() => Promise.all(started.map((echo) => echo.close())));
      return { port, addresses };
    } catch (error) {
      await Promise.all(started.map((echo) => echo.close()));
      if ((error as { code?: string }).code !== 'EADDRINUSE' || round >= 5) throw error;
    }
  }
}

describe('kind example programs against the fake apiserver', () => {
  it('the client watches the echo Service and both echo pods answer', async () => {
    const { port, addresses } = await startEchoPods(['echo-a', 'echo-b']);
    const server: FakeApiServer = await startFakeApiServer({
      tls: true,
      initialObjects: addresses.map((address, i) =>
        endpointSlice({
          namespace: NAMESPACE,
          service: 'echo',
          name: `echo-${i}`,
          ports: [{ name: 'http', port, protocol: 'TCP' }],
          endpoints: [{ addresses: [address], zone: i ? 'zone-b' : 'zone-a', targetRef: 'pod' }],
        }),
      ),
    });
    cleanups.push(() => server.close());
    const dir = mkdtempSync(join(tmpdir(), 'kind-example-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, server.kubeconfig({ namespace: NAMESPACE }));

    const lines: string[] = [];
    const { counts, errors } = (await runClient({
      env: { KUBECONFIG: kubeconfig, INTERVAL_MS: '0', CONCURRENCY: '2', REPORT_EVERY_MS: '600000' },
      requests: 40,
      log: (line: string) => lines.push(line),
    })) as { counts: Record<string, number>; errors: number };

    expect(errors).toBe(0);
    expect(Object.keys(counts).sort()).toEqual(['echo-a', 'echo-b']);
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(40);
    expect(lines).toContain(`endpoints: ${addresses.map((a) => `${a}:${port}`).join(' ')}`);
    expect(lines).toContain('watch: synced');
    expect(lines.at(-1)).toMatch(
      /^distribution: 40 answers, 0 errors so far \| echo-a \d+ \(\d+%\) {2}echo-b \d+ \(\d+%\)$/,
    );
    // it watched the Service's slices in the kubeconfig's namespace with the kubeconfig's token
    expect(
      server.requests.some(
        (r) =>
          r.path === `/apis/discovery.k8s.io/v1/namespaces/${NAMESPACE}/endpointslices` && r.status === 200,
      ),
    ).toBe(true);
  });

  it('echo answers with its pod name and IP, and fails its readiness probe once it drains', async () => {
    const echo = (await startEcho({
      host: '127.0.0.2',
      port: 0,
      podName: 'echo-x',
      podIp: '10.244.1.7',
    })) as Echo;
    const dispatcher = new Agent();
    cleanups.push(() => dispatcher.close());
    const get = (path: string) =>
      request(`http://127.0.0.2:${echo.port}${path}`, { dispatcher, reset: true });

    expect(await (await get('/anything')).body.json()).toEqual({ pod: 'echo-x', ip: '10.244.1.7' });
    expect((await get('/healthz')).statusCode).toBe(200);
    const closed = echo.close({ drainMs: 1000 });
    const draining = await get('/healthz');
    expect(draining.statusCode).toBe(503);
    await draining.body.dump();
    expect(await (await get('/still-serving')).body.json()).toEqual({ pod: 'echo-x', ip: '10.244.1.7' });
    await closed;
    await expect(get('/gone')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
