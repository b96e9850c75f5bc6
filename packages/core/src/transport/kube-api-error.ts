import { z } from 'zod';
import { EndpointWatchError } from '../errors.js';

/** The parts of a meta/v1 `Status` that callers act on. */
export interface KubeStatus {
  readonly code: number;
  readonly reason: string;
  readonly message: string;
  readonly details?: unknown;
}

const statusSchema = z.looseObject({
  kind: z.literal('Status'),
  code: z.number().int().optional(),
  reason: z.string().optional(),
  message: z.string().optional(),
  details: z.unknown().optional(),
});

/**
 * Reads a meta/v1 Status object, as the apiserver sends in error bodies and in watch `ERROR` events.
 * Returns undefined when the value is not a Status.
 */
export function parseKubeStatus(value: unknown, fallbackCode?: number): KubeStatus | undefined {
  const parsed = statusSchema.safeParse(value);
  if (!parsed.success) return undefined;
  const code = parsed.data.code ?? fallbackCode ?? 0;
  return {
    code,
    reason: parsed.data.reason ?? '',
    message: parsed.data.message ?? '',
    ...(parsed.data.details === undefined ? {} : { details: parsed.data.details }),
  };
}

/** Parses a `Retry-After` header given in seconds (the only form the apiserver sends). */
export function parseRetryAfterMs(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value.trim()) * 1000;
}

/**
 * The apiserver answered with an error: an HTTP status outside 2xx, or an `ERROR` event inside a
 * watch stream (then `inStream` is true and `statusCode` is the Status' code).
 */
export class KubeApiError extends EndpointWatchError {
  readonly statusCode: number;
  readonly status: KubeStatus;
  readonly retryAfterMs: number | undefined;
  readonly method: string;
  readonly path: string;
  readonly inStream: boolean;

  constructor(init: {
    method: string;
    path: string;
    status: KubeStatus;
    retryAfterMs?: number | undefined;
    inStream?: boolean;
  }) {
    const { method, path, status } = init;
    const where = init.inStream ? `${method} ${path} (watch) sent ERROR` : `${method} ${path}`;
    const reason = status.reason ? ` ${status.reason}` : '';
    super('ERR_KUBE_API', `${where}: ${status.code}${reason}${status.message ? `: ${status.message}` : ''}`);
    this.statusCode = status.code;
    this.status = status;
    this.retryAfterMs = init.retryAfterMs;
    this.method = method;
    this.path = path;
    this.inStream = init.inStream ?? false;
  }

  /** 410 Gone / reason Expired or Gone: the resourceVersion or continue token is too old; relist. */
  get isExpired(): boolean {
    return this.statusCode === 410 || this.status.reason === 'Expired' || this.status.reason === 'Gone';
  }
}

/** The apiserver could not be reached, or the connection broke (TLS, DNS, reset, idle timeout). */
export class KubeTransportError extends EndpointWatchError {
  readonly method: string;
  readonly path: string;
  constructor(code: string, method: string, path: string, message: string, options?: ErrorOptions) {
    super(code, `${method} ${path}: ${message}`, options);
    this.method = method;
    this.path = path;
  }
}
