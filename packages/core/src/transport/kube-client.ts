import type { Readable } from 'node:stream';
import { Pool } from 'undici';
import { withoutTrailingSlashes } from '../config/settings.js';
import type { ClientCertificate, KubeConfig } from '../config/types.js';
import { type Http2ConnectionStats, Http2Connections, Http2NotNegotiatedError } from './http2-connections.js';
import {
  KubeApiError,
  type KubeStatus,
  KubeTransportError,
  parseKubeStatus,
  parseRetryAfterMs,
} from './kube-api-error.js';

export type QueryValue = string | number | boolean | undefined;

export interface KubeRequestOptions {
  readonly query?: Readonly<Record<string, QueryValue>>;
  readonly signal?: AbortSignal;
  /** Longest silence allowed between two body chunks. Default 60 s; never unbounded. */
  readonly bodyTimeoutMs?: number;
  /** Longest wait for the response headers. Default 60 s. */
  readonly headersTimeoutMs?: number;
  /** Bytes the response body buffers before it pushes back on the socket. Default 64 KiB. */
  readonly highWaterMark?: number;
  /** `getJson`: the largest body read; a longer one fails with `ERR_KUBE_RESPONSE_TOO_LARGE`. Default 128 MiB. */
  readonly maxBodyBytes?: number;
}

/** An open response body whose status was 2xx. */
export interface KubeStream {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Readable;
  /** Ends the body and frees its connection. */
  destroy(): void;
}

export interface KubeClientOptions {
  /** Sent as User-Agent. */
  readonly userAgent?: string;
  /**
   * Upper bound of the one-shot requests (LIST, GET) in flight at once. Over HTTP/1.1 that is the
   * connections they use; over HTTP/2 it bounds their streams (they share the connections of the
   * watches). Watches never queue behind it: over HTTP/1.1 each open watch holds a connection of its
   * own, outside this bound; over HTTP/2 each is a stream. Default: no bound.
   */
  readonly connections?: number;
  /**
   * HTTP/2 over TLS when the apiserver offers it (ALPN `h2`): all requests and watches of the client
   * multiplex over ⌈streams / SETTINGS_MAX_CONCURRENT_STREAMS⌉ connections (the apiserver allows
   * 100 per connection). Plain `http://` servers and servers that negotiate HTTP/1.1 get HTTP/1.1.
   * Default true; false keeps HTTP/1.1 (one connection per watch).
   */
  readonly http2?: boolean;
  /**
   * HTTP/2: at most this many streams per connection, below the server's advertised limit
   * (SETTINGS_MAX_CONCURRENT_STREAMS; 1000 when it advertises none). Default: the server's limit.
   */
  readonly maxStreamsPerConnection?: number;
  /**
   * HTTP/2 connection health, as client-go checks it: a connection carrying streams that has read
   * nothing for `readIdleTimeoutMs` is sent a PING, and closed when no answer comes within
   * `pingTimeoutMs`; its watches then resume at once on a new connection. Defaults 30 s and 15 s;
   * `readIdleTimeoutMs: 0` turns the check off.
   */
  readonly http2Health?: { readonly readIdleTimeoutMs?: number; readonly pingTimeoutMs?: number };
}

/** What a client is speaking to its apiserver, and over how many connections (diagnostics, tests). */
export interface KubeClientTransportStats {
  /** `undefined` before the first request decided it. */
  readonly protocol: 'h2' | 'http/1.1' | undefined;
  /** HTTP/2 only: its connections and streams. */
  readonly http2?: Http2ConnectionStats;
}

