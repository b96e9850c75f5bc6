import {
  CONNECTION_RESET_CODES,
  type FailureKind,
  isIdempotentMethod,
  NEVER_CONNECTED_CODES,
} from '@endpoint-watch/balancer';
import { isCancel } from 'axios';

/**
 * How an error of one attempt through a Node adapter (axios' http adapter, or another adapter that
 * reports Node's socket errors) is fed back and whether another endpoint may be tried.
 * - `any`: the connection was never made, so the pod never saw the request: any method.
 * - `idempotent`: the connection broke after the request may have been sent.
 * - `never`: not retried.
 */
export interface Classification {
  /** Reported to the balancer; `undefined`: not the endpoint's fault (a neutral outcome). */
  readonly failure: FailureKind | undefined;
  readonly retry: 'any' | 'idempotent' | 'never';
  readonly code: string | undefined;
  /** Whether the request may have reached the endpoint. */
  readonly sent: boolean;
}

/** Node's syscalls of a connection attempt (the error carries `syscall`). */
const CONNECT_SYSCALLS = new Set(['connect', 'getaddrinfo', 'queryA', 'queryAaaa']);
/** axios' own errors about the request or its options, the caller's abort, redirect limits. */
const CALLER_CODES = new Set([
  'ERR_CANCELED',
  'ERR_BAD_OPTION',
  'ERR_BAD_OPTION_VALUE',
  'ERR_BAD_REQUEST',
  'ERR_NOT_SUPPORT',
  'ERR_INVALID_URL',
  'ERR_DEPRECATED',
  'ERR_FR_TOO_MANY_REDIRECTS',
  'ERR_FR_MAX_BODY_LENGTH_EXCEEDED',
  'ERR_FR_REDIRECTION_FAILURE',
  'ERR_BAD_RESPONSE',
]);

export const isIdempotent = (method: string | undefined): boolean => isIdempotentMethod(method ?? 'get');

interface ErrorLike {
  readonly code?: unknown;
  readonly cause?: unknown;
  readonly syscall?: unknown;
  readonly message?: unknown;
}

const field = (value: unknown, key: keyof ErrorLike): unknown =>
  typeof value === 'object' && value !== null ? (value as ErrorLike)[key] : undefined;

const isTls = (code: string): boolean =>
  code.startsWith('ERR_TLS_') ||
  code.startsWith('ERR_SSL_') ||
  /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|EPROTO/.test(code);

export function classify(error: unknown): Classification {
  const cause = field(error, 'cause');
  const rawCode = field(error, 'code') ?? field(cause, 'code');
  const code = typeof rawCode === 'string' ? rawCode : undefined;
  const syscall = field(cause, 'syscall') ?? field(error, 'syscall');
  if (isCancel(error) || (code !== undefined && CALLER_CODES.has(code))) {
    return { failure: undefined, retry: 'never', code, sent: false };
  }
  // axios' own `timeout` (ECONNABORTED, or ETIMEDOUT with clarifyTimeoutError): the pod was too slow.
  if (code === 'ECONNABORTED' || (code === 'ETIMEDOUT' && syscall === undefined)) {
    return { failure: 'timeout', retry: 'never', code, sent: true };
  }
  if (
    (typeof syscall === 'string' && CONNECT_SYSCALLS.has(syscall)) ||
    (code !== undefined && NEVER_CONNECTED_CODES.has(code))
  ) {
    return { failure: code === 'ETIMEDOUT' ? 'timeout' : 'connect', retry: 'any', code, sent: false };
  }
  if (code !== undefined && isTls(code)) return { failure: 'connect', retry: 'never', code, sent: false };
  if (code !== undefined && CONNECTION_RESET_CODES.has(code)) {
    return { failure: 'reset', retry: 'idempotent', code, sent: true };
  }
  return { failure: 'other', retry: 'never', code, sent: true };
}

/**
 * Whether the (already transformed) request body can be sent again. Strings, buffers, typed arrays,
 * `ArrayBuffer`, `URLSearchParams`, spec `FormData` and `Blob` can (the adapter reads them afresh
 * for each attempt); streams and async iterables cannot (the adapter pipes them at once).
 */
export function canReplayBody(data: unknown): boolean {
  if (data == null || typeof data !== 'object') return true;
  if (ArrayBuffer.isView(data) || data instanceof ArrayBuffer) return true;
  const body = data as { pipe?: unknown; getReader?: unknown; [Symbol.asyncIterator]?: unknown };
  return !(
    typeof body.pipe === 'function' ||
    typeof body.getReader === 'function' ||
    typeof body[Symbol.asyncIterator] === 'function'
  );
}
