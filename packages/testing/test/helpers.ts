import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { Agent, type Dispatcher, request } from 'undici';
import type { FakeApiServer } from '../src/index.js';

export interface ClientOptions {
  /** Bearer token; null sends none; default: the server's token. */
  token?: string | null;
  servername?: string;
  cert?: string;
  key?: string;
  /** Extra request headers. */
  headers?: Record<string, string>;
  method?: string;
}

// biome-ignore lint/suspicious/noExplicitAny: test JSON
export type Json = any;

export interface Response {
  status: number;
  headers: Record<string, string>;
  text: string;
  json: Json;
}

/** An undici response read whole: status, headers as strings, text, and its JSON when it parses. */
export async function readResponse(res: Dispatcher.ResponseData): Promise<Response> {
  const text = await res.body.text();
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = String(v);
  let json: Json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers, text, json };
}

function authHeader(server: FakeApiServer, options: ClientOptions): Record<string, string> {
  const token = options.token === undefined ? server.token : options.token;
  return token === null || token === undefined ? {} : { authorization: `Bearer ${token}` };
}

function withQuery(path: string, query: Record<string, string> = {}): string {
  const qs = new URLSearchParams(query).toString();
  return qs === '' ? path : `${path}?${qs}`;
}

/** One request with undici against the fake server (TLS trusted via its CA). */
export async function get(
  server: FakeApiServer,
  path: string,
  query: Record<string, string> = {},
  options: ClientOptions = {},
): Promise<Response> {
  const agent = new Agent({
    connect: {
      ...(server.tls !== undefined ? { ca: server.tls.ca } : {}),
      ...(options.servername !== undefined ? { servername: options.servername } : {}),
      ...(options.cert !== undefined ? { cert: options.cert, key: options.key } : {}),
    },
  });
  try {
    const res = await request(`${server.url}${withQuery(path, query)}`, {
      method: (options.method ?? 'GET') as 'GET',
      headers: { ...authHeader(server, options), ...options.headers },
      dispatcher: agent,
    });
    return await readResponse(res);
  } finally {
    await agent.close();
  }
}

interface Waiter {
  check: () => boolean;
}

/**
 * A watch over a raw socket that decodes HTTP/1.1 chunked framing itself, so tests can see each HTTP
 * chunk the server wrote, partial lines, and whether the stream ended cleanly (terminating chunk).
 */
export class RawWatch {
  status = 0;
  headers: Record<string, string> = {};
  /** Non-chunked response body (error answers). */
  text = '';
  /** Payload of every HTTP chunk, in order. */
  readonly chunks: Buffer[] = [];
  /** Complete lines of the body. */
  readonly lines: string[] = [];
  /** Parsed lines; a line that is not JSON is recorded as { malformed: line }. */
  readonly events: Json[] = [];
  /** Bytes after the last newline. */
  partial: Buffer = Buffer.alloc(0);
  /** The terminating zero-length chunk arrived. */
  cleanEnd = false;
  closed = false;
  private buffer: Buffer = Buffer.alloc(0);
  private headersDone = false;
  private chunked = false;
  private readonly waiters = new Set<Waiter>();
  private onHeaders: (() => void) | undefined;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (data: Buffer) => this.onData(data));
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.onHeaders?.();
      this.notify();
    });
  }

  static open(
    server: FakeApiServer,
    path: string,
    query: Record<string, string> = {},
    options: ClientOptions = {},
  ): Promise<RawWatch> {
    const url = new URL(server.url);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(url.port);
    const socket =
      server.tls === undefined
        ? netConnect({ host, port })
        : tlsConnect({
            host,
            port,
            ca: server.tls.ca,
            servername: options.servername ?? 'localhost',
            ...(options.cert !== undefined ? { cert: options.cert, key: options.key } : {}),
          });
    const watch = new RawWatch(socket);
    const headers = { host: url.host, ...authHeader(server, options), ...options.headers };
    const head =
      `${options.method ?? 'GET'} ${withQuery(path, { watch: 'true', ...query })} HTTP/1.1\r\n` +
      Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('') +
      'connection: close\r\n\r\n';
    socket.write(head);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no response headers within 5 s')), 5000);
      watch.onHeaders = () => {
        clearTimeout(timer);
        if (watch.status === 0) reject(new Error('connection closed before response headers'));
        else resolve(watch);
      };
    });
  }

  get json(): Json {
    return JSON.parse(this.text);
  }

  private onData(data: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, data]);
    if (!this.headersDone) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const lines = this.buffer.subarray(0, end).toString('latin1').split('\r\n');
      this.status = Number(lines[0]?.split(' ')[1]);
      for (const line of lines.slice(1)) {
        const i = line.indexOf(':');
        this.headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      this.buffer = this.buffer.subarray(end + 4);
      this.headersDone = true;
      this.chunked = this.headers['transfer-encoding'] === 'chunked';
      this.onHeaders?.();
    }
    if (this.chunked) this.decodeChunks();
    else {
      this.text += this.buffer.toString('utf8');
      this.buffer = Buffer.alloc(0);
    }
    this.notify();
  }

  private decodeChunks(): void {
    for (;;) {
      const eol = this.buffer.indexOf('\r\n');
      if (eol < 0) return;
      const size = Number.parseInt(this.buffer.subarray(0, eol).toString('latin1'), 16);
      if (size === 0) {
        this.cleanEnd = true;
        return;
      }
      if (this.buffer.length < eol + 2 + size + 2) return;
      const payload = this.buffer.subarray(eol + 2, eol + 2 + size);
      this.buffer = this.buffer.subarray(eol + 2 + size + 2);
      this.chunks.push(Buffer.from(payload));
      this.partial = Buffer.concat([this.partial, payload]);
      for (let nl = this.partial.indexOf(10); nl >= 0; nl = this.partial.indexOf(10)) {
        const line = this.partial.subarray(0, nl).toString('utf8');
        this.partial = this.partial.subarray(nl + 1);
        this.lines.push(line);
        try {
          this.events.push(JSON.parse(line));
        } catch {
          this.events.push({ malformed: line });
        }
      }
    }
  }

  private notify(): void {
    for (const w of [...this.waiters]) if (w.check()) this.waiters.delete(w);
  }

  /** Resolves when `condition` holds (checked on every received byte and on close). */
  until(condition: () => boolean, what = 'condition', timeoutMs = 5000): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(
          new Error(
            `timed out waiting for ${what}; got ${this.events.length} events: ${JSON.stringify(this.events).slice(0, 800)}`,
          ),
        );
      }, timeoutMs);
      const waiter: Waiter = {
        check: () => {
          if (!condition()) return false;
          clearTimeout(timer);
          resolve();
          return true;
        },
      };
      this.waiters.add(waiter);
    });
  }

  async waitForEvents(count: number, timeoutMs = 5000): Promise<Json[]> {
    await this.until(() => this.events.length >= count, `${count} events`, timeoutMs);
    return this.events.slice(0, count);
  }

  waitForClose(timeoutMs = 5000): Promise<void> {
    return this.until(() => this.closed, 'the connection to close', timeoutMs);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A bounded pause, for asserting that nothing arrives meanwhile. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export const SLICES = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices';
export const ALL_SLICES = '/apis/discovery.k8s.io/v1/endpointslices';
export const ENDPOINTS = '/api/v1/namespaces/default/endpoints';
