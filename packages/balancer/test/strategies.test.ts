import type { Endpoint } from '@endpoint-watch/core';
import { of } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  type Balancer,
  type BalancerOptions,
  createBalancer,
  type EndpointState,
  type Lease,
  type StrategyFactory,
} from '../src/index.js';
import { bestOfDistinct } from '../src/strategies/sampling.js';
import { ep, ManualClock, range, seeded, set } from './support.js';

const noOutlier = { outlierDetection: false } as const;

function picksOf(balancer: Balancer, count: number, release = true): string[] {
  const picked: string[] = [];
  for (let i = 0; i < count; i++) {
    const lease = balancer.pick();
    if (!lease) throw new Error('nothing picked');
    picked.push(lease.endpoint.address);
    if (release) lease.release({ ok: true, latencyMs: 1 });
  }
  return picked;
}

function counts(items: readonly string[]): Map<string, number> {
  const result = new Map<string, number>();
  for (const item of items) result.set(item, (result.get(item) ?? 0) + 1);
  return result;
}

describe('round-robin', () => {
  it('cycles through the set in order from a random start', () => {
    const endpoints = range(1, 5).map((n) => ep(n));
    const balancer = createBalancer(of(set(endpoints)), {
      strategy: 'round-robin',
      random: () => 0.5,
      ...noOutlier,
    });
    const picked = picksOf(balancer, 15);
    const order = endpoints.map((e) => e.address);
    const start = order.indexOf(picked[0] as string);
    expect(start).toBe(2);
    expect(picked).toEqual(range(0, 14).map((i) => order[(start + i) % 5]));
  });

  it('starts at different places for different random values', () => {
    const starts = new Set(
      [0, 0.25, 0.5, 0.75, 0.99].map(
        (r) =>
          createBalancer(of(set(range(1, 4).map((n) => ep(n)))), {
            strategy: 'round-robin',
            random: () => r,
          }).pick()?.endpoint.address,
      ),
    );
    expect(starts.size).toBe(4);
  });
});

describe('a random source that breaks its contract (uniform in [0, 1))', () => {
  it.each([Number.NaN, -0.5, 1, 7, Number.POSITIVE_INFINITY])(
    'still picks a candidate when it returns %s, with every strategy and with exclude',
    (value) => {
      const strategies = ['least-request', 'round-robin', 'random', 'peak-ewma', 'consistent-hash'] as const;
      const endpoints = range(1, 3).map((n) => ep(n));
      for (const strategy of strategies) {
        for (const members of [endpoints.slice(0, 1), endpoints]) {
          const balancer = createBalancer(of(set(members)), { strategy, random: () => value, ...noOutlier });
          expect(members).toContain(balancer.pick()?.endpoint);
          const exclude = new Set(['10.0.0.1:8080', '10.0.0.2:8080']);
          expect(members).toContain(balancer.pick(undefined, { exclude })?.endpoint);
        }
      }
    },
  );
});

describe('random', () => {
  it('is close to uniform (chi-square, 9 degrees of freedom, p = 0.001 bound)', () => {
    const n = 10;
    const draws = 20_000;
    const balancer = createBalancer(of(set(range(1, n).map((i) => ep(i)))), {
      strategy: 'random',
      random: seeded(42),
      ...noOutlier,
    });
    const observed = counts(picksOf(balancer, draws));
    expect(observed.size).toBe(n);
    const expected = draws / n;
    let chi2 = 0;
    for (const c of observed.values()) chi2 += (c - expected) ** 2 / expected;
    expect(chi2).toBeLessThan(27.88);
  });
});

