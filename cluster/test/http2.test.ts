/**
 * HTTP/2 against the real kube-apiserver, through a TCP proxy that counts the SDK's connections:
 * 250 Services over ⌈250/100⌉ connections, an apiserver restart mid-watch, and bodies far larger
 * than the HTTP/2 flow-control windows.
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
  until,
  useControlPlane,
} from './helpers.js';

const plane = useControlPlane();
const NS = 'http2';
const SERVICES = 250;
const PORT = 8080;

let proxy: TcpProxy;
const recorders: Recorder<unknown>[] = [];
const clients: KubeClient[] = [];

beforeAll(async () => {
  await plane().admin.createNamespace(NS);
  proxy = await startTcpProxy({ host: '127.0.0.1', port: plane().port });
  // Services without a selector and their slices written here (as a controller of one's own would):
  // the EndpointSlice controller leaves them alone, so every set is known exactly.
  const work: Promise<unknown>[] = [];
  for (let i = 0; i < SERVICES; i++) {
    work.push(
      createSelectorlessService(plane(), NS, `svc-${i}`, PORT),
      putSlice(`svc-${i}`, 0, [ipOf(i, 0)]),
    );
    if (work.length >= 40) await Promise.all(work.splice(0));
  }
  await Promise.all(work);
}, 120_000);
afterEach(() => {
  for (const r of recorders.splice(0)) r.close();
});
afterAll(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await proxy?.close();
});

/** A client whose every connection goes through the proxy. */
function proxiedClient(): KubeClient {
  const client = clientFor(plane(), {
    server: `https://127.0.0.1:${proxy.port}`,
    tlsServerName: plane().clusterName,
  });
  clients.push(client);
  return client;
}

function ipOf(service: number, generation: number): string {
  return `198.19.${generation * 2 + (service >> 8)}.${(service & 255) + 1}`;
}

/** Creates or replaces slice `index` of a Service with these addresses. */
async function putSlice(service: string, index: number, ips: readonly string[]): Promise<unknown> {
  const name = `${service}-manual-${index}`;
  const slice = manualSlice(
    service,
    name,
    PORT,
    ips.map((ip, i) => ({
      addresses: [ip],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: `node-${i % 7}`,
      targetRef: { kind: 'Pod', namespace: NS, name: `${service}-pod-${i}` },
    })),
  );
  const path = `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`;
  try {
    return await plane().admin.create(path, slice);
  } catch {
    const current = await plane().admin.get<{ metadata: { resourceVersion: string } }>(`${path}/${name}`);
    return plane().admin.patch(
      `${path}/${name}`,
      { endpoints: slice.endpoints, metadata: { resourceVersion: current.metadata.resourceVersion } },
      'merge',
    );
  }
}

/** Gives every Service's slice the addresses of `generation`, 40 writes at a time. */
async function moveAll(generation: number): Promise<void> {
  const work: Promise<unknown>[] = [];
  for (let i = 0; i < SERVICES; i++) {
    work.push(putSlice(`svc-${i}`, 0, [ipOf(i, generation)]));
    if (work.length >= 40) await Promise.all(work.splice(0));
  }
  await Promise.all(work);
}

function watchAll(client: KubeClient): { sets: Recorder<EndpointSet>[]; health: Recorder<WatchHealth>[] } {
  const sets: Recorder<EndpointSet>[] = [];
  const health: Recorder<WatchHealth>[] = [];
  for (let i = 0; i < SERVICES; i++) {
    // One stream per Service (this file is about streams and connections; see namespace-watch.test.ts).
    const options = { service: `svc-${i}`, namespace: NS, port: 'http', scope: 'service' as const };
    sets.push(new Recorder(watchEndpoints(client, options)));
    health.push(new Recorder(watchEndpointsHealth(client, options)));
  }
  recorders.push(...sets, ...health);
  return { sets, health };
}

