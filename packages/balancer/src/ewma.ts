/**
 * Peak-sensitive, time-decayed moving averages of latency (Finagle `PeakEwma`, Linkerd/tower
 * `RttEstimate`), many in one table:
 * - a sample above the estimate replaces it at once (peak sensitivity);
 * - otherwise estimate = estimate·w + sample·(1 − w) with w = exp(−Δt/τ), Δt the time since the last
 *   observation, so unevenly spaced samples are weighted by the time they stand for;
 * - reading the estimate decays it towards 0 the same way (an observation of 0 without a request),
 *   so an endpoint that was slow and is no longer picked becomes attractive again and gets re-probed.
 * A never-sampled endpoint starts at the prior (Linkerd's default RTT), not at 0: with a zero start
 * every new endpoint would win every comparison until its first response (Finagle adds a penalty for
 * that case instead).
 *
 * Why a table: every release updates one estimate. Kept as two numbers in each endpoint's own object,
 * they live in heap boxes allocated wherever the endpoint was first updated, and at 10k+ endpoints
 * each release paid cache and TLB misses to reach them (~400 ns at 100k). Here slot i is the pair
 * (estimate, stamp) at 2i, 2i + 1 of one Float64Array: one miss at most.
 */
export class PeakEwmaTable {
  #values: Float64Array;
  /** Slots given back by `remove`, reused before the table grows. */
  readonly #free: number[] = [];
  #used = 0;
  readonly #tau: number;
  readonly #prior: number;

  constructor(tauMs: number, priorMs: number, capacity = 16) {
    this.#tau = tauMs;
    this.#prior = priorMs;
    this.#values = new Float64Array(2 * Math.max(1, capacity));
  }

  /** A new estimate at the prior, stamped `now`; returns its slot. */
  add(now: number): number {
    const slot = this.#free.pop() ?? this.#used++;
    this.start(slot, now);
    return slot;
  }

  /** Sets `slot` (allocated by the caller, e.g. `EndpointSlots`) to the prior, stamped `now`. */
  start(slot: number, now: number): void {
    if (2 * slot >= this.#values.length) {
      const grown = new Float64Array(Math.max(this.#values.length * 2, 2 * slot + 2));
      grown.set(this.#values);
      this.#values = grown;
    }
    this.#values[2 * slot] = this.#prior;
    this.#values[2 * slot + 1] = now;
  }

  /** Gives a slot back; it must not be used afterwards. */
  remove(slot: number): void {
    this.#free.push(slot);
  }

  /** Records a latency sample taken at `now`. */
  observe(slot: number, sampleMs: number, now: number): void {
    const values = this.#values;
    const i = 2 * slot;
    const estimate = values[i]!;
    const stamp = values[i + 1]!;
    if (sampleMs > estimate) values[i] = sampleMs;
    else {
      const w = this.#weight(stamp, now);
      values[i] = estimate * w + sampleMs * (1 - w);
    }
    values[i + 1] = Math.max(stamp, now);
  }

  /** The estimate at `now`, decayed for the time since the last observation. */
  read(slot: number, now: number): number {
    const values = this.#values;
    const i = 2 * slot;
    const stamp = values[i + 1]!;
    const estimate = values[i]! * this.#weight(stamp, now);
    values[i] = estimate;
    values[i + 1] = Math.max(stamp, now);
    return estimate;
  }

  /** The estimate at `now` without recording the read (for stats). */
  peek(slot: number, now: number): number {
    const values = this.#values;
    return values[2 * slot]! * this.#weight(values[2 * slot + 1]!, now);
  }

  #weight(stamp: number, now: number): number {
    const dt = now - stamp;
    return dt > 0 ? Math.exp(-dt / this.#tau) : 1;
  }
}

/** One peak-EWMA estimate (see `PeakEwmaTable`, whose slot 0 it is). */
export class PeakEwma {
  readonly #table: PeakEwmaTable;

  constructor(tauMs: number, priorMs: number, now: number) {
    this.#table = new PeakEwmaTable(tauMs, priorMs, 1);
    this.#table.add(now);
  }

  /** Records a latency sample taken at `now`. */
  observe(sampleMs: number, now: number): void {
    this.#table.observe(0, sampleMs, now);
  }

  /** The estimate at `now`, decayed for the time since the last observation. */
  read(now: number): number {
    return this.#table.read(0, now);
  }

  /** The estimate at `now` without recording the read (for stats). */
  peek(now: number): number {
    return this.#table.peek(0, now);
  }
}
