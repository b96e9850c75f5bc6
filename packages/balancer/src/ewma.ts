/**
 * Peak-sensitive, time-decayed moving average of latency (Finagle `PeakEwma`, Linkerd/tower
 * `RttEstimate`):
 * - a sample above the estimate replaces it at once (peak sensitivity);
 * - otherwise estimate = estimate·w + sample·(1 − w) with w = exp(−Δt/τ), Δt the time since the last
 *   observation, so unevenly spaced samples are weighted by the time they stand for;
 * - reading the estimate decays it towards 0 the same way (an observation of 0 without a request),
 *   so an endpoint that was slow and is no longer picked becomes attractive again and gets re-probed.
 * A never-sampled endpoint starts at the prior (Linkerd's default RTT), not at 0: with a zero start
 * every new endpoint would win every comparison until its first response (Finagle adds a penalty for
 * that case instead).
 */
export class PeakEwma {
  #estimate: number;
  #stamp: number;
  readonly #tau: number;

  constructor(tauMs: number, priorMs: number, now: number) {
    this.#tau = tauMs;
    this.#estimate = priorMs;
    this.#stamp = now;
  }

  /** Records a latency sample taken at `now`. */
  observe(sampleMs: number, now: number): void {
    const w = this.#weight(now);
    if (sampleMs > this.#estimate) this.#estimate = sampleMs;
    else this.#estimate = this.#estimate * w + sampleMs * (1 - w);
    this.#stamp = Math.max(this.#stamp, now);
  }

  /** The estimate at `now`, decayed for the time since the last observation. */
  read(now: number): number {
    this.#estimate *= this.#weight(now);
    this.#stamp = Math.max(this.#stamp, now);
    return this.#estimate;
  }

  /** The estimate at `now` without recording the read (for stats). */
  peek(now: number): number {
    return this.#estimate * this.#weight(now);
  }

  #weight(now: number): number {
    const dt = now - this.#stamp;
    return dt > 0 ? Math.exp(-dt / this.#tau) : 1;
  }
}
