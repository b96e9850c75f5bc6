/**
 * gRFC A48's pick, pure: sample `choiceCount` candidates uniformly at random (with replacement, as
 * A48 specifies) and keep the one with the fewest outstanding calls; on a tie, the first sampled.
 */
export interface OutstandingCalls {
  outstanding: number;
}

export function pickLeastRequest(
  candidates: readonly OutstandingCalls[],
  choiceCount: number,
  random: () => number = Math.random,
): number {
  const n = candidates.length;
  let best = Math.floor(random() * n);
  let bestLoad = candidates[best]?.outstanding ?? 0;
  for (let i = 1; i < choiceCount; i++) {
    const index = Math.floor(random() * n);
    const load = candidates[index]?.outstanding ?? 0;
    if (load < bestLoad) {
      best = index;
      bestLoad = load;
    }
  }
  return best;
}

/** A48: fewer than 2 choices is an invalid config; more than 10 are clamped to 10. */
export const MIN_CHOICE_COUNT = 2;
export const MAX_CHOICE_COUNT = 10;