/** A small, authenticated HTTP client for one apiserver. */
export interface KubeClient {
  readonly config: KubeConfig;
  /** GET a JSON document (a List, a single object, discovery). */
  getJson(path: string, options?: KubeRequestOptions): Promise<unknown>;
  /**
   * GET a JSON document's bytes, handed to `onChunk` as they arrive (a LIST parsed while it is on
   * the wire); resolves once the body has ended. The same requests, limits (`maxBodyBytes`,
   * `bodyTimeoutMs`, `signal`) and errors as `getJson`, parsing aside: see `parseJsonBody`.
   */
  readBody(path: string, options: KubeRequestOptions, onChunk: (chunk: Buffer) => void): Promise<void>;
  /** GET a streaming response (a watch); the caller must consume or destroy the body. */
  stream(path: string, options?: KubeRequestOptions): Promise<KubeStream>;
  /** Closes the connection pool, aborting requests in flight (watches included: their streams complete). */
  close(): Promise<void>;
  /** The protocol in use and the HTTP/2 connections. */
  transportStats(): KubeClientTransportStats;
}

const DEFAULT_USER_AGENT = 'endpoint-watch/0.1 (node)';
const DEFAULT_HEADERS_TIMEOUT_MS = 60_000;
const DEFAULT_BODY_TIMEOUT_MS = 60_000;
export const DEFAULT_MAX_BODY_BYTES = 128 * 1024 * 1024;
/**
 * An error body is read up to this much, for its Status; beyond it the connection is dropped
 * rather than drained (a proxy's 1.5 GB error page must not be held in memory for 300 characters).
 */
export const MAX_ERROR_BODY_BYTES = 64 * 1024;

/** Creates a client with one keep-alive pool to the apiserver of `config`. */
export function createKubeClient(config: KubeConfig, options: KubeClientOptions = {}): KubeClient {
  return new UndiciKubeClient(config, options);
}

class UndiciKubeClient implements KubeClient {
  readonly config: KubeConfig;
  readonly #origin: string;
  readonly #basePath: string;
  readonly #userAgent: string;
  readonly #connections: number | undefined;
  readonly #maxStreamsPerConnection: number | undefined;
  readonly #http2Health: KubeClientOptions['http2Health'];
  /** 'h2' while HTTP/2 is possible (not yet refused by ALPN); 'http/1.1' for good once it is not. */
  #protocol: 'h2' | 'http/1.1';
  #negotiated = false;
  #pools: { readonly requests: Pool; readonly streams: Pool } | undefined;
  #poolCertificate: ClientCertificate | undefined;
  #h2: Http2Connections | undefined;
  #h2Certificate: ClientCertificate | undefined;
  /** HTTP/2: the `connections` bound on one-shot requests in flight. */
  readonly #requestSlots: Semaphore | undefined;
  #closed = false;

  constructor(config: KubeConfig, options: KubeClientOptions) {
    this.config = config;
    const url = new URL(config.server);
    this.#origin = url.origin;
    this.#basePath = withoutTrailingSlashes(url.pathname);
    this.#userAgent = options.userAgent ?? DEFAULT_USER_AGENT;
    this.#connections = options.connections;
    this.#maxStreamsPerConnection = options.maxStreamsPerConnection;
    this.#http2Health = options.http2Health;
    this.#protocol = options.http2 !== false && url.protocol === 'https:' ? 'h2' : 'http/1.1';
    this.#negotiated = this.#protocol === 'http/1.1';
    this.#requestSlots = options.connections === undefined ? undefined : new Semaphore(options.connections);
  }

