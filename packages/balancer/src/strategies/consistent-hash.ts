import { BalancerOptionsError } from '../errors.js';
import { hash32 } from '../hash.js';
import { isPrime } from '../options.js';
import type { EndpointState, Strategy, StrategyContext } from '../types.js';
import { randomIndex } from './sampling.js';

const SEED_OFFSET = 0x9747b28c;
const SEED_SKIP = 0x5bd1e995;
const SEED_RING = 0x27d4eb2f;
const SEED_KEY = 0x165667b1;

/** Hash of a request key, as used for lookups in both tables. */
export function keyHash(key: string): number {
  return hash32(key, SEED_KEY);
}

/**
 * Maglev lookup table (Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load
 * Balancer", NSDI 2016, §3.4). Each backend's preference list is the permutation
 * offset, offset + skip, offset + 2·skip, … (mod M) with offset = h1(name) mod M and
 * skip = h2(name) mod (M − 1) + 1; backends take turns claiming their next free preferred slot until
 * the M slots are full. M prime makes every permutation complete; the turns give every backend
 * ⌊M/n⌋ or ⌈M/n⌉ slots; removing one backend mostly frees only its own slots (minimal disruption).
 * Returns, per slot, the index in `names` of its backend. Build cost O(M log M) on average.
 */
export function buildMaglevTable(names: readonly string[], tableSize: number): Int32Array {
  // A composite size leaves some permutations incomplete: the fill below would never end.
  if (!Number.isSafeInteger(tableSize) || !isPrime(tableSize)) {
    throw new BalancerOptionsError(`a Maglev table size must be a prime, got ${String(tableSize)}`);
  }
  const table = new Int32Array(tableSize).fill(-1);
  const n = names.length;
  if (n === 0) return table;
  const position = new Float64Array(n);
  const skip = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const name = names[i] as string;
    position[i] = hash32(name, SEED_OFFSET) % tableSize;
    skip[i] = (hash32(name, SEED_SKIP) % (tableSize - 1)) + 1;
  }
  let filled = 0;
  for (;;) {
    for (let i = 0; i < n; i++) {
      let slot = position[i] as number;
      const step = skip[i] as number;
      while ((table[slot] as number) >= 0) {
        slot += step;
        if (slot >= tableSize) slot -= tableSize;
      }
      table[slot] = i;
      slot += step;
      position[i] = slot >= tableSize ? slot - tableSize : slot;
      filled += 1;
      if (filled === tableSize) return table;
    }
  }
}

export interface Ring {
  /** Sorted hash points. */
  readonly points: Uint32Array;
  /** Index in `names` of the backend owning each point. */
  readonly owners: Int32Array;
}

/**
 * Ketama-style hash ring (Karger et al. 1997; Envoy `RING_HASH`): every backend places
 * ⌈minSize / n⌉ points, rounded up to a power of two, at hash(`name_i`), and a key goes to the first
 * point clockwise of its hash. The rounding keeps each backend's points unchanged while n varies
 * within a power-of-two band, so a membership change moves only the keys of the backend that came or
 * went (Envoy recomputes points per host from n on every change). Lookup is a binary search.
 */
export function buildRing(names: readonly string[], minSize: number): Ring {
  const n = names.length;
  const perName = n === 0 ? 0 : 2 ** Math.ceil(Math.log2(Math.ceil(minSize / n)));
  const entries: { point: number; owner: number; name: string }[] = [];
  for (let i = 0; i < n; i++) {
    const name = names[i] as string;
    for (let r = 0; r < perName; r++)
      entries.push({ point: hash32(`${name}_${r}`, SEED_RING), owner: i, name });
  }
  entries.sort((a, b) => a.point - b.point || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    points: Uint32Array.from(entries, (e) => e.point),
    owners: Int32Array.from(entries, (e) => e.owner),
  };
}

/** Index of the owner of `hash` on `ring` (first point ≥ hash, wrapping around). */
export function ringLookup(ring: Ring, hash: number): number {
  const { points } = ring;
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((points[mid] as number) < hash) lo = mid + 1;
    else hi = mid;
  }
  return ring.owners[lo === points.length ? 0 : lo] as number;
}

/**
 * Consistent hashing on the request key: Maglev (default, Envoy `MAGLEV` with table size 65 537) or a
 * ring hash (Envoy `RING_HASH`, at least 1 024 points). The table is built over the candidates sorted
 * by key, so it depends only on membership, and is rebuilt only when that changes (ejections and zone
 * changes included, as in Envoy). Same key → same endpoint while membership is unchanged. A pick
 * without a key gets a uniformly random candidate (Envoy does the same without a hash policy).
 * Ignores slow start and load. Per pick: one hash of the key, then O(1) (Maglev) or O(log n) (ring).
 */
export function consistentHash(context: StrategyContext): Strategy {
  const { algorithm, tableSize, ringMinSize } = context.hash;
  let sorted: EndpointState[] = [];
  let signature = '';
  let maglev: Int32Array | undefined;
  let ring: Ring | undefined;
  return {
    name: `consistent-hash/${algorithm}`,
    setCandidates(candidates) {
      const next = candidates.slice().sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      const nextSignature = next.map((s) => s.key).join('\n');
      sorted = next;
      if (nextSignature === signature && (maglev || ring)) return;
      signature = nextSignature;
      const names = next.map((s) => s.key);
      if (algorithm === 'maglev') maglev = next.length > 1 ? buildMaglevTable(names, tableSize) : undefined;
      else ring = next.length > 1 ? buildRing(names, ringMinSize) : undefined;
    },
    pick(key) {
      if (sorted.length === 1) return sorted[0] as EndpointState;
      if (key === undefined) return sorted[randomIndex(context.random, sorted.length)] as EndpointState;
      const h = keyHash(key);
      const index = maglev ? (maglev[h % tableSize] as number) : ringLookup(ring as Ring, h);
      return sorted[index] as EndpointState;
    },
  };
}
