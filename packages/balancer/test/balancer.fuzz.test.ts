import type { Endpoint } from '@endpoint-watch/core';
import fc from 'fast-check';
import { BehaviorSubject } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fuzzRuns, fuzzTimeout } from '../../core/test/support/fuzz.js';
import { absurdNumber, hostileString, looseValue } from '../../core/test/support/json-arbitraries.js';
import {
  type Balancer,
  type BalancerOptions,
  BalancerOptionsError,
  createBalancer,
  NoEndpointsError,
  type Outcome,
} from '../src/index.js';
import { exercise, stepsArb } from './sequences.js';
import { ep, ManualClock, seeded, set } from './support.js';

/** Twelve endpoints, among them copies of one address:port that disagree on everything else. */
const POOL: readonly Endpoint[] = [
  ...Array.from({ length: 8 }, (_, i) => ep(i + 1, { zone: i % 2 === 0 ? 'a' : 'b' })),
  ep(1, { zone: 'b', ready: false, terminating: true }),
  ep(1, { hints: { forZones: ['a'], forNodes: ['n1'] } }),
  ep(9, { address: 'fd00::9', addressType: 'IPv6', hints: { forZones: ['b'] } }),
  ep(10, { port: 9090, zone: '' }),
];

/** 10 000 endpoints: a large Service in one set. */
const LARGE: readonly Endpoint[] = Array.from({ length: 10_000 }, (_, i) =>
  ep(0, { address: `10.${i >> 8}.${i & 255}.1`, zone: i % 3 === 0 ? 'a' : 'b' }),
);

/** A value of the wrong kind or of an absurd size, where an option expects a sane number or name. */
const hostileValue = fc.oneof(absurdNumber, looseValue, hostileString);

/** Numbers in an option's range, its extremes included (the tiniest positive double, the largest). */
const inRange = (min: number, max: number, integer = false) =>
  fc.oneof(
    {
      weight: 4,
      arbitrary: integer
        ? fc.integer({ min, max: Math.min(max, 100_000) })
        : fc.double({ min, max: Math.min(max, 100_000), noNaN: true }),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(min, max, ...(integer ? [] : [Math.max(min, Number.MIN_VALUE)])),
    },
  );

/** A random source that keeps returning these numbers, in turn. */
const cycling = (values: readonly number[]) => {
  let i = 0;
  return () => values[i++ % values.length] as number;
};

/** Options that createBalancer accepts, extremes included. */
const validOptions = fc.record(
  {
    strategy: fc.constantFrom('least-request', 'round-robin', 'random', 'peak-ewma', 'consistent-hash'),
    choiceCount: inRange(1, Number.MAX_SAFE_INTEGER, true),
    activeRequestBias: inRange(0, Number.MAX_VALUE),
    ewmaDecayMs: inRange(Number.MIN_VALUE, Number.MAX_VALUE),
    ewmaDefaultLatencyMs: inRange(0, Number.MAX_VALUE),
    hash: fc.record(
      {
        algorithm: fc.constantFrom('maglev', 'ring'),
        tableSize: fc.constantFrom(2, 3, 251, 65_537),
        ringMinSize: fc.integer({ min: 1, max: 4_096 }),
      },
      { requiredKeys: [] },
    ),
    outlierDetection: fc.oneof(
      fc.constant(false as const),
      fc.record(
        {
          consecutiveFailures: inRange(1, Number.MAX_SAFE_INTEGER, true),
          baseEjectionMs: inRange(0, Number.MAX_VALUE),
          maxEjectionMs: fc.constant(Number.MAX_VALUE),
          maxEjectionPercent: inRange(0, 100),
          alwaysEjectOneHost: fc.boolean(),
          intervalMs: inRange(1, Number.MAX_VALUE),
          successRate: fc.oneof(
            fc.constant(false as const),
            fc.record(
              {
                minimumHosts: inRange(1, 6, true),
                requestVolume: inRange(1, 5, true),
                stdevFactor: inRange(0, Number.MAX_VALUE),
              },
              { requiredKeys: [] },
            ),
          ),
        },
        { requiredKeys: [] },
      ),
    ),
    panicThresholdPercent: inRange(0, 100),
    slowStart: fc.record(
      {
        windowMs: inRange(0, Number.MAX_VALUE),
        aggression: inRange(Number.MIN_VALUE, Number.MAX_VALUE),
        minWeightPercent: inRange(Number.MIN_VALUE, 100),
      },
      { requiredKeys: ['windowMs'] },
    ),
    zone: fc.record(
      {
        local: fc.constantFrom('a', 'b'),
        node: fc.constantFrom('n1', 'n2'),
        minClusterSize: inRange(0, 8, true),
      },
      { requiredKeys: ['local'] },
    ),
    noEndpointsTimeoutMs: inRange(0, 2_147_483_647),
    random: fc.oneof(
      fc.integer().map((seed) => seeded(seed)),
      // Outside [0, 1): a random source is the caller's code, and may be wrong.
      fc.array(absurdNumber, { minLength: 1, maxLength: 4 }).map(cycling),
    ),
    name: hostileString,
  },
  { requiredKeys: [] },
);

