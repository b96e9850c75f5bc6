/**
 * HTTP/2 connection health against the real kube-apiserver: a graceful restart (SIGTERM: the
 * apiserver sends GOAWAY and drains) and a half-open connection that only a PING can find.
 */
import {
  type EndpointSet,
  type KubeClient,
  type WatchHealth,
  watchEndpoints,
  watchEndpointsHealth,
} from '@endpoint-watch/core';
import { startTcpProxy, type TcpProxy } from '@endpoint-watch/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  clientFor,
  createSelectorlessService,
  manualSlice,
  Recorder,
  targetsAre,
  useControlPlane,
} from './helpers.js';

const plane = useControlPlane();
const NS = 'http2-health';
const SERVICES = 20;
const PORT = 8080;

let proxy: TcpProxy;
const recorders: Recorder<unknown>[] = [];
const clients: KubeClient[] = [];

beforeAll(async () => {
  await plane().admin.createNamespace(NS);
  proxy = await startTcpProxy({ host: '127.0.0.1', port: plane().port });
  for (let i = 0; i < SERVICES; i++) {
    await createSelectorlessService(plane(), NS, `svc-${i}`, PORT);
  }
  await moveAll(0);
}, 120_000);
afterEach(() => {
  for (const r of recorders.splice(0)) r.close();
});
afterAll(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await proxy?.close();
});

function ipOf(service: number, generation: number): string {
  return `198.19.${generation + 10}.${service + 1}`;
}

/** Writes each Service's one slice (no selector: the controller leaves it alone) with the addresses of `generation`. */
async function moveAll(generation: number): Promise<void> {
  const path = `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`;
  await Promise.all(
    Array.from({ length: SERVICES }, async (_, i) => {
      const name = `svc-${i}-manual`;
      const body = manualSlice(`svc-${i}`, name, PORT, [
        { addresses: [ipOf(i, generation)], conditions: { ready: true } },
      ]);
      if (generation === 0) return plane().admin.create(path, body);
      return plane().admin.patch(`${path}/${name}`, { endpoints: body.endpoints }, 'merge');
    }),
  );
}

function watchAll(client: KubeClient): { sets: Recorder<EndpointSet>[]; health: Recorder<WatchHealth>[] } {
  const sets: Recorder<EndpointSet>[] = [];
  const health: Recorder<WatchHealth>[] = [];
  for (let i = 0; i < SERVICES; i++) {
    const options = { service: `svc-${i}`, namespace: NS, port: 'http' };
    sets.push(new Recorder(watchEndpoints(client, options)));
    health.push(new Recorder(watchEndpointsHealth(client, options)));
  }
  recorders.push(...sets, ...health);
  return { sets, health };
}

async function allAt(sets: Recorder<EndpointSet>[], generation: number, what: string, marks?: number[]) {
  await Promise.all(
    sets.map((s, i) =>
      s.until((set) => targetsAre(set, [ipOf(i, generation)], PORT), `svc-${i} ${what}`, 60_000, marks?.[i]),
    ),
  );
}

describe('HTTP/2 connection health on the real apiserver', () => {
  it('a graceful restart (GOAWAY): every watch resumes on a new connection and sees the next change', async () => {
    const client = clientFor(plane());
    clients.push(client);
    const { sets, health } = watchAll(client);
    await allAt(sets, 0, 'synced');
    await Promise.all(health.map((h, i) => h.until((v) => v.state === 'synced', `svc-${i} synced`, 60_000)));
    const healthMarks = health.map((h) => h.mark());
    await plane().restartApiServer({ hard: false });
    await Promise.all(
      health.map((h, i) =>
        h.until((v) => v.state === 'synced', `svc-${i} synced again`, 120_000, (healthMarks[i] ?? 0) + 1),
      ),
    );
    const marks = sets.map((s) => s.mark());
    await moveAll(1);
    await allAt(sets, 1, 'after the restart', marks);
    const stats = client.transportStats().http2;
    console.log(`[http2-health] after a graceful restart: ${JSON.stringify(stats)}`);
    expect(stats?.goaways).toBeGreaterThanOrEqual(1);
    expect(stats).toMatchObject({ connections: 1, streams: SERVICES });
  }, 240_000);

  it('a half-open connection is found by PING: the watches resume long before their 150 s idle timeout', async () => {
    const client = clientFor(
      plane(),
      {
        server: `https://127.0.0.1:${proxy.port}`,
        tlsServerName: plane().clusterName,
      },
      { http2Health: { readIdleTimeoutMs: 500, pingTimeoutMs: 1_000 } },
    );
    clients.push(client);
    const { sets } = watchAll(client);
    await allAt(sets, 1, 'synced');
    const acceptedBefore = proxy.accepted;
    proxy.freeze();
    const marks = sets.map((s) => s.mark());
    await moveAll(2);
    // Bounded far below the watches' own idle timeout (150 s) and the apiserver's bookmarks (~60 s).
    await Promise.all(
      sets.map((s, i) =>
        s.until((set) => targetsAre(set, [ipOf(i, 2)], PORT), `svc-${i} after the freeze`, 20_000, marks[i]),
      ),
    );
    const stats = client.transportStats().http2;
    console.log(`[http2-health] after a frozen connection: ${JSON.stringify(stats)}`);
    expect(stats?.pingTimeouts).toBe(1);
    expect(proxy.accepted - acceptedBefore).toBe(1);
  }, 120_000);
});
