import { of } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { type Balancer, type BalancerOptions, createBalancer, type FailureKind } from '../src/index.js';
import { ep, ManualClock, range, seeded, set } from './support.js';

function setup(n: number, options: BalancerOptions = {}) {
  const clock = new ManualClock();
  const balancer = createBalancer(of(set(range(1, n).map((i) => ep(i)))), {
    strategy: 'round-robin',
    now: clock.now,
    random: seeded(1),
    ...options,
  });
  return { clock, balancer };
}

/** Sends `count` outcomes to one endpoint, picking until the round robin lands on it. */
function hit(
  balancer: Balancer,
  address: string,
  count: number,
  ok = false,
  failure: FailureKind = 'status5xx',
) {
  let sent = 0;
  for (let guard = 0; sent < count && guard < 10_000; guard++) {
    const lease = balancer.pick();
    if (!lease) throw new Error('nothing picked');
    if (lease.endpoint.address === address) {
      lease.release(ok ? { ok: true } : { ok: false, failure });
      sent += 1;
    } else lease.release({ ok: true });
  }
  if (sent < count) throw new Error(`${address} is never picked`);
}

const statsOf = (balancer: Balancer, address: string) =>
  balancer.stats().endpoints.find((e) => e.address === address);

function addressesPicked(balancer: Balancer, count: number): Set<string> {
  const seen = new Set<string>();
  for (let i = 0; i < count; i++) {
    const lease = balancer.pick();
    if (lease) {
      seen.add(lease.endpoint.address);
      lease.release({ ok: true });
    }
  }
  return seen;
}

describe('outlier detection', () => {
  it('ejects after 5 consecutive failures and brings the endpoint back after 30 s', () => {
    const { clock, balancer } = setup(10);
    hit(balancer, '10.0.0.3', 4);
    expect(statsOf(balancer, '10.0.0.3')?.ejected).toBe(false);
    expect(statsOf(balancer, '10.0.0.3')?.consecutiveFailures).toBe(4);
    hit(balancer, '10.0.0.3', 1, false, 'connect');
    const ejected = statsOf(balancer, '10.0.0.3');
    expect(ejected?.ejected).toBe(true);
    expect(ejected?.ejectedUntil).toBe(clock.t + 30_000);
    expect(balancer.stats().totals.ejected).toBe(1);
    expect(addressesPicked(balancer, 200).has('10.0.0.3')).toBe(false);

    clock.advance(29_999);
    expect(addressesPicked(balancer, 200).has('10.0.0.3')).toBe(false);
    clock.advance(1);
    expect(addressesPicked(balancer, 200).has('10.0.0.3')).toBe(true);
    expect(statsOf(balancer, '10.0.0.3')?.ejected).toBe(false);
  });

  it('counts only consecutive failures: a success resets the count', () => {
    const { balancer } = setup(10);
    hit(balancer, '10.0.0.1', 4);
    hit(balancer, '10.0.0.1', 1, true);
    hit(balancer, '10.0.0.1', 4);
    expect(statsOf(balancer, '10.0.0.1')?.ejected).toBe(false);
    hit(balancer, '10.0.0.1', 1, false, 'timeout');
    expect(statsOf(balancer, '10.0.0.1')?.ejected).toBe(true);
  });

  it('ejects for base × times ejected, capped at maxEjectionMs', () => {
    const { clock, balancer } = setup(10);
    const durations: number[] = [];
    for (let i = 0; i < 12; i++) {
      hit(balancer, '10.0.0.5', 5, false, 'reset');
      const until = statsOf(balancer, '10.0.0.5')?.ejectedUntil as number;
      durations.push(until - clock.t);
      clock.t = until;
    }
    expect(durations).toEqual([
      30_000, 60_000, 90_000, 120_000, 150_000, 180_000, 210_000, 240_000, 270_000, 300_000, 300_000, 300_000,
    ]);
  });

  it('lowers the multiplier by one per interval the endpoint stays healthy', () => {
    const { clock, balancer } = setup(10);
    hit(balancer, '10.0.0.2', 5);
    clock.advance(30_000);
    hit(balancer, '10.0.0.2', 5);
    expect(statsOf(balancer, '10.0.0.2')?.ejectionCount).toBe(2);
    clock.advance(60_000);
    clock.advance(15_000); // one full 10 s interval in service
    hit(balancer, '10.0.0.2', 5);
    expect(statsOf(balancer, '10.0.0.2')?.ejectionCount).toBe(2);
    expect((statsOf(balancer, '10.0.0.2')?.ejectedUntil as number) - clock.t).toBe(60_000);
    clock.advance(60_000 + 100_000); // long healthy: back to the base time
    hit(balancer, '10.0.0.2', 5);
    expect((statsOf(balancer, '10.0.0.2')?.ejectedUntil as number) - clock.t).toBe(30_000);
  });

  it('ejects at most maxEjectionPercent of the endpoints, the next one once there is room', () => {
    const { clock, balancer } = setup(10);
    hit(balancer, '10.0.0.1', 5);
    hit(balancer, '10.0.0.2', 5);
    expect(statsOf(balancer, '10.0.0.1')?.ejected).toBe(true);
    expect(statsOf(balancer, '10.0.0.2')?.ejected).toBe(false);
    expect(balancer.stats().totals.ejected).toBe(1);
    clock.advance(30_000);
    hit(balancer, '10.0.0.2', 1);
    expect(statsOf(balancer, '10.0.0.2')?.ejected).toBe(true);
    expect(statsOf(balancer, '10.0.0.1')?.ejected).toBe(false);
  });

  it('allows floor(n × percent) ejections (2 of 20 at 10 %)', () => {
    const { balancer } = setup(20);
    for (const n of [1, 2, 3]) hit(balancer, `10.0.0.${n}`, 5);
    expect(balancer.stats().totals.ejected).toBe(2);
  });

  it('ejects one endpoint of a small set unless alwaysEjectOneHost is false', () => {
    const small = setup(3);
    hit(small.balancer, '10.0.0.1', 5);
    expect(small.balancer.stats().totals.ejected).toBe(1);
    const strict = setup(3, { outlierDetection: { alwaysEjectOneHost: false } });
    hit(strict.balancer, '10.0.0.1', 5);
    expect(strict.balancer.stats().totals.ejected).toBe(0);
  });

  it('honours custom thresholds and can be turned off', () => {
    const custom = setup(4, { outlierDetection: { consecutiveFailures: 2, baseEjectionMs: 1_000 } });
    hit(custom.balancer, '10.0.0.4', 2);
    expect(statsOf(custom.balancer, '10.0.0.4')?.ejectedUntil).toBe(custom.clock.t + 1_000);
    const off = setup(4, { outlierDetection: false });
    hit(off.balancer, '10.0.0.4', 50);
    expect(off.balancer.stats().totals.ejected).toBe(0);
  });

  it('counts late outcomes of leases taken before the ejection without ejecting twice', () => {
    const { clock, balancer } = setup(2);
    const leases = range(1, 20)
      .map(() => balancer.pick())
      .filter((l) => l?.endpoint.address === '10.0.0.1');
    expect(leases.length).toBe(10);
    for (const lease of leases) lease?.release({ ok: false, failure: 'other' });
    const stats = statsOf(balancer, '10.0.0.1');
    expect(stats?.failures).toBe(10);
    expect(stats?.ejectionCount).toBe(1);
    expect(stats?.ejectedUntil).toBe(clock.t + 30_000);
    expect(stats?.inFlight).toBe(0);
  });
});

