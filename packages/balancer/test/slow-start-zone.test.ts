import type { Endpoint } from '@endpoint-watch/core';
import { BehaviorSubject, of } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { type Balancer, type BalancerOptions, createBalancer, type Lease } from '../src/index.js';
import { slowStartWeight } from '../src/slow-start.js';
import { ep, ManualClock, range, seeded, set } from './support.js';

describe('slow start', () => {
  const options = { windowMs: 60_000, aggression: 1, minWeightPercent: 10 };

  it('follows Envoy’s formula', () => {
    expect(slowStartWeight(options, 0, 0)).toBe(0.1);
    expect(slowStartWeight(options, 0, 30_000)).toBe(0.5);
    expect(slowStartWeight(options, 0, 60_000)).toBe(1);
    expect(slowStartWeight({ ...options, aggression: 2 }, 0, 15_000)).toBe(0.5);
    expect(slowStartWeight({ ...options, minWeightPercent: 1 }, 0, 0)).toBeCloseTo(1 / 60, 10);
    expect(slowStartWeight(undefined, 0, 0)).toBe(1);
    expect(slowStartWeight(options, undefined, 0)).toBe(1);
  });

  it('is 1 once the time factor reaches 1, however small the aggression (1 ** Infinity is NaN)', () => {
    const tiny = { windowMs: 1_000, aggression: Number.MIN_VALUE, minWeightPercent: 10 };
    // Within the first second the time factor is max(elapsed, 1 s) / window = 1.
    expect(slowStartWeight(tiny, 0, 500)).toBe(1);
    expect(slowStartWeight({ ...tiny, windowMs: 2_000 }, 0, 500)).toBe(0.1);
  });

  it('is never 0, even when minWeightPercent / 100 underflows (a weight divides a load)', () => {
    const tiniest = { windowMs: 60_000, aggression: Number.MIN_VALUE, minWeightPercent: Number.MIN_VALUE };
    expect(slowStartWeight(tiniest, 0, 0)).toBeGreaterThan(0);
  });

  it('ramps a new endpoint up over the window (least-request under steady concurrency)', () => {
    const clock = new ManualClock(0);
    const sets = new BehaviorSubject(set([ep(1), ep(2)]));
    const balancer = createBalancer(sets, {
      now: clock.now,
      random: seeded(9),
      slowStart: options,
      outlierDetection: false,
    });
    sets.next(set([ep(1), ep(2), ep(3)]));
    const weights = () => balancer.stats().endpoints.map((e) => e.weight);
    expect(weights()).toEqual([1, 1, 0.1]);

    // 30 requests in flight at any time; every 10 ms the oldest completes and a new one starts.
    const open: Lease[] = [];
    const shareOfNew = (ms: number) => {
      let mine = 0;
      let total = 0;
      for (let t = 0; t < ms; t += 10) {
        clock.advance(10);
        while (open.length >= 30) open.shift()?.release({ ok: true });
        const lease = balancer.pick() as Lease;
        open.push(lease);
        total += 1;
        if (lease.endpoint.address === '10.0.0.3') mine += 1;
      }
      return mine / total;
    };
    const early = shareOfNew(10_000);
    shareOfNew(20_000);
    const middle = shareOfNew(10_000);
    shareOfNew(20_000);
    const after = shareOfNew(20_000);
    expect(weights()).toEqual([1, 1, 1]);
    expect(early).toBeLessThan(0.15);
    expect(middle).toBeGreaterThan(early);
    expect(after).toBeGreaterThan(middle);
    expect(after).toBeGreaterThan(0.3);
  });

  it('does not slow-start the endpoints of the first set', () => {
    const balancer = createBalancer(of(set([ep(1), ep(2)])), { slowStart: options });
    expect(balancer.stats().endpoints.map((e) => e.weight)).toEqual([1, 1]);
  });
});

function zoned(n: number, zone: string, extra: Partial<Endpoint> = {}): Endpoint {
  return ep(n, { zone, ...extra });
}

