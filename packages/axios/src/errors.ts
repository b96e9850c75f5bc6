import type { EndpointWatchError } from '@endpoint-watch/core';
import { AxiosError, type InternalAxiosRequestConfig } from 'axios';

/** Codes of this family that reach axios callers as the `code` of an `AxiosError`. */
const OWN_CODES = new Set(['ERR_NO_ENDPOINTS', 'ERR_ALL_ATTEMPTS_FAILED', 'ERR_BALANCER_CLOSED']);

/**
 * An `AxiosError` (so `axios.isAxiosError`, interceptors and `error.config` work as usual) with the
 * `code` and message of an endpoint-watch error, which stays reachable as `cause`
 * (non-enumerable, like axios' own wrapped errors).
 */
export function toAxiosError(
  error: EndpointWatchError,
  config: InternalAxiosRequestConfig,
  request?: unknown,
): AxiosError {
  const out = new AxiosError(error.message, error.code, config, request);
  Object.defineProperty(out, 'cause', {
    value: error,
    writable: true,
    enumerable: false,
    configurable: true,
  });
  return out;
}

/** The first endpoint-watch error with one of `OWN_CODES` in the `cause` chain of `error`. */
export function findOwnError(error: unknown): EndpointWatchError | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && typeof current === 'object' && current !== null; depth++) {
    // Duck-typed: a second copy of @endpoint-watch/core would defeat `instanceof`.
    const { code, isAxiosError } = current as { code?: unknown; isAxiosError?: unknown };
    if (
      typeof code === 'string' &&
      OWN_CODES.has(code) &&
      isAxiosError !== true &&
      current instanceof Error
    ) {
      return current as EndpointWatchError;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
