/**
 * The balancer applies each set's diff (`EndpointSet.changes`) instead of reading the set whole:
 * over random histories of a real aggregator (adds, removes, condition flips, relists), ejections
 * and time, a balancer fed the sets with their diffs and one fed plain copies (read whole) must
 * reach the same state, and the strategy must see exactly the candidates.
 */
import { type EndpointSet, EndpointSliceAggregator } from '@endpoint-watch/core';
import fc from 'fast-check';
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  type Balancer,
  consistentHash,
  createBalancer,
  type EndpointState,
  endpointKey,
  leastRequest,
  type Outcome,
  peakEwma,
  randomStrategy,
  roundRobin,
  type Strategy,
  type StrategyContext,
  type StrategyFactory,
} from '../src/index.js';
import { ManualClock, seeded } from './support.js';

const ADDRESSES = Array.from({ length: 12 }, (_, i) => `10.0.0.${i + 1}`);
const BUILT_IN = {
  'least-request': leastRequest,
  'peak-ewma': peakEwma,
  'round-robin': roundRobin,
  random: randomStrategy,
  'consistent-hash': consistentHash,
} as const satisfies Record<string, StrategyFactory>;
const SLICES = ['a', 'b', 'c'] as const;

interface EpModel {
  readonly address: number;
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
  readonly zone: 'z1' | 'z2';
  readonly node: 'n1' | 'n2';
}
interface SliceModel {
  readonly name: string;
  /** Topology hints on every endpoint of the slice: its zone, and its node. */
  readonly hints: boolean;
  readonly endpoints: readonly EpModel[];
}

const epArb: fc.Arbitrary<EpModel> = fc.record({
  address: fc.nat({ max: ADDRESSES.length - 1 }),
  ready: fc.boolean(),
  serving: fc.boolean(),
  terminating: fc.boolean(),
  zone: fc.constantFrom('z1' as const, 'z2' as const),
  node: fc.constantFrom('n1' as const, 'n2' as const),
});
const sliceArb: fc.Arbitrary<SliceModel> = fc.record({
  name: fc.constantFrom(...SLICES),
  hints: fc.boolean(),
  endpoints: fc.array(epArb, { maxLength: 6 }),
});

/** `allHinted`: hints on every slice (so that the hinted groups decide), else on the slices that ask. */
function raw(s: SliceModel, allHinted: boolean): Record<string, unknown> {
  return {
    kind: 'EndpointSlice',
    apiVersion: 'discovery.k8s.io/v1',
    metadata: {
      name: s.name,
      namespace: 'default',
      labels: { 'kubernetes.io/service-name': 'web' },
      resourceVersion: '1',
    },
    addressType: 'IPv4',
    endpoints: s.endpoints.map((e) => ({
      addresses: [ADDRESSES[e.address]],
      conditions: { ready: e.ready, serving: e.serving, terminating: e.terminating },
      zone: e.zone,
      ...(allHinted || s.hints
        ? { hints: { forZones: [{ name: e.zone }], forNodes: [{ name: e.node }] } }
        : {}),
    })),
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  };
}

type Step =
  | { readonly op: 'upsert'; readonly slice: SliceModel }
  | { readonly op: 'remove'; readonly name: string }
  | { readonly op: 'relist'; readonly slices: readonly SliceModel[] }
  | { readonly op: 'fail'; readonly address: number }
  | { readonly op: 'advance'; readonly ms: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: sliceArb.map((slice) => ({ op: 'upsert' as const, slice })) },
  { weight: 1, arbitrary: fc.constantFrom(...SLICES).map((name) => ({ op: 'remove' as const, name })) },
  {
    weight: 1,
    arbitrary: fc
      .uniqueArray(sliceArb, { selector: (s) => s.name, maxLength: 3 })
      .map((slices) => ({ op: 'relist' as const, slices })),
  },
  {
    weight: 4,
    arbitrary: fc.nat({ max: ADDRESSES.length - 1 }).map((address) => ({ op: 'fail' as const, address })),
  },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 3_000 }).map((ms) => ({ op: 'advance' as const, ms })) },
);

/** A built-in strategy that records the candidate array it was last given. */
function watched(name: keyof typeof BUILT_IN, view: { list: readonly EndpointState[] }) {
  return (context: StrategyContext): Strategy => {
    const inner = BUILT_IN[name](context);
    return {
      name: inner.name,
      setCandidates(candidates) {
        view.list = candidates;
        inner.setCandidates(candidates);
      },
      updateCandidates(candidates, added, removed) {
        view.list = candidates;
        inner.updateCandidates!(candidates, added, removed);
      },
      pick: (key, now) => inner.pick(key, now),
    };
  };
}

/** A lease on exactly this endpoint (every other one excluded), released with this outcome. */
function leaseOn(balancer: Balancer, key: string, outcome: Outcome): string | undefined {
  const others = new Set(balancer.stats().endpoints.map((e) => e.key));
  if (!others.delete(key)) return undefined;
  const lease = balancer.pick(undefined, { exclude: others });
  if (lease === undefined) return undefined;
  lease.release(outcome);
  return endpointKey(lease.endpoint);
}

const FAILED: Outcome = { ok: false, failure: 'connect', latencyMs: 5 };

/**
 * The balancer's state, endpoints by key. Peak-EWMA's picks read (and so decay and store) the
 * estimates of the endpoints they sample, and the two balancers sample different ones: with that
 * strategy the estimates are left out; otherwise they are compared rounded (a decay applied in one
 * step or in two).
 */
