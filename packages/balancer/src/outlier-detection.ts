import type { EndpointSlots } from './endpoint-slots.js';
import type { EndpointRecord } from './endpoint-state.js';
import type { ResolvedOutlierOptions } from './options.js';

/**
 * Passive outlier detection, Envoy's two default detectors in their default (non-split) mode, where
 * every failed outcome, local (connect, reset, timeout) or from the server (5xx), counts:
 * - consecutive failures: a success resets the count; at `consecutiveFailures` the endpoint is ejected;
 * - success rate: each `intervalMs` sweep compares the success rates of the endpoints with enough
 *   outcomes in the interval, and ejects those below mean − stdevFactor × stdev.
 *
 * An ejection lasts base × multiplier (capped at `maxEjectionMs`), the multiplier growing by one per
 * ejection and shrinking by one per full `intervalMs` the endpoint then stays in service.
 *
 * Cap: at most floor(members × maxEjectionPercent / 100) endpoints ejected at once, and at least one
 * when `alwaysEjectOneHost` (default here). A failing endpoint over the cap stays counted and is
 * ejected at its next failure once there is room (Envoy only checks when the count hits the
 * threshold exactly).
 *
 * No timers: an ejection ends when the balancer notices that the clock passed `ejectedUntil`
 * (before each pick and each stats snapshot).
 */
export class OutlierDetector {
  constructor(readonly options: ResolvedOutlierOptions) {}

  /** How many of `members` endpoints may be ejected at once. */
  maxEjected(members: number): number {
    const allowed = Math.floor((members * this.options.maxEjectionPercent) / 100 + 1e-9);
    return this.options.alwaysEjectOneHost ? Math.max(1, allowed) : allowed;
  }

  /**
   * Counts a success of the member at `slot` (by slot: the hot path never reads the record). The
   * success-rate detector's counts are the balancer's success and failure counters.
   */
  onSuccess(slots: EndpointSlots, slot: number): void {
    slots.consecutiveFailures[slot] = 0;
  }

  /**
   * Counts a failure; returns true when it ejected the endpoint. `ejectedNow` and `members` describe the
   * current set (ejections already ended must have been applied by the caller).
   */
  onFailure(record: EndpointRecord, now: number, ejectedNow: number, members: number): boolean {
    record.consecutiveFailures += 1;
    if (record.ejected || record.consecutiveFailures < this.options.consecutiveFailures) return false;
    if (ejectedNow >= this.maxEjected(members)) return false;
    this.#eject(record, now);
    return true;
  }

  /**
   * The success-rate sweep over `members` (ejections already ended must have been applied); starts
   * the next interval. Returns true when it ejected any endpoint.
   */
  sweep(members: readonly EndpointRecord[], now: number, ejectedNow: number): boolean {
    const options = this.options.successRate;
    if (options === undefined) return false;
    const rated: { readonly record: EndpointRecord; readonly rate: number }[] = [];
    for (const record of members) {
      if (record.intervalOutcomes >= options.requestVolume) {
        rated.push({ record, rate: record.intervalSuccesses / record.intervalOutcomes });
      }
      record.startInterval();
    }
    if (rated.length < options.minimumHosts) return false;
    let sum = 0;
    for (const { rate } of rated) sum += rate;
    const mean = sum / rated.length;
    let squares = 0;
    for (const { rate } of rated) squares += (rate - mean) ** 2;
    const threshold = mean - options.stdevFactor * Math.sqrt(squares / rated.length);
    let ejected = ejectedNow;
    let any = false;
    const allowed = this.maxEjected(members.length);
    for (const { record } of rated.filter((r) => r.rate < threshold).sort((a, b) => a.rate - b.rate)) {
      if (ejected >= allowed) break;
      if (record.ejected) continue;
      this.#eject(record, now);
      ejected += 1;
      any = true;
    }
    return any;
  }

  #eject(record: EndpointRecord, now: number): void {
    const { baseEjectionMs, maxEjectionMs, intervalMs } = this.options;
    let multiplier = record.ejectionCount;
    if (record.returnedAt !== undefined) {
      multiplier = Math.max(0, multiplier - Math.floor((now - record.returnedAt) / intervalMs));
    }
    // Stop growing once the cap is reached, so that decay brings the time down again (Envoy).
    const maxMultiplier = baseEjectionMs > 0 ? Math.ceil(maxEjectionMs / baseEjectionMs) : 1;
    multiplier = Math.min(multiplier + 1, Math.max(1, maxMultiplier));
    record.ejectionCount = multiplier;
    record.ejectedUntil = now + Math.min(baseEjectionMs * multiplier, maxEjectionMs);
    record.consecutiveFailures = 0;
  }

  /** Ends the ejection if its time is over; returns true when it did. */
  maybeReturn(record: EndpointRecord, now: number): boolean {
    if (record.ejectedUntil === undefined || now < record.ejectedUntil) return false;
    record.returnedAt = record.ejectedUntil;
    record.ejectedUntil = undefined;
    record.consecutiveFailures = 0;
    return true;
  }
}