describe('least-request (power of two choices)', () => {
  it('samples distinct candidates', () => {
    const random = seeded(7);
    for (let n = 2; n <= 12; n++) {
      const items = range(1, n);
      for (let trial = 0; trial < 200; trial++) {
        const seen: number[] = [];
        bestOfDistinct(items.length, 2, random, (x) => {
          seen.push(x);
          return 0;
        });
        expect(seen).toHaveLength(2);
        expect(seen[0]).not.toBe(seen[1]);
      }
    }
  });

  it('picks distinct candidates even when random() always returns the same value', () => {
    const seen: number[] = [];
    bestOfDistinct(
      2,
      2,
      () => 0,
      (x) => {
        seen.push(x);
        return x;
      },
    );
    expect(seen.sort()).toEqual([0, 1]);
  });

  it('always takes the less loaded of two endpoints', () => {
    const balancer = createBalancer(of(set([ep(1), ep(2)])), { random: seeded(1), ...noOutlier });
    const held: Lease[] = [];
    for (let i = 0; i < 5; i++) {
      const lease = balancer.pick();
      if (lease?.endpoint.address === '10.0.0.1') held.push(lease);
      else lease?.release({ ok: true });
    }
    // 10.0.0.1 now has requests in flight, 10.0.0.2 none: every pick goes to .2
    expect(held.length).toBeGreaterThan(0);
    expect(new Set(picksOf(balancer, 50))).toEqual(new Set(['10.0.0.2']));
  });

  it('keeps in-flight counts level where random choice drifts apart', () => {
    const endpoints = range(1, 10).map((n) => ep(n));
    const spread = (options: BalancerOptions) => {
      const balancer = createBalancer(of(set(endpoints)), { random: seeded(3), ...noOutlier, ...options });
      picksOf(balancer, 1_000, false);
      const inFlight = balancer.stats().endpoints.map((e) => e.inFlight);
      return Math.max(...inFlight) - Math.min(...inFlight);
    };
    expect(spread({ strategy: 'least-request' })).toBeLessThanOrEqual(2);
    expect(spread({ strategy: 'random' })).toBeGreaterThan(10);
  });

  it('breaks ties at random', () => {
    const balancer = createBalancer(of(set([ep(1), ep(2)])), { random: seeded(5), ...noOutlier });
    const c = counts(picksOf(balancer, 2_000));
    expect(c.get('10.0.0.1')).toBeGreaterThan(850);
    expect(c.get('10.0.0.2')).toBeGreaterThan(850);
  });
});

/**
 * Discrete-event simulation: a request every `gapMs`, each endpoint answering after a fixed latency.
 * Completions are released (latency measured by the balancer's clock) before each new pick.
 */
function simulate(options: BalancerOptions, latencyOf: (e: Endpoint) => number, durationMs: number) {
  const clock = new ManualClock(0);
  const endpoints = [ep(1), ep(2), ep(3)];
  const balancer = createBalancer(of(set(endpoints)), { now: clock.now, random: seeded(11), ...options });
  const pending: { at: number; lease: Lease }[] = [];
  const picked = new Map<string, number>();
  for (let t = 0; t < durationMs; t += 2) {
    pending.sort((a, b) => a.at - b.at);
    while (pending.length > 0 && (pending[0] as { at: number }).at <= t) {
      const done = pending.shift() as { at: number; lease: Lease };
      clock.t = done.at;
      done.lease.release({ ok: true });
    }
    clock.t = t;
    const lease = balancer.pick() as Lease;
    picked.set(lease.endpoint.address, (picked.get(lease.endpoint.address) ?? 0) + 1);
    pending.push({ at: t + latencyOf(lease.endpoint), lease });
  }
  const total = [...picked.values()].reduce((a, b) => a + b, 0);
  return (address: string) => (picked.get(address) ?? 0) / total;
}