  transportStats(): KubeClientTransportStats {
    const protocol = this.#negotiated ? this.#protocol : undefined;
    if (protocol !== 'h2' || this.#h2 === undefined) return { protocol };
    return { protocol, http2: this.#h2.stats() };
  }

  async getJson(path: string, options: KubeRequestOptions = {}): Promise<unknown> {
    const chunks: Buffer[] = [];
    let length = 0;
    await this.readBody(path, options, (chunk) => {
      chunks.push(chunk);
      length += chunk.length;
    });
    return parseJsonBody(Buffer.concat(chunks, length), path);
  }

  async readBody(path: string, options: KubeRequestOptions, onChunk: (chunk: Buffer) => void): Promise<void> {
    const response = await this.#send(path, options, 'requests');
    const maxBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    const body = response.body;
    let length = 0;
    try {
      for await (const chunk of body) {
        length += (chunk as Buffer).length;
        if (length > maxBytes) {
          // Not drained: the connection is dropped instead.
          body.on('error', ignoreError);
          body.destroy();
          throw new KubeTransportError(
            'ERR_KUBE_RESPONSE_TOO_LARGE',
            'GET',
            path,
            `the response body exceeded ${maxBytes} bytes; raise the limit (maxListBytes) or page smaller (pageSize)`,
          );
        }
        onChunk(chunk as Buffer);
      }
    } catch (cause) {
      if (cause instanceof KubeTransportError) throw cause;
      throw describeTransportFailure(cause, path, this.config);
    }
  }

  async stream(path: string, options: KubeRequestOptions = {}): Promise<KubeStream> {
    const response = await this.#send(path, options, 'streams');
    const body = response.body;
    return {
      statusCode: response.statusCode,
      headers: response.headers,
      body,
      destroy: () => {
        // undici reports the destruction of an unfinished body as an 'error': we asked for it.
        body.on('error', ignoreError);
        body.destroy();
      },
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    const pools = this.#pools;
    this.#pools = undefined;
    // Watches never finish on their own: end them instead of waiting for them.
    this.#h2?.destroy();
    this.#h2 = undefined;
    await Promise.all([pools?.requests.destroy(), pools?.streams.destroy()]);
  }

  /** Sends a GET; on 401 re-reads the credentials once and retries (rotated tokens). */
  async #send(path: string, options: KubeRequestOptions, use: PoolUse): Promise<Response> {
    let response = await this.#attempt(path, options, false, use);
    if (response.statusCode === 401) {
      await response.discard();
      response = await this.#attempt(path, options, true, use);
    }
    if (response.statusCode >= 200 && response.statusCode < 300) return response;
    throw await this.#apiError(path, response);
  }

  async #attempt(
    path: string,
    options: KubeRequestOptions,
    refresh: boolean,
    use: PoolUse,
  ): Promise<Response> {
    if (this.#closed) {
      throw new KubeTransportError('ERR_KUBE_CLIENT_CLOSED', 'GET', path, 'the client is closed');
    }
    const credentials = await this.config.auth.credentials({
      refresh,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': this.#userAgent };
    if (credentials.token) headers.authorization = `Bearer ${credentials.token.reveal()}`;
    if (this.#protocol === 'h2') {
      try {
        return await this.#attemptHttp2(path, options, headers, credentials.clientCertificate, use);
      } catch (error) {
        if (!(error instanceof Http2NotNegotiatedError))
          throw describeTransportFailure(error, path, this.config);
        // The server speaks HTTP/1.1 only: so will this client, from now on.
        this.#protocol = 'http/1.1';
        this.#h2?.close();
        this.#h2 = undefined;
      }
    }
    this.#negotiated = true;
    const pool = this.#poolsFor(credentials.clientCertificate)[use];
    try {
      const response = await pool.request({
        method: 'GET',
        path: this.#basePath + path + renderQuery(options.query),
        headers,
        signal: options.signal,
        bodyTimeout: options.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS,
        headersTimeout: options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS,
        ...(options.highWaterMark === undefined ? {} : { highWaterMark: options.highWaterMark }),
      });
      return {
        statusCode: response.statusCode,
        headers: response.headers,
        body: response.body,
        discard: () => response.body.dump({ limit: MAX_ERROR_BODY_BYTES }).then(ignoreError, ignoreError),
      };
    } catch (error) {
      throw describeTransportFailure(error, path, this.config);
    }
  }

  /** One request as a stream of the shared HTTP/2 connections; one-shot ones within `connections`. */
  async #attemptHttp2(
    path: string,
    options: KubeRequestOptions,
    headers: Record<string, string>,
    certificate: ClientCertificate | undefined,
    use: PoolUse,
  ): Promise<Response> {
    const connections = this.#http2For(certificate);
    const release = use === 'requests' ? await this.#requestSlots?.acquire(options.signal) : undefined;
    try {
      const response = await connections.request({
        path: this.#basePath + path + renderQuery(options.query),
        headers,
        signal: options.signal,
        headersTimeoutMs: options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS,
        bodyTimeoutMs: options.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS,
        highWaterMark: options.highWaterMark,
      });
      this.#negotiated = true;
      // A one-shot request holds its slot until its body is read or dropped.
      if (release !== undefined) response.body.once('close', release);
      return {
        ...response,
        discard: async () => {
          // Resets the stream: nothing to drain, the connection stays.
          response.body.on('error', ignoreError);
          response.body.destroy();
        },
      };
    } catch (error) {
      release?.();
      throw error;
    }
  }

  /** The HTTP/2 connections presenting the current client certificate; a rotated one gets new ones. */
  #http2For(certificate: ClientCertificate | undefined): Http2Connections {
    if (this.#h2 && this.#h2Certificate?.cert === certificate?.cert) return this.#h2;
    const previous = this.#h2;
    const { tls } = this.config;
    this.#h2 = new Http2Connections(
      this.#origin,
      {
        ...(tls.ca === undefined ? {} : { ca: tls.ca }),
        ...(tls.serverName === undefined ? {} : { servername: tls.serverName }),
        ...(certificate ? { cert: certificate.cert, key: certificate.key.reveal() } : {}),
        rejectUnauthorized: !tls.insecureSkipTlsVerify,
      },
      { maxStreamsPerConnection: this.#maxStreamsPerConnection, ...this.#http2Health },
    );
    this.#h2Certificate = certificate;
    // In-flight watches on the old connections end on their own; new requests use the new identity.
    previous?.close();
    return this.#h2;
  }

  /**
   * The pools presenting the current client certificate; a rotated certificate gets new ones.
   * Watches have a pool of their own, outside the `connections` bound (see `KubeClientOptions`).
   */
  #poolsFor(certificate: ClientCertificate | undefined): { requests: Pool; streams: Pool } {
    if (this.#pools && this.#poolCertificate?.cert === certificate?.cert) return this.#pools;
    const previous = this.#pools;
    const { tls } = this.config;
    const connect = {
      ...(tls.ca === undefined ? {} : { ca: tls.ca }),
      ...(tls.serverName === undefined ? {} : { servername: tls.serverName }),
      ...(certificate ? { cert: certificate.cert, key: certificate.key.reveal() } : {}),
      rejectUnauthorized: !tls.insecureSkipTlsVerify,
    };
    this.#pools = {
      requests: new Pool(this.#origin, {
        ...(this.#connections === undefined ? {} : { connections: this.#connections }),
        connect,
      }),
      streams: new Pool(this.#origin, { connect }),
    };
    this.#poolCertificate = certificate;
    // In-flight watches on the old pools end on their own; new requests use the new identity.
    previous?.requests.close().catch(() => undefined);
    previous?.streams.close().catch(() => undefined);
    return this.#pools;
  }

  async #apiError(path: string, response: Response): Promise<KubeApiError> {
    const head = await readAtMost(response.body, MAX_ERROR_BODY_BYTES).catch(() => undefined);
    const text = head?.bytes.toString('utf8') ?? '';
    let status: KubeStatus | undefined;
    try {
      status = parseKubeStatus(JSON.parse(text), response.statusCode);
    } catch {
      // Not JSON (a proxy in front of the apiserver, say): keep the start of the text.
    }
    return new KubeApiError({
      method: 'GET',
      path,
      status: status ?? {
        code: response.statusCode,
        reason: '',
        message:
          head?.truncated === true
            ? `${text.slice(0, 300).trim()}… (a body over ${MAX_ERROR_BODY_BYTES} bytes, not read further)`
            : text.slice(0, 300).trim(),
      },
      retryAfterMs: parseRetryAfterMs(response.headers['retry-after']),
    });
  }
}

type PoolUse = 'requests' | 'streams';

/** A response over either protocol. */
interface Response {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Readable;
  /** Drops the body of a response that will not be read (a 401 before the retry). */
  discard(): Promise<void>;
}

/** A counting semaphore whose waiters can give up (abort). */
class Semaphore {
  #free: number;
  readonly #waiters: Array<() => void> = [];

