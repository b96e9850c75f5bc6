import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Status } from './status.js';
import type { RecordedRequest } from './types.js';

/** Extra headers for a response: `Warning`, `Retry-After`, ... */
export type ExtraHeaders = Record<string, string | undefined>;

/** Headers every apiserver response carries. */
export function baseHeaders(extra: ExtraHeaders = {}): Record<string, string> {
  const headers: Record<string, string> = {
    'Cache-Control': 'no-cache, private',
    'Audit-Id': randomUUID(),
  };
  for (const [name, value] of Object.entries(extra)) if (value !== undefined) headers[name] = value;
  return headers;
}

/** Writes a complete JSON response and records its status. */
export function sendJson(
  res: ServerResponse,
  record: RecordedRequest,
  code: number,
  body: unknown,
  extra: ExtraHeaders = {},
): void {
  const payload = Buffer.from(JSON.stringify(body), 'utf8');
  record.status = code;
  if (res.headersSent || res.destroyed) return;
  res.writeHead(code, {
    ...baseHeaders(extra),
    'Content-Type': 'application/json',
    'Content-Length': String(payload.length),
  });
  res.end(payload);
}

/** Writes a Status as the response, with its code and an optional Retry-After header. */
export function sendStatus(
  res: ServerResponse,
  record: RecordedRequest,
  status: Status,
  extra: ExtraHeaders = {},
): void {
  const retryAfter = status.details?.retryAfterSeconds;
  sendJson(res, record, status.code, status, {
    ...(retryAfter !== undefined ? { 'Retry-After': String(retryAfter) } : {}),
    ...extra,
  });
}

/** Plain-text answer (health endpoints). */
export function sendText(res: ServerResponse, record: RecordedRequest, code: number, text: string): void {
  record.status = code;
  if (res.headersSent || res.destroyed) return;
  res.writeHead(code, {
    ...baseHeaders(),
    'Content-Type': 'text/plain; charset=utf-8',
    'X-Content-Type-Options': 'nosniff',
    'Content-Length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}
