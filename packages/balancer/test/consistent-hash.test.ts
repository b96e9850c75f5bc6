import fc from 'fast-check';
import { BehaviorSubject, of } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { buildMaglevTable, buildRing, createBalancer, hash32, ringLookup } from '../src/index.js';
import { keyHash } from '../src/strategies/consistent-hash.js';
import { ep, range, set } from './support.js';

const names = (n: number) => range(1, n).map((i) => `10.0.0.${i}:8080`);
const keys = (n: number) => range(1, n).map((i) => `user-${i}`);

function maglevOwner(table: Int32Array, nameList: readonly string[], key: string): string {
  return nameList[table[keyHash(key) % table.length] as number] as string;
}

describe('hash32', () => {
  it('is stable and spreads nearby strings', () => {
    expect(hash32('10.0.0.1:8080')).toBe(hash32('10.0.0.1:8080'));
    expect(hash32('10.0.0.1:8080')).not.toBe(hash32('10.0.0.2:8080'));
    expect(hash32('a', 1)).not.toBe(hash32('a', 2));
    const buckets = new Array(16).fill(0);
    for (let i = 0; i < 16_000; i++) buckets[hash32(`k${i}`) & 15] += 1;
    for (const b of buckets) expect(Math.abs(b - 1000)).toBeLessThan(150);
  });
});

