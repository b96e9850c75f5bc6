/**
 * Uniform integer in [0, n). `random` is the caller's code: whatever it returns (exactly 1, a
 * negative number, NaN) the index is one of the n.
 */
export function randomIndex(random: () => number, n: number): number {
  const i = Math.floor(random() * n);
  // Written so that NaN, for which every comparison is false, lands on 0.
  return i >= 0 ? Math.min(n - 1, i) : 0;
}

/** Positions drawn so far by `bestOfDistinct` (reused: no allocation per pick). */
const drawn: number[] = [];

/**
 * Power of `k` choices over `items` (Mitzenmacher; Envoy least_request `choice_count`): samples
 * min(k, n) DISTINCT items by Floyd's algorithm (a uniformly random subset, without touching
 * `items`: it may be the balancer's own candidate array) and returns the one with the lowest
 * `cost`, ties broken uniformly at random. O(k²), k is small.
 */
export function bestOfDistinct<T>(
  items: readonly T[],
  k: number,
  random: () => number,
  cost: (item: T, now: number) => number,
  /** Passed on to `cost`, so that a strategy's cost function is made once, not per pick. */
  now = 0,
): T {
  const n = items.length;
  const draws = Math.min(k, n);
  let best = items[0] as T;
  let bestCost = Number.POSITIVE_INFINITY;
  let ties = 0;
  drawn.length = 0;
  for (let j = n - draws; j < n; j++) {
    const t = randomIndex(random, j + 1);
    const index = drawn.includes(t) ? j : t;
    drawn.push(index);
    const item = items[index] as T;
    const c = cost(item, now);
    if (c < bestCost || ties === 0) {
      best = item;
      bestCost = c;
      ties = 1;
    } else if (c === bestCost) {
      ties += 1;
      if (randomIndex(random, ties) === 0) best = item;
    }
  }
  return best;
}