  constructor(size: number) {
    this.#free = Math.max(1, Math.floor(size));
  }

  async acquire(signal: AbortSignal | undefined): Promise<() => void> {
    if (this.#free > 0) {
      this.#free--;
      return this.#releaser();
    }
    signal?.throwIfAborted();
    await new Promise<void>((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        const index = this.#waiters.indexOf(grant);
        if (index >= 0) this.#waiters.splice(index, 1);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(grant);
    });
    return this.#releaser();
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiters.shift();
      if (next === undefined) this.#free++;
      else next();
    };
  }
}

function ignoreError(): void {}

/**
 * Reads an error body to its end, or its first `maxBytes` bytes, marked `truncated`: then the rest
 * is not read and the body is destroyed (which drops its connection instead of draining it).
 */
async function readAtMost(body: Readable, maxBytes: number): Promise<{ bytes: Buffer; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of body) {
    chunks.push(chunk as Buffer);
    length += (chunk as Buffer).length;
    if (length > maxBytes) {
      body.on('error', ignoreError);
      body.destroy();
      return { bytes: Buffer.concat(chunks, maxBytes), truncated: true };
    }
  }
  return { bytes: Buffer.concat(chunks, length), truncated: false };
}

/** A whole response body as JSON; text that is not JSON is a transport failure (`ERR_KUBE_TRANSPORT`). */
export function parseJsonBody(body: Buffer, path: string): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (cause) {
    throw new KubeTransportError('ERR_KUBE_TRANSPORT', 'GET', path, 'response body is not valid JSON', {
      cause,
    });
  }
}