const OPTION_PATHS = [
  ['strategy'],
  ['choiceCount'],
  ['activeRequestBias'],
  ['ewmaDecayMs'],
  ['ewmaDefaultLatencyMs'],
  ['hash', 'algorithm'],
  ['hash', 'tableSize'],
  ['hash', 'ringMinSize'],
  ['outlierDetection', 'consecutiveFailures'],
  ['outlierDetection', 'baseEjectionMs'],
  ['outlierDetection', 'maxEjectionPercent'],
  ['outlierDetection', 'intervalMs'],
  ['outlierDetection', 'successRate', 'stdevFactor'],
  ['panicThresholdPercent'],
  ['slowStart', 'windowMs'],
  ['slowStart', 'aggression'],
  ['slowStart', 'minWeightPercent'],
  ['zone', 'local'],
  ['zone', 'minClusterSize'],
  ['noEndpointsTimeoutMs'],
  ['random'],
  ['now'],
] as const;

/** `object` with the value at `path` replaced (objects on the way copied, or made). */
function setAt(
  object: Record<string, unknown>,
  path: readonly string[],
  value: unknown,
): Record<string, unknown> {
  const [key, ...rest] = path as [string, ...string[]];
  const inner = object[key];
  const next = typeof inner === 'object' && inner !== null ? (inner as Record<string, unknown>) : {};
  return { ...object, [key]: rest.length === 0 ? value : setAt(next, rest, value) };
}

/** Accepted options with a field or two set to something absurd or of the wrong type. */
const optionsArb: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(
    validOptions,
    fc.array(
      fc.tuple(
        fc.constantFrom(...OPTION_PATHS),
        // Numbers a check for "prime" or "integer" alone lets through, each far too large.
        fc.oneof(hostileValue, fc.constantFrom(2_147_483_647, 4_294_967_311, 8_388_609)),
      ),
      { maxLength: 2 },
    ),
  )
  .map(([valid, edits]) => edits.reduce((options, [path, value]) => setAt(options, path, value), valid));

const outcome = fc.oneof(
  fc.record(
    {
      ok: fc.oneof(fc.boolean(), looseValue),
      failure: fc.oneof(
        fc.constantFrom('connect', 'reset', 'timeout', 'status5xx', 'other', 'bogus'),
        looseValue,
      ),
      latencyMs: fc.oneof(absurdNumber, looseValue),
    },
    { requiredKeys: [] },
  ),
  looseValue,
) as fc.Arbitrary<Outcome>;

/** Sets with duplicates and conflicting copies, hostile keys and outcomes, jumps of the clock. */
const steps = stepsArb({
  members: fc.array(fc.nat(POOL.length - 1), { maxLength: 16 }),
  key: fc.option(hostileString, { nil: undefined }),
  exclude: fc.option(fc.array(fc.nat(POOL.length - 1), { maxLength: 12 }), { nil: undefined }),
  outcome,
  ms: fc.oneof(fc.integer({ min: 0, max: 120_000 }), fc.constantFrom(1e9, 1e12, 2 ** 40)),
  maxLength: 60,
});

