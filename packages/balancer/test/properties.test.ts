import fc from 'fast-check';
import { BehaviorSubject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createBalancer, type Outcome, type StrategyName } from '../src/index.js';
import { exercise, stepsArb } from './sequences.js';
import { ep, ManualClock, seeded, set } from './support.js';

const POOL = Array.from({ length: 8 }, (_, i) =>
  ep(i + 1, {
    zone: i % 2 === 0 ? 'a' : 'b',
    ...(i === 7 ? { address: 'fd00::8', addressType: 'IPv6' } : {}),
  }),
);

const outcome: fc.Arbitrary<Outcome> = fc.oneof(
  fc.record({
    ok: fc.constant(true as const),
    latencyMs: fc.option(fc.integer({ min: 0, max: 500 }), { nil: undefined }),
  }),
  fc.record({
    ok: fc.constant(false as const),
    failure: fc.constantFrom('connect', 'reset', 'timeout', 'status5xx', 'other') as fc.Arbitrary<
      'connect' | 'reset' | 'timeout' | 'status5xx' | 'other'
    >,
  }),
);

const ops = stepsArb({
  members: fc.subarray([0, 1, 2, 3, 4, 5, 6, 7]),
  key: fc.option(fc.string({ maxLength: 6 }), { nil: undefined }),
  exclude: fc.constant(undefined),
  outcome,
  ms: fc.integer({ min: 0, max: 120_000 }),
  maxLength: 120,
});

const strategies: StrategyName[] = ['least-request', 'round-robin', 'random', 'peak-ewma', 'consistent-hash'];

describe('invariants under any sequence of set changes, picks, releases and time (property)', () => {
  for (const strategy of strategies) {
    it(strategy, () => {
      fc.assert(
        fc.property(ops, fc.integer(), fc.boolean(), fc.boolean(), (sequence, seed, zone, slowStart) => {
          const clock = new ManualClock(0);
          const sets = new BehaviorSubject(set(POOL.slice(0, 4)));
          const balancer = createBalancer(sets, {
            strategy,
            now: clock.now,
            random: seeded(seed),
            outlierDetection: { consecutiveFailures: 2, maxEjectionPercent: 50 },
            hash: { tableSize: 251 },
            ...(zone ? { zone: { local: 'a', minClusterSize: 2 } } : {}),
            ...(slowStart ? { slowStart: { windowMs: 30_000 } } : {}),
          });
          exercise(balancer, sets, clock, POOL, sequence, { panic: true });
          balancer.close();
          expect(balancer.pick()).toBeUndefined();
        }),
        { numRuns: 150 },
      );
    });
  }
});

describe('consistent-hash (property)', () => {
  it('maps a key to the same endpoint as long as membership does not change', () => {
    fc.assert(
      fc.property(
        fc.subarray([0, 1, 2, 3, 4, 5, 6, 7], { minLength: 1 }),
        fc.array(fc.string(), { minLength: 1, maxLength: 20 }),
        fc.constantFrom('maglev' as const, 'ring' as const),
        (members, keys, algorithm) => {
          const endpoints = members.map((i) => POOL[i] as (typeof POOL)[number]);
          const a = createBalancer(new BehaviorSubject(set(endpoints)), {
            strategy: 'consistent-hash',
            hash: { algorithm, tableSize: 1_009 },
          });
          const b = createBalancer(new BehaviorSubject(set([...endpoints].reverse())), {
            strategy: 'consistent-hash',
            hash: { algorithm, tableSize: 1_009 },
          });
          for (const key of keys) {
            const first = a.pick(key)?.endpoint;
            expect(a.pick(key)?.endpoint).toBe(first);
            expect(b.pick(key)?.endpoint).toBe(first);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
