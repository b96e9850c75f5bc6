/**
 * HTTP/2 connections to one apiserver: streams multiplexed over as few TLS connections as the
 * server's SETTINGS_MAX_CONCURRENT_STREAMS allows (client-go's behaviour), on node:http2.
 *
 * Why not undici: its `Pool`/`Agent` with `allowH2` decide "busy" by `pipelining`, not by the
 * server's stream limit (one connection per request at the default of 1), and a refused stream or
 * a GOAWAY fails the request instead of retrying it on another connection.
 */
import { once } from 'node:events';
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect as connectHttp2,
  constants,
} from 'node:http2';
import { Readable } from 'node:stream';
import { connect as connectTls } from 'node:tls';

const { NGHTTP2_REFUSED_STREAM, NGHTTP2_CANCEL, NGHTTP2_NO_ERROR } = constants;

/** TLS options of the connections (what undici's `connect` option carries under HTTP/1.1). */
export interface Http2TlsOptions {
  readonly ca?: string | Buffer | Array<string | Buffer>;
  readonly servername?: string;
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
  readonly rejectUnauthorized: boolean;
}

export interface Http2ConnectionsOptions {
  /** An upper bound below the server's advertised SETTINGS_MAX_CONCURRENT_STREAMS. */
  readonly maxStreamsPerConnection?: number | undefined;
  /** A connection without streams for this long is closed. Default 30 s. */
  readonly idleTimeoutMs?: number;
  /** TLS handshake and the server's first SETTINGS within this. Default 30 s. */
  readonly connectTimeoutMs?: number;
  /**
   * Health check of a connection carrying streams: after this long without reading anything from
   * it, send a PING (client-go's `ReadIdleTimeout`, 30 s). 0 turns the check off. Default 30 s.
   */
  readonly readIdleTimeoutMs?: number;
  /**
   * A PING unanswered for this long means the connection is dead (half-open TCP, a silent middlebox):
   * it is closed, and every stream on it fails at once instead of each waiting out its own idle
   * timeout (client-go's `PingTimeout`, 15 s). Default 15 s.
   */
  readonly pingTimeoutMs?: number;
}

export interface Http2RequestOptions {
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal | undefined;
  readonly headersTimeoutMs: number;
  /** Longest silence between two body chunks while the consumer is reading. */
  readonly bodyTimeoutMs: number;
  readonly highWaterMark?: number | undefined;
}

export interface Http2Response {
  readonly statusCode: number;
  readonly headers: Record<string, string | string[] | undefined>;
  /** Destroying it resets this stream only (RST_STREAM CANCEL); the connection stays. */
  readonly body: Readable;
}

/** The server answered ALPN without `h2`: speak HTTP/1.1 to it. */
export class Http2NotNegotiatedError extends Error {
  override readonly name = 'Http2NotNegotiatedError';
  constructor(readonly protocol: string | false | null) {
    super(
      `the server did not negotiate h2 (ALPN: ${protocol === false || protocol === null ? 'none' : protocol})`,
    );
  }
}

/** A stream that never reached the server's handler: safe to send again on another connection. */
class Unprocessed extends Error {}

/** Streams per connection when the server advertises no limit (Go's transport uses the same). */
export const DEFAULT_UNADVERTISED_MAX_STREAMS = 1000;
/** Attempts of one request whose stream was refused or whose connection went away before it was processed. */
const MAX_ATTEMPTS = 6;
/** Per-stream receive window: a watch or LIST page streams without waiting on WINDOW_UPDATEs every 64 KiB. */
const STREAM_WINDOW_BYTES = 1024 * 1024;
/** Connection receive window, shared by all its streams. */
const CONNECTION_WINDOW_BYTES = 16 * 1024 * 1024;
const DEFAULT_BODY_HIGH_WATER_MARK = 64 * 1024;

