/**
 * How the client treats a server that misbehaves: the backoff cap between attempts, the silence
 * bound on a server that says nothing, the cap on an error body that does not end.
 */
import type { HeldRequest, PaddedAnswer } from '@endpoint-watch/testing';
import type { Violation } from '../invariants.js';

export interface RetryingHealth {
  readonly at: number;
  readonly stream: string;
  readonly retryInMs: number;
  /** The server's Retry-After, when the error carried one. */
  readonly retryAfterMs: number | undefined;
  readonly error: string;
}

export interface RetryCaps {
  readonly backoffMaxMs: number;
  readonly maxRetryAfterMs: number;
}

/** A wait longer than the cap the user configured: jitter must stay inside the cap, not on top of it. */
export function checkBackoffCap(retry: RetryingHealth, caps: RetryCaps): Violation | undefined {
  const cap = retry.retryAfterMs === undefined ? caps.backoffMaxMs : caps.maxRetryAfterMs;
  if (retry.retryInMs <= cap) return undefined;
  return {
    invariant: 'backoff-cap',
    at: retry.at,
    stream: retry.stream,
    message: `retrying in ${retry.retryInMs} ms after ${retry.error}`,
    expected: `<= ${cap} ms (${retry.retryAfterMs === undefined ? 'backoff.maxMs' : 'maxRetryAfterMs'})`,
    actual: `${retry.retryInMs} ms`,
  };
}

/**
 * Requests the server holds silent (a stall before the headers or inside a LIST body) must be given
 * up by the client within its silence bound; each one is reported once.
 */
export class SilenceChecker {
  readonly #bound: () => number;
  readonly #reported = new WeakSet<object>();

  /** `boundMs` may grow during a run (a grace that includes the event loop's lateness so far). */
  constructor(boundMs: number | (() => number)) {
    this.#bound = typeof boundMs === 'number' ? () => boundMs : boundMs;
  }

  observe(at: number, held: readonly HeldRequest[]): Violation[] {
    const violations: Violation[] = [];
    const boundMs = this.#bound();
    for (const h of held) {
      if (at - h.since <= boundMs || this.#reported.has(h.request)) continue;
      this.#reported.add(h.request);
      const { path, query } = h.request;
      violations.push({
        invariant: 'silence-bound',
        at: h.since + boundMs,
        stream: `${h.request.headers['user-agent'] ?? '?'} ${query.labelSelector ?? ''}`.trim(),
        message: `${query.watch ? 'WATCH' : 'LIST'} ${path}?${new URLSearchParams(query)} still waiting ${at - h.since} ms after the server went silent (${h.stage === 'headers' ? 'no headers' : 'body stalled'})`,
        expected: `given up within ${boundMs} ms`,
        actual: `still open after ${at - h.since} ms`,
      });
    }
    return violations;
  }
}

/** Each huge error body the client read to its end (it must stop after a bounded prefix). */
export function checkErrorBodies(answers: readonly PaddedAnswer[], startedAt = 0): Violation[] {
  return answers
    .filter((a) => a.done && a.written >= a.bodyBytes)
    .map((a) => ({
      invariant: 'error-body-capped' as const,
      at: a.request.receivedAt,
      stream: `${a.request.headers['user-agent'] ?? '?'} ${a.request.query.labelSelector ?? ''}`.trim(),
      message: `the client read the whole ${(a.bodyBytes / 2 ** 20).toFixed(1)} MiB body of a ${a.request.status} answer to ${a.request.watch ? 'a WATCH' : 'a LIST'} (+${a.request.receivedAt - startedAt} ms)`,
      expected: 'a bounded prefix read, then the connection dropped',
      actual: `${a.written} bytes read`,
    }));
}
