import { endpointSlice, service, v1Endpoints } from '@endpoint-watch/testing';
import { firstValueFrom, map } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { watchEndpointChanges } from '../../src/endpoints/endpoint-changes.js';
import type { EndpointSet } from '../../src/endpoints/types.js';
import {
  endpointSourceOf,
  registeredCounts,
  type WatchEndpointsOptions,
  watchEndpoints,
  watchEndpointsHealth,
} from '../../src/endpoints/watch-endpoints.js';
import { KubeApiError } from '../../src/transport/kube-api-error.js';
import { WatchDecodeError, WatchIdleError } from '../../src/watch/errors.js';
import type { WatchHealth } from '../../src/watch/watch-health.js';
import { eventually, recorderPool, startCluster, type TestCluster } from '../support/cluster.js';

const FAST = { backoff: { initialMs: 20, maxMs: 200 } } as const;
const addresses = (set: EndpointSet | undefined) =>
  (set?.endpoints ?? []).map((e) => `${e.address}:${e.port}`).sort();
const hasAddresses =
  (...expected: string[]) =>
  (set: EndpointSet) =>
    JSON.stringify(addresses(set)) === JSON.stringify([...expected].sort());

let cluster: TestCluster;
const { record, unsubscribeAll } = recorderPool();
function watch(options: Partial<WatchEndpointsOptions> = {}) {
  return watchEndpoints(cluster.client, {
    service: 'web',
    namespace: 'default',
    watch: { ...FAST, initialList: 'list' },
    ...options,
  });
}
function health(options: Partial<WatchEndpointsOptions> = {}) {
  return watchEndpointsHealth(cluster.client, {
    service: 'web',
    namespace: 'default',
    watch: { ...FAST, initialList: 'list' },
    ...options,
  });
}
const webSlice = (name: string, ips: string[], extra: Partial<Parameters<typeof endpointSlice>[0]> = {}) =>
  endpointSlice({ service: 'web', name, endpoints: ips.map((ip) => ({ addresses: [ip] })), ...extra });

afterEach(async () => {
  unsubscribeAll();
  await cluster?.close();
});

