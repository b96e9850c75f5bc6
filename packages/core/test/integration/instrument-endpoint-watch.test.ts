import { endpointSlice } from '@endpoint-watch/testing';
import { metrics } from '@opentelemetry/api';
import { MeterProvider, type MetricReader } from '@opentelemetry/sdk-metrics';
import type { Subscription } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { instrumentEndpointWatch } from '../../src/metrics/instrument-endpoint-watch.js';
import { loadOptionalApi } from '../../src/metrics/meter-source.js';
import { eventually, startCluster, type TestCluster } from '../support/cluster.js';
import { ManualReader, type Point, points, pointsOf } from '../support/metrics-reader.js';

const WATCH = {
  service: 'web',
  namespace: 'default',
  watch: { backoff: { initialMs: 20, maxMs: 200 }, initialList: 'list' as const },
};
const slice = (ready: string[], notReady: string[] = []) =>
  endpointSlice({
    service: 'web',
    name: 'web-a',
    endpoints: [
      ...ready.map((ip) => ({ addresses: [ip] })),
      ...notReady.map((ip) => ({ addresses: [ip], ready: false, serving: true, terminating: true })),
    ],
  });

let cluster: TestCluster | undefined;
let subscription: Subscription | undefined;
let provider: MeterProvider | undefined;
afterEach(async () => {
  metrics.disable();
  subscription?.unsubscribe();
  await provider?.shutdown();
  await cluster?.close();
  cluster = undefined;
  provider = undefined;
});

const pointValue = (all: Point[], name: string, attributes: Record<string, unknown> = {}) =>
  pointsOf(all, name, attributes)[0]?.value as number | undefined;

/** A meter that only keeps the callbacks registered on it, to see them added and removed. */
function spyMeter() {
  const callbacks = new Set<unknown>();
  const instrument = {
    add() {},
    addCallback: (callback: unknown) => callbacks.add(callback),
    removeCallback: (callback: unknown) => callbacks.delete(callback),
  };
  const meter = {
    createCounter: () => instrument,
    createObservableGauge: () => instrument,
    createObservableCounter: () => instrument,
    createHistogram: () => ({ record() {} }),
  };
  return { meter, callbacks };
}

async function setUp() {
  cluster = await startCluster({ initialObjects: [slice(['127.0.0.2', '127.0.0.3'], ['127.0.0.4'])] });
  const reader = new ManualReader();
  provider = new MeterProvider({ readers: [reader] });
  subscription = instrumentEndpointWatch(cluster.client, WATCH, {
    meter: provider.getMeter('@endpoint-watch/core'),
  });
  return reader;
}
async function until(reader: MetricReader, check: (all: Point[]) => boolean): Promise<Point[]> {
  let last: Point[] = [];
  let reading = false;
  await eventually(() => {
    if (!reading) {
      reading = true;
      void points(reader).then((all) => {
        last = all;
        reading = false;
      });
    }
    return check(last);
  });
  return last;
}

