/** Exponential backoff with jitter that forgets its attempts after a quiet period (client-go, kube-rs). */
export interface BackoffOptions {
  /** First delay. Default 800 ms. */
  readonly initialMs?: number;
  /** Largest delay, jitter included. Default 30 s. */
  readonly maxMs?: number;
  /** Growth per failure. Default 2. */
  readonly factor?: number;
  /** Spread: a delay d becomes d × (1 ± jitter/2). Default 0.5 (±25 %). */
  readonly jitter?: number;
  /** A failure this long after the previous one starts over from the first delay. Default 2 min. */
  readonly resetAfterMs?: number;
}

export const DEFAULT_BACKOFF: Required<BackoffOptions> = {
  initialMs: 800,
  maxMs: 30_000,
  factor: 2,
  jitter: 0.5,
  resetAfterMs: 120_000,
};

/** Pure: the clock and the random source are passed in. */
export class Backoff {
  readonly #options: Required<BackoffOptions>;
  readonly #random: () => number;
  #attempt = 0;
  #lastFailureAt: number | undefined;

  constructor(options: BackoffOptions = {}, random: () => number = Math.random) {
    this.#options = { ...DEFAULT_BACKOFF, ...options };
    this.#random = random;
  }

  /** Failures counted since the last reset (1 after the first failure). */
  get attempt(): number {
    return this.#attempt;
  }

  /**
   * Records a failure at `now` and returns how long to wait before the next try. The jitter is
   * applied before the cap, so `maxMs` is the largest delay there is (at the cap, delays spread
   * below it only).
   */
  next(now: number): number {
    const { initialMs, maxMs, factor, jitter } = this.#options;
    const base = Math.min(maxMs, initialMs * factor ** this.#count(now));
    return Math.min(maxMs, Math.round(base * (1 + jitter * (this.#random() - 0.5))));
  }

  /** Records a failure whose delay the server chose (Retry-After); attempts still count. */
  record(now: number): void {
    this.#count(now);
  }

  /** Counts a failure; returns the number of failures before it in the current streak. */
  #count(now: number): number {
    if (this.#lastFailureAt !== undefined && now - this.#lastFailureAt >= this.#options.resetAfterMs)
      this.#attempt = 0;
    this.#lastFailureAt = now;
    this.#attempt += 1;
    return this.#attempt - 1;
  }

  reset(): void {
    this.#attempt = 0;
    this.#lastFailureAt = undefined;
  }
}
