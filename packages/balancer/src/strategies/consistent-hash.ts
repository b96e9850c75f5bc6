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

/** Work units (table probes; a name hash counts as `HASH_UNITS`) of one step of a deferred Maglev build. */
export const MAGLEV_STEP_UNITS = 30_000;
const HASH_UNITS = 16;

/**
 * Maglev lookup table (Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load
 * Balancer", NSDI 2016, §3.4) as a resumable computation. Each backend's preference list is the
 * permutation offset, offset + skip, offset + 2·skip, … (mod M) with offset = h1(name) mod M and
 * skip = h2(name) mod (M − 1) + 1; backends take turns claiming their next free preferred slot until
 * the M slots are full. M prime makes every permutation complete; the turns give every backend
 * ⌊M/n⌋ or ⌈M/n⌉ slots; removing one backend mostly frees only its own slots (minimal disruption).
 * `table` holds, per slot, the index of its backend (complete once `step` returned true). Build cost
 * O(n + M log M) on average, done in steps of bounded work.
 */
export class MaglevBuild {
  readonly table: Int32Array;
  readonly #count: number;
  readonly #nameAt: (i: number) => string;
  readonly #position: Float64Array;
  readonly #skip: Float64Array;
  #hashed = 0;
  #turn = 0;
  #filled = 0;

  constructor(count: number, nameAt: (i: number) => string, tableSize: number) {
    // A composite size leaves some permutations incomplete: the fill below would never end.
    if (!Number.isSafeInteger(tableSize) || !isPrime(tableSize)) {
      throw new BalancerOptionsError(`a Maglev table size must be a prime, got ${String(tableSize)}`);
    }
    this.table = new Int32Array(tableSize).fill(-1);
    this.#count = count;
    this.#nameAt = nameAt;
    this.#position = new Float64Array(count);
    this.#skip = new Float64Array(count);
  }

  /** Does about `units` of work (at least one unit); true once the table is complete. */
  step(units: number): boolean {
    const n = this.#count;
    const table = this.table;
    const size = table.length;
    if (n === 0) return true;
    let budget = units;
    while (this.#hashed < n) {
      if (budget <= 0) return false;
      const name = this.#nameAt(this.#hashed);
      this.#position[this.#hashed] = hash32(name, SEED_OFFSET) % size;
      this.#skip[this.#hashed] = (hash32(name, SEED_SKIP) % (size - 1)) + 1;
      this.#hashed += 1;
      budget -= HASH_UNITS;
    }
    const position = this.#position;
    const skip = this.#skip;
    let i = this.#turn;
    let filled = this.#filled;
    while (filled < size) {
      if (budget <= 0) {
        this.#turn = i;
        this.#filled = filled;
        return false;
      }
      let slot = position[i] as number;
      const step = skip[i] as number;
      while ((table[slot] as number) >= 0) {
        slot += step;
        if (slot >= size) slot -= size;
        budget -= 1;
      }
      table[slot] = i;
      slot += step;
      position[i] = slot >= size ? slot - size : slot;
      filled += 1;
      budget -= 1;
      i = i + 1 === n ? 0 : i + 1;
    }
    this.#filled = filled;
    return true;
  }
}

/** The whole Maglev table at once (see `MaglevBuild`): per slot, the index in `names` of its backend. */
export function buildMaglevTable(names: readonly string[], tableSize: number): Int32Array {
  const build = new MaglevBuild(names.length, (i) => names[i] as string, tableSize);
  build.step(Number.POSITIVE_INFINITY);
  return build.table;
}

export interface Ring {
  /** Sorted hash points. */
  readonly points: Uint32Array;
  /** Index in `names` of the backend owning each point. */
  readonly owners: Int32Array;
}

/** Points per backend: ⌈minSize / n⌉ rounded up to a power of two. */
function pointsPerName(n: number, minSize: number): number {
  return n === 0 ? 0 : 2 ** Math.ceil(Math.log2(Math.ceil(minSize / n)));
}

function ringPoint(name: string, r: number): number {
  return hash32(`${name}_${r}`, SEED_RING);
}

/** Ring order: by point, then by name. */
function ringOrder(pa: number, na: string, pb: number, nb: string): number {
  return pa - pb || (na < nb ? -1 : na > nb ? 1 : 0);
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
  const perName = pointsPerName(n, minSize);
  const entries: { point: number; owner: number; name: string }[] = [];
  for (let i = 0; i < n; i++) {
    const name = names[i] as string;
    for (let r = 0; r < perName; r++) entries.push({ point: ringPoint(name, r), owner: i, name });
  }
  entries.sort((a, b) => ringOrder(a.point, a.name, b.point, b.name));
  return {
    points: Uint32Array.from(entries, (e) => e.point),
    owners: Int32Array.from(entries, (e) => e.owner),
  };
}

/** First index whose point is ≥ hash, wrapping to 0 past the end. */
function firstAtOrAfter(points: ArrayLike<number>, hash: number): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((points[mid] as number) < hash) lo = mid + 1;
    else hi = mid;
  }
  return lo === points.length ? 0 : lo;
}