describe('watchEndpoints over a real socket', () => {
  it('emits the union of all slices, deduplicated, after the initial sync', async () => {
    cluster = await startCluster({
      initialObjects: [
        webSlice('web-a', ['10.0.0.1', '10.0.0.2']),
        webSlice('web-b', ['10.0.0.2', '10.0.0.3']),
        endpointSlice({
          service: 'web',
          name: 'web-c',
          endpoints: [{ addresses: ['10.0.0.9'], ready: false }],
        }),
        endpointSlice({ service: 'other', name: 'other-a', endpoints: [{ addresses: ['10.9.9.9'] }] }),
      ],
    });
    const sets = record(watch());
    const set = await sets.waitFor(() => true);
    expect(addresses(set)).toEqual(['10.0.0.1:8080', '10.0.0.2:8080', '10.0.0.3:8080']);
    expect(set.all.map((e) => e.address).sort()).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.9']);
    expect(set.service).toBe('web');
    expect(set.port?.name).toBe('http');
    expect(set.source).toBe('endpointslices');
  });

  it('follows scale up, scale down and scale to zero', async () => {
    cluster = await startCluster({ initialObjects: [webSlice('web-a', ['10.0.0.1'])] });
    const sets = record(watch());
    await sets.waitFor(hasAddresses('10.0.0.1:8080'));
    cluster.server.upsert(webSlice('web-a', ['10.0.0.1', '10.0.0.2']));
    await sets.waitNext(hasAddresses('10.0.0.1:8080', '10.0.0.2:8080'));
    cluster.server.upsert(webSlice('web-b', ['10.0.0.3']));
    await sets.waitNext(hasAddresses('10.0.0.1:8080', '10.0.0.2:8080', '10.0.0.3:8080'));
    cluster.server.delete('EndpointSlice', 'default', 'web-a');
    await sets.waitNext(hasAddresses('10.0.0.3:8080'));
    cluster.server.upsert(webSlice('web-b', []));
    const empty = await sets.waitNext(hasAddresses());
    expect(empty.endpoints).toEqual([]);
  });

  it('gives informer-style change events (watchEndpointChanges) over a real watch', async () => {
    cluster = await startCluster({ initialObjects: [webSlice('web-a', ['10.0.0.1'])] });
    const changes = record(
      watchEndpointChanges(cluster.client, { service: 'web', namespace: 'default', watch: FAST }),
    );
    const named = (list: readonly { address: string }[]) => list.map((e) => e.address).sort();
    const initial = await changes.waitFor((e) => e.initial);
    expect(named(initial.added)).toEqual(['10.0.0.1']);
    cluster.server.upsert(webSlice('web-a', ['10.0.0.1', '10.0.0.2']));
    const added = await changes.waitNext((e) => e.added.length > 0);
    expect([named(added.added), added.removed, added.changed]).toEqual([['10.0.0.2'], [], []]);
    cluster.server.upsert(
      endpointSlice({
        service: 'web',
        name: 'web-a',
        endpoints: [{ addresses: ['10.0.0.1'], ready: false }, { addresses: ['10.0.0.2'] }],
      }),
    );
    const removed = await changes.waitNext((e) => e.removed.length > 0);
    expect([removed.added, named(removed.removed), removed.changed]).toEqual([[], ['10.0.0.1'], []]);
  });

  it('emits an empty set at once for a Service that has no endpoints', async () => {
    cluster = await startCluster();
    const sets = record(watch());
    const set = await sets.waitFor(() => true);
    expect(set.endpoints).toEqual([]);
    expect(set.port).toBeUndefined();
  });

  it('applies a burst written in one read as one set', async () => {
    cluster = await startCluster({ initialObjects: [webSlice('web-a', ['10.0.0.1'])] });
    const sets = record(watch());
    await sets.waitFor(hasAddresses('10.0.0.1:8080'));
    const before = sets.values.length;
    cluster.server.batch(() => {
      for (let i = 2; i <= 20; i++) cluster.server.upsert(webSlice(`web-${i}`, [`10.0.1.${i}`]));
    });
    const after = await sets.waitNext((s) => s.endpoints.length === 20);
    expect(sets.values.length).toBe(before + 1);
    expect(after.endpoints.length).toBe(20);
  });

  it('shares one HTTP watch between subscribers and gives a late subscriber the current set at once', async () => {
    cluster = await startCluster({ initialObjects: [webSlice('web-a', ['10.0.0.1'])] });
    const first = record(watch());
    await first.waitFor(hasAddresses('10.0.0.1:8080'));
    const second = record(watch({ watch: { initialList: 'list' } }));
    expect(addresses(second.last)).toEqual(['10.0.0.1:8080']); // synchronously, from the replay
    const other = record(
      watchEndpoints(cluster.client, { service: 'web', namespace: 'default', port: 'http' }),
    );
    await other.waitFor(hasAddresses('10.0.0.1:8080'));
    await cluster.server.waitForWatches(1);
    expect(cluster.server.requests.filter((r) => r.watch)).toHaveLength(1);
    expect(
      cluster.server.requests.filter((r) => !r.watch && r.path.endsWith('/endpointslices')),
    ).toHaveLength(1);
  });

  it('aborts the HTTP watch when the last subscriber leaves', async () => {
    cluster = await startCluster({ initialObjects: [webSlice('web-a', ['10.0.0.1'])] });
    const a = record(watch());
    const b = record(watch());
    await a.waitFor(() => true);
    await cluster.server.waitForWatches(1);
    a.unsubscribe();
    expect(cluster.server.openWatches).toBe(1);
    b.unsubscribe();
    await eventually(() => cluster.server.openWatches === 0, 5000, 'the watch to close');
  });

  it('keeps nothing registered for a Service once its last subscriber has left', async () => {
    const services = Array.from({ length: 50 }, (_, i) => `svc-${i}`);
    cluster = await startCluster({
      initialObjects: services.map((service) =>
        endpointSlice({ service, name: `${service}-a`, endpoints: [{ addresses: ['10.0.0.1'] }] }),
      ),
    });
    for (const service of services) {
      const sets = record(watch({ service }));
      const states = record(health({ service }));
      await sets.waitFor(hasAddresses('10.0.0.1:8080'));
      expect(registeredCounts(cluster.client)).toMatchObject({ watches: 1, namespaceWatches: 0, sets: 1 });
      sets.unsubscribe();
      expect(registeredCounts(cluster.client)).toMatchObject({ watches: 1, namespaceWatches: 0, sets: 0 }); // health still holds the watch
      states.unsubscribe();
      expect(registeredCounts(cluster.client)).toMatchObject({ watches: 0, namespaceWatches: 0, sets: 0 });
    }
    await eventually(() => cluster.server.openWatches === 0, 5000, 'every watch to close');
  });

  it('shares again when a stream is subscribed anew after its last subscriber left', async () => {
    cluster = await startCluster({ initialObjects: [webSlice('web-a', ['10.0.0.1'])] });
    const stream = watch();
    const first = record(stream);
    await first.waitFor(hasAddresses('10.0.0.1:8080'));
    first.unsubscribe();
    await eventually(() => cluster.server.openWatches === 0, 5000, 'the watch to close');
    const watchesBefore = cluster.server.requests.filter((r) => r.watch).length;
    // The old Observable, subscribed again, registers itself again: a new call shares its watch.
    const again = record(stream);
    await again.waitFor(hasAddresses('10.0.0.1:8080'));
    expect(watch()).toBe(stream);
    const other = record(watch({ port: 'http' }));
    await other.waitFor(hasAddresses('10.0.0.1:8080'));
    await cluster.server.waitForWatches(1);
    expect(cluster.server.openWatches).toBe(1);
    // One watch after the pause: the new call did not open another.
    expect(cluster.server.requests.filter((r) => r.watch)).toHaveLength(watchesBefore + 1);
    expect(registeredCounts(cluster.client)).toMatchObject({ watches: 1, namespaceWatches: 0, sets: 2 });
  });

  it('opens no watch after a subscriber left inside the first emission (firstValueFrom after a LIST)', async () => {
    cluster = await startCluster({ initialObjects: [webSlice('web-a', ['10.0.0.1'])] });
    for (let i = 0; i < 5; i++) expect(addresses(await firstValueFrom(watch()))).toEqual(['10.0.0.1:8080']);
    expect(
      cluster.server.requests.filter((r) => !r.watch && r.path.endsWith('/endpointslices')),
    ).toHaveLength(5);
    // Absence needs a window: a leaked WATCH would be sent within milliseconds of its LIST.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(cluster.server.requests.filter((r) => r.watch)).toEqual([]);
    expect(cluster.server.openWatches).toBe(0);
  });

  it('re-watches from the last resourceVersion after a clean end, without relisting', async () => {
    cluster = await startCluster({ initialObjects: [webSlice('web-a', ['10.0.0.1'])] });
    const sets = record(watch({ watch: { ...FAST, initialList: 'list', watchTimeoutSeconds: [1, 1] } }));
    await sets.waitFor(() => true);
    cluster.server.upsert(webSlice('web-a', ['10.0.0.1', '10.0.0.2']));
    const updated = await sets.waitNext(hasAddresses('10.0.0.1:8080', '10.0.0.2:8080'));
    await eventually(
      () => cluster.server.requests.filter((r) => r.watch).length >= 2,
      5000,
      'a second watch',
    );
    const watches = cluster.server.requests.filter((r) => r.watch);
    expect(watches[0]?.query.timeoutSeconds).toBe('1');
    expect(watches[1]?.query.resourceVersion).toBe(updated.resourceVersion);
    expect(cluster.server.requests.filter((r) => !r.watch)).toHaveLength(1);
  });

  it('asks for bookmarks and follows their resourceVersion', async () => {
    cluster = await startCluster({
      initialObjects: [webSlice('web-a', ['10.0.0.1'])],
    });
    // The server ends each watch after 1 s with a last bookmark, as the apiserver's cacher does.
    const sets = record(watch({ watch: { ...FAST, initialList: 'list', watchTimeoutSeconds: [1, 1] } }));
    await sets.waitFor(() => true);
    await cluster.server.waitForWatches(1);
    const watchRequest = cluster.server.requests.find((r) => r.watch);
    expect(watchRequest?.query.allowWatchBookmarks).toBe('true');
    // Changes to other Services move the global resourceVersion; only bookmarks tell us.
    cluster.server.upsert(endpointSlice({ service: 'other', name: 'o', endpoints: [] }));
    const rv = cluster.server.resourceVersion;
    await eventually(() => cluster.server.requests.filter((r) => r.watch).length >= 2, 5000, 'a re-watch');
    const rewatch = cluster.server.requests.filter((r) => r.watch)[1];
    expect(Number(rewatch?.query.resourceVersion)).toBeGreaterThanOrEqual(Number(rv));
    expect(sets.values).toHaveLength(1); // the other Service's change did not touch our set
  });

  it('loses nothing when the connection is cut in the middle of an event', async () => {
    cluster = await startCluster({ initialObjects: [webSlice('web-a', ['10.0.0.1'])] });
    const sets = record(watch());
    await sets.waitFor(() => true);
    await cluster.server.waitForWatches(1);
    cluster.server.faults.cutWatches({ midEvent: true });
    cluster.server.upsert(webSlice('web-a', ['10.0.0.1', '10.0.0.2']));
    await sets.waitFor(hasAddresses('10.0.0.1:8080', '10.0.0.2:8080'));
    cluster.server.upsert(webSlice('web-b', ['10.0.0.3']));
    await sets.waitFor(hasAddresses('10.0.0.1:8080', '10.0.0.2:8080', '10.0.0.3:8080'));
    expect(cluster.server.requests.filter((r) => r.watch).length).toBeGreaterThanOrEqual(2); // it was cut
    expect(cluster.server.requests.filter((r) => !r.watch)).toHaveLength(1); // resumed, not relisted
  });

  it('decodes the same sets whatever the byte boundaries of the stream', async () => {
    cluster = await startCluster({ initialObjects: [webSlice('web-a', ['10.0.0.1'])] });
    cluster.server.faults.splitWrites({ seed: 7, maxChunkBytes: 13 });
    const sets = record(watch());
    await sets.waitFor(() => true);
    for (let i = 2; i <= 8; i++) cluster.server.upsert(webSlice(`web-${i}`, [`10.0.2.${i}`], {}));
    const final = await sets.waitFor((s) => s.endpoints.length === 8);
    expect(addresses(final)).toHaveLength(8);
  });

  it('parses a LIST body that arrives in many small writes (cuts inside strings, escapes and UTF-8)', async () => {
    // Names and zones with multi-byte characters, so that cuts fall inside them too.
    const slices = Array.from({ length: 40 }, (_, s) =>
      endpointSlice({
        service: 'web',
        name: `web-${s}`,
        endpoints: Array.from({ length: 5 }, (_, e) => ({
          addresses: [`10.1.${s}.${e}`],
          zone: 'zöne-"ä"',
          targetRef: { kind: 'Pod', namespace: 'default', name: `pöd-${s}-${e}\\` },
        })),
      }),
    );
    cluster = await startCluster({ initialObjects: slices });
    cluster.server.faults.splitWrites({ seed: 11, maxChunkBytes: 13, lists: true });
    const set = await firstValueFrom(watch());
    expect(addresses(set)).toHaveLength(200);
    expect(new Set(set.endpoints.map((e) => e.zone))).toEqual(new Set(['zöne-"ä"']));
    expect(set.endpoints.find((e) => e.address === '10.1.39.4')?.targetRef?.name).toBe('pöd-39-4\\');
    const lists = cluster.server.requests.filter((r) => !r.watch);
    expect(lists).toHaveLength(1);
  });

  it('relists after an in-stream 410 Expired and replaces the set atomically', async () => {
    cluster = await startCluster({
      initialObjects: [webSlice('web-a', ['10.0.0.1']), webSlice('web-b', ['10.0.0.2'])],
    });
    const sets = record(watch());
    await sets.waitFor((s) => s.endpoints.length === 2);
    await cluster.server.waitForWatches(1);
    cluster.server.faults.stallWatches(true);
    cluster.server.delete('EndpointSlice', 'default', 'web-a');
    cluster.server.upsert(webSlice('web-c', ['10.0.0.3']));
    cluster.server.compact();
    cluster.server.faults.clear();
    cluster.server.faults.cutWatches(); // the re-watch from the old resourceVersion meets the compaction
    await sets.waitFor(hasAddresses('10.0.0.2:8080', '10.0.0.3:8080'));
    // Never an empty or partial set in between.
    for (const set of sets.values) expect(set.endpoints.length).toBe(2);
    expect(cluster.server.requests.filter((r) => !r.watch).length).toBeGreaterThanOrEqual(2);
  });

  it('relists when the server expires open watches (ERROR 410 in the stream)', async () => {
    cluster = await startCluster({ initialObjects: [webSlice('web-a', ['10.0.0.1'])] });
    const sets = record(watch());
    await sets.waitFor(() => true);
    await cluster.server.waitForWatches(1);
    cluster.server.faults.expireWatches();
    await eventually(() => cluster.server.requests.filter((r) => !r.watch).length >= 2, 5000, 'a relist');
    cluster.server.upsert(webSlice('web-a', ['10.0.0.4']));
    await sets.waitFor(hasAddresses('10.0.0.4:8080'));
  });

  it('honours Retry-After on 429 and reports the retry in the health stream', async () => {
    cluster = await startCluster({ initialObjects: [webSlice('web-a', ['10.0.0.1'])] });
    cluster.server.faults.failNext(1, 429, { retryAfterSeconds: 1, reason: 'TooManyRequests' });
    const states = record(health());
    const sets = record(watch());
    const retrying = await states.waitFor((h) => h.state === 'retrying');
    expect(retrying.state === 'retrying' && retrying.retryInMs).toBe(1000);
    expect(retrying.state === 'retrying' && (retrying.error as KubeApiError).statusCode).toBe(429);
    await sets.waitFor(hasAddresses('10.0.0.1:8080'));
    await states.waitFor((h) => h.state === 'synced');
  });

  it('keeps retrying through 403 (RBAC) without erroring, and recovers once allowed', async () => {
    cluster = await startCluster({ initialObjects: [webSlice('web-a', ['10.0.0.1'])] });
    cluster.server.faults.failNext(Number.POSITIVE_INFINITY, 403, {
      reason: 'Forbidden',
      message:
        'endpointslices.discovery.k8s.io is forbidden: User "system:serviceaccount:default:client" cannot list',
    });
    const states = record(health());
    const sets = record(watch());
    const first = await states.waitFor((h) => h.state === 'retrying' && h.attempt >= 3);
    expect(first.state === 'retrying' && (first.error as KubeApiError).status.reason).toBe('Forbidden');
    expect((first as Extract<WatchHealth, { state: 'retrying' }>).error).toBeInstanceOf(KubeApiError);
    expect(sets.values).toHaveLength(0);
    expect(sets.error).toBeUndefined();
    cluster.server.faults.clear();
    await sets.waitFor(hasAddresses('10.0.0.1:8080'));
  });

  it('restarts the watch on a malformed line and loses no event', async () => {
    cluster = await startCluster({ initialObjects: [webSlice('web-a', ['10.0.0.1'])] });
    const states = record(health());
    const sets = record(watch());
    await sets.waitFor(() => true);
    await cluster.server.waitForWatches(1);
    cluster.server.faults.sendMalformedLine();
    cluster.server.upsert(webSlice('web-a', ['10.0.0.1', '10.0.0.5']));
    const failure = await states.waitFor((h) => h.state === 'retrying');
    expect(failure.state === 'retrying' && failure.error).toBeInstanceOf(WatchDecodeError);
    await sets.waitFor(hasAddresses('10.0.0.1:8080', '10.0.0.5:8080'));
    expect(sets.error).toBeUndefined();
  });

  it('restarts a watch that stays silent past the idle timeout (half-open connection)', async () => {
    cluster = await startCluster({ initialObjects: [webSlice('web-a', ['10.0.0.1'])] });
    const tuning = { ...FAST, initialList: 'list' as const, idleTimeoutMs: 300 };
    const states = record(health({ watch: tuning }));
    const sets = record(watch({ watch: tuning }));
    await sets.waitFor(() => true);
    await cluster.server.waitForWatches(1);
    cluster.server.faults.stallWatches(true);
    const stale = await states.waitFor((h) => h.state === 'retrying');
    expect(stale.state === 'retrying' && stale.error).toBeInstanceOf(WatchIdleError);
    cluster.server.faults.stallWatches(false);
    cluster.server.upsert(webSlice('web-a', ['10.0.0.6']));
    await sets.waitFor(hasAddresses('10.0.0.6:8080'));
  });

  it('uses a streaming list where the server supports it', async () => {
    cluster = await startCluster({ initialObjects: [webSlice('web-a', ['10.0.0.1'])] });
    const sets = record(watch({ watch: { ...FAST, initialList: 'auto' } }));
    await sets.waitFor(hasAddresses('10.0.0.1:8080'));
    expect(cluster.server.requests.filter((r) => !r.watch)).toHaveLength(0);
    expect(cluster.server.requests[0]?.query).toMatchObject({
      sendInitialEvents: 'true',
      resourceVersionMatch: 'NotOlderThan',
      allowWatchBookmarks: 'true',
    });
    cluster.server.upsert(webSlice('web-a', ['10.0.0.2']));
    await sets.waitFor(hasAddresses('10.0.0.2:8080'));
    expect(sets.values.map(addresses)).toEqual([['10.0.0.1:8080'], ['10.0.0.2:8080']]);
    // A relist by streaming list replaces the set atomically too.
    cluster.server.upsert(webSlice('web-b', ['10.0.0.3']));
    cluster.server.compact();
    cluster.server.faults.expireWatches();
    cluster.server.upsert(webSlice('web-c', ['10.0.0.4']));
    await sets.waitFor(hasAddresses('10.0.0.2:8080', '10.0.0.3:8080', '10.0.0.4:8080'));
    for (const set of sets.values.slice(2)) expect(set.endpoints.length).toBeGreaterThanOrEqual(2);
  });

  it('falls back to LIST+WATCH when the server rejects streaming lists', async () => {
    cluster = await startCluster({ initialObjects: [webSlice('web-a', ['10.0.0.1'])], watchList: false });
    const sets = record(watch({ watch: { ...FAST, initialList: 'auto' } }));
    await sets.waitFor(hasAddresses('10.0.0.1:8080'));
    expect(cluster.server.requests[0]?.status).toBe(422);
    expect(cluster.server.requests.filter((r) => !r.watch)).toHaveLength(1);
  });

  it('handles an expired continue token by listing again from the start', async () => {
    cluster = await startCluster({
      initialObjects: [
        webSlice('web-a', ['10.0.0.1']),
        webSlice('web-b', ['10.0.0.2']),
        webSlice('web-c', ['10.0.0.3']),
      ],
    });
    cluster.server.faults.failNext(1, 410, {
      reason: 'Expired',
      match: (r) => r.query.continue !== undefined,
    });
    const sets = record(watch({ watch: { ...FAST, initialList: 'list', pageSize: 1 } }));
    const set = await sets.waitFor(() => true);
    expect(set.endpoints).toHaveLength(3);
    expect(sets.values).toHaveLength(1); // the partial list was never emitted
    const lists = cluster.server.requests.filter((r) => !r.watch);
    expect(lists.filter((r) => r.query.continue === undefined).length).toBe(2);
    expect(lists.every((r) => r.query.limit === '1')).toBe(true);
  });

  it('picks a named port, and errors naming the ports when a multi-port Service gets none', async () => {
    const ports = [
      { name: 'http', port: 8080, protocol: 'TCP' },
      { name: 'metrics', port: 9090, protocol: 'TCP' },
    ];
    cluster = await startCluster({ initialObjects: [webSlice('web-a', ['10.0.0.1'], { ports })] });
    const metrics = record(watch({ port: 'metrics' }));
    expect(addresses(await metrics.waitFor(() => true))).toEqual(['10.0.0.1:9090']);
    const byNumber = record(watch({ port: 8080 }));
    expect(addresses(await byNumber.waitFor(() => true))).toEqual(['10.0.0.1:8080']);
    const ambiguous = record(watch());
    const error = (await ambiguous.waitForError()) as Error & { code: string };
    expect(error.code).toBe('ERR_PORT_SELECTION');
    expect(error.message).toContain('http');
    expect(error.message).toContain('metrics');
  });

  it('reads v1 Endpoints when asked (old clusters)', async () => {
    cluster = await startCluster({
      initialObjects: [
        v1Endpoints({
          service: 'web',
          subsets: [
            {
              addresses: ['10.0.0.1', '10.0.0.2'],
              notReadyAddresses: ['10.0.0.3'],
              ports: [{ name: 'http', port: 80 }],
            },
          ],
        }),
      ],
    });
    const sets = record(watch({ source: 'endpoints' }));
    const set = await sets.waitFor(() => true);
    expect(set.source).toBe('endpoints');
    expect(addresses(set)).toEqual(['10.0.0.1:80', '10.0.0.2:80']);
    expect(set.all.find((e) => e.address === '10.0.0.3')?.ready).toBe(false);
    cluster.server.delete('Endpoints', 'default', 'web');
    await sets.waitNext((s) => s.endpoints.length === 0);
  });

  it('auto-detects EndpointSlices', async () => {
    cluster = await startCluster({ initialObjects: [webSlice('web-a', ['10.0.0.1'])] });
    const sets = record(watch({ source: 'auto' }));
    expect((await sets.waitFor(() => true)).source).toBe('endpointslices');
  });

  it('keeps the last good set when a slice is invalid, reports it, and recovers when it is fixed', async () => {
    cluster = await startCluster({ initialObjects: [webSlice('web-a', ['10.0.0.1'])] });
    const states = record(health());
    const sets = record(watch());
    await sets.waitFor(() => true);
    const broken = webSlice('web-b', ['10.0.0.2']) as { endpoints: unknown[] };
    broken.endpoints = [{ conditions: { ready: true } }]; // no addresses
    cluster.server.upsert(broken);
    const failure = await states.waitFor((h) => h.state === 'retrying');
    expect(failure.state === 'retrying' && (failure.error as { code: string }).code).toBe(
      'ERR_INVALID_OBJECT',
    );
    expect(addresses(sets.last)).toEqual(['10.0.0.1:8080']);
    cluster.server.upsert(webSlice('web-b', ['10.0.0.2']));
    await sets.waitFor(hasAddresses('10.0.0.1:8080', '10.0.0.2:8080'));
    expect(sets.error).toBeUndefined();
  });

  it('caps the size of one event: an oversized event is reported and retried, never buffered without bound', async () => {
    cluster = await startCluster({ initialObjects: [webSlice('web-a', ['10.0.0.1'])] });
    const tuning = { ...FAST, initialList: 'list' as const, maxEventBytes: 4096 };
    const states = record(health({ watch: tuning }));
    const sets = record(watch({ watch: tuning }));
    await sets.waitFor(() => true);
    const many = Array.from({ length: 200 }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
    cluster.server.upsert(webSlice('web-big', many));
    const failure = await states.waitFor((h) => h.state === 'retrying');
    expect(failure.state === 'retrying' && (failure.error as { code: string }).code).toBe(
      'ERR_WATCH_EVENT_TOO_LARGE',
    );
    expect(addresses(sets.last)).toEqual(['10.0.0.1:8080']);
    expect(sets.error).toBeUndefined();
  });

  it('lists both families of a dual-stack Service, or the ones asked for', async () => {
    cluster = await startCluster({
      initialObjects: [
        webSlice('web-v4', ['10.0.0.1'], { addressType: 'IPv4' }),
        webSlice('web-v6', ['fd00:0:0:0::1'], { addressType: 'IPv6' }),
      ],
    });
    const both = record(watch());
    expect(addresses(await both.waitFor(() => true))).toEqual(['10.0.0.1:8080', 'fd00::1:8080']);
    const v6 = record(watch({ addressTypes: ['IPv6'] }));
    const only = await v6.waitFor(() => true);
    expect(only.endpoints.map((e) => [e.address, e.addressType])).toEqual([['fd00::1', 'IPv6']]);
  });

  it('talks to an apiserver on [::1]', async () => {
    cluster = await startCluster({
      host: '::1',
      initialObjects: [webSlice('web-a', ['fd00::1'], { addressType: 'IPv6' })],
    });
    expect(cluster.config.server).toMatch(/^https:\/\/\[::1\]:\d+$/);
    const sets = record(watch());
    const set = await sets.waitFor(() => true);
    expect(set.endpoints.map((e) => [e.address, e.addressType])).toEqual([['fd00::1', 'IPv6']]);
  });

  it('completes the stream when the client is closed', async () => {
    cluster = await startCluster({ initialObjects: [webSlice('web-a', ['10.0.0.1'])] });
    let completed = false;
    const sets = record(watch());
    const subscription = watch().subscribe({ complete: () => (completed = true) });
    await sets.waitFor(() => true);
    await cluster.server.waitForWatches(1);
    await cluster.client.close();
    await eventually(() => completed, 5000, 'completion');
    subscription.unsubscribe();
  });

  it('does not re-emit when a slice changes in nothing that matters', async () => {
    cluster = await startCluster({ initialObjects: [webSlice('web-a', ['10.0.0.1'])] });
    const sets = record(watch());
    await sets.waitFor(() => true);
    const relabelled = webSlice('web-a', ['10.0.0.1']) as {
      metadata: { annotations?: Record<string, string> };
    };
    relabelled.metadata.annotations = { touched: 'yes' };
    cluster.server.upsert(relabelled);
    cluster.server.upsert(webSlice('web-b', ['10.0.0.2']));
    await sets.waitFor((s) => s.endpoints.length === 2);
    expect(sets.values).toHaveLength(2);
  });

  it('tells what a stream follows (endpointSourceOf): its Service and the health of its watch', async () => {
    cluster = await startCluster({ initialObjects: [webSlice('web-a', ['10.0.0.1'])] });
    cluster.server.faults.failNext(Number.POSITIVE_INFINITY, 403, { reason: 'Forbidden', message: 'no' });
    const sets = watch();
    const info = endpointSourceOf(sets);
    expect(info).toMatchObject({ namespace: 'default', service: 'web' });
    expect(endpointSourceOf(sets.pipe(map((s) => s)))).toBeUndefined();
    const states = record(info!.health$);
    const retrying = await states.waitFor((h) => h.state === 'retrying');
    expect(retrying.state === 'retrying' && (retrying.error as KubeApiError).statusCode).toBe(403);
  });

  it("reads a port number as a Service port (80 → the slices' 8080, named like the Service port), as kube-proxy does", async () => {
    cluster = await startCluster({
      initialObjects: [
        service({
          name: 'web',
          ports: [
            { name: 'http', port: 80, targetPort: 8080 },
            { name: 'admin', port: 9000, targetPort: 8080 },
          ],
        }),
        webSlice('web-a', ['10.0.0.1'], {
          ports: [
            { name: 'http', port: 8080 },
            { name: 'admin', port: 9090 },
          ],
        }),
      ],
    });
    const states = record(health({ port: 9000 }));
    const admin = await record(watch({ port: 9000 })).waitFor(() => true);
    // Service port 9000 is named admin, which the slices number 9090: not the number 9000, nor 8080.
    expect(addresses(admin)).toEqual(['10.0.0.1:9090']);
    expect(admin.port).toMatchObject({ name: 'admin' });
    const synced = await states.waitFor((h) => h.state === 'synced');
    expect(synced.state === 'synced' && synced.notice).toBeUndefined();
    expect(addresses(await record(watch({ port: 80 })).waitFor(() => true))).toEqual(['10.0.0.1:8080']);
  });

  it('says once, not at every relist, that a port number is matched against target ports when the Service cannot be read (403)', async () => {
    cluster = await startCluster({ initialObjects: [webSlice('web-a', ['10.0.0.1'])] });
    const isServiceGet = (req: { path: string }) => req.path === '/api/v1/namespaces/default/services/web';
    cluster.server.faults.failNext(Number.POSITIVE_INFINITY, 403, {
      reason: 'Forbidden',
      match: isServiceGet,
    });
    const states = record(health({ port: 8080 }));
    const sets = record(watch({ port: 8080 }));
    expect(addresses(await sets.waitFor(() => true))).toEqual(['10.0.0.1:8080']);
    await states.waitFor((h) => h.state === 'synced');
    const told =
      "cannot read Service default/web (403 Forbidden: reading it needs get on services): port 8080 is matched against the ports of its EndpointSlices (target ports), not the Service's ports";
    const notices = () => states.values.flatMap((h) => ('notice' in h && h.notice ? [h.notice] : []));
    expect(notices()).toEqual([told]);
    // A relist (410) and the way back to synced do not tell it again.
    cluster.server.faults.expireWatches();
    await states.waitNext((h) => h.state === 'retrying');
    await states.waitNext((h) => h.state === 'synced');
    expect(notices()).toEqual([told]);
    // The set stream and its health started together: one read of the Service for both.
    expect(cluster.server.requests.filter(isServiceGet)).toHaveLength(1);
  });

  it.each(['service', 'namespace'] as const)(
    'says when no EndpointSlice carries the Service label (scope %s), and stops saying it once one does',
    async (scope) => {
      cluster = await startCluster({ initialObjects: [webSlice('web-a', ['10.0.0.1'])] });
      const states = record(health({ service: 'wbe', scope }));
      const sets = record(watch({ service: 'wbe', scope }));
      const absent = await states.waitFor((h) => h.state === 'synced');
      expect(absent.state === 'synced' && absent.notice).toMatch(
        /no EndpointSlice in namespace default carries kubernetes\.io\/service-name=wbe: the Service does not exist/,
      );
      expect((await sets.waitFor(() => true)).endpoints).toEqual([]);
      // The Service appears (its controller writes a slice, even with no pod yet): no notice.
      expect(states.values.some((h) => h.state === 'synced' && h.notice === undefined)).toBe(false);
      cluster.server.upsert(endpointSlice({ service: 'wbe', name: 'wbe-a', endpoints: [] }));
      await states.waitFor((h) => h.state === 'synced' && h.notice === undefined);
      // The other Service of the namespace never had the notice.
      const web = record(health({ scope }));
      const webHealth = await web.waitFor((h) => h.state === 'synced');
      expect(webHealth.state === 'synced' && webHealth.notice).toBeUndefined();
    },
  );
});
