import fc from 'fast-check';
import { BehaviorSubject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  type BalancerOptions,
  createBalancer,
  endpointKey,
  type Lease,
  type Outcome,
  type StrategyName,
} from '../src/index.js';
import { ep, ManualClock, seeded, set } from './support.js';

const POOL = Array.from({ length: 8 }, (_, i) => ep(i + 1));
const KEYS = POOL.map(endpointKey);

const VARIANTS: { name: string; strategy: StrategyName; options?: BalancerOptions }[] = [
  { name: 'least-request', strategy: 'least-request' },
  { name: 'round-robin', strategy: 'round-robin' },
  { name: 'random', strategy: 'random' },
  { name: 'peak-ewma', strategy: 'peak-ewma' },
  { name: 'consistent-hash/maglev', strategy: 'consistent-hash', options: { hash: { tableSize: 251 } } },
  { name: 'consistent-hash/ring', strategy: 'consistent-hash', options: { hash: { algorithm: 'ring' } } },
];

function balancerOf(variant: (typeof VARIANTS)[number], size: number, seed = 7) {
  const clock = new ManualClock(0);
  const balancer = createBalancer(new BehaviorSubject(set(POOL.slice(0, size))), {
    strategy: variant.strategy,
    now: clock.now,
    random: seeded(seed),
    outlierDetection: false,
    ...variant.options,
  });
  return { balancer, clock };
}

const keyOf = (lease: Lease | undefined): string => endpointKey((lease as Lease).endpoint);

describe('pick with exclude', () => {
  for (const variant of VARIANTS) {
    describe(variant.name, () => {
      it('never returns an excluded endpoint while another candidate exists', () => {
        const { balancer, clock } = balancerOf(variant, 4);
        const one = new Set([KEYS[0] as string]);
        const three = new Set(KEYS.slice(0, 3));
        const held: Lease[] = [];
        for (let i = 0; i < 200; i++) {
          const hashKey = i % 3 === 0 ? undefined : `user-${i % 17}`;
          const a = balancer.pick(hashKey, { exclude: one });
          expect(one.has(keyOf(a))).toBe(false);
          const b = balancer.pick(hashKey, { exclude: three });
          expect(keyOf(b)).toBe(KEYS[3]);
          // keep some leases open so that load-aware strategies see busy endpoints
          if (i % 5 === 0) held.push(a as Lease);
          else a?.release({ ok: true, latencyMs: 10 });
          b?.release({ ok: true, latencyMs: 10 });
          clock.advance(5);
        }
        for (const lease of held) lease.release({ ok: true });
        const stats = balancer.stats();
        expect(stats.totals.inFlight).toBe(0);
        // only returned leases count: the excluded endpoint got no picks at all
        expect(stats.endpoints.find((e) => e.key === KEYS[0])?.picks).toBe(0);
        expect(stats.totals.picks).toBe(400);
      });

      it('returns an excluded endpoint when every candidate is excluded', () => {
        const { balancer } = balancerOf(variant, 3);
        const all = new Set([...KEYS.slice(0, 3), '10.9.9.9:8080']);
        const seen = new Set<string>();
        for (let i = 0; i < 30; i++) {
          const lease = balancer.pick(i % 2 ? 'k' : undefined, { exclude: all });
          expect(lease).toBeDefined();
          seen.add(keyOf(lease));
          lease?.release({ ok: true });
        }
        for (const key of seen) expect(KEYS.slice(0, 3)).toContain(key);

        const single = balancerOf(variant, 1).balancer;
        const only = single.pick(undefined, { exclude: new Set([KEYS[0] as string]) });
        expect(keyOf(only)).toBe(KEYS[0]);
      });
    });
  }

  it('consistent hashing with a key falls back to another endpoint when the key maps to an excluded one', () => {
    const { balancer } = balancerOf(VARIANTS[4] as (typeof VARIANTS)[number], 5);
    const home = keyOf(balancer.pick('user-42'));
    for (let i = 0; i < 20; i++) {
      const lease = balancer.pick('user-42', { exclude: new Set([home]) });
      expect(keyOf(lease)).not.toBe(home);
    }
    // without exclude the key still maps home
    expect(keyOf(balancer.pick('user-42'))).toBe(home);
  });

  it('ignores excluded keys that are not candidates (ejected endpoints)', () => {
    const clock = new ManualClock(0);
    const balancer = createBalancer(new BehaviorSubject(set(POOL.slice(0, 3))), {
      strategy: 'round-robin',
      now: clock.now,
      random: seeded(3),
      outlierDetection: { consecutiveFailures: 1, maxEjectionPercent: 34 },
    });
    // eject endpoint 1
    for (;;) {
      const lease = balancer.pick() as Lease;
      const failed = keyOf(lease) === KEYS[0];
      lease.release(failed ? { ok: false, failure: 'connect' } : { ok: true });
      if (failed) break;
    }
    expect(balancer.stats().totals.ejected).toBe(1);
    // endpoint 2 excluded, endpoint 1 ejected: only endpoint 3 is left
    for (let i = 0; i < 10; i++) {
      const lease = balancer.pick(undefined, { exclude: new Set([KEYS[0] as string, KEYS[1] as string]) });
      expect(keyOf(lease)).toBe(KEYS[2]);
      lease?.release({ ok: true });
    }
    // Every candidate already failed the request: the ejected pod it has not tried beats them.
    for (let i = 0; i < 10; i++) {
      const lease = balancer.pick(undefined, { exclude: new Set([KEYS[1] as string, KEYS[2] as string]) });
      expect(keyOf(lease)).toBe(KEYS[0]);
      lease?.release({ ok: true });
    }
    // Every member excluded: the strategy's pick among the candidates, as without exclude.
    const all = new Set(KEYS.slice(0, 3));
    for (let i = 0; i < 10; i++) {
      const lease = balancer.pick(undefined, { exclude: all });
      expect([KEYS[1], KEYS[2]]).toContain(keyOf(lease));
      lease?.release({ ok: true });
    }
  });

  it('waitForPick passes exclude on to the pick made when endpoints arrive', async () => {
    const sets = new BehaviorSubject(set([]));
    const balancer = createBalancer(sets, { strategy: 'round-robin', random: seeded(1) });
    const exclude = new Set(KEYS.slice(0, 2));
    const waiting = balancer.waitForPick(undefined, { exclude, timeoutMs: 1_000 });
    sets.next(set(POOL.slice(0, 3)));
    expect(keyOf(await waiting)).toBe(KEYS[2]);
    // and at once when an endpoint is there already
    for (let i = 0; i < 6; i++)
      expect(keyOf(await balancer.waitForPick(undefined, { exclude }))).toBe(KEYS[2]);
    balancer.close();
  });
});

