/**
 * Counting, for the demo's live view and its summary. Two levels, kept apart on purpose:
 *
 * - **requests**: what the client's code sees. Each `request()` is `sent` once and ends exactly once,
 *   `succeeded` (a 2xx response, body read) or `failed` (an error or another status).
 * - **attempts**: every endpoint lease a request took from the balancer, as the balancer counts
 *   them (its `picks`). A request takes one lease per try; the agent's retries after a failed try
 *   take more, which the caller never sees. Each lease is released once, `ok` or `failed`. A retry
 *   takes exactly one lease, on a pod the request has not failed on yet when there is one (the
 *   balancer's `exclude`), so every failed attempt is a real failure on that pod.
 *
 * Once nothing is in flight: sent = succeeded + failed; for every endpoint attempts = ok + failed;
 * the sums over endpoints are the totals; and ok attempts = succeeded requests (a request succeeds
 * through exactly one ok attempt, and the demo never aborts a request, which would release a lease
 * as a neutral ok).
 */
import type { FailureKind, Outcome } from '@endpoint-watch/balancer';

export interface AttemptCounts {
  readonly attempts: number;
  readonly ok: number;
  readonly failed: number;
  readonly inFlight: number;
  /** Failed attempts by kind (`connect`, `reset`, …). */
  readonly failures: Readonly<Partial<Record<FailureKind, number>>>;
}

interface MutableCounts {
  attempts: number;
  ok: number;
  failed: number;
  inFlight: number;
  failures: Partial<Record<FailureKind, number>>;
}

const empty = (): MutableCounts => ({ attempts: 0, ok: 0, failed: 0, inFlight: 0, failures: {} });

/** Attempts per endpoint key (`address:port`), kept after the endpoint leaves the set. */
export class AttemptLedger {
  readonly #byKey = new Map<string, MutableCounts>();

  picked(key: string): void {
    const counts = this.#entry(key);
    counts.attempts++;
    counts.inFlight++;
  }

  released(key: string, outcome: Outcome): void {
    const counts = this.#entry(key);
    counts.inFlight--;
    if (outcome.ok) counts.ok++;
    else {
      counts.failed++;
      counts.failures[outcome.failure] = (counts.failures[outcome.failure] ?? 0) + 1;
    }
  }

  get(key: string): AttemptCounts | undefined {
    const counts = this.#byKey.get(key);
    return counts && { ...counts, failures: { ...counts.failures } };
  }

  /** Every endpoint that ever got an attempt, in first-attempt order. */
  entries(): [string, AttemptCounts][] {
    return [...this.#byKey.keys()].map((key) => [key, this.get(key) as AttemptCounts]);
  }

  totals(): AttemptCounts {
    const total = empty();
    for (const counts of this.#byKey.values()) {
      total.attempts += counts.attempts;
      total.ok += counts.ok;
      total.failed += counts.failed;
      total.inFlight += counts.inFlight;
      for (const [kind, n] of Object.entries(counts.failures) as [FailureKind, number][]) {
        total.failures[kind] = (total.failures[kind] ?? 0) + n;
      }
    }
    return total;
  }

  /** Cumulative attempts per key, for a `RateMeter`. */
  attemptCounts(): Map<string, number> {
    return new Map([...this.#byKey].map(([key, counts]) => [key, counts.attempts]));
  }

  #entry(key: string): MutableCounts {
    let counts = this.#byKey.get(key);
    if (!counts) {
      counts = empty();
      this.#byKey.set(key, counts);
    }
    return counts;
  }
}

export interface RequestCounts {
  readonly sent: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly inFlight: number;
  /** Failed requests by error code (`ERR_ALL_ATTEMPTS_FAILED`, `ERR_NO_ENDPOINTS`, `HTTP_503`, …). */
  readonly errors: Readonly<Record<string, number>>;
}

/** The client's requests. */
export class RequestTally {
  sent = 0;
  succeeded = 0;
  failed = 0;
  readonly #errors: Record<string, number> = {};

  start(): void {
    this.sent++;
  }

  succeed(): void {
    this.succeeded++;
  }

  fail(code: string): void {
    this.failed++;
    this.#errors[code] = (this.#errors[code] ?? 0) + 1;
  }

  snapshot(): RequestCounts {
    return {
      sent: this.sent,
      succeeded: this.succeeded,
      failed: this.failed,
      inFlight: this.sent - this.succeeded - this.failed,
      errors: { ...this.#errors },
    };
  }
}
