import type { EndpointRecord } from './endpoint-state.js';
import type { ResolvedOutlierOptions } from './options.js';

/**
 * Passive outlier detection, Envoy's consecutive-5xx detector in its default (non-split) mode: every
 * failed outcome, local (connect, reset, timeout) or from the server (5xx), counts; a success resets
 * the count. At `consecutiveFailures` the endpoint is ejected, if the cap allows, for
 * base × multiplier (capped at `maxEjectionMs`), the multiplier growing by one per ejection and
 * shrinking by one per full `intervalMs` the endpoint then stays in service.
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

  onSuccess(record: EndpointRecord): void {
    record.consecutiveFailures = 0;
  }

  /**
   * Counts a failure; returns true when it ejected the endpoint. `ejectedNow` and `members` describe the
   * current set (ejections already ended must have been applied by the caller).
   */
  onFailure(record: EndpointRecord, now: number, ejectedNow: number, members: number): boolean {
    record.consecutiveFailures += 1;
    if (record.ejected || record.consecutiveFailures < this.options.consecutiveFailures) return false;
    if (ejectedNow >= this.maxEjected(members)) return false;
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
    return true;
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