/** Index of the owner of `hash` on `ring` (first point ≥ hash, wrapping around). */
export function ringLookup(ring: Ring, hash: number): number {
  return ring.owners[firstAtOrAfter(ring.points, hash)] as number;
}

/** The first index of `list[0, count)` (ordered so that `before` holds for a prefix) where `before` fails. */
function lowerBound<T>(list: readonly T[], count: number, before: (item: T) => boolean): number {
  let lo = 0;
  let hi = count;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(list[mid] as T)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const byKey = (a: EndpointState, b: EndpointState) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/** Entries per block of a `LiveRing` (a block splits at twice this). */
const RING_BLOCK = 512;

/** A run of consecutive ring entries, in ring order. */
interface RingBlock {
  points: number[];
  owners: EndpointState[];
}

/**
 * A ring whose owners are the states themselves, kept in blocks of at most 2·`RING_BLOCK` entries
 * so that adding or removing one point moves O(√P)-ish entries, not the whole ring: per backend
 * that comes or goes, O(points per backend · (log P + block size)). Always equal to `buildRing`
 * over the sorted keys.
 */
class LiveRing {
  #blocks: RingBlock[] = [];
  perName = 0;

  constructor(readonly minSize: number) {}

  rebuild(sorted: readonly EndpointState[]): void {
    const ring = buildRing(
      sorted.map((s) => s.key),
      this.minSize,
    );
    const blocks: RingBlock[] = [];
    for (let at = 0; at < ring.points.length; at += RING_BLOCK) {
      const end = Math.min(at + RING_BLOCK, ring.points.length);
      blocks.push({
        points: Array.from(ring.points.subarray(at, end)),
        owners: Array.from(ring.owners.subarray(at, end), (i) => sorted[i] as EndpointState),
      });
    }
    this.#blocks = blocks;
    this.perName = pointsPerName(sorted.length, this.minSize);
  }

  /** Applies a membership change; false when every backend's points change (another band). */
  update(count: number, added: readonly EndpointState[], removed: readonly EndpointState[]): boolean {
    if (pointsPerName(count, this.minSize) !== this.perName) return false;
    for (const state of removed) {
      for (let r = 0; r < this.perName; r++) this.#remove(ringPoint(state.key, r), state);
    }
    for (const state of added) {
      for (let r = 0; r < this.perName; r++) this.#insert(ringPoint(state.key, r), state);
    }
    return true;
  }

  /** The owner of the first point ≥ hash, wrapping around. */
  owner(hash: number): EndpointState {
    const blocks = this.#blocks;
    const b = lowerBound(blocks, blocks.length, (block) => (block.points.at(-1) as number) < hash);
    if (b === blocks.length) return (blocks[0] as RingBlock).owners[0] as EndpointState;
    const block = blocks[b] as RingBlock;
    return block.owners[lowerBound(block.points, block.points.length, (p) => p < hash)] as EndpointState;
  }

  /** The block and position where (point, name) is or would go, in ring order. */
  #find(point: number, name: string): { block: number; at: number } {
    const blocks = this.#blocks;
    const before = (p: number, owner: EndpointState) => ringOrder(p, owner.key, point, name) < 0;
    let b = lowerBound(blocks, blocks.length, (block) => {
      const last = block.points.length - 1;
      return before(block.points[last] as number, block.owners[last] as EndpointState);
    });
    if (b === blocks.length) {
      if (b === 0) return { block: -1, at: 0 };
      b -= 1;
      return { block: b, at: (blocks[b] as RingBlock).points.length };
    }
    const block = blocks[b] as RingBlock;
    let lo = 0;
    let hi = block.points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(block.points[mid] as number, block.owners[mid] as EndpointState)) lo = mid + 1;
      else hi = mid;
    }
    return { block: b, at: lo };
  }

  #insert(point: number, state: EndpointState): void {
    const { block: b, at } = this.#find(point, state.key);
    if (b < 0) {
      this.#blocks.push({ points: [point], owners: [state] });
      return;
    }
    const block = this.#blocks[b] as RingBlock;
    block.points.splice(at, 0, point);
    block.owners.splice(at, 0, state);
    if (block.points.length > 2 * RING_BLOCK) {
      this.#blocks.splice(b + 1, 0, {
        points: block.points.splice(RING_BLOCK),
        owners: block.owners.splice(RING_BLOCK),
      });
    }
  }

  #remove(point: number, state: EndpointState): void {
    const { block: b, at } = this.#find(point, state.key);
    const block = this.#blocks[b];
    if (block === undefined || block.owners[at] !== state) return;
    block.points.splice(at, 1);
    block.owners.splice(at, 1);
    if (block.points.length === 0) this.#blocks.splice(b, 1);
  }
}