describe('pick with exclude (property)', () => {
  const outcome: fc.Arbitrary<Outcome> = fc.oneof(
    fc.constant({ ok: true } as const),
    fc.constant({ ok: false, failure: 'reset' } as const),
  );
  for (const variant of VARIANTS) {
    it(`${variant.name}: picks never hit an excluded subset smaller than the set`, () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 2, max: 8 }).chain((size) =>
            fc.record({
              size: fc.constant(size),
              excluded: fc.subarray(KEYS.slice(0, size), { maxLength: size - 1 }),
            }),
          ),
          fc.array(
            fc.record({
              key: fc.option(fc.string({ maxLength: 4 }), { nil: undefined }),
              hold: fc.boolean(),
              outcome,
            }),
            { minLength: 1, maxLength: 40 },
          ),
          fc.integer(),
          ({ size, excluded }, picks, seed) => {
            const { balancer, clock } = balancerOf(variant, size, seed);
            const exclude = new Set(excluded);
            const held: Lease[] = [];
            for (const step of picks) {
              const lease = balancer.pick(step.key, { exclude }) as Lease;
              expect(exclude.has(keyOf(lease))).toBe(false);
              if (step.hold) held.push(lease);
              else lease.release(step.outcome);
              clock.advance(3);
            }
            for (const lease of held) lease.release({ ok: true });
            const stats = balancer.stats();
            expect(stats.totals.inFlight).toBe(0);
            for (const e of stats.endpoints) if (exclude.has(e.key)) expect(e.picks).toBe(0);
            balancer.close();
          },
        ),
        { numRuns: 100 },
      );
    });
  }
});
