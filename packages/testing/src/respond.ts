import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { PaddedProgress } from './faults.js';
import type { Status } from './status.js';
import type { RecordedRequest } from './types.js';
import type { SplitWrites } from './watch-stream.js';

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

/**
 * Serializes a JSON response, records its status and writes its headers (with its length); returns
 * the body to write, or undefined when the response is already gone.
 */
function writeJsonHead(
  res: ServerResponse,
  record: RecordedRequest,
  code: number,
  body: unknown,
  extra: ExtraHeaders,
): Buffer | undefined {
  const payload = Buffer.from(JSON.stringify(body), 'utf8');
  record.status = code;
  if (res.headersSent || res.destroyed) return undefined;
  res.writeHead(code, {
    ...baseHeaders(extra),
    'Content-Type': 'application/json',
    'Content-Length': String(payload.length),
  });
  return payload;
}

/** Writes a complete JSON response and records its status. */
export function sendJson(
  res: ServerResponse,
  record: RecordedRequest,
  code: number,
  body: unknown,
  extra: ExtraHeaders = {},
): void {
  const payload = writeJsonHead(res, record, code, body, extra);
  if (payload === undefined) return;
  res.end(payload);
}

/**
 * Writes the headers and the first `firstBytes` bytes (default: half) of a JSON response, and
 * returns what writes the rest; undefined when the response is already gone. At least one byte is
 * held back, so the body is never complete before the rest is written.
 */
export function sendJsonInParts(
  res: ServerResponse,
  record: RecordedRequest,
  code: number,
  body: unknown,
  extra: ExtraHeaders,
  firstBytes: number | undefined,
): (() => void) | undefined {
  const payload = writeJsonHead(res, record, code, body, extra);
  if (payload === undefined) return undefined;
  res.flushHeaders();
  const cut = Math.max(0, Math.min(payload.length - 1, Math.floor(firstBytes ?? payload.length / 2)));
  if (cut > 0) res.write(payload.subarray(0, cut));
  return () => {
    if (!res.destroyed) res.end(payload.subarray(cut));
  };
}

/**
 * Writes a complete JSON response in pieces of random size, yielding between them (the split-write
 * fault on a LIST): the client reads the body in many small chunks. Stops if the response closes.
 */
export function sendJsonSplit(
  res: ServerResponse,
  record: RecordedRequest,
  code: number,
  body: unknown,
  extra: ExtraHeaders,
  split: SplitWrites,
): void {
  const payload = writeJsonHead(res, record, code, body, extra);
  if (payload === undefined) return;
  let offset = 0;
  let pending: { timeout: NodeJS.Timeout } | { immediate: NodeJS.Immediate } | undefined;
  const next = () => {
    pending = undefined;
    if (res.destroyed) return;
    const size = Math.min(payload.length - offset, 1 + Math.floor(split.random() * split.maxChunkBytes));
    const piece = payload.subarray(offset, offset + size);
    offset += size;
    if (offset === payload.length) {
      res.off('close', stop);
      res.end(piece);
      return;
    }
    res.write(piece);
    pending =
      split.delayMs > 0 ? { timeout: setTimeout(next, split.delayMs) } : { immediate: setImmediate(next) };
  };
  const stop = () => {
    if (pending === undefined) return;
    if ('timeout' in pending) clearTimeout(pending.timeout);
    else clearImmediate(pending.immediate);
    pending = undefined;
  };
  res.on('close', stop);
  next();
}

function statusHeaders(status: Status, extra: ExtraHeaders): ExtraHeaders {
  const retryAfter = status.details?.retryAfterSeconds;
  return { ...(retryAfter !== undefined ? { 'Retry-After': String(retryAfter) } : {}), ...extra };
}

/** Writes a Status as the response, with its code and an optional Retry-After header. */
export function sendStatus(
  res: ServerResponse,
  record: RecordedRequest,
  status: Status,
  extra: ExtraHeaders = {},
): void {
  sendJson(res, record, status.code, status, statusHeaders(status, extra));
}

const PAD_CHUNK = Buffer.alloc(64 * 1024, 'x');

/**
 * Writes a Status whose message is padded with `x` so the body is `bodyBytes` long (or the
 * Status's own size, if larger). The padding is streamed as the socket drains, so memory stays
 * bounded whatever the size, and writing stops when the client hangs up.
 */
export function sendPaddedStatus(
  res: ServerResponse,
  record: RecordedRequest,
  status: Status,
  bodyBytes: number,
  extra: ExtraHeaders,
  progress: PaddedProgress,
): void {
  record.status = status.code;
  res.on('close', () => {
    progress.done = true;
  });
  if (res.headersSent || res.destroyed) return;
  const message = `${status.message} `;
  const json = JSON.stringify({ ...status, message });
  // The padding goes right before the message's closing quote.
  const at =
    json.indexOf(`"message":${JSON.stringify(message)}`) + `"message":${JSON.stringify(message)}`.length - 1;
  const head = Buffer.from(json.slice(0, at), 'utf8');
  const tail = Buffer.from(json.slice(at), 'utf8');
  let left = Math.max(0, Math.floor(bodyBytes) - head.length - tail.length);
  res.writeHead(status.code, {
    ...baseHeaders(statusHeaders(status, extra)),
    'Content-Type': 'application/json',
    'Content-Length': String(head.length + left + tail.length),
  });
  const write = (chunk: Buffer) => {
    progress.written += chunk.length;
    return res.write(chunk);
  };
  write(head);
  const pump = () => {
    while (left > 0) {
      if (res.destroyed) return;
      const n = Math.min(left, PAD_CHUNK.length);
      left -= n;
      if (!write(n === PAD_CHUNK.length ? PAD_CHUNK : PAD_CHUNK.subarray(0, n))) {
        res.once('drain', pump);
        return;
      }
    }
    if (res.destroyed) return;
    progress.written += tail.length;
    res.end(tail);
  };
  pump();
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
