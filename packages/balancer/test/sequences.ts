/**
 * Sequences of set changes, picks, releases and clock moves against a balancer, and what must hold
 * after every step of them, for the property and fuzz tests.
 */
import type { Endpoint, EndpointSet } from '@endpoint-watch/core';
import fc from 'fast-check';
import type { BehaviorSubject } from 'rxjs';
import { expect } from 'vitest';
import { type Balancer, endpointKey, type Lease, type Outcome } from '../src/index.js';
import { type ManualClock, set } from './support.js';

export type Step =
  | { readonly op: 'set'; readonly members: readonly number[] }
  | { readonly op: 'pick'; readonly key: string | undefined; readonly exclude: readonly number[] | undefined }
  | { readonly op: 'release'; readonly index: number; readonly outcome: Outcome; readonly twice: boolean }
  | { readonly op: 'advance'; readonly ms: number };

/** What each kind of step draws; `members` and `exclude` are positions in the pool. */
export interface StepParts {
  readonly members: fc.Arbitrary<readonly number[]>;
  readonly key: fc.Arbitrary<string | undefined>;
  readonly exclude: fc.Arbitrary<readonly number[] | undefined>;
  readonly outcome: fc.Arbitrary<Outcome>;
  readonly ms: fc.Arbitrary<number>;
  readonly maxLength: number;
}

export function stepsArb(parts: StepParts): fc.Arbitrary<Step[]> {
  return fc.array(
    fc.oneof(
      { weight: 1, arbitrary: fc.record({ op: fc.constant('set' as const), members: parts.members }) },
      {
        weight: 6,
        arbitrary: fc.record({ op: fc.constant('pick' as const), key: parts.key, exclude: parts.exclude }),
      },
      {
        weight: 5,
        arbitrary: fc.record({
          op: fc.constant('release' as const),
          index: fc.nat(),
          outcome: parts.outcome,
          twice: fc.boolean(),
        }),
      },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('advance' as const), ms: parts.ms }) },
    ),
    { maxLength: parts.maxLength },
  );
}

function expectFinite(value: number | undefined, what: string): void {
  if (value !== undefined) expect(Number.isFinite(value), `${what} = ${value}`).toBe(true);
}

/**
 * Runs the steps against a balancer fed by `sets` (members are taken from `pool`), checking after
 * each one what must always hold, then releases what is still open. `panic`: the panic threshold is
 * above 0, so that a non-empty set always has a candidate.
 */
export function exercise(
  balancer: Balancer,
  sets: BehaviorSubject<EndpointSet>,
  clock: ManualClock,
  pool: readonly Endpoint[],
  run: readonly Step[],
  { panic }: { readonly panic: boolean },
): void {
  let current: readonly Endpoint[] = sets.value.endpoints;
  let keys = new Set(current.map(endpointKey));
  const open: Lease[] = [];
  for (const step of run) {
    if (step.op === 'set') {
      current = step.members.map((i) => pool[i]!);
      keys = new Set(current.map(endpointKey));
      sets.next(set(current));
    } else if (step.op === 'pick') {
      const exclude = step.exclude && new Set(step.exclude.map((i) => endpointKey(pool[i]!)));
      const lease = balancer.pick(step.key, exclude ? { exclude } : undefined);
      if (lease !== undefined) {
        // The very object of the current set (the first of duplicates), never one that left it.
        expect(current.includes(lease.endpoint)).toBe(true);
        open.push(lease);
      } else if (panic) expect(current).toHaveLength(0);
      // With panic mode off, every endpoint may be ejected.
      else if (current.length > 0) expect(balancer.stats().totals.candidates).toBe(0);
    } else if (step.op === 'release') {
      if (open.length === 0) continue;
      const [lease] = open.splice(step.index % open.length, 1);
      lease!.release(step.outcome);
      if (step.twice) lease!.release(step.outcome);
    } else clock.advance(step.ms);

    const stats = balancer.stats();
    expect(stats.totals.inFlight).toBe(open.length);
    expect(new Set(stats.endpoints.map((e) => e.key))).toEqual(keys);
    expectFinite(stats.at, 'at');
    for (const e of stats.endpoints) {
      for (const field of [
        'inFlight',
        'picks',
        'successes',
        'failures',
        'ewmaLatencyMs',
        'weight',
      ] as const) {
        expectFinite(e[field], `${e.key}.${field}`);
      }
      expectFinite(e.ejectedUntil, `${e.key}.ejectedUntil`);
      expect(e.inFlight).toBeGreaterThanOrEqual(0);
      expect(e.ewmaLatencyMs).toBeGreaterThanOrEqual(0);
      expect(e.weight).toBeGreaterThan(0);
      expect(e.weight).toBeLessThanOrEqual(1);
      if (e.ejected) expect(e.ejectedUntil).toBeGreaterThan(clock.t);
    }
    // the cap applies when ejecting; ejections outlive a shrinking set, as in Envoy
    expect(stats.totals.ejected).toBeLessThanOrEqual(keys.size);
    if (panic && keys.size > 0) expect(stats.totals.candidates).toBeGreaterThan(0);
  }
  for (const lease of open) lease.release({ ok: true });
  const done = balancer.stats();
  expect(done.totals.inFlight).toBe(0);
  expect(done.endpoints.every((e) => e.inFlight === 0)).toBe(true);
}
