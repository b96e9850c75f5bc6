/**
 * The namespace-wide watch against the fake apiserver over HTTP/2 (100 streams per connection, as
 * kube-apiserver): many Services on few connections, each Service seeing only its own changes.
 */
import { endpointSlice, v1Endpoints } from '@endpoint-watch/testing';
import { afterEach, describe, expect, it } from 'vitest';
import type { EndpointSet } from '../../src/endpoints/types.js';
import {
  NAMESPACE_WATCH_THRESHOLD,
  registeredCounts,
  type WatchEndpointsOptions,
  watchEndpoints,
  watchEndpointsHealth,
} from '../../src/endpoints/watch-endpoints.js';
import { type Recorder, recorderPool, startCluster, type TestCluster } from '../support/cluster.js';

let cluster: TestCluster;
const { record, unsubscribeAll } = recorderPool();
afterEach(async () => {
  unsubscribeAll();
  await cluster?.close();
});

const NAMESPACE_PATH = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices';
const FAST = { initialList: 'list' as const, backoff: { initialMs: 50, maxMs: 200 } };
const ipOf = (i: number, generation = 1) => `10.${generation}.${Math.floor(i / 250)}.${(i % 250) + 1}`;
const sliceOf = (i: number, generation = 1) =>
  endpointSlice({
    service: `svc-${i}`,
    name: `svc-${i}-a`,
    endpoints: [{ addresses: [ipOf(i, generation)] }],
  });
const addressesOf = (set: EndpointSet) => set.endpoints.map((e) => e.address).join();
const options = (i: number, extra: Partial<WatchEndpointsOptions> = {}): WatchEndpointsOptions => ({
  service: `svc-${i}`,
  namespace: 'default',
  watch: FAST,
  ...extra,
});
const namespaceRequests = (watch: boolean) =>
  cluster.server.requests.filter(
    (r) => r.path === NAMESPACE_PATH && r.watch === watch && !r.query.labelSelector,
  ).length;

/** Subscribes to `count` Services in order and waits until every set holds its first address. */
async function watchAll(
  count: number,
  extra: Partial<WatchEndpointsOptions> = {},
): Promise<Recorder<EndpointSet>[]> {
  const sets = Array.from({ length: count }, (_, i) =>
    record(watchEndpoints(cluster.client, options(i, extra))),
  );
  await Promise.all(sets.map((s, i) => s.waitFor((set) => addressesOf(set) === ipOf(i), 30_000)));
  return sets;
}

async function start(services: number): Promise<void> {
  cluster = await startCluster({
    initialObjects: Array.from({ length: services }, (_, i) => sliceOf(i)),
    http2: { maxConcurrentStreams: 100 },
  });
}

