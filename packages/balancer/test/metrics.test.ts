import { metrics } from '@opentelemetry/api';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { of } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualReader, points, pointsOf } from '../../core/test/support/metrics-reader.js';
import { createBalancer, instrumentBalancer } from '../src/index.js';
import { ep, ManualClock, set } from './support.js';

let provider: MeterProvider | undefined;
afterEach(async () => {
  metrics.disable();
  await provider?.shutdown();
  provider = undefined;
});

function setUp() {
  const clock = new ManualClock();
  const reader = new ManualReader();
  provider = new MeterProvider({ readers: [reader] });
  const endpoints = [2, 3, 4].map((n) => ep(n, { address: `127.0.0.${n}` }));
  const balancer = instrumentBalancer(
    createBalancer(of(set(endpoints)), { strategy: 'round-robin', now: clock.now }),
    { meter: provider.getMeter('@endpoint-watch/balancer'), now: clock.now },
  );
  return { clock, reader, balancer };
}

describe('instrumentBalancer', () => {
  it('counts requests and failures by kind per endpoint, and their durations in seconds', async () => {
    const { clock, reader, balancer } = setUp();
    for (let i = 0; i < 6; i++) {
      const lease = balancer.pick();
      if (!lease) throw new Error('nothing picked');
      if (lease.endpoint.address === '127.0.0.3') {
        lease.release({ ok: false, failure: i < 3 ? 'reset' : 'status5xx', latencyMs: 250 });
      } else {
        clock.advance(40);
        lease.release({ ok: true });
        lease.release({ ok: true }); // a second release is a no-op, and counts nothing
      }
    }
    const all = await points(reader);
    const service = { 'k8s.namespace.name': 'default', 'k8s.service.name': 'web' };
    const at = (address: string) => ({ ...service, 'server.address': address, 'server.port': 8080 });
    for (const address of ['127.0.0.2', '127.0.0.3', '127.0.0.4']) {
      expect(pointsOf(all, 'endpoint_watch.endpoint.requests', at(address)).map((p) => p.value)).toEqual([2]);
    }
    expect(
      pointsOf(all, 'endpoint_watch.endpoint.failures', at('127.0.0.3'))
        .map((p) => `${p.attributes['endpoint_watch.failure.kind']}=${p.value}`)
        .sort(),
    ).toEqual(['reset=1', 'status5xx=1']);
    expect(pointsOf(all, 'endpoint_watch.endpoint.failures', at('127.0.0.2'))).toEqual([]);
    const durations = (address: string) =>
      pointsOf(all, 'endpoint_watch.endpoint.request.duration', at(address)).map(
        (p) => (p.value as { count: number; sum: number }).sum,
      );
    expect(durations('127.0.0.3')).toEqual([0.5]);
    expect(durations('127.0.0.2')).toEqual([0.08]);
    balancer.close();
  });

  it('counts each ejection once, and again after the endpoint came back', async () => {
    const { clock, reader, balancer } = setUp();
    const failOn3 = () => {
      for (let sent = 0, guard = 0; sent < 5 && guard < 100; guard++) {
        const lease = balancer.pick();
        if (lease?.endpoint.address === '127.0.0.3') {
          lease.release({ ok: false, failure: 'connect' });
          sent++;
        } else lease?.release({ ok: true });
      }
      expect(balancer.stats().endpoints.find((e) => e.address === '127.0.0.3')?.ejected).toBe(true);
    };
    const ejections = async () =>
      pointsOf(await points(reader), 'endpoint_watch.endpoint.ejections').map((p) => [
        p.attributes['server.address'],
        p.value,
      ]);
    failOn3();
    for (let i = 0; i < 4; i++) balancer.pick()?.release({ ok: true });
    expect(await ejections()).toEqual([['127.0.0.3', 1]]);
    clock.advance(10 * 60_000); // past any ejection time: back in the set at the next pick
    failOn3();
    expect(await ejections()).toEqual([['127.0.0.3', 2]]);
    balancer.close();
  });

  it("createBalancer's metrics option: the global provider, a given provider, or none", async () => {
    const endpoints = of(set([ep(2, { address: '127.0.0.2' })]));
    const requests = async (reader: ManualReader) =>
      pointsOf(await points(reader), 'endpoint_watch.endpoint.requests').map((p) => p.value);
    const pickOnce = (balancer: ReturnType<typeof createBalancer>) => {
      balancer.pick()?.release({ ok: true });
      balancer.close();
    };
    const globalReader = new ManualReader();
    provider = new MeterProvider({ readers: [globalReader] });
    metrics.setGlobalMeterProvider(provider);
    pickOnce(createBalancer(endpoints)); // off by default
    expect(await requests(globalReader)).toEqual([]);
    pickOnce(createBalancer(endpoints, { metrics: true }));
    expect(await requests(globalReader)).toEqual([1]);
    const ownReader = new ManualReader();
    const own = new MeterProvider({ readers: [ownReader] });
    pickOnce(createBalancer(endpoints, { metrics: { meterProvider: own } }));
    expect(await requests(ownReader)).toEqual([1]);
    const { resourceMetrics } = await ownReader.collect();
    expect(resourceMetrics.scopeMetrics.map((scope) => scope.scope.name)).toEqual([
      '@endpoint-watch/balancer',
    ]);
    expect(await requests(globalReader)).toEqual([1]);
    await own.shutdown();
  });

  it('delegates everything to the balancer it wraps', () => {
    const { balancer } = setUp();
    expect(balancer.has?.('127.0.0.2:8080')).toBe(true);
    expect(balancer.left$).toBeDefined();
    expect(balancer.endpoints.map((e) => e.address)).toEqual(['127.0.0.2', '127.0.0.3', '127.0.0.4']);
    const lease = balancer.pick();
    // round robin starts at a random offset: any endpoint, with its key kept
    expect(lease?.key).toBe(`${lease?.endpoint.address}:8080`);
    expect(lease?.key).toBeDefined();
    lease?.release({ ok: true });
    balancer.close();
    expect(balancer.stats().closed).toBe(true);
  });
});