function state(balancer: Balancer, readsEstimates: boolean) {
  const stats = balancer.stats();
  return {
    ...stats,
    endpoints: [...stats.endpoints]
      .sort((a, b) => (a.key < b.key ? -1 : 1))
      .map((e) => ({ ...e, ewmaLatencyMs: readsEstimates ? 0 : Number(e.ewmaLatencyMs.toPrecision(9)) })),
  };
}

const configs = fc.record({
  strategy: fc.constantFrom(
    'least-request' as const,
    'peak-ewma' as const,
    'round-robin' as const,
    'random' as const,
  ),
  panic: fc.constantFrom(0, 50, 100),
  zone: fc.constantFrom('off' as const, 'zone' as const, 'zone and node' as const),
  slowStart: fc.boolean(),
  allHinted: fc.boolean(),
});

describe('applying set diffs = reading every set whole (property)', () => {
  it('same members, endpoints, candidates, ejections, panic, weights and counters; the strategy sees the candidates', () => {
    let incremental = 0;
    fc.assert(
      fc.property(configs, fc.array(stepArb, { maxLength: 60 }), fc.integer(), (config, steps, seed) => {
        const clock = new ManualClock();
        const view = { list: [] as readonly EndpointState[] };
        const options = {
          now: clock.now,
          random: seeded(seed),
          panicThresholdPercent: config.panic,
          outlierDetection: {
            consecutiveFailures: 2,
            baseEjectionMs: 2_000,
            maxEjectionPercent: 100,
            successRate: false as const,
          },
          ...(config.zone === 'off'
            ? {}
            : {
                zone: {
                  local: 'z1',
                  minClusterSize: 2,
                  ...(config.zone === 'zone and node' ? { node: 'n1' } : {}),
                },
              }),
          ...(config.slowStart ? { slowStart: { windowMs: 5_000 } } : {}),
        };
        const withDiffs = new Subject<EndpointSet>();
        const whole = new Subject<EndpointSet>();
        const a = createBalancer(withDiffs, { ...options, strategy: watched(config.strategy, view) });
        const b = createBalancer(whole, { ...options, random: seeded(seed), strategy: config.strategy });
        // The built-in strategy itself, fed the diffs: it answers with positions in the balancer's
        // candidate array (which `a`'s wrapper, answering with records, does not exercise).
        const c = createBalancer(withDiffs, { ...options, random: seeded(seed), strategy: config.strategy });
        const agg = new EndpointSliceAggregator({ namespace: 'default', service: 'web' });
        let previous: EndpointSet | undefined;
        const emit = () => {
          const set = agg.snapshot();
          if (set === undefined) return;
          if (previous !== undefined && set.changes !== undefined) incremental++;
          previous = set;
          withDiffs.next(set);
          whole.next({ ...set });
        };
        emit();
        for (const step of steps) {
          if (step.op === 'upsert') agg.upsert(raw(step.slice, config.allHinted));
          else if (step.op === 'remove') agg.remove({ metadata: { name: step.name } });
          else if (step.op === 'relist') agg.reset(step.slices.map((slice) => raw(slice, config.allHinted)));
          else if (step.op === 'advance') clock.advance(step.ms);
          else {
            const key = `${ADDRESSES[step.address]!}:8080`;
            const failed = leaseOn(a, key, FAILED);
            expect(leaseOn(b, key, FAILED)).toBe(failed);
            expect(leaseOn(c, key, FAILED)).toBe(failed);
          }
          if (step.op === 'upsert' || step.op === 'remove' || step.op === 'relist') emit();
          const sa = state(a, config.strategy === 'peak-ewma');
          const sb = state(b, config.strategy === 'peak-ewma');
          expect(sa).toEqual(sb);
          expect(state(c, config.strategy === 'peak-ewma')).toEqual(sa);
          // The very Endpoint objects of the latest set, not copies kept from an older one.
          const current = new Map(previous?.endpoints.map((e) => [endpointKey(e), e]));
          for (const { key, endpoint } of a.endpoints) expect(endpoint).toBe(current.get(key));
          const candidates = sa.endpoints.filter((e) => e.candidate).map((e) => e.key);
          expect(view.list.map((x) => x.key).sort()).toEqual(candidates);
          if (candidates.length > 0) {
            // The strategy's own pick over the live array is a candidate; the other balancer leases
            // the same endpoint, so that both stay in step.
            const lease = a.pick('k')!;
            const key = endpointKey(lease.endpoint);
            expect(candidates).toContain(key);
            lease.release({ ok: true, latencyMs: 1 });
            expect(leaseOn(b, key, { ok: true, latencyMs: 1 })).toBe(key);
            expect(leaseOn(c, key, { ok: true, latencyMs: 1 })).toBe(key);
            // And its own pick by position is a candidate too.
            const own = c.pick()!;
            expect(candidates).toContain(endpointKey(own.endpoint));
            own.release({ ok: true, latencyMs: 1 });
            for (const other of [a, b]) {
              expect(leaseOn(other, endpointKey(own.endpoint), { ok: true, latencyMs: 1 })).toBe(
                endpointKey(own.endpoint),
              );
            }
          }
        }
      }),
      { numRuns: 300 },
    );
    // The diff path was exercised, not only whole sets (about one diff per run on average; the
    // count varies with the generated histories, so the bound keeps a wide margin).
    expect(incremental).toBeGreaterThan(150);
  });
});