describe('createBalancer under hostile options, sets and outcomes (fuzz)', { timeout: fuzzTimeout }, () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('options: a BalancerOptionsError, or a balancer whose picks, releases and stats stay sane', () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(optionsArb, fc.subarray([...POOL.keys()]), steps, (options, first, run) => {
        const clock = new ManualClock(0);
        const sets = new BehaviorSubject(set(first.map((i) => POOL[i]!)));
        const given = { now: clock.now, ...options } as BalancerOptions;
        let balancer: Balancer;
        try {
          balancer = createBalancer(sets, given);
        } catch (error) {
          expect(error).toBeInstanceOf(BalancerOptionsError);
          expect((error as BalancerOptionsError).code).toBe('ERR_BALANCER_OPTIONS');
          refused++;
          return;
        }
        accepted++;
        exercise(balancer, sets, clock, POOL, run, { panic: given.panicThresholdPercent !== 0 });
        balancer.close();
        expect(balancer.pick()).toBeUndefined();
      }),
      { numRuns: fuzzRuns(300) },
    );
    // Both sides must be reached, or the property says little.
    expect(accepted).toBeGreaterThan(refused / 4);
    expect(refused).toBeGreaterThan(accepted / 4);
  });

  it('10 000 endpoints, then a part of them: picks come from the current set, hostile releases change no total', () => {
    const strategies = ['least-request', 'round-robin', 'random', 'peak-ewma', 'consistent-hash'] as const;
    fc.assert(
      fc.property(
        fc.constantFrom(...strategies),
        fc.integer(),
        fc.nat(LARGE.length),
        fc.array(fc.tuple(fc.option(hostileString, { nil: undefined }), outcome), { maxLength: 50 }),
        (strategy, seed, keep, requests) => {
          const clock = new ManualClock(0);
          const sets = new BehaviorSubject(set(LARGE));
          const balancer = createBalancer(sets, { strategy, now: clock.now, random: seeded(seed) });
          const half = requests.length >> 1;
          let current = new Set(LARGE);
          requests.forEach(([key, result], i) => {
            if (i === half) {
              const part = LARGE.slice(0, keep);
              sets.next(set(part));
              current = new Set(part);
            }
            const lease = balancer.pick(key);
            if (current.size === 0) expect(lease).toBeUndefined();
            else expect(current.has(lease!.endpoint)).toBe(true);
            lease?.release(result);
            clock.advance(1);
          });
          const { totals } = balancer.stats();
          expect(totals.inFlight).toBe(0);
          expect(totals.successes + totals.failures).toBe(totals.picks);
          balancer.close();
        },
      ),
      { numRuns: fuzzRuns(20, 10) },
    );
  });

  it('waitForPick: an absurd timeoutMs is refused with a BalancerOptionsError, a sane one is honoured', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(absurdNumber, fc.integer({ min: 0, max: 10_000 })), async (timeoutMs) => {
        vi.useFakeTimers();
        const balancer = createBalancer(new BehaviorSubject(set([])), { name: 'web' });
        const waiting = balancer.waitForPick(undefined, { timeoutMs }).then(
          () => 'picked',
          (error: unknown) => error,
        );
        // Node fires a timer longer than 2^31 - 1 ms after 1 ms: such a wait must not end early.
        await vi.advanceTimersByTimeAsync(10_001);
        const outcome = await Promise.race([waiting, Promise.resolve('pending')]);
        if (Number.isFinite(timeoutMs) && timeoutMs >= 0 && timeoutMs <= 2_147_483_647) {
          if (timeoutMs <= 10_000) expect(outcome).toBeInstanceOf(NoEndpointsError);
          else expect(outcome).toBe('pending');
        } else expect(outcome).toBeInstanceOf(BalancerOptionsError);
        balancer.close();
        await waiting;
        vi.useRealTimers();
      }),
      { numRuns: fuzzRuns(100) },
    );
  });
});
