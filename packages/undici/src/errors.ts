import type { FailureKind } from '@endpoint-watch/balancer';
import { EndpointWatchError } from '@endpoint-watch/core';

/** One failed attempt of a balanced request. */
export interface AttemptFailure {
  /** `address:port` (`[v6]:port`) of the endpoint the attempt went to. */
  readonly endpoint: string;
  /** What was reported to the balancer; `undefined` when the failure was not the endpoint's fault. */
  readonly failure: FailureKind | undefined;
  /** The error's `code`, when it has one (`ECONNREFUSED`, `UND_ERR_SOCKET`, …). */
  readonly code: string | undefined;
  /** Whether the request may have reached the endpoint (undici had started writing it). */
  readonly sent: boolean;
  readonly error: unknown;
}

/**
 * Every attempt the request was allowed failed with a retryable error, or a retry found no endpoint
 * to go to. `cause` is the last attempt's error; `attempts` lists them all, oldest first.
 */
export class AllAttemptsFailedError extends EndpointWatchError {
  readonly attempts: readonly AttemptFailure[];

  constructor(attempts: readonly AttemptFailure[], detail?: string) {
    const list = attempts.map((a) => `${a.endpoint} ${a.code ?? errorName(a.error)}`).join(', ');
    const last = attempts.at(-1);
    super(
      'ERR_ALL_ATTEMPTS_FAILED',
      `All ${attempts.length} attempts failed (${list})${detail === undefined ? '' : `; ${detail}`}`,
      last === undefined ? undefined : { cause: last.error },
    );
    this.attempts = attempts;
  }
}

/** An option of `createBalancedAgent` / `endpointBalancing` is invalid. */
export class BalancingOptionsError extends EndpointWatchError {
  constructor(message: string) {
    super('ERR_BALANCING_OPTIONS', message);
  }
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : String(error);
}
