import fc from 'fast-check';
import { BehaviorSubject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createBalancer, endpointKey, type Lease, type Outcome, type StrategyName } from '../src/index.js';
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

type Op =
  | { op: 'set'; members: number[] }
  | { op: 'pick'; key: string | undefined }
  | { op: 'release'; index: number; outcome: Outcome; twice: boolean }
  | { op: 'advance'; ms: number };

const ops: fc.Arbitrary<Op[]> = fc.array(
  fc.oneof(
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('set' as const),
        members: fc.subarray([0, 1, 2, 3, 4, 5, 6, 7]),
      }),
    },
    {
      weight: 6,
      arbitrary: fc.record({
        op: fc.constant('pick' as const),
        key: fc.option(fc.string({ maxLength: 6 }), { nil: undefined }),
      }),
    },
    {
      weight: 5,
      arbitrary: fc.record({
        op: fc.constant('release' as const),
        index: fc.nat(),
        outcome,
        twice: fc.boolean(),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 120_000 }) }),
    },
  ),
  { maxLength: 120 },
);

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
          let current = new Set(POOL.slice(0, 4).map(endpointKey));
          const open: Lease[] = [];
          for (const step of sequence) {
            if (step.op === 'set') {
              const endpoints = step.members.map((i) => POOL[i] as (typeof POOL)[number]);
              sets.next(set(endpoints));
              current = new Set(endpoints.map(endpointKey));
            } else if (step.op === 'pick') {
              const lease = balancer.pick(step.key);
              if (current.size === 0) expect(lease).toBeUndefined();
              else {
                // panic guarantees a pick whenever the set is non-empty
                expect(lease).toBeDefined();
                expect(current.has(endpointKey((lease as Lease).endpoint))).toBe(true);
                open.push(lease as Lease);
              }
            } else if (step.op === 'release') {
              if (open.length === 0) continue;
              const [lease] = open.splice(step.index % open.length, 1);
              lease?.release(step.outcome);
              if (step.twice) lease?.release(step.outcome);
            } else clock.advance(step.ms);

            const stats = balancer.stats();
            expect(stats.totals.inFlight).toBe(open.length);
            expect(new Set(stats.endpoints.map((e) => e.key))).toEqual(current);
            for (const e of stats.endpoints) {
              expect(e.inFlight).toBeGreaterThanOrEqual(0);
              expect(e.weight).toBeGreaterThan(0);
              expect(e.weight).toBeLessThanOrEqual(1);
              if (e.ejected) expect(e.ejectedUntil).toBeGreaterThan(clock.t);
            }
            // the cap applies when ejecting; ejections outlive a shrinking set, as in Envoy
            expect(stats.totals.ejected).toBeLessThanOrEqual(current.size);
            if (current.size > 0) expect(stats.totals.candidates).toBeGreaterThan(0);
          }
          for (const lease of open) lease.release({ ok: true });
          const done = balancer.stats();
          expect(done.totals.inFlight).toBe(0);
          expect(done.endpoints.every((e) => e.inFlight === 0)).toBe(true);
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