interface Connection {
  readonly id: number;
  readonly session: ClientHttp2Session;
  /** Streams it may carry: the server's limit (learned lower after a refusal), capped by ours. */
  capacity: number;
  /** Streams open or reserved. */
  active: number;
  /** GOAWAY received, closed, or failed: no new streams. */
  draining: boolean;
  idleTimer: NodeJS.Timeout | undefined;
  /** When a frame last showed the peer alive (response headers, body bytes, a PING answer). */
  lastReadAt: number;
  /** The next health check, while the connection carries streams. */
  healthTimer: NodeJS.Timeout | undefined;
}

/** Statistics for tests and diagnostics. */
export interface Http2ConnectionStats {
  /** Connections able to take streams or carrying some. */
  readonly connections: number;
  readonly streams: number;
  /** Connections opened since the start. */
  readonly opened: number;
  /** Streams sent again because the server refused them or went away before processing them. */
  readonly retried: number;
  /** GOAWAY frames received (a server shutting down or rotating connections). */
  readonly goaways: number;
  /** Health-check PINGs answered. */
  readonly pingsAnswered: number;
  /** Connections closed because a PING went unanswered. */
  readonly pingTimeouts: number;
}

export class Http2Connections {
  readonly #host: string;
  readonly #port: number;
  readonly #authority: string;
  readonly #tls: Http2TlsOptions;
  readonly #maxStreams: number;
  readonly #idleTimeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #readIdleTimeoutMs: number;
  readonly #pingTimeoutMs: number;
  readonly #connections = new Set<Connection>();
  #connecting: Promise<Connection> | undefined;
  #closed = false;
  #nextId = 0;
  #retried = 0;
  #pingTimeouts = 0;
  #pingsAnswered = 0;
  #goaways = 0;

  constructor(origin: string, tls: Http2TlsOptions, options: Http2ConnectionsOptions = {}) {
    const url = new URL(origin);
    this.#host = url.hostname.replace(/^\[|\]$/g, '');
    this.#port = url.port === '' ? 443 : Number(url.port);
    this.#authority = url.host;
    this.#tls = tls;
    this.#maxStreams = Math.max(1, Math.floor(options.maxStreamsPerConnection ?? Number.POSITIVE_INFINITY));
    this.#idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 30_000;
    this.#readIdleTimeoutMs = finiteOr(options.readIdleTimeoutMs, 30_000);
    this.#pingTimeoutMs = Math.max(1, finiteOr(options.pingTimeoutMs, 15_000));
  }

