import { BehaviorSubject, of } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { PeakEwmaTable } from '../src/ewma.js';
import { createBalancer, type Lease, PeakEwma } from '../src/index.js';
import { ep, ManualClock, set } from './support.js';

describe('PeakEwmaTable', () => {
  it('keeps each slot apart, starts a slot at the prior, and keeps the values when it grows', () => {
    const table = new PeakEwmaTable(1_000, 30, 1);
    const slots = Array.from({ length: 40 }, (_, i) => table.add(i));
    expect(new Set(slots).size).toBe(40);
    for (const [i, slot] of slots.entries()) table.observe(slot, 100 + i, i);
    for (const [i, slot] of slots.entries()) expect(table.peek(slot, i)).toBe(100 + i);
  });

  it('decays as PeakEwma does: a peak at once, lower samples weighted by the time they stand for', () => {
    const table = new PeakEwmaTable(1_000, 30);
    const slot = table.add(0);
    const single = new PeakEwma(1_000, 30, 0);
    for (const [sample, at] of [
      [10, 1_000],
      [50, 1_500],
      [20, 4_000],
    ] as const) {
      table.observe(slot, sample, at);
      single.observe(sample, at);
    }
    const expected = (50 * Math.exp(-2.5) + 20 * (1 - Math.exp(-2.5))) * Math.exp(-1);
    expect(table.peek(slot, 5_000)).toBeCloseTo(expected, 12);
    expect(single.peek(5_000)).toBeCloseTo(expected, 12);
    expect(table.read(slot, 5_000)).toBeCloseTo(expected, 12);
  });

  it('gives a removed slot to the next estimate, at the prior again', () => {
    const table = new PeakEwmaTable(1_000, 30);
    const first = table.add(0);
    table.observe(first, 900, 0);
    table.remove(first);
    const next = table.add(10);
    expect(next).toBe(first);
    expect(table.peek(next, 10)).toBe(30);
  });
});

describe('the balancer’s latency estimates', () => {
  it('stamps a success with a given latency at pick + latency, without reading the clock', () => {
    const clock = new ManualClock();
    let reads = 0;
    const now = () => {
      reads += 1;
      return clock.now();
    };
    const balancer = createBalancer(of(set([ep(1)])), { now, outlierDetection: false });
    const lease = balancer.pick() as Lease;
    clock.advance(10_000);
    const before = reads;
    lease.release({ ok: true, latencyMs: 100 });
    expect(reads).toBe(before);
    // The sample (a peak over the 30 ms prior) was taken at pick + 100 ms: 9 900 ms of decay by now.
    expect(balancer.stats().endpoints[0]?.ewmaLatencyMs).toBeCloseTo(100 * Math.exp(-9_900 / 10_000), 9);
  });

  it('starts an endpoint that joins after another left at the prior, not at the leaver’s estimate', () => {
    const clock = new ManualClock();
    const sets = new BehaviorSubject(set([ep(1), ep(2)]));
    const balancer = createBalancer(sets, { now: clock.now, strategy: 'round-robin', random: () => 0 });
    for (let i = 0; i < 2; i++) balancer.pick()?.release({ ok: true, latencyMs: 700 });
    sets.next(set([ep(2)]));
    sets.next(set([ep(2), ep(3)]));
    const estimates = Object.fromEntries(balancer.stats().endpoints.map((e) => [e.address, e.ewmaLatencyMs]));
    expect(estimates).toEqual({ '10.0.0.2': 700, '10.0.0.3': 30 });
    balancer.close();
  });
});