/**
 * Consistent hashing on the request key: Maglev (default, Envoy `MAGLEV` with table size 65 537) or a
 * ring hash (Envoy `RING_HASH`, at least 1 024 points). Both depend only on membership: the Maglev
 * table is built over the candidates sorted by key, the ring is sorted by point. Same key → same
 * endpoint while membership is unchanged. A pick without a key gets a uniformly random candidate
 * (Envoy does the same without a hash policy). Ignores slow start and load. Per pick: one hash of
 * the key, then O(1) (Maglev) or O(log n) (ring).
 *
 * A candidate list given whole (`setCandidates`) rebuilds the table at once, as Envoy does. An
 * incremental change (`updateCandidates`) costs O(changed · log n) plus moves within one block of
 * the ring (ring), or in the sorted list (Maglev, a memmove): the ring is updated in place (the same ring a rebuild would give; a
 * whole rebuild only when n crosses into another power-of-two band of points per backend), and a
 * new Maglev table is built off the hot
 * path, in steps of `MAGLEV_STEP_UNITS` (a fraction of a millisecond) taken at that change and at
 * each keyed pick. Until it is done, picks use the previous table, except that a key whose slot
 * belongs to an endpoint that left goes to a candidate chosen by the key's hash, and endpoints that
 * joined get no keyed traffic yet. One build runs at a time: changes during a build start the next
 * one when it ends, so a steady stream of changes cannot starve it.
 */
export function consistentHash(context: StrategyContext): Strategy {
  const { algorithm, tableSize, ringMinSize } = context.hash;
  /** The candidates as last given (the balancer's own array when it gives changes). */
  let current: readonly EndpointState[] = [];
  /** The candidates sorted by key (Maglev: kept up to date by changes; ring: only for a whole list). */
  let sorted: EndpointState[] = [];
  let signature = '';
  /** The complete Maglev table in use and the backends its slots index. */
  let maglev: { readonly table: Int32Array; readonly names: readonly EndpointState[] } | undefined;
  /** The Maglev table being built, over a copy of `sorted` taken when it started. */
  let pending: { readonly build: MaglevBuild; readonly names: readonly EndpointState[] } | undefined;
  /** Membership changed since the table in use (or since the pending build started). */
  let stale = false;
  let changedDuringBuild = false;
  /** The candidates, while the Maglev table in use is stale: which of its owners are still here. */
  const live = new Set<EndpointState>();
  const ring = algorithm === 'ring' ? new LiveRing(ringMinSize) : undefined;

  const startBuild = () => {
    const names = sorted.slice();
    pending =
      names.length > 1
        ? { build: new MaglevBuild(names.length, (i) => (names[i] as EndpointState).key, tableSize), names }
        : undefined;
    changedDuringBuild = false;
    if (pending === undefined) {
      maglev = undefined;
      stale = false;
    }
  };

  const advance = (units: number) => {
    if (pending === undefined || !pending.build.step(units)) return;
    maglev = { table: pending.build.table, names: pending.names };
    pending = undefined;
    if (changedDuringBuild) startBuild();
    else stale = false;
  };

  return {
    name: `consistent-hash/${algorithm}`,
    setCandidates(candidates) {
      current = candidates;
      const next = candidates.slice().sort(byKey);
      const nextSignature = next.map((s) => s.key).join('\n');
      sorted = next;
      live.clear();
      if (!ring) for (const s of next) live.add(s);
      if (nextSignature === signature && (maglev || ring) && !stale && pending === undefined) return;
      signature = nextSignature;
      pending = undefined;
      stale = false;
      if (ring) ring.rebuild(next);
      else
        maglev =
          next.length > 1
            ? {
                table: buildMaglevTable(
                  next.map((s) => s.key),
                  tableSize,
                ),
                // A copy: `sorted` is updated in place by later changes.
                names: next.slice(),
              }
            : undefined;
    },
    updateCandidates(candidates, added, removed) {
      current = candidates;
      // Only a whole list compares signatures; this one is out of date from here on.
      signature = '';
      if (ring) {
        if (!ring.update(candidates.length, added, removed)) ring.rebuild(candidates.slice().sort(byKey));
        return;
      }
      for (const state of removed) {
        const at = lowerBound(sorted, sorted.length, (s) => s.key < state.key);
        if (sorted[at] === state) sorted.splice(at, 1);
        live.delete(state);
      }
      for (const state of added) {
        sorted.splice(
          lowerBound(sorted, sorted.length, (s) => s.key < state.key),
          0,
          state,
        );
        live.add(state);
      }
      if (added.length === 0 && removed.length === 0) return;
      stale = true;
      if (pending === undefined) startBuild();
      else changedDuringBuild = true;
      advance(MAGLEV_STEP_UNITS);
    },
    pick(key) {
      if (current.length === 1) return current[0] as EndpointState;
      if (key === undefined) return current[randomIndex(context.random, current.length)] as EndpointState;
      const h = keyHash(key);
      if (ring) return ring.owner(h);
      if (pending !== undefined) advance(MAGLEV_STEP_UNITS);
      if (maglev !== undefined) {
        const owner = maglev.names[maglev.table[h % tableSize] as number] as EndpointState;
        if (!stale || live.has(owner)) return owner;
      }
      return sorted[h % sorted.length] as EndpointState;
    },
  };
}