  stats(): Http2ConnectionStats {
    let streams = 0;
    for (const c of this.#connections) streams += c.active;
    return {
      connections: this.#connections.size,
      streams,
      opened: this.#nextId,
      retried: this.#retried,
      goaways: this.#goaways,
      pingsAnswered: this.#pingsAnswered,
      pingTimeouts: this.#pingTimeouts,
    };
  }

  /**
   * Sends a GET on a connection with a free stream, opening one when all are full. A stream the
   * server refused (REFUSED_STREAM) or left unprocessed when it went away (GOAWAY) is sent again on
   * another connection, invisibly to the caller. Rejects with `Http2NotNegotiatedError` when the
   * server does not speak h2.
   */
  async request(options: Http2RequestOptions): Promise<Http2Response> {
    for (let attempt = 1; ; attempt++) {
      options.signal?.throwIfAborted();
      const connection = await this.#acquire(options.signal);
      try {
        return await this.#send(connection, options);
      } catch (error) {
        if (!(error instanceof Unprocessed) || attempt >= MAX_ATTEMPTS) {
          throw error instanceof Unprocessed ? (error.cause ?? error) : error;
        }
        this.#retried++;
      }
    }
  }

  /** Closes every connection at once; their streams end with an error. */
  destroy(): void {
    this.#closed = true;
    for (const c of [...this.#connections]) this.#retire(c, true);
  }

  /** No new streams; open ones finish on their own (a rotated client certificate). */
  close(): void {
    this.#closed = true;
    for (const c of [...this.#connections]) {
      c.draining = true;
      if (c.active === 0) this.#retire(c, false);
    }
  }

  /** Reserves a stream on a connection with room, opening connections as needed. */
  async #acquire(signal: AbortSignal | undefined): Promise<Connection> {
    for (;;) {
      if (this.#closed)
        throw Object.assign(new Error('the HTTP/2 connections are closed'), { code: 'ERR_HTTP2_CLOSED' });
      let best: Connection | undefined;
      for (const c of this.#connections) {
        // The fullest connection with room: the others empty out and close when idle.
        if (!c.draining && c.active < c.capacity && (best === undefined || c.active > best.active)) best = c;
      }
      if (best !== undefined) {
        this.#reserve(best);
        return best;
      }
      this.#connecting ??= this.#open().finally(() => {
        this.#connecting = undefined;
      });
      const connecting = this.#connecting;
      if (signal === undefined) await connecting;
      else await raceAbort(connecting, signal);
    }
  }

  #reserve(c: Connection): void {
    c.active++;
    if (c.idleTimer !== undefined) {
      clearTimeout(c.idleTimer);
      c.idleTimer = undefined;
    }
    c.session.ref();
    if (c.healthTimer === undefined) this.#scheduleHealthCheck(c, this.#readIdleTimeoutMs);
  }

  /**
   * Why: many watches share one connection, and a half-open one would leave all of them stale until
   * each one's own idle timeout (150 s by default); a PING finds it out within read-idle + ping timeout.
   */
  #scheduleHealthCheck(c: Connection, delayMs: number): void {
    if (this.#readIdleTimeoutMs <= 0 || c.session.destroyed) return;
    c.healthTimer = setTimeout(() => this.#checkHealth(c), delayMs);
    c.healthTimer.unref();
  }

  #checkHealth(c: Connection): void {
    c.healthTimer = undefined;
    if (c.active === 0 || c.session.destroyed) return;
    const idleMs = performance.now() - c.lastReadAt;
    if (idleMs < this.#readIdleTimeoutMs) {
      this.#scheduleHealthCheck(c, this.#readIdleTimeoutMs - idleMs);
      return;
    }
    const deadline = setTimeout(() => {
      this.#pingTimeouts++;
      c.session.destroy(
        Object.assign(new Error(`HTTP/2: no answer to a PING within ${this.#pingTimeoutMs} ms`), {
          code: 'ERR_HTTP2_PING_TIMEOUT',
        }),
      );
    }, this.#pingTimeoutMs);
    deadline.unref();
    c.healthTimer = deadline;
    const sent = c.session.ping((error) => {
      clearTimeout(deadline);
      c.healthTimer = undefined;
      if (error) return; // the session is going away; its 'close' retires it
      this.#pingsAnswered++;
      c.lastReadAt = performance.now();
      this.#scheduleHealthCheck(c, this.#readIdleTimeoutMs);
    });
    if (!sent) {
      clearTimeout(deadline);
      c.healthTimer = undefined;
    }
  }

  #release(c: Connection): void {
    c.active--;
    if (c.active > 0) return;
    if (c.draining) {
      this.#retire(c, false);
      return;
    }
    c.session.unref();
    c.idleTimer = setTimeout(() => this.#retire(c, false), this.#idleTimeoutMs);
    c.idleTimer.unref();
  }

  #retire(c: Connection, destroy: boolean): void {
    c.draining = true;
    if (c.idleTimer !== undefined) clearTimeout(c.idleTimer);
    if (c.healthTimer !== undefined) clearTimeout(c.healthTimer);
    c.healthTimer = undefined;
    this.#connections.delete(c);
    if (destroy) c.session.destroy();
    else if (!c.session.closed) c.session.close();
  }

  async #open(): Promise<Connection> {
    const socket = connectTls({
      host: this.#host,
      port: this.#port,
      ALPNProtocols: ['h2', 'http/1.1'],
      ...(this.#tls.servername === undefined ? {} : { servername: this.#tls.servername }),
      ...(this.#tls.ca === undefined ? {} : { ca: this.#tls.ca }),
      ...(this.#tls.cert === undefined ? {} : { cert: this.#tls.cert, key: this.#tls.key }),
      rejectUnauthorized: this.#tls.rejectUnauthorized,
    });
    const timeout = AbortSignal.timeout(this.#connectTimeoutMs);
    try {
      await once(socket, 'secureConnect', { signal: timeout });
    } catch (error) {
      socket.destroy();
      throw timeout.aborted ? connectTimeoutError(this.#connectTimeoutMs) : error;
    }
    if (socket.alpnProtocol !== 'h2') {
      const protocol = socket.alpnProtocol;
      socket.destroy();
      throw new Http2NotNegotiatedError(protocol);
    }
    const session = connectHttp2(`https://${this.#authority}`, {
      createConnection: () => socket,
      settings: { enablePush: false, initialWindowSize: STREAM_WINDOW_BYTES },
      // Bounded by the windows above; Node's 10 MB default would answer a slow reader with ENHANCE_YOUR_CALM.
      maxSessionMemory: 64,
    });
    session.on('error', () => {}); // reported to each stream; the connection is retired on 'close'
    const connection: Connection = {
      id: ++this.#nextId,
      session,
      capacity: 0,
      active: 0,
      draining: false,
      idleTimer: undefined,
      lastReadAt: performance.now(),
      healthTimer: undefined,
    };
    let settled = false;
    session.on('remoteSettings', (settings) => {
      settled = true;
      connection.capacity = this.#capacityFor(settings.maxConcurrentStreams);
    });
    session.on('goaway', () => {
      this.#goaways++;
      connection.draining = true;
      this.#connections.delete(connection);
    });
    session.on('close', () => {
      connection.draining = true;
      if (connection.idleTimer !== undefined) clearTimeout(connection.idleTimer);
      if (connection.healthTimer !== undefined) clearTimeout(connection.healthTimer);
      connection.healthTimer = undefined;
      this.#connections.delete(connection);
    });
    try {
      // The server's first SETTINGS tell how many streams the connection may carry.
      if (!settled) await once(session, 'remoteSettings', { signal: timeout });
    } catch (error) {
      session.destroy();
      throw timeout.aborted ? connectTimeoutError(this.#connectTimeoutMs) : error;
    }
    try {
      session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
    } catch {
      // Best effort: the default window only slows large bodies down.
    }
    session.unref();
    if (connection.draining) throw new Unprocessed('the connection closed before its first stream');
    if (this.#closed) {
      session.destroy();
      throw Object.assign(new Error('the HTTP/2 connections are closed'), { code: 'ERR_HTTP2_CLOSED' });
    }
    this.#connections.add(connection);
    return connection;
  }

  #capacityFor(advertised: number | undefined): number {
    const server =
      advertised === undefined || advertised >= 2 ** 31
        ? DEFAULT_UNADVERTISED_MAX_STREAMS
        : Math.max(0, advertised);
    return Math.min(server, this.#maxStreams);
  }

  /** Opens the stream on a connection where a slot was reserved; resolves at the response headers. */
  #send(c: Connection, options: Http2RequestOptions): Promise<Http2Response> {
    return new Promise<Http2Response>((resolve, reject) => {
      let stream: ClientHttp2Stream;
      try {
        stream = c.session.request(
          { ':method': 'GET', ':path': options.path, ...options.headers },
          { endStream: true },
        );
      } catch (error) {
        // The session went away between the reservation and now.
        this.#release(c);
        reject(new Unprocessed('the connection is closing', { cause: error }));
        return;
      }
      let responded = false;
      let failure: Error | undefined;
      const signal = options.signal;
      const onAbort = () => {
        const reason = abortReason(signal);
        if (responded) body.destroy(reason);
        else {
          failure = reason;
          stream.close(NGHTTP2_CANCEL);
        }
      };
      signal?.addEventListener('abort', onAbort, { once: true });

      let ended = false;
      let paused = false;
      const body = new Readable({
        highWaterMark: options.highWaterMark ?? DEFAULT_BODY_HIGH_WATER_MARK,
        read() {
          if (!paused) return;
          paused = false;
          stream.setTimeout(options.bodyTimeoutMs);
          stream.resume();
        },
        destroy(error, callback) {
          // Resets this stream only: the connection and its other streams go on.
          if (!stream.closed && !stream.destroyed) stream.close(NGHTTP2_CANCEL);
          callback(error);
        },
      });

      stream.setTimeout(options.headersTimeoutMs, () => {
        const error = responded
          ? timeoutError('UND_ERR_BODY_TIMEOUT', `no body bytes for ${options.bodyTimeoutMs} ms`)
          : timeoutError(
              'UND_ERR_HEADERS_TIMEOUT',
              `no response headers within ${options.headersTimeoutMs} ms`,
            );
        if (responded) body.destroy(error);
        else {
          failure = error;
          stream.close(NGHTTP2_CANCEL);
        }
      });
      stream.on('error', (error) => {
        failure ??= error;
        if (responded) body.destroy(error);
      });
      stream.once('response', (headers) => {
        responded = true;
        c.lastReadAt = performance.now();
        stream.setTimeout(options.bodyTimeoutMs);
        const statusCode = Number(headers[':status']);
        const plain: Record<string, string | string[] | undefined> = {};
        for (const [name, value] of Object.entries(headers)) {
          if (!name.startsWith(':')) plain[name] = value as string | string[] | undefined;
        }
        resolve({ statusCode, headers: plain, body });
      });
      stream.on('data', (chunk: Buffer) => {
        c.lastReadAt = performance.now();
        if (!body.push(chunk)) {
          // Backpressure: stop reading, which stops WINDOW_UPDATEs for this stream only; a reader
          // that is slow is not a silent server.
          paused = true;
          stream.setTimeout(0);
          stream.pause();
        }
      });
      // Node ends the readable side of every stream it closes, a reset or a lost connection
      // included: the body ends only when the close shows a complete response (below).
      stream.once('end', () => {
        ended = true;
      });
      stream.once('close', () => {
        signal?.removeEventListener('abort', onAbort);
        this.#release(c);
        if (responded) {
          if (body.destroyed) return;
          // Complete: END_STREAM, no reset, and the connection still up when the stream closed.
          const complete =
            ended && failure === undefined && stream.rstCode === NGHTTP2_NO_ERROR && !c.session.destroyed;
          if (complete) body.push(null);
          else
            body.destroy(
              failure ?? (c.session.destroyed ? connectionLostError() : resetError(stream.rstCode)),
            );
          return;
        }
        if (failure !== undefined && (failure.name === 'AbortError' || isTimeout(failure))) {
          reject(failure);
          return;
        }
        const code = stream.rstCode;
        // Not processed: refused (over the limit, or above a GOAWAY's last stream id), or the
        // connection went away before it was sent.
        if (code === NGHTTP2_REFUSED_STREAM || stream.id === undefined) {
          if (code === NGHTTP2_REFUSED_STREAM) {
            // The server's real limit is below what it advertised (or it lowered it): learn it.
            c.capacity = Math.max(1, Math.min(c.capacity, c.active));
          }
          reject(new Unprocessed(`stream refused (code ${code})`, { cause: failure ?? resetError(code) }));
          return;
        }
        if (c.draining && code === NGHTTP2_NO_ERROR && failure === undefined) {
          reject(new Unprocessed('the connection went away', { cause: resetError(code) }));
          return;
        }
        reject(failure ?? resetError(code));
      });
    });
  }
}

function finiteOr(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) ? Math.max(0, value) : fallback;
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error) return reason;
  return new DOMException('This operation was aborted', 'AbortError');
}

function timeoutError(code: string, message: string): Error {
  return Object.assign(new Error(`HTTP/2: ${message}`), { code });
}

function isTimeout(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  return code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT';
}

function connectTimeoutError(ms: number): Error {
  return Object.assign(new Error(`HTTP/2: connect timeout after ${ms} ms`), { code: 'ETIMEDOUT' });
}

function connectionLostError(): Error {
  return Object.assign(new Error('HTTP/2: the connection closed before the response was complete'), {
    code: 'UND_ERR_SOCKET',
  });
}

function resetError(code: number): Error {
  return Object.assign(
    new Error(`HTTP/2: the stream was reset (code ${code}) before the response was complete`),
    {
      code: 'ERR_HTTP2_STREAM_RESET',
      rstCode: code,
    },
  );
}