function picked(balancer: Balancer, count: number): Set<string> {
  const seen = new Set<string>();
  for (let i = 0; i < count; i++) {
    const lease = balancer.pick();
    if (!lease) continue;
    seen.add(lease.endpoint.address);
    lease.release({ ok: true });
  }
  return seen;
}

function hitUntilEjected(balancer: Balancer, address: string): void {
  for (
    let i = 0;
    i < 10_000 && !balancer.stats().endpoints.find((e) => e.address === address)?.ejected;
    i++
  ) {
    const lease = balancer.pick();
    lease?.release(lease.endpoint.address === address ? { ok: false, failure: 'connect' } : { ok: true });
  }
}

describe('zone preference', () => {
  const base: BalancerOptions = { strategy: 'round-robin', random: seeded(4), zone: { local: 'a' } };
  const sixEndpoints = [
    zoned(1, 'a'),
    zoned(2, 'a'),
    zoned(3, 'a'),
    zoned(4, 'b'),
    zoned(5, 'b'),
    zoned(6, 'c'),
  ];

  it('keeps traffic in the local zone', () => {
    const balancer = createBalancer(of(set(sixEndpoints)), base);
    expect(picked(balancer, 60)).toEqual(new Set(['10.0.0.1', '10.0.0.2', '10.0.0.3']));
    expect(balancer.stats().zoneRouting).toBe('local');
  });

  it('spills over when the set is smaller than minClusterSize', () => {
    const balancer = createBalancer(of(set(sixEndpoints.slice(1))), base);
    expect(picked(balancer, 60).size).toBe(5);
    expect(balancer.stats().zoneRouting).toBe('spill');
    const lowered = createBalancer(of(set(sixEndpoints.slice(1))), {
      ...base,
      zone: { local: 'a', minClusterSize: 3 },
    });
    expect(picked(lowered, 60)).toEqual(new Set(['10.0.0.2', '10.0.0.3']));
  });

  it('spills over when no endpoint is in the local zone', () => {
    const balancer = createBalancer(of(set(sixEndpoints)), { ...base, zone: { local: 'z' } });
    expect(picked(balancer, 60).size).toBe(6);
    expect(balancer.stats().zoneRouting).toBe('spill');
  });

  it('spills over to all healthy endpoints when the local zone is short', () => {
    const endpoints = [...sixEndpoints, zoned(7, 'b'), zoned(8, 'c')];
    const balancer = createBalancer(of(set(endpoints)), {
      ...base,
      outlierDetection: { maxEjectionPercent: 40 },
    });
    hitUntilEjected(balancer, '10.0.0.1');
    // 2 of 3 local endpoints healthy: still local
    expect(balancer.stats().zoneRouting).toBe('local');
    expect(picked(balancer, 40)).toEqual(new Set(['10.0.0.2', '10.0.0.3']));
    hitUntilEjected(balancer, '10.0.0.2');
    // 1 of 3 local healthy (< 50 %): spread over every healthy endpoint
    expect(balancer.stats().zoneRouting).toBe('spill');
    expect(picked(balancer, 80)).toEqual(
      new Set(['10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6', '10.0.0.7', '10.0.0.8']),
    );
  });

  it('follows EndpointSlice hints when every endpoint has them', () => {
    const hinted = [
      zoned(1, 'a', { hints: { forZones: ['a'] } }),
      zoned(2, 'b', { hints: { forZones: ['a'] } }), // capacity of b lent to a
      zoned(3, 'b', { hints: { forZones: ['b'] } }),
      zoned(4, 'c', { hints: { forZones: ['c'] } }),
    ];
    // hints are applied even below minClusterSize: the controller already checked capacity
    const balancer = createBalancer(of(set(hinted)), base);
    expect(picked(balancer, 40)).toEqual(new Set(['10.0.0.1', '10.0.0.2']));
    const fromB = createBalancer(of(set(hinted)), { ...base, zone: { local: 'b' } });
    expect(picked(fromB, 40)).toEqual(new Set(['10.0.0.3']));
  });

  it('with the caller’s node, prefers endpoints hinted for it, then zone hints (PreferSameNode)', () => {
    const hinted = [
      zoned(1, 'a', { hints: { forZones: ['a'], forNodes: ['n1'] } }),
      zoned(2, 'a', { hints: { forZones: ['a'], forNodes: ['n2'] } }),
      zoned(3, 'b', { hints: { forZones: ['b'], forNodes: ['n3'] } }),
    ];
    const onN1 = createBalancer(of(set(hinted)), { ...base, zone: { local: 'a', node: 'n1' } });
    expect(picked(onN1, 30)).toEqual(new Set(['10.0.0.1']));
    expect(onN1.stats().zoneRouting).toBe('local');
    // No endpoint on this node: zone hints decide.
    const onN9 = createBalancer(of(set(hinted)), { ...base, zone: { local: 'a', node: 'n9' } });
    expect(picked(onN9, 30)).toEqual(new Set(['10.0.0.1', '10.0.0.2']));
    // Node hints count only when every endpoint has one (kube-proxy).
    const partly = [...hinted.slice(0, 2), zoned(3, 'b', { hints: { forZones: ['b'] } })];
    const mixed = createBalancer(of(set(partly)), { ...base, zone: { local: 'a', node: 'n1' } });
    expect(picked(mixed, 30)).toEqual(new Set(['10.0.0.1', '10.0.0.2']));
    // Without `node`, node hints are not read.
    expect(picked(createBalancer(of(set(hinted)), base), 30)).toEqual(new Set(['10.0.0.1', '10.0.0.2']));
    expect(() => createBalancer(of(set(hinted)), { zone: { local: 'a', node: '' } })).toThrow(/zone.node/);
  });

  it('leaves the node for the zone when the node’s endpoints are ejected', () => {
    const hinted = [
      zoned(1, 'a', { hints: { forZones: ['a'], forNodes: ['n1'] } }),
      zoned(2, 'a', { hints: { forZones: ['a'], forNodes: ['n2'] } }),
      zoned(3, 'a', { hints: { forZones: ['a'], forNodes: ['n2'] } }),
      zoned(4, 'b', { hints: { forZones: ['b'], forNodes: ['n3'] } }),
    ];
    const balancer = createBalancer(of(set(hinted)), {
      ...base,
      zone: { local: 'a', node: 'n1' },
      outlierDetection: { maxEjectionPercent: 50 },
    });
    hitUntilEjected(balancer, '10.0.0.1');
    expect(picked(balancer, 30)).toEqual(new Set(['10.0.0.2', '10.0.0.3']));
  });

  it('ignores hints unless every endpoint has them (kube-proxy), falling back to the zone field', () => {
    const partly = [
      ...sixEndpoints.slice(0, 5).map((e) => ({ ...e, hints: { forZones: ['b'] } })),
      sixEndpoints[5] as Endpoint,
    ];
    const balancer = createBalancer(of(set(partly)), base);
    expect(picked(balancer, 60)).toEqual(new Set(['10.0.0.1', '10.0.0.2', '10.0.0.3']));
  });

  it('is off in panic mode', () => {
    const endpoints = [zoned(1, 'a'), zoned(2, 'b')];
    const balancer = createBalancer(of(set(endpoints)), {
      ...base,
      zone: { local: 'a', minClusterSize: 1 },
      outlierDetection: { maxEjectionPercent: 100 },
    });
    expect(picked(balancer, 10)).toEqual(new Set(['10.0.0.1']));
    hitUntilEjected(balancer, '10.0.0.1');
    expect(picked(balancer, 10)).toEqual(new Set(['10.0.0.2']));
    hitUntilEjected(balancer, '10.0.0.2');
    expect(balancer.stats().panic).toBe(true);
    expect(balancer.stats().zoneRouting).toBe('off');
    expect(picked(balancer, 10).size).toBe(2);
  });

  it('works with the P2C strategies too', () => {
    const balancer = createBalancer(of(set(range(1, 6).map((n) => zoned(n, n <= 3 ? 'a' : 'b')))), {
      zone: { local: 'b' },
      random: seeded(8),
    });
    expect(picked(balancer, 100)).toEqual(new Set(['10.0.0.4', '10.0.0.5', '10.0.0.6']));
  });
});
