/**
 * Uniform integer in [0, n). `random` is the caller's code: whatever it returns (exactly 1, a
 * negative number, NaN) the index is one of the n.
 */
export function randomIndex(random: () => number, n: number): number {
  const i = Math.floor(random() * n);
  // Written so that NaN, for which every comparison is false, lands on 0.
  return i >= 0 ? Math.min(n - 1, i) : 0;
}

/**
 * The cost of the item at a position, lowest best. `now` is passed on from the pick, so that a
 * strategy's cost function is made once, not per pick.
 */
export type CostAt = (position: number, now: number) => number;

/** Positions drawn so far by `bestOfDistinct` (reused: no allocation per pick). */
const drawn: number[] = [];

/**
 * Power of `k` choices over positions 0 … n − 1 (Mitzenmacher; Envoy least_request `choice_count`):
 * samples min(k, n) DISTINCT positions by Floyd's algorithm (a uniformly random subset, without
 * touching the items: they may be the balancer's own candidate array) and returns the one with the
 * lowest `costAt`, ties broken uniformly at random. Positions rather than items, so that a strategy
 * can price a position from compact arrays without reading the item's object. O(k²), k is small.
 */
export function bestOfDistinct(n: number, k: number, random: () => number, costAt: CostAt, now = 0): number {
  return Math.min(k, n) === 2 ? bestOfTwo(n, random, costAt, now) : bestOfDrawn(n, k, random, costAt, now);
}

/** `bestOfDistinct` for any number of draws, with the list of positions drawn so far. */
export function bestOfDrawn(n: number, k: number, random: () => number, costAt: CostAt, now = 0): number {
  const draws = Math.min(k, n);
  let best = 0;
  let bestCost = Number.POSITIVE_INFINITY;
  let ties = 0;
  drawn.length = 0;
  for (let j = n - draws; j < n; j++) {
    const t = randomIndex(random, j + 1);
    const index = drawn.includes(t) ? j : t;
    drawn.push(index);
    const c = costAt(index, now);
    if (c < bestCost || ties === 0) {
      best = index;
      bestCost = c;
      ties = 1;
    } else if (c === bestCost) {
      ties += 1;
      if (randomIndex(random, ties) === 0) best = index;
    }
  }
  return best;
}

/**
 * `bestOfDistinct` for two draws (the default `choiceCount`), without the list of drawn positions:
 * the same random numbers, the same pair and the same tie-break as the general loop.
 */
function bestOfTwo(n: number, random: () => number, costAt: CostAt, now: number): number {
  const first = randomIndex(random, n - 1);
  let second = randomIndex(random, n);
  if (second === first) second = n - 1;
  const firstCost = costAt(first, now);
  const secondCost = costAt(second, now);
  if (secondCost < firstCost) return second;
  return secondCost === firstCost && randomIndex(random, 2) === 0 ? second : first;
}