describe('success-rate outlier detection', () => {
  /**
   * One interval of traffic: round robin over the set; `failEvery[address]` = n makes every n-th
   * outcome of that endpoint a failure (never two in a row, so the consecutive detector stays quiet).
   */
  function traffic(balancer: Balancer, rounds: number, failEvery: Record<string, number>) {
    const seen = new Map<string, number>();
    for (let i = 0; i < rounds; i++) {
      const lease = balancer.pick();
      if (!lease) throw new Error('nothing picked');
      const address = lease.endpoint.address;
      const n = (seen.get(address) ?? 0) + 1;
      seen.set(address, n);
      const every = failEvery[address];
      lease.release(
        every !== undefined && n % every === 0 ? { ok: false, failure: 'status5xx' } : { ok: true },
      );
    }
  }

  it('ejects an endpoint whose success rate is far below the others at the end of the interval', () => {
    const { clock, balancer } = setup(10);
    traffic(balancer, 2_000, { '10.0.0.4': 2 }); // 50 % against 100 %
    expect(statsOf(balancer, '10.0.0.4')?.ejected).toBe(false);
    clock.advance(10_000);
    balancer.pick()?.release({ ok: true });
    expect(statsOf(balancer, '10.0.0.4')?.ejected).toBe(true);
    expect(statsOf(balancer, '10.0.0.4')?.ejectedUntil).toBe(clock.t + 30_000);
    expect(balancer.stats().totals.ejected).toBe(1);
  });

  it('leaves alone a rate within stdevFactor deviations of the mean', () => {
    const { clock, balancer } = setup(10);
    // Every endpoint fails now and then: half of them at 10 %, half at 5 %. The worst are within
    // 1.9 deviations of the mean.
    const failEvery = Object.fromEntries(range(1, 10).map((i) => [`10.0.0.${i}`, i <= 5 ? 10 : 20]));
    traffic(balancer, 2_000, failEvery);
    clock.advance(10_000);
    balancer.pick()?.release({ ok: true });
    expect(balancer.stats().totals.ejected).toBe(0);
  });

  it('needs requestVolume outcomes per endpoint and minimumHosts such endpoints', () => {
    const few = setup(10);
    traffic(few.balancer, 500, { '10.0.0.4': 2 }); // 50 each: under the volume of 100
    few.clock.advance(10_000);
    few.balancer.pick()?.release({ ok: true });
    expect(few.balancer.stats().totals.ejected).toBe(0);

    const small = setup(4);
    traffic(small.balancer, 1_000, { '10.0.0.4': 2 }); // 4 endpoints with volume: under 5 hosts
    small.clock.advance(10_000);
    small.balancer.pick()?.release({ ok: true });
    expect(small.balancer.stats().totals.ejected).toBe(0);

    // With 4 endpoints, one outlier is never more than 1.5 deviations from the mean (n − 1 over √n):
    // the default factor of 1.9 needs 6 endpoints or more to ever eject one.
    const tuned = setup(4, {
      outlierDetection: { successRate: { minimumHosts: 3, requestVolume: 50, stdevFactor: 1 } },
    });
    traffic(tuned.balancer, 1_000, { '10.0.0.4': 2 });
    tuned.clock.advance(10_000);
    tuned.balancer.pick()?.release({ ok: true });
    expect(statsOf(tuned.balancer, '10.0.0.4')?.ejected).toBe(true);
  });

  it('judges each interval by its own outcomes only', () => {
    const { clock, balancer } = setup(10);
    // Interval 1: 50 outcomes each (under the volume of 100), 10.0.0.4 at 50 %: nothing judged.
    traffic(balancer, 500, { '10.0.0.4': 2 });
    clock.advance(10_000);
    balancer.pick()?.release({ ok: true });
    // Interval 2: every outcome a success. Counted since the start, 10.0.0.4 would be at 90 % against
    // 100 %, an outlier.
    traffic(balancer, 2_000, {});
    clock.advance(10_000);
    balancer.pick()?.release({ ok: true });
    expect(balancer.stats().totals.ejected).toBe(0);
  });

  it('starts each interval afresh, respects the ejection cap, and can be turned off', () => {
    // Rates 0.5 and 0.67 against 1: with a factor of 1 (threshold ≈ 0.75) both are outliers.
    const successRate = { stdevFactor: 1 };
    const uncapped = setup(10, { outlierDetection: { successRate, maxEjectionPercent: 20 } });
    traffic(uncapped.balancer, 2_000, { '10.0.0.4': 2, '10.0.0.7': 3 });
    uncapped.clock.advance(10_000);
    uncapped.balancer.pick()?.release({ ok: true });
    expect(
      uncapped.balancer
        .stats()
        .endpoints.filter((e) => e.ejected)
        .map((e) => e.address),
    ).toEqual(['10.0.0.4', '10.0.0.7']);

    const { clock, balancer } = setup(10, { outlierDetection: { successRate } });
    traffic(balancer, 2_000, { '10.0.0.4': 2, '10.0.0.7': 3 });
    clock.advance(10_000);
    balancer.pick()?.release({ ok: true });
    // Two outliers, room for one (10 % of 10): the lower rate goes first.
    expect(statsOf(balancer, '10.0.0.4')?.ejected).toBe(true);
    expect(statsOf(balancer, '10.0.0.7')?.ejected).toBe(false);
    // The next interval has too little traffic to judge: nothing new, whatever came before.
    clock.advance(10_000);
    balancer.pick()?.release({ ok: true });
    expect(statsOf(balancer, '10.0.0.7')?.ejected).toBe(false);

    const off = setup(10, { outlierDetection: { successRate: false } });
    traffic(off.balancer, 2_000, { '10.0.0.4': 2 });
    off.clock.advance(10_000);
    off.balancer.pick()?.release({ ok: true });
    expect(off.balancer.stats().totals.ejected).toBe(0);
  });
});

