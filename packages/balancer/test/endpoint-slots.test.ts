import { BehaviorSubject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { EndpointSlots } from '../src/endpoint-slots.js';
import { createBalancer, type EndpointState, type Lease, type StrategyFactory } from '../src/index.js';
import { bestOfDistinct, bestOfDrawn } from '../src/strategies/sampling.js';
import { ep, ManualClock, range, seeded, set } from './support.js';

describe('per-endpoint state by slot', () => {
  it('a lease on an endpoint that left changes nothing for the endpoint that took its slot', () => {
    const clock = new ManualClock();
    const sets = new BehaviorSubject(set([ep(1)]));
    const balancer = createBalancer(sets, { now: clock.now, strategy: 'round-robin' });
    const leases: Lease[] = [];
    for (let i = 0; i < 6; i++) leases.push(balancer.pick()!);
    // ep(1) leaves, so its slot is given back; ep(2) joins next and takes it.
    sets.next(set([]));
    sets.next(set([ep(2)]));
    expect(balancer.has?.('10.0.0.2:8080')).toBe(true);
    leases[0]!.release({ ok: true, latencyMs: 900 });
    for (const lease of leases.slice(1)) lease.release({ ok: false, failure: 'connect', latencyMs: 900 });
    const stats = balancer.stats();
    expect(stats.endpoints.map((e) => e.key)).toEqual(['10.0.0.2:8080']);
    const [next] = stats.endpoints;
    // In flight, picks, outcomes, consecutive failures, ejection, estimate: all as new.
    expect([next!.inFlight, next!.picks, next!.successes, next!.failures]).toEqual([0, 0, 0, 0]);
    expect([next!.consecutiveFailures, next!.ejected, next!.ewmaLatencyMs]).toEqual([0, false, 30]);
    expect(stats.totals).toMatchObject({ inFlight: 0, picks: 6, successes: 1, failures: 5 });
    balancer.close();
  });

  it('counts picks as in flight + successes + failures, and keeps them live for a custom strategy', () => {
    const seen: number[] = [];
    const lastOfTheList: StrategyFactory = () => {
      let items: readonly { inFlight: number }[] = [];
      return {
        name: 'last',
        setCandidates(candidates) {
          items = candidates;
        },
        pick() {
          const item = items[items.length - 1]!;
          seen.push(item.inFlight);
          return item as never;
        },
      };
    };
    const balancer = createBalancer(new BehaviorSubject(set(range(1, 40).map((n) => ep(n)))), {
      strategy: lastOfTheList,
      outlierDetection: false,
    });
    const leases = range(1, 5).map(() => balancer.pick()!);
    leases[0]!.release({ ok: true });
    leases[1]!.release({ ok: false, failure: 'reset' });
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    const [last] = balancer.stats().endpoints.filter((e) => e.picks > 0);
    expect(last).toMatchObject({ key: '10.0.0.40:8080', picks: 5, inFlight: 3, successes: 1, failures: 1 });
    balancer.close();
  });
});

describe('EndpointSlots', () => {
  it('gives a slot that was given back to the next endpoint, at zero and with a new generation', () => {
    const slots = new EndpointSlots(10_000, 30);
    const [a, b, c] = [1, 2, 3].map((n) => slots.add(`k${n}`, ep(n), 0));
    slots.inFlight[b!]! += 2;
    const generation = slots.generation[b!];
    slots.remove(b!);
    const d = slots.add('k4', ep(4), 5);
    expect(d).toBe(b);
    expect(new Set([a, b, c]).size).toBe(3);
    expect(slots.inFlight[d]).toBe(0);
    expect(slots.generation[d]).not.toBe(generation);
    expect(slots.keys[d]).toBe('k4');
  });

  it('keeps every counter when its arrays grow', () => {
    const slots = new EndpointSlots(10_000, 30);
    const first = slots.add('k0', ep(1), 0);
    slots.inFlight[first] = 3;
    slots.successes[first] = 7;
    slots.failures[first] = 2;
    slots.consecutiveFailures[first] = 1;
    slots.ewma.observe(first, 90, 0);
    for (let n = 1; n < 100; n++) slots.add(`k${n}`, ep(n), 0);
    expect(slots.candidateSlots.length).toBeGreaterThanOrEqual(100);
    expect([
      slots.inFlight[first],
      slots.successes[first],
      slots.failures[first],
      slots.consecutiveFailures[first],
      slots.generation[first],
      slots.ewma.peek(first, 0),
      slots.keys[first],
    ]).toEqual([3, 7, 2, 1, 0, 90, 'k0']);
  });

  it("leaves an endpoint that left its own counters, not the next endpoint's in its slot", () => {
    let given: readonly EndpointState[] = [];
    const keep: StrategyFactory = () => ({
      name: 'first',
      setCandidates(candidates) {
        given = candidates;
      },
      pick: () => given[0]!,
    });
    const sets = new BehaviorSubject(set([ep(1)]));
    const balancer = createBalancer(sets, {
      strategy: keep,
      outlierDetection: { consecutiveFailures: 100, successRate: false },
    });
    balancer.pick()!.release({ ok: true });
    balancer.pick()!.release({ ok: false, failure: 'reset' });
    balancer.pick();
    const gone = given[0]!;
    sets.next(set([]));
    sets.next(set([ep(2)]));
    for (let i = 0; i < 5; i++) balancer.pick()!.release({ ok: true });
    expect(gone.key).toBe('10.0.0.1:8080');
    expect(gone.endpoint).toEqual(ep(1));
    expect([gone.inFlight, gone.picks, gone.successes, gone.failures, gone.consecutiveFailures]).toEqual([
      1, 3, 1, 1, 1,
    ]);
    expect(given[0]).toMatchObject({ key: '10.0.0.2:8080', picks: 5, successes: 5 });
    balancer.close();
  });
});

describe('bestOfDistinct with two draws', () => {
  it('draws, compares and breaks ties exactly as the general loop (bestOfDrawn) does', () => {
    const costs = seeded(3);
    for (let n = 2; n <= 9; n++) {
      // Few distinct costs: many ties.
      const cost = range(1, n).map(() => Math.floor(costs() * 3));
      for (let seed = 1; seed <= 200; seed++) {
        const ours = bestOfDistinct(n, 2, seeded(seed), (i) => cost[i]!);
        expect(ours).toBe(bestOfDrawn(n, 2, seeded(seed), (i) => cost[i]!));
      }
    }
  });
});