function renderQuery(query: KubeRequestOptions['query']): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined) params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

const TLS_NAME_CODES = new Set(['ERR_TLS_CERT_ALTNAME_INVALID', 'ERR_TLS_CERT_ALTNAME_FORMAT']);
const TLS_TRUST_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
]);

/** Turns a socket/TLS/undici failure into a typed error whose message tells the user what to do. */
function describeTransportFailure(error: unknown, path: string, config: KubeConfig): unknown {
  if (!(error instanceof Error)) return error;
  if (error.name === 'AbortError') return error;
  const code = (error as { code?: unknown }).code;
  const server = config.server;
  if (typeof code === 'string' && TLS_NAME_CODES.has(code)) {
    const name = config.tls.serverName ?? new URL(server).hostname;
    // Node's message lists only the names of the kind checked (none, for an IP): give them all.
    const names = (error as { cert?: { subjectaltname?: unknown } }).cert?.subjectaltname;
    const why = typeof names === 'string' && names !== '' ? `the certificate names ${names}` : error.message;
    return new KubeTransportError(
      'ERR_KUBE_TLS_NAME',
      'GET',
      path,
      `the apiserver certificate of ${server} is not valid for the name "${name}" (${why}); ` +
        'set tlsServerName (kubeconfig: tls-server-name) to a name the certificate was issued for. No credentials were sent.',
      { cause: error },
    );
  }
  if (typeof code === 'string' && TLS_TRUST_CODES.has(code)) {
    return new KubeTransportError(
      'ERR_KUBE_TLS_TRUST',
      'GET',
      path,
      `the apiserver certificate of ${server} is not trusted (${code}: ${error.message}); ` +
        'check the CA (certificate-authority-data, or ca.crt in-cluster). No credentials were sent.',
      { cause: error },
    );
  }
  if (code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT') {
    const what = code === 'UND_ERR_BODY_TIMEOUT' ? 'the response body' : 'the response headers';
    return new KubeTransportError('ERR_KUBE_IDLE', 'GET', path, `${what} stayed silent too long`, {
      cause: error,
    });
  }
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ETIMEDOUT') {
    return new KubeTransportError('ERR_KUBE_UNREACHABLE', 'GET', path, `cannot reach ${server} (${code})`, {
      cause: error,
    });
  }
  return new KubeTransportError('ERR_KUBE_TRANSPORT', 'GET', path, error.message, { cause: error });
}
