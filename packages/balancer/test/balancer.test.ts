import { EndpointWatchError } from '@endpoint-watch/core';
import { BehaviorSubject, of, Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  BalancerOptionsError,
  type BalancerStats,
  createBalancer,
  endpointKey,
  type Lease,
} from '../src/index.js';
import { resolveOptions } from '../src/options.js';
import { ep, ManualClock, range, seeded, set } from './support.js';

const byAddress = (stats: BalancerStats, address: string) =>
  stats.endpoints.find((e) => e.address === address);

describe('state across set changes', () => {
  it('keeps the counters of endpoints that stay, drops those that leave, starts returning ones fresh', () => {
    const sets = new BehaviorSubject(set([ep(1), ep(2), ep(3)]));
    const balancer = createBalancer(sets, { strategy: 'round-robin', random: () => 0 });
    const leases = range(1, 6).map(() => balancer.pick() as Lease);
    leases[0]?.release({ ok: true }); // 10.0.0.1
    expect(balancer.stats().endpoints.map((e) => [e.address, e.picks, e.inFlight])).toEqual([
      ['10.0.0.1', 2, 1],
      ['10.0.0.2', 2, 2],
      ['10.0.0.3', 2, 2],
    ]);

    sets.next(set([ep(1), ep(3), ep(4)]));
    let stats = balancer.stats();
    expect(stats.endpoints.map((e) => [e.address, e.picks, e.inFlight])).toEqual([
      ['10.0.0.1', 2, 1],
      ['10.0.0.3', 2, 2],
      ['10.0.0.4', 0, 0],
    ]);
    expect(byAddress(stats, '10.0.0.1')?.successes).toBe(1);
    expect(stats.totals.inFlight).toBe(5);

    // leases on the departed endpoint release safely and do not bring it back
    leases[1]?.release({ ok: false, failure: 'reset' });
    leases[4]?.release({ ok: true });
    stats = balancer.stats();
    expect(byAddress(stats, '10.0.0.2')).toBeUndefined();
    expect(stats.totals.inFlight).toBe(3);
    expect(stats.endpoints.every((e) => e.inFlight >= 0)).toBe(true);

    // it comes back: fresh counters, and old leases do not touch them
    sets.next(set([ep(1), ep(2), ep(3), ep(4)]));
    expect(byAddress(balancer.stats(), '10.0.0.2')).toMatchObject({ picks: 0, inFlight: 0, failures: 0 });
    for (const lease of leases) lease.release({ ok: false, failure: 'other' });
    expect(byAddress(balancer.stats(), '10.0.0.2')).toMatchObject({ picks: 0, inFlight: 0, failures: 0 });
    expect(balancer.stats().totals.inFlight).toBe(0);
  });

  it('updates the endpoint object of an endpoint that stays (e.g. a new zone label)', () => {
    const sets = new BehaviorSubject(set([ep(1)]));
    const balancer = createBalancer(sets);
    balancer.pick();
    sets.next(set([ep(1, { zone: 'z1' })]));
    expect(balancer.endpoints[0]).toMatchObject({ zone: 'z1', picks: 1, endpoint: { zone: 'z1' } });
    expect(balancer.pick()?.endpoint.zone).toBe('z1');
  });

  it('deduplicates address:port and keys IPv6 with brackets', () => {
    const v6 = ep(0, { address: 'fd00::1', addressType: 'IPv6' });
    const balancer = createBalancer(of(set([ep(1), ep(1), v6, { ...ep(1), port: 9090 }])));
    expect(balancer.stats().endpoints.map((e) => e.key)).toEqual([
      '10.0.0.1:8080',
      '[fd00::1]:8080',
      '10.0.0.1:9090',
    ]);
    expect(endpointKey(v6)).toBe('[fd00::1]:8080');
  });

  it('returns undefined before any set and for an empty set', () => {
    const sets = new Subject<ReturnType<typeof set>>();
    const balancer = createBalancer(sets);
    expect(balancer.pick()).toBeUndefined();
    sets.next(set([]));
    expect(balancer.pick()).toBeUndefined();
    sets.next(set([ep(1)]));
    expect(balancer.pick()?.endpoint.address).toBe('10.0.0.1');
  });
});

