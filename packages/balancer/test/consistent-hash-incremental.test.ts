import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildMaglevTable,
  buildRing,
  consistentHash,
  type EndpointState,
  type Strategy,
} from '../src/index.js';
import { keyHash, MAGLEV_STEP_UNITS, MaglevBuild } from '../src/strategies/consistent-hash.js';
import { ep, seeded } from './support.js';

const POOL: EndpointState[] = Array.from({ length: 40 }, (_, i) => ({
  key: `10.0.${i >> 4}.${i & 15}:8080`,
  endpoint: ep(i),
  inFlight: 0,
  picks: 0,
  successes: 0,
  failures: 0,
  consecutiveFailures: 0,
  addedAt: 0,
}));

function strategy(algorithm: 'maglev' | 'ring', tableSize = 65_537, ringMinSize = 1_024): Strategy {
  return consistentHash({
    random: seeded(1),
    now: () => 0,
    choiceCount: 2,
    activeRequestBias: 1,
    hash: { algorithm, tableSize, ringMinSize },
    weight: () => 1,
    latency: () => 0,
  });
}

/** What a table built whole over these members maps each key to. */
function expected(
  algorithm: 'maglev' | 'ring',
  members: readonly EndpointState[],
  keys: readonly string[],
  size: number,
  min: number,
) {
  const sorted = [...members].sort((a, b) => (a.key < b.key ? -1 : 1));
  const names = sorted.map((s) => s.key);
  if (algorithm === 'maglev') {
    const table = buildMaglevTable(names, size);
    return keys.map((k) => names[table[keyHash(k) % size]!]);
  }
  const ring = buildRing(names, min);
  return keys.map((k) => {
    const h = keyHash(k);
    const at = ring.points.findIndex((p) => p >= h);
    return names[ring.owners[Math.max(at, 0)]!];
  });
}

const KEYS = Array.from({ length: 300 }, (_, i) => `user-${i}`);

/** Membership changes: each step toggles some pool members in or out. */
const historyArb = fc.array(
  fc.uniqueArray(fc.nat({ max: POOL.length - 1 }), { minLength: 1, maxLength: 4 }),
  {
    maxLength: 25,
  },
);

describe('consistent hash under incremental changes', () => {
  it('a Maglev table built in steps is the table built at once (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 30 }),
        fc.constantFrom(251, 1_009, 4_099),
        fc.integer({ min: 1, max: 500 }),
        (names, size, units) => {
          const build = new MaglevBuild(names.length, (i) => names[i]!, size);
          let steps = 0;
          while (!build.step(units)) steps++;
          expect(Array.from(build.table)).toEqual(Array.from(buildMaglevTable(names, size)));
          expect(steps).toBeLessThan(1 + (names.length * 16 + size * 20) / units);
        },
      ),
      { numRuns: 200 },
    );
  });

  for (const algorithm of ['ring', 'maglev'] as const) {
    it(`${algorithm}: after any changes (and, for Maglev, enough keyed picks) picks = a table built whole (property)`, () => {
      fc.assert(
        fc.property(
          historyArb,
          fc.constantFrom(251, 65_537),
          fc.constantFrom(16, 64, 1_024),
          (history, size, min) => {
            const s = strategy(algorithm, size, min);
            let members = POOL.slice(0, 10);
            s.setCandidates(members);
            for (const toggled of history) {
              const added: EndpointState[] = [];
              const removed: EndpointState[] = [];
              const current = new Set(members);
              for (const i of toggled) {
                const state = POOL[i]!;
                if (current.delete(state)) removed.push(state);
                else {
                  current.add(state);
                  added.push(state);
                }
              }
              members = [...current];
              s.updateCandidates!(members, added, removed);
              if (members.length === 0) continue;
              // Whatever the table's progress, a keyed pick is a current candidate.
              for (const key of KEYS.slice(0, 20)) expect(current.has(s.pick(key, 0))).toBe(true);
            }
            if (members.length === 0) return;
            // Drive any pending build to its end (each keyed pick takes one step).
            for (let i = 0; i < 200; i++) s.pick('drive', 0);
            const got = KEYS.map((k) => s.pick(k, 0).key);
            expect(got).toEqual(
              members.length === 1
                ? KEYS.map(() => members[0]!.key)
                : expected(algorithm, members, KEYS, size, min),
            );
          },
        ),
        { numRuns: 150 },
      );
    });
  }

  it('ring: thousands of single-point changes (blocks split, shrink and vanish) = a ring built whole', () => {
    const big: EndpointState[] = Array.from({ length: 4_500 }, (_, i) => ({
      ...POOL[0]!,
      key: `10.1.${i >> 8}.${i & 255}:8080`,
    }));
    const s = strategy('ring');
    let members = big.slice(0, 3_000);
    s.setCandidates(members);
    for (const state of big.slice(3_000)) {
      members = [...members, state];
      s.updateCandidates!(members, [state], []);
    }
    expect(KEYS.map((k) => s.pick(k, 0).key)).toEqual(expected('ring', members, KEYS, 65_537, 1_024));
    const random = seeded(3);
    const gone = new Set<EndpointState>();
    while (gone.size < 3_300) {
      const state = big[Math.floor(random() * big.length)]!;
      if (gone.has(state)) continue;
      gone.add(state);
      members = members.filter((m) => m !== state);
      s.updateCandidates!(members, [], [state]);
    }
    expect(KEYS.map((k) => s.pick(k, 0).key)).toEqual(expected('ring', members, KEYS, 65_537, 1_024));
  });

  it('Maglev: while the new table is built, a key keeps its endpoint unless that one left', () => {
    const s = strategy('maglev');
    const members = POOL.slice(0, 30);
    s.setCandidates(members);
    const before = new Map(KEYS.map((k) => [k, s.pick(k, 0)]));
    const gone = members[3]!;
    const remaining = members.filter((m) => m !== gone);
    const after = expected('maglev', remaining, KEYS, 65_537, 1_024);
    s.updateCandidates!(remaining, [], [gone]);
    KEYS.forEach((key, i) => {
      const owner = before.get(key)!;
      const now = s.pick(key, 0);
      expect(now).not.toBe(gone);
      // The previous table's answer while it is in use, the new table's once it is done.
      if (owner !== gone && now !== owner) expect(now.key).toBe(after[i]);
    });
    expect(KEYS.map((k) => s.pick(k, 0).key)).toEqual(after);
    expect(MAGLEV_STEP_UNITS).toBeLessThanOrEqual(100_000);
  });
});