describe('HTTP/2 to the real apiserver', () => {
  it('negotiates h2 and carries 250 Service watches over ≤ 3 TCP connections, every set right', async () => {
    const acceptedBefore = proxy.accepted;
    const client = proxiedClient();
    const { sets, health } = watchAll(client);
    await Promise.all(
      sets.map((s, i) => s.until((set) => targetsAre(set, [ipOf(i, 0)], PORT), `svc-${i}`, 60_000)),
    );
    await Promise.all(health.map((h, i) => h.until((v) => v.state === 'synced', `svc-${i} synced`, 60_000)));
    const stats = client.transportStats();
    expect(stats.protocol).toBe('h2');
    expect(stats.http2?.streams).toBe(SERVICES);
    expect(proxy.accepted - acceptedBefore).toBeLessThanOrEqual(3);
    expect(proxy.open).toBeLessThanOrEqual(3);
    console.log(
      `[http2] ${SERVICES} watches: ${proxy.accepted - acceptedBefore} TCP connections accepted, ${proxy.open} open, client ${JSON.stringify(stats)}`,
    );
    // Changes reach every Service over the shared connections.
    const marks = sets.map((s) => s.mark());
    await moveAll(1);
    await Promise.all(
      sets.map((s, i) =>
        s.until((set) => targetsAre(set, [ipOf(i, 1)], PORT), `svc-${i} updated`, 60_000, marks[i]),
      ),
    );
    expect(proxy.accepted - acceptedBefore).toBeLessThanOrEqual(3);
  }, 180_000);

  it('survives an apiserver crash mid-watch: every watch resumes, over ≤ 3 new connections', async () => {
    const client = proxiedClient();
    const { sets, health } = watchAll(client);
    await Promise.all(
      sets.map((s, i) => s.until((set) => targetsAre(set, [ipOf(i, 1)], PORT), `svc-${i}`, 60_000)),
    );
    await Promise.all(health.map((h, i) => h.until((v) => v.state === 'synced', `svc-${i} synced`, 60_000)));
    const acceptedBefore = proxy.accepted;
    const healthMarks = health.map((h) => h.mark());
    await plane().restartApiServer({ hard: true });
    // Every watch noticed (resuming or retrying) and came back.
    await Promise.all(
      health.map((h, i) =>
        h.until((v) => v.state === 'synced', `svc-${i} synced again`, 120_000, (healthMarks[i] ?? 0) + 1),
      ),
    );
    const marks = sets.map((s) => s.mark());
    await moveAll(2);
    await Promise.all(
      sets.map((s, i) =>
        s.until((set) => targetsAre(set, [ipOf(i, 2)], PORT), `svc-${i} after restart`, 60_000, marks[i]),
      ),
    );
    const stats = client.transportStats();
    console.log(
      `[http2] after a hard restart: ${proxy.accepted - acceptedBefore} connections accepted, ${proxy.open} open in all, client ${JSON.stringify(stats)}`,
    );
    expect(stats.http2?.connections).toBeLessThanOrEqual(3);
    expect(stats.http2?.streams).toBe(SERVICES);
    await until(() => proxy.open <= 3 + 3, 'the old connections to close'); // the first test's client is still open
  }, 240_000);

  it('streams a 2,000-endpoint Service (LIST and watch-list bodies far over the flow-control windows)', async () => {
    const ips = Array.from({ length: 2000 }, (_, i) => `198.18.${i >> 8}.${i & 255}`);
    await createSelectorlessService(plane(), NS, 'big', PORT);
    for (let s = 0; s < 4; s++) await putSlice('big', s, ips.slice(s * 500, (s + 1) * 500));
    const client = proxiedClient();
    for (const initialList of ['list', 'streaming'] as const) {
      const sets = new Recorder(
        watchEndpoints(client, { service: 'big', namespace: NS, port: 'http', watch: { initialList } }),
      );
      recorders.push(sets);
      const set = await sets.until(
        (s) => targetsAre(s, ips, PORT),
        `2,000 endpoints (${initialList})`,
        60_000,
      );
      expect(set.endpoints).toHaveLength(2000);
      sets.close();
    }
    // The whole namespace's slices in one LIST body (the 250 Services' plus these).
    const list = (await client.getJson(`/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`)) as {
      items: unknown[];
    };
    expect(list.items.length).toBe(SERVICES + 4);
    expect(client.transportStats().protocol).toBe('h2');
  }, 120_000);
});
