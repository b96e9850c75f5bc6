/**
 * What Node's socket errors and HTTP methods mean for retrying on another endpoint, shared by the
 * undici and axios integrations (each adds its own client's codes).
 */

/**
 * Error codes of a connection that was never established (refused, no route, name not resolved):
 * the endpoint never saw the request, so any method may go to another one.
 */
export const NEVER_CONNECTED_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'EADDRNOTAVAIL',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** Error codes of a connection that broke after the request may have been (partly) written. */
export const CONNECTION_RESET_CODES: ReadonlySet<string> = new Set(['ECONNRESET', 'EPIPE']);

/** Methods that RFC 9110 §9.2.2 defines as idempotent. */
const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** Whether a request with this method may be sent again after a connection broke (RFC 9110 §9.2.2). */
export function isIdempotentMethod(method: string): boolean {
  return IDEMPOTENT_METHODS.has(method.toUpperCase());
}