describe('Maglev table', () => {
  it('gives every endpoint ⌊M/n⌋ or ⌈M/n⌉ slots', () => {
    const table = buildMaglevTable(names(10), 65_537);
    const slots = new Array(10).fill(0);
    for (const owner of table) slots[owner] += 1;
    expect(Math.min(...slots)).toBeGreaterThanOrEqual(6_553);
    expect(Math.max(...slots)).toBeLessThanOrEqual(6_554);
  });

  it('spreads keys within a few percent of the mean', () => {
    const list = names(10);
    const table = buildMaglevTable(list, 65_537);
    const load = new Map<string, number>();
    for (const key of keys(100_000)) {
      const owner = maglevOwner(table, list, key);
      load.set(owner, (load.get(owner) ?? 0) + 1);
    }
    for (const count of load.values()) expect(Math.abs(count - 10_000) / 10_000).toBeLessThan(0.04);
  });

  it('moves about 1/10 of the keys when 1 of 10 endpoints leaves', () => {
    const before = names(10);
    const after = before.filter((n) => n !== '10.0.0.4:8080');
    const t1 = buildMaglevTable(before, 65_537);
    const t2 = buildMaglevTable(after, 65_537);
    let moved = 0;
    let movedElsewhere = 0;
    const sample = keys(50_000);
    for (const key of sample) {
      const a = maglevOwner(t1, before, key);
      const b = maglevOwner(t2, after, key);
      if (a !== b) {
        moved += 1;
        if (a !== '10.0.0.4:8080') movedElsewhere += 1;
      }
    }
    expect(moved / sample.length).toBeGreaterThan(0.09);
    expect(moved / sample.length).toBeLessThan(0.15);
    // keys of the endpoints that stayed mostly stay too
    expect(movedElsewhere / sample.length).toBeLessThan(0.05);
  });

  it('covers every endpoint, for any set of endpoints and prime table size (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 20 }), { minLength: 1, maxLength: 40 }),
        fc.constantFrom(251, 1_009, 4_099, 65_537),
        (list, size) => {
          const table = buildMaglevTable(list, size);
          const slots = new Array(list.length).fill(0);
          for (const owner of table) slots[owner] += 1;
          expect(table.every((owner) => owner >= 0)).toBe(true);
          expect(Math.min(...slots)).toBeGreaterThanOrEqual(Math.floor(size / list.length));
          expect(Math.max(...slots)).toBeLessThanOrEqual(Math.ceil(size / list.length));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('refuses a size that is not a prime (its permutations would never fill the table)', () => {
    for (const size of [65_536, 1, 0, 9.5]) {
      expect(() => buildMaglevTable(names(3), size)).toThrow(
        expect.objectContaining({ code: 'ERR_BALANCER_OPTIONS' }),
      );
    }
  });

  it('does not depend on the order of the endpoints in the set', () => {
    const a = createBalancer(of(set(range(1, 6).map((n) => ep(n)))), { strategy: 'consistent-hash' });
    const b = createBalancer(of(set(range(1, 6).map((n) => ep(7 - n)))), { strategy: 'consistent-hash' });
    for (const key of keys(200)) expect(a.pick(key)?.endpoint).toEqual(b.pick(key)?.endpoint);
  });
});

describe('ring hash', () => {
  it('has at least ringMinSize points and is balanced within reason', () => {
    const list = names(10);
    const ring = buildRing(list, 1_024);
    expect(ring.points.length).toBeGreaterThanOrEqual(1_024);
    const load = new Map<string, number>();
    for (const key of keys(50_000)) {
      const owner = list[ringLookup(ring, keyHash(key))] as string;
      load.set(owner, (load.get(owner) ?? 0) + 1);
    }
    expect(load.size).toBe(10);
    // 103 points per endpoint: a ring is less even than Maglev (Envoy's trade-off)
    for (const count of load.values()) expect(Math.abs(count - 5_000) / 5_000).toBeLessThan(0.25);
  });

  it('moves only the keys of the endpoint that left', () => {
    const before = names(10);
    const after = before.filter((n) => n !== '10.0.0.7:8080');
    const r1 = buildRing(before, 1_024);
    const r2 = buildRing(after, 1_024);
    for (const key of keys(5_000)) {
      const a = before[ringLookup(r1, keyHash(key))];
      const b = after[ringLookup(r2, keyHash(key))];
      if (a !== '10.0.0.7:8080') expect(b).toBe(a);
    }
  });
});

describe('consistent-hash strategy', () => {
  for (const algorithm of ['maglev', 'ring'] as const) {
    it(`${algorithm}: same key → same endpoint, across picks and unrelated set changes`, () => {
      const sets = new BehaviorSubject(set(range(1, 8).map((n) => ep(n))));
      const balancer = createBalancer(sets, { strategy: 'consistent-hash', hash: { algorithm } });
      const first = new Map(keys(300).map((k) => [k, balancer.pick(k)?.endpoint.address]));
      for (const k of keys(300)) expect(balancer.pick(k)?.endpoint.address).toBe(first.get(k));
      // a new set object with the same membership (e.g. a resourceVersion bump) changes nothing
      sets.next({ ...set(range(1, 8).map((n) => ep(n))), resourceVersion: '2' });
      for (const k of keys(300)) expect(balancer.pick(k)?.endpoint.address).toBe(first.get(k));
      // adding an endpoint moves roughly 1/9 of the keys
      sets.next(set(range(1, 9).map((n) => ep(n))));
      const moved = keys(300).filter((k) => balancer.pick(k)?.endpoint.address !== first.get(k)).length;
      expect(moved).toBeLessThan(300 * 0.2);
      expect(balancer.stats().strategy).toBe(`consistent-hash/${algorithm}`);
    });
  }

  it('picks at random without a key, and handles a single endpoint', () => {
    const balancer = createBalancer(of(set(range(1, 4).map((n) => ep(n)))), { strategy: 'consistent-hash' });
    const seen = new Set(range(1, 200).map(() => balancer.pick()?.endpoint.address));
    expect(seen.size).toBe(4);
    const single = createBalancer(of(set([ep(9)])), { strategy: 'consistent-hash' });
    expect(single.pick('anything')?.endpoint.address).toBe('10.0.0.9');
  });

  it('rehashes around an ejected endpoint and restores the mapping when it returns', () => {
    let t = 0;
    const balancer = createBalancer(of(set(range(1, 10).map((n) => ep(n)))), {
      strategy: 'consistent-hash',
      now: () => t,
    });
    const before = new Map(keys(500).map((k) => [k, balancer.pick(k)?.endpoint.address]));
    const victim = before.get('user-1') as string;
    for (let i = 0; i < 5; i++) balancer.pick('user-1')?.release({ ok: false, failure: 'status5xx' });
    expect(balancer.stats().totals.ejected).toBe(1);
    for (const k of keys(500)) expect(balancer.pick(k)?.endpoint.address).not.toBe(victim);
    t += 30_000;
    for (const k of keys(500)) expect(balancer.pick(k)?.endpoint.address).toBe(before.get(k));
  });
});
