import {
  CONNECTION_RESET_CODES,
  type FailureKind,
  isIdempotentMethod,
  NEVER_CONNECTED_CODES,
} from '@endpoint-watch/balancer';

/**
 * Codes of errors raised while connecting (before undici wrote anything): the endpoint never saw the
 * request, so any method can go to another endpoint. TLS verification errors are not in the list: they
 * are reported as `connect` failures but not retried (a wrong CA or name is a setup error to surface).
 */
const CONNECT_CODES = new Set([
  ...NEVER_CONNECTED_CODES,
  // While connecting, a reset or a timeout also means that nothing was written.
  ...CONNECTION_RESET_CODES,
  'ECONNABORTED',
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);

/** The connection broke after the request was (partly) written and before a response arrived. */
const RESET_CODES = new Set([...CONNECTION_RESET_CODES, 'UND_ERR_SOCKET', 'ECONNABORTED']);

const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'ETIMEDOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/**
 * Errors that say nothing about the endpoint's health: the caller's options, the caller's own body
 * stream, an abort, a closed dispatcher. They are released to the balancer as neutral outcomes.
 */
const CALLER_CODES = new Set([
  'UND_ERR_INVALID_ARG',
  'UND_ERR_NOT_SUPPORTED',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_ABORTED',
  'UND_ERR_ABORT',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
  'UND_ERR_MAX_ORIGINS_REACHED',
  'UND_ERR_INVALID_RETURN_VALUE',
  'UND_ERR_RES_EXCEEDED_MAX_SIZE',
  'ABORT_ERR',
  'ERR_INVALID_ARG_TYPE',
]);

/**
 * Errors that stand for the pod's response: an interceptor composed below the balancer raises them in
 * place of passing the response on (`ResponseError` of `interceptors.responseError` for a 4xx/5xx,
 * `RequestRetryError` of `interceptors.retry` once its retries on that pod are used up). The pod
 * answered, so only its status tells about its health, as for a response that reaches the balancer.
 */
const RESPONSE_CODES = new Set(['UND_ERR_RESPONSE', 'UND_ERR_REQ_RETRY']);

/** The request's own `idempotent` option, else what its method says. */
export function isIdempotent(method: string, explicit: boolean | undefined): boolean {
  return explicit ?? isIdempotentMethod(method);
}

/** `err.code`, looking through an `AggregateError` (happy eyeballs) and one level of `cause`. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, errors, cause } = error as { code?: unknown; errors?: unknown; cause?: unknown };
  if (typeof code === 'string') return code;
  if (Array.isArray(errors) && errors.length > 0) return errorCode(errors[0]);
  if (cause !== undefined && cause !== error && typeof cause === 'object' && cause !== null) {
    const inner = (cause as { code?: unknown }).code;
    if (typeof inner === 'string') return inner;
  }
  return undefined;
}

function isAbortError(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'AbortError';
}

export function isTimeoutAbort(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'TimeoutError';
}

/** Where an attempt was when it failed. */
export type Phase = 'connect' | 'sent' | 'response';

export interface Classification {
  /** The failure to report to the balancer; `undefined`: not the endpoint's fault (neutral). */
  readonly failure: FailureKind | undefined;
  /** Whether this error allows another attempt at all (method and body rules come on top). */
  readonly retryable: boolean;
  readonly code: string | undefined;
}

export function classify(error: unknown, phase: Phase): Classification {
  const code = errorCode(error);
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  if (code !== undefined && RESPONSE_CODES.has(code) && typeof status === 'number') {
    return { failure: status >= 500 ? 'status5xx' : undefined, retryable: false, code };
  }
  if ((code !== undefined && CALLER_CODES.has(code)) || isAbortError(error)) {
    return { failure: undefined, retryable: false, code };
  }
  if (isTimeoutAbort(error)) return { failure: 'timeout', retryable: false, code };
  if (phase === 'connect') {
    const failure: FailureKind = code !== undefined && TIMEOUT_CODES.has(code) ? 'timeout' : 'connect';
    return { failure, retryable: code !== undefined && CONNECT_CODES.has(code), code };
  }
  if (code !== undefined && TIMEOUT_CODES.has(code)) return { failure: 'timeout', retryable: false, code };
  if (code !== undefined && RESET_CODES.has(code))
    return { failure: 'reset', retryable: phase === 'sent', code };
  return { failure: 'other', retryable: false, code };
}

interface ReadableLike {
  readonly destroyed?: boolean;
  readonly readableDidRead?: boolean;
  readonly readableEnded?: boolean;
  readonly errored?: unknown;
}

function isReadableLike(body: object): body is ReadableLike {
  return typeof (body as { pipe?: unknown }).pipe === 'function' && 'readable' in body;
}

function isBlobOrFormData(body: object): boolean {
  const tag = (body as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag];
  return tag === 'Blob' || tag === 'File' || tag === 'FormData';
}

/**
 * Whether the request body can be sent again. Strings, buffers, array buffers, arrays, Blobs and
 * FormData always can. A one-shot body (stream, async iterable) only when the failed attempt never
 * started writing (`sent` false) and, for a `Readable`, nobody has read from it.
 */
export function canReplayBody(body: unknown, sent: boolean): boolean {
  if (body == null || typeof body === 'string') return true;
  if (typeof body !== 'object') return false;
  if (ArrayBuffer.isView(body) || body instanceof ArrayBuffer || Array.isArray(body)) return true;
  if (isBlobOrFormData(body)) return true;
  if (sent) return false;
  if (isReadableLike(body)) {
    return !(body.destroyed || body.readableDidRead || body.readableEnded || body.errored != null);
  }
  return true;
}
