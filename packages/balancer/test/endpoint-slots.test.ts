import { BehaviorSubject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createBalancer, type Lease, type StrategyFactory } from '../src/index.js';
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
    expect(stats.endpoints).toEqual([
      expect.objectContaining({
        key: '10.0.0.2:8080',
        inFlight: 0,
        picks: 0,
        successes: 0,
        failures: 0,
        consecutiveFailures: 0,
        ejected: false,
        ewmaLatencyMs: 30,
      }),
    ]);
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