describe('namespace-wide watch', () => {
  it('serves 2,000 Services on one client over ≤ 2 connections, each set right', async () => {
    await start(2000);
    const sets = await watchAll(2000);
    const below = NAMESPACE_WATCH_THRESHOLD - 1;
    // The first 49 Services got their own watch; the 50th opened the namespace watch, which serves the rest.
    expect(registeredCounts(cluster.client)).toEqual({
      watches: below,
      namespaceWatches: 1,
      namespaceServices: 2000 - below,
      sets: 2000,
    });
    await cluster.server.waitForWatches(below + 1, 10_000);
    expect(cluster.server.openWatches).toBe(below + 1);
    expect(cluster.server.connectionStats().accepted).toBeLessThanOrEqual(2);
    expect(cluster.client.transportStats().http2?.opened).toBeLessThanOrEqual(2);
    for (const [i, s] of sets.entries()) expect(s.values.map(addressesOf)).toEqual([ipOf(i)]);

    unsubscribeAll();
    expect(registeredCounts(cluster.client)).toEqual({
      watches: 0,
      namespaceWatches: 0,
      namespaceServices: 0,
      sets: 0,
    });
    await cluster.server.waitForWatches(0, 10_000);
  }, 120_000);

  it('emits a change in one Service for that Service only', async () => {
    await start(120);
    const sets = await watchAll(120, { scope: 'namespace' });
    expect(registeredCounts(cluster.client)).toMatchObject({ watches: 0, namespaceWatches: 1 });
    cluster.server.upsert(sliceOf(7, 2));
    await sets[7]!.waitNext((set) => addressesOf(set) === ipOf(7, 2));
    // A later change on the same stream: once it is seen, the first one was handled everywhere.
    cluster.server.upsert(sliceOf(8, 2));
    await sets[8]!.waitNext((set) => addressesOf(set) === ipOf(8, 2));
    for (const [i, s] of sets.entries()) expect(s.values).toHaveLength(i === 7 || i === 8 ? 2 : 1);
  }, 60_000);

  it('relists on 410: one replace per Service, a set only where something changed', async () => {
    await start(60);
    const sets = await watchAll(60, { scope: 'namespace' });
    const health = record(watchEndpointsHealth(cluster.client, options(3, { scope: 'namespace' })));
    await health.waitFor((h) => h.state === 'synced');
    expect(namespaceRequests(false)).toBe(1);
    // A restart forgets the history (the watch resumes into a 410) and the change is made while no
    // watch is open: only the relist can show it.
    await cluster.server.faults.restart();
    cluster.server.upsert(sliceOf(5, 2));
    await sets[5]!.waitNext((set) => addressesOf(set) === ipOf(5, 2), 10_000);
    expect(namespaceRequests(false)).toBe(2);
    cluster.server.upsert(sliceOf(6, 2));
    await sets[6]!.waitNext((set) => addressesOf(set) === ipOf(6, 2));
    for (const [i, s] of sets.entries()) expect(s.values).toHaveLength(i === 5 || i === 6 ? 2 : 1);
    // Still one watch: health followed the namespace watch and opened none of its own.
    expect(cluster.server.openWatches).toBe(1);
  }, 60_000);

  it('keeps per-Service watches below the threshold, and health follows whichever watch serves', async () => {
    await start(NAMESPACE_WATCH_THRESHOLD + 1);
    const sets = await watchAll(NAMESPACE_WATCH_THRESHOLD - 1);
    expect(registeredCounts(cluster.client)).toMatchObject({
      watches: NAMESPACE_WATCH_THRESHOLD - 1,
      namespaceWatches: 0,
    });
    const last = NAMESPACE_WATCH_THRESHOLD;
    const health = record(watchEndpointsHealth(cluster.client, options(last)));
    await health.waitFor((h) => h.state === 'synced');
    // The health of a Service past the threshold is the namespace watch's: it opened it, and follows
    // the Service's objects (to tell when there is none).
    expect(registeredCounts(cluster.client)).toMatchObject({ namespaceWatches: 1, namespaceServices: 1 });
    const lastSets = record(watchEndpoints(cluster.client, options(last)));
    await lastSets.waitFor((set) => addressesOf(set) === ipOf(last));
    expect(registeredCounts(cluster.client)).toMatchObject({ namespaceWatches: 1, namespaceServices: 1 });
    expect(namespaceRequests(true)).toBe(1);
    // A Service with its own watch keeps it (no migration), even once the namespace watch runs.
    sets[0]!.unsubscribe();
    const again = record(watchEndpoints(cluster.client, options(0, { scope: 'service' })));
    await again.waitFor((set) => addressesOf(set) === ipOf(0));
    expect(registeredCounts(cluster.client)).toMatchObject({ watches: NAMESPACE_WATCH_THRESHOLD - 1 });

    lastSets.unsubscribe();
    expect(registeredCounts(cluster.client)).toMatchObject({ namespaceWatches: 1, namespaceServices: 1 });
    // Health kept the namespace watch open: a Service followed again starts from its store, no new list.
    const back = record(watchEndpoints(cluster.client, options(last)));
    await back.waitFor((set) => addressesOf(set) === ipOf(last));
    expect(namespaceRequests(false)).toBe(1);
    back.unsubscribe();
    health.unsubscribe();
    expect(registeredCounts(cluster.client)).toMatchObject({ namespaceWatches: 0, namespaceServices: 0 });
  }, 60_000);

  it('starts a late subscriber from its Service’s current state, and a re-subscription from a fresh list', async () => {
    await start(3);
    const first = record(watchEndpoints(cluster.client, options(0, { scope: 'namespace' })));
    await first.waitFor((set) => addressesOf(set) === ipOf(0));
    const late = record(watchEndpoints(cluster.client, options(1, { scope: 'namespace' })));
    await late.waitFor((set) => addressesOf(set) === ipOf(1));
    expect(namespaceRequests(false)).toBe(1);
    first.unsubscribe();
    late.unsubscribe();
    await cluster.server.waitForWatches(0, 5000);
    cluster.server.upsert(sliceOf(2, 2));
    const again = record(watchEndpoints(cluster.client, options(2, { scope: 'namespace' })));
    await again.waitFor((set) => addressesOf(set) === ipOf(2, 2));
    expect(again.values).toHaveLength(1);
    expect(namespaceRequests(false)).toBe(2);
  });

  it('shows another Service’s unreadable slice in every served Service’s health, keeps their sets, and recovers', async () => {
    await start(2);
    const sets = await watchAll(2, { scope: 'namespace' });
    const health = record(watchEndpointsHealth(cluster.client, options(0, { scope: 'namespace' })));
    await health.waitFor((h) => h.state === 'synced');
    const broken = sliceOf(1, 2) as { endpoints: unknown[] };
    broken.endpoints = [{ conditions: { ready: true } }]; // no addresses
    cluster.server.upsert(broken);
    // The namespace watch cannot skip an object: it relists, and the health it shares says why.
    const failure = await health.waitFor((h) => h.state === 'retrying', 10_000);
    expect(failure.state === 'retrying' && (failure.error as { code: string }).code).toBe(
      'ERR_INVALID_OBJECT',
    );
    expect(sets.map((s) => s.values.map(addressesOf))).toEqual([[ipOf(0)], [ipOf(1)]]);
    cluster.server.upsert(sliceOf(1, 3));
    await sets[1]!.waitFor((set) => addressesOf(set) === ipOf(1, 3), 10_000);
    await health.waitNext((h) => h.state === 'synced', 10_000);
    expect(sets[0]!.values).toHaveLength(1);
    expect(sets.map((s) => s.error)).toEqual([undefined, undefined]);
  });

  it('serves v1 Endpoints the same way, by object name', async () => {
    const endpoints = (service: string, ip: string) =>
      v1Endpoints({ service, subsets: [{ addresses: [ip], ports: [{ name: 'http', port: 80 }] }] });
    cluster = await startCluster({
      initialObjects: [endpoints('a', '10.0.0.1'), endpoints('b', '10.0.0.2')],
    });
    const watch = (service: string) =>
      record(
        watchEndpoints(cluster.client, { service, source: 'endpoints', scope: 'namespace', watch: FAST }),
      );
    const a = watch('a');
    const b = watch('b');
    await a.waitFor((set) => addressesOf(set) === '10.0.0.1');
    await b.waitFor((set) => addressesOf(set) === '10.0.0.2');
    cluster.server.upsert(endpoints('b', '10.0.0.3'));
    await b.waitNext((set) => addressesOf(set) === '10.0.0.3');
    cluster.server.delete('Endpoints', 'default', 'a');
    await a.waitNext((set) => set.endpoints.length === 0);
    expect(b.values).toHaveLength(2);
    expect(cluster.server.requests.filter((r) => r.watch)).toHaveLength(1);
    expect(cluster.server.requests.find((r) => r.watch)?.query.fieldSelector).toBeUndefined();
  });
});