describe('leases', () => {
  it('releasing twice is a no-op', () => {
    const balancer = createBalancer(of(set([ep(1)])));
    const lease = balancer.pick() as Lease;
    lease.release({ ok: false, failure: 'timeout' });
    lease.release({ ok: false, failure: 'timeout' });
    lease.release({ ok: true });
    expect(balancer.stats().endpoints[0]).toMatchObject({ inFlight: 0, failures: 1, successes: 0 });
    expect(balancer.stats().totals).toMatchObject({ inFlight: 0, picks: 1, failures: 1, successes: 0 });
  });

  it('measures latency with the injected clock when the outcome has none', () => {
    const clock = new ManualClock();
    const balancer = createBalancer(of(set([ep(1)])), { now: clock.now, ewmaDefaultLatencyMs: 10 });
    const lease = balancer.pick() as Lease;
    clock.advance(40);
    lease.release({ ok: true });
    expect(balancer.stats().endpoints[0]?.ewmaLatencyMs).toBe(40);
    const explicit = balancer.pick() as Lease;
    explicit.release({ ok: true, latencyMs: 500 });
    expect(balancer.stats().endpoints[0]?.ewmaLatencyMs).toBe(500);
  });

  it('never lowers the latency estimate on a failure', () => {
    const clock = new ManualClock();
    const balancer = createBalancer(of(set([ep(1)])), { now: clock.now, outlierDetection: false });
    balancer.pick()?.release({ ok: true, latencyMs: 200 });
    balancer.pick()?.release({ ok: false, failure: 'connect', latencyMs: 1 });
    expect(balancer.stats().endpoints[0]?.ewmaLatencyMs).toBe(200);
  });
});

describe('stats', () => {
  it('reports per-endpoint counters and totals', () => {
    const clock = new ManualClock();
    const balancer = createBalancer(of(set([ep(1, { zone: 'a' }), ep(2)])), {
      now: clock.now,
      random: seeded(1),
      strategy: 'round-robin',
    });
    const a = balancer.pick() as Lease;
    balancer.pick()?.release({ ok: true });
    const stats = balancer.stats();
    expect(stats).toMatchObject({
      namespace: 'default',
      service: 'web',
      strategy: 'round-robin',
      closed: false,
      panic: false,
      zoneRouting: 'off',
      totals: { endpoints: 2, healthy: 2, ejected: 0, candidates: 2, inFlight: 1, picks: 2, successes: 1 },
    });
    expect(byAddress(stats, a.endpoint.address)).toMatchObject({
      inFlight: 1,
      picks: 1,
      ejected: false,
      ejectedUntil: undefined,
      candidate: true,
      weight: 1,
      ewmaLatencyMs: 30,
    });
    expect(byAddress(stats, '10.0.0.1')?.zone).toBe('a');
  });

  it('stats$ emits the current stats, then on set changes and ejections, and completes on close', () => {
    const sets = new BehaviorSubject(set(range(1, 10).map((n) => ep(n))));
    const balancer = createBalancer(sets, { strategy: 'round-robin', random: () => 0 });
    const seen: BalancerStats[] = [];
    let completed = false;
    balancer.stats$.subscribe({ next: (s) => seen.push(s), complete: () => (completed = true) });
    expect(seen).toHaveLength(1);
    sets.next(set(range(1, 11).map((n) => ep(n))));
    expect(seen).toHaveLength(2);
    expect(seen[1]?.totals.endpoints).toBe(11);
    for (let i = 0; i < 5 * 11; i++) {
      const lease = balancer.pick() as Lease;
      lease.release(
        lease.endpoint.address === '10.0.0.1' ? { ok: false, failure: 'status5xx' } : { ok: true },
      );
    }
    expect(seen).toHaveLength(3);
    expect(seen[2]?.totals.ejected).toBe(1);
    balancer.close();
    expect(completed).toBe(true);
    expect(seen.at(-1)?.closed).toBe(true);
    let late: BalancerStats | undefined;
    balancer.stats$.subscribe((s) => (late = s));
    expect(late?.closed).toBe(true);
  });
});