describe('instrumentEndpointWatch', () => {
  it('records the health state, staleness and endpoints by condition after the sync', async () => {
    const reader = await setUp();
    // The set may arrive before the watch that follows the list is confirmed: wait for both.
    const all = await until(
      reader,
      (p) =>
        pointValue(p, 'endpoint_watch.endpoints', { 'endpoint_watch.endpoint.condition': 'ready' }) === 2 &&
        pointValue(p, 'endpoint_watch.watch.state', { 'endpoint_watch.watch.state': 'synced' }) === 1,
    );
    const service = { 'k8s.namespace.name': 'default', 'k8s.service.name': 'web' };
    expect(
      pointValue(all, 'endpoint_watch.watch.state', { ...service, 'endpoint_watch.watch.state': 'synced' }),
    ).toBe(1);
    expect(pointValue(all, 'endpoint_watch.watch.state', { 'endpoint_watch.watch.state': 'retrying' })).toBe(
      0,
    );
    expect(pointValue(all, 'endpoint_watch.watch.staleness', service)).toBe(0);
    expect(
      pointValue(all, 'endpoint_watch.endpoints', { 'endpoint_watch.endpoint.condition': 'serving' }),
    ).toBe(3);
    expect(
      pointValue(all, 'endpoint_watch.endpoints', { 'endpoint_watch.endpoint.condition': 'terminating' }),
    ).toBe(1);
    expect(
      pointValue(all, 'endpoint_watch.watch.state_transitions', { 'endpoint_watch.watch.state': 'synced' }),
    ).toBe(1);
  });

  it('follows a change of the endpoints', async () => {
    const reader = await setUp();
    await until(
      reader,
      (p) => pointValue(p, 'endpoint_watch.watch.state', { 'endpoint_watch.watch.state': 'synced' }) === 1,
    );
    cluster?.server.upsert(slice(['127.0.0.2', '127.0.0.3', '127.0.0.5']));
    const all = await until(
      reader,
      (p) =>
        pointValue(p, 'endpoint_watch.endpoints', { 'endpoint_watch.endpoint.condition': 'ready' }) === 3,
    );
    expect(
      pointValue(all, 'endpoint_watch.endpoints', { 'endpoint_watch.endpoint.condition': 'terminating' }),
    ).toBe(0);
    // A new set while synced is no transition.
    expect(
      pointValue(all, 'endpoint_watch.watch.state_transitions', { 'endpoint_watch.watch.state': 'synced' }),
    ).toBe(1);
  });

  it('reports staleness from when the watch was last current while it cannot sync', async () => {
    cluster = await startCluster({ initialObjects: [slice(['127.0.0.2'])] });
    cluster.server.faults.failNext(Number.POSITIVE_INFINITY, 503, { reason: 'ServiceUnavailable' });
    const reader = new ManualReader();
    provider = new MeterProvider({ readers: [reader] });
    // A clock a minute ahead: the staleness is at least 60 s whenever the test reads it.
    subscription = instrumentEndpointWatch(cluster.client, WATCH, {
      meter: provider.getMeter('@endpoint-watch/core'),
      now: () => Date.now() + 60_000,
    });
    const all = await until(
      reader,
      (p) => pointValue(p, 'endpoint_watch.watch.state', { 'endpoint_watch.watch.state': 'retrying' }) === 1,
    );
    expect(pointValue(all, 'endpoint_watch.watch.staleness')).toBeGreaterThanOrEqual(60);
    expect(pointValue(all, 'endpoint_watch.watch.state', { 'endpoint_watch.watch.state': 'synced' })).toBe(0);
    expect(pointValue(all, 'endpoint_watch.endpoints')).toBeUndefined();
  });

  it('counts the way back to synced after a 410 relist', async () => {
    const reader = await setUp();
    await until(
      reader,
      (p) => pointValue(p, 'endpoint_watch.watch.state', { 'endpoint_watch.watch.state': 'synced' }) === 1,
    );
    cluster?.server.faults.expireWatches();
    const all = await until(
      reader,
      (p) =>
        pointValue(p, 'endpoint_watch.watch.state_transitions', {
          'endpoint_watch.watch.state': 'synced',
        }) === 2,
    );
    expect(pointValue(all, 'endpoint_watch.watch.state', { 'endpoint_watch.watch.state': 'synced' })).toBe(1);
  });

  it('counts relists, and the watch events and bytes it decodes', async () => {
    const reader = await setUp();
    const counters = async () => {
      const all = await until(
        reader,
        (p) => pointValue(p, 'endpoint_watch.watch.state', { 'endpoint_watch.watch.state': 'synced' }) === 1,
      );
      return {
        relists: pointValue(all, 'endpoint_watch.watch.relists'),
        events: pointValue(all, 'endpoint_watch.watch.events') ?? 0,
        bytes: pointValue(all, 'endpoint_watch.watch.bytes') ?? 0,
      };
    };
    const before = await counters();
    expect(before.relists).toBe(0);
    const changed = slice(['127.0.0.2', '127.0.0.3', '127.0.0.5']);
    cluster?.server.upsert(changed);
    await until(
      reader,
      (p) =>
        pointValue(p, 'endpoint_watch.endpoints', { 'endpoint_watch.endpoint.condition': 'ready' }) === 3,
    );
    const after = await counters();
    // The change came as one watch event carrying the slice, in a line longer than the slice's JSON.
    expect(after.events - before.events).toBeGreaterThanOrEqual(1);
    expect(after.bytes - before.bytes).toBeGreaterThan(JSON.stringify(changed).length);
    expect(after.relists).toBe(0);
    cluster?.server.faults.expireWatches();
    await until(
      reader,
      (p) =>
        pointValue(p, 'endpoint_watch.watch.state_transitions', {
          'endpoint_watch.watch.state': 'synced',
        }) === 2,
    );
    expect((await counters()).relists).toBe(1);
  });

  it('records with the global provider of @opentelemetry/api when given no meter', async () => {
    cluster = await startCluster({ initialObjects: [slice(['127.0.0.2'])] });
    const reader = new ManualReader();
    provider = new MeterProvider({ readers: [reader] });
    metrics.setGlobalMeterProvider(provider);
    subscription = instrumentEndpointWatch(cluster.client, WATCH);
    const all = await until(
      reader,
      (p) =>
        pointValue(p, 'endpoint_watch.endpoints', { 'endpoint_watch.endpoint.condition': 'ready' }) === 1,
    );
    const { resourceMetrics } = await reader.collect();
    expect(resourceMetrics.scopeMetrics.map((scope) => scope.scope.name)).toEqual(['@endpoint-watch/core']);
    expect(pointValue(all, 'endpoint_watch.endpoints', { 'k8s.service.name': 'web' })).toBe(1);
  });

  it('takes its meter from a meterProvider, under the package name as scope', async () => {
    cluster = await startCluster({ initialObjects: [slice(['127.0.0.2'])] });
    const reader = new ManualReader();
    provider = new MeterProvider({ readers: [reader] });
    subscription = instrumentEndpointWatch(cluster.client, WATCH, { meterProvider: provider });
    await until(
      reader,
      (p) =>
        pointValue(p, 'endpoint_watch.endpoints', { 'endpoint_watch.endpoint.condition': 'ready' }) === 1,
    );
    const { resourceMetrics } = await reader.collect();
    expect(resourceMetrics.scopeMetrics.map((scope) => scope.scope.name)).toEqual(['@endpoint-watch/core']);
  });

  it('treats a missing @opentelemetry/api as no meter, and any other load failure as an error', () => {
    const missing = Object.assign(new Error("Cannot find module '@opentelemetry/api'"), {
      code: 'MODULE_NOT_FOUND',
    });
    expect(
      loadOptionalApi(() => {
        throw missing;
      }),
    ).toBeNull();
    expect(() =>
      loadOptionalApi(() => {
        throw new SyntaxError('broken');
      }),
    ).toThrow('broken');
    expect(loadOptionalApi(() => ({ metrics }))).toEqual({ metrics });
  });

  it('unsubscribing removes the callbacks', async () => {
    // The SDK keeps exporting a gauge's last point, so count the callbacks on a meter that records them.
    const { meter, callbacks } = spyMeter();
    cluster = await startCluster({ initialObjects: [slice(['127.0.0.2'])] });
    const instrumented = instrumentEndpointWatch(cluster.client, WATCH, {
      meter,
    });
    expect(callbacks.size).toBe(6);
    instrumented.unsubscribe();
    expect(callbacks.size).toBe(0);
  });

  it('stops recording, without an unhandled error, when the stream errors on misuse', async () => {
    const ports = [
      { name: 'http', port: 8080, protocol: 'TCP' },
      { name: 'metrics', port: 9090, protocol: 'TCP' },
    ];
    cluster = await startCluster({
      initialObjects: [
        endpointSlice({ service: 'web', name: 'web-a', endpoints: [{ addresses: ['127.0.0.2'] }], ports }),
      ],
    });
    const { meter, callbacks } = spyMeter();
    subscription = instrumentEndpointWatch(cluster.client, WATCH, {
      meter,
    });
    expect(callbacks.size).toBe(6);
    await eventually(() => subscription?.closed === true);
    expect(callbacks.size).toBe(0);
  });
});