describe('peak-ewma', () => {
  const latency = (e: Endpoint) => (e.address === '10.0.0.3' ? 150 : 5);

  it('sends almost nothing to a slow endpoint', () => {
    const share = simulate({ strategy: 'peak-ewma', ...noOutlier }, latency, 20_000);
    expect(share('10.0.0.3')).toBeLessThan(0.03);
    expect(share('10.0.0.1')).toBeGreaterThan(0.4);
    expect(share('10.0.0.2')).toBeGreaterThan(0.4);
  });

  it('does better than least-request and far better than round-robin', () => {
    const ewma = simulate({ strategy: 'peak-ewma', ...noOutlier }, latency, 20_000)('10.0.0.3');
    const lr = simulate({ strategy: 'least-request', ...noOutlier }, latency, 20_000)('10.0.0.3');
    const rr = simulate({ strategy: 'round-robin', ...noOutlier }, latency, 20_000)('10.0.0.3');
    expect(rr).toBeCloseTo(1 / 3, 2);
    expect(ewma).toBeLessThan(lr);
    expect(ewma * 10).toBeLessThan(rr);
  });

  it('re-probes an endpoint that became fast again', () => {
    let slow = true;
    const clock = new ManualClock(0);
    const balancer = createBalancer(of(set([ep(1), ep(2)])), {
      strategy: 'peak-ewma',
      now: clock.now,
      random: seeded(2),
      ...noOutlier,
    });
    const run = (ms: number) => {
      const seen = new Map<string, number>();
      for (let t = 0; t < ms; t += 10) {
        clock.advance(10);
        const lease = balancer.pick() as Lease;
        const address = lease.endpoint.address;
        seen.set(address, (seen.get(address) ?? 0) + 1);
        lease.release({ ok: true, latencyMs: address === '10.0.0.2' && slow ? 500 : 5 });
      }
      return seen.get('10.0.0.2') ?? 0;
    };
    run(10_000);
    slow = false;
    // with .2 idle its estimate decays (τ = 10 s) until it wins a comparison, is sampled, and is fast
    run(60_000);
    expect(run(10_000)).toBeGreaterThan(300);
  });

  it('starts a new endpoint at the default latency, not at zero', () => {
    const clock = new ManualClock(0);
    const balancer = createBalancer(of(set([ep(1)])), {
      strategy: 'peak-ewma',
      now: clock.now,
      ...noOutlier,
    });
    expect(balancer.stats().endpoints[0]?.ewmaLatencyMs).toBe(30);
    const lease = balancer.pick() as Lease;
    clock.advance(80);
    lease.release({ ok: true });
    // peak: a sample above the estimate replaces it
    expect(balancer.stats().endpoints[0]?.ewmaLatencyMs).toBe(80);
    clock.advance(10_000);
    expect(balancer.stats().endpoints[0]?.ewmaLatencyMs).toBeCloseTo(80 / Math.E, 6);
  });
});

describe('custom strategies', () => {
  it('accepts a StrategyFactory and feeds it the candidates', () => {
    const lowestPort: StrategyFactory = () => {
      let candidates: readonly { endpoint: Endpoint }[] = [];
      return {
        name: 'lowest-port',
        setCandidates(list) {
          candidates = [...list].sort((a, b) => a.endpoint.port - b.endpoint.port);
        },
        pick() {
          return candidates[0] as never;
        },
      };
    };
    const balancer = createBalancer(of(set([ep(1, { port: 9000 }), ep(2, { port: 80 })])), {
      strategy: lowestPort,
    });
    expect(balancer.pick()?.endpoint.address).toBe('10.0.0.2');
    expect(balancer.stats().strategy).toBe('lowest-port');
  });

  it('rejects a strategy that returns a foreign object', () => {
    const bogus: StrategyFactory = () => ({
      name: 'bogus',
      setCandidates() {},
      pick: () => ({ key: 'x' }) as never,
    });
    const balancer = createBalancer(of(set([ep(1)])), { strategy: bogus });
    expect(() => balancer.pick()).toThrow(TypeError);
  });

  it("rejects a strategy that returns another balancer's endpoint state", () => {
    let elsewhere: EndpointState | undefined;
    const keep: StrategyFactory = () => ({
      name: 'keep',
      setCandidates(candidates) {
        elsewhere ??= candidates[0];
      },
      pick: () => elsewhere!,
    });
    const other = createBalancer(of(set([ep(1)])), { strategy: keep });
    const balancer = createBalancer(of(set([ep(1)])), { strategy: keep });
    expect(() => balancer.pick()).toThrow(/not a current candidate/);
    expect(other.pick()?.key).toBe('10.0.0.1:8080');
  });
});
