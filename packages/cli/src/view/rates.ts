/**
 * Per-second rates from cumulative counters sampled over time (the live view samples every frame).
 * Pure: the caller passes the timestamps.
 */

interface Sample {
  readonly at: number;
  readonly counts: ReadonlyMap<string, number>;
}

export class RateMeter {
  readonly windowMs: number;
  #samples: Sample[] = [];

  constructor(windowMs = 2000) {
    this.windowMs = windowMs;
  }

  /** Records cumulative counters at time `at` (ms, increasing). A key absent earlier counted 0 then. */
  record(at: number, counts: ReadonlyMap<string, number>): void {
    this.#samples.push({ at, counts: new Map(counts) });
    // Keep the newest sample at or before the window start, so the window is always fully spanned.
    while (this.#samples.length > 2 && (this.#samples[1]?.at ?? at) <= at - this.windowMs)
      this.#samples.shift();
  }

  /** Increase per second of `key` over the window; 0 before two samples. */
  rate(key: string): number {
    const first = this.#samples[0];
    const last = this.#samples.at(-1);
    if (!first || !last || last.at - first.at <= 0) return 0;
    const delta = (last.counts.get(key) ?? 0) - (first.counts.get(key) ?? 0);
    return Math.max(0, (delta * 1000) / (last.at - first.at));
  }
}