describe('panic threshold', () => {
  const all = { outlierDetection: { maxEjectionPercent: 100 } };

  it('uses only healthy endpoints while at least half are healthy', () => {
    const { balancer } = setup(4, all);
    hit(balancer, '10.0.0.1', 5);
    hit(balancer, '10.0.0.2', 5);
    expect(balancer.stats().panic).toBe(false);
    expect(addressesPicked(balancer, 100)).toEqual(new Set(['10.0.0.3', '10.0.0.4']));
  });

  it('balances over all endpoints when fewer than half are healthy', () => {
    const { balancer } = setup(4, all);
    for (const n of [1, 2, 3]) hit(balancer, `10.0.0.${n}`, 5);
    const stats = balancer.stats();
    expect(stats.totals.ejected).toBe(3);
    expect(stats.panic).toBe(true);
    expect(stats.totals.candidates).toBe(4);
    expect(addressesPicked(balancer, 100).size).toBe(4);
  });

  it('keeps serving a single ejected endpoint', () => {
    const { balancer } = setup(1);
    hit(balancer, '10.0.0.1', 5);
    expect(balancer.stats().panic).toBe(true);
    expect(balancer.pick()?.endpoint.address).toBe('10.0.0.1');
  });

  it('with panicThresholdPercent 0, picks nothing once everything is ejected', () => {
    const { clock, balancer } = setup(2, { ...all, panicThresholdPercent: 0 });
    hit(balancer, '10.0.0.1', 5);
    hit(balancer, '10.0.0.2', 5);
    expect(balancer.stats().panic).toBe(false);
    expect(balancer.pick()).toBeUndefined();
    clock.advance(30_000);
    expect(balancer.pick()).toBeDefined();
  });

  it('a higher threshold panics earlier', () => {
    const { balancer } = setup(4, { ...all, panicThresholdPercent: 80 });
    hit(balancer, '10.0.0.1', 5);
    expect(balancer.stats().panic).toBe(true);
  });
});