describe('close', () => {
  it('unsubscribes, and later picks return undefined', () => {
    const sets = new BehaviorSubject(set([ep(1)]));
    const balancer = createBalancer(sets);
    const lease = balancer.pick() as Lease;
    expect(sets.observed).toBe(true);
    balancer.close();
    balancer.close();
    expect(sets.observed).toBe(false);
    expect(balancer.pick()).toBeUndefined();
    lease.release({ ok: false, failure: 'other' });
    expect(balancer.stats().totals.inFlight).toBe(0);
  });
});

describe('options', () => {
  it('defaults to the constants of Envoy, Finagle and Linkerd that the README names', () => {
    const resolved = resolveOptions({ slowStart: { windowMs: 30_000 }, zone: { local: 'zone-a' } });
    expect(resolved).toMatchObject({
      strategy: 'least-request',
      choiceCount: 2, // Envoy least_request choice_count
      activeRequestBias: 1,
      ewmaDecayMs: 10_000, // Finagle / Linkerd peak EWMA decay
      ewmaDefaultLatencyMs: 30, // Linkerd's default RTT
      hash: { algorithm: 'maglev', tableSize: 65_537, ringMinSize: 1_024 }, // Envoy maglev / ring_hash
      outlier: {
        consecutiveFailures: 5, // Envoy outlier detection
        baseEjectionMs: 30_000,
        maxEjectionMs: 300_000,
        maxEjectionPercent: 10,
        intervalMs: 10_000,
        successRate: { minimumHosts: 5, requestVolume: 100, stdevFactor: 1.9 },
      },
      panicThresholdPercent: 50,
      slowStart: { windowMs: 30_000, aggression: 1, minWeightPercent: 10 },
      zone: { local: 'zone-a', minClusterSize: 6 },
      noEndpointsTimeoutMs: 3_000,
    });
  });

  it('rejects out-of-range options with ERR_BALANCER_OPTIONS', () => {
    const bad = [
      { strategy: 'fastest' as never },
      { choiceCount: 0 },
      { hash: { tableSize: 65_536 } },
      // Primes, but tables beyond Envoy's bounds: memory and time no balancing needs.
      { hash: { tableSize: 5_000_077 } },
      { hash: { tableSize: 2_147_483_647 } },
      { hash: { ringMinSize: 8_388_609 } },
      { panicThresholdPercent: 120 },
      { outlierDetection: { baseEjectionMs: 10, maxEjectionMs: 5 } },
      { slowStart: { windowMs: -1 } },
      { zone: { local: '' } },
      { noEndpointsTimeoutMs: Number.NaN },
      // Called on every pick: not a function is a bad option, not a TypeError at the first call.
      { now: 5 as never },
      { random: 'seeded' as never },
    ];
    for (const options of bad) {
      let error: unknown;
      try {
        createBalancer(of(set([])), options);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(BalancerOptionsError);
      expect(error).toBeInstanceOf(EndpointWatchError);
      expect((error as BalancerOptionsError).code).toBe('ERR_BALANCER_OPTIONS');
    }
  });

  it('accepts choiceCount > 2 and samples that many', () => {
    const balancer = createBalancer(of(set(range(1, 5).map((n) => ep(n)))), {
      choiceCount: 5,
      random: seeded(2),
    });
    const held: Lease[] = [];
    for (let i = 0; i < 4; i++) held.push(balancer.pick() as Lease);
    // with all 5 compared every time, the 5th pick goes to the only idle endpoint
    const idle = range(1, 5)
      .map((n) => `10.0.0.${n}`)
      .find((a) => !held.some((l) => l.endpoint.address === a));
    expect(balancer.pick()?.endpoint.address).toBe(idle);
  });
});
