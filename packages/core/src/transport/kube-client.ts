import type { Readable } from 'node:stream';
import { type Dispatcher, Pool } from 'undici';
import { withoutTrailingSlashes } from '../config/settings.js';
import type { ClientCertificate, KubeConfig } from '../config/types.js';
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
   * Upper bound of the connections that one-shot requests (LIST, GET) use. Watches never queue
   * behind it: each open watch holds a connection of its own (HTTP/1.1), outside this bound, so that
   * a watch cannot wait forever for a connection another watch holds. Default: no bound.
   */
  readonly connections?: number;
}

/** A small, authenticated HTTP client for one apiserver. */
export interface KubeClient {
  readonly config: KubeConfig;
  /** GET a JSON document (a List, a single object, discovery). */
  getJson(path: string, options?: KubeRequestOptions): Promise<unknown>;
  /** GET a streaming response (a watch); the caller must consume or destroy the body. */
  stream(path: string, options?: KubeRequestOptions): Promise<KubeStream>;
  /** Closes the connection pool, aborting requests in flight (watches included: their streams complete). */
  close(): Promise<void>;
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
  #pools: { readonly requests: Pool; readonly streams: Pool } | undefined;
  #poolCertificate: ClientCertificate | undefined;
  #closed = false;

  constructor(config: KubeConfig, options: KubeClientOptions) {
    this.config = config;
    const url = new URL(config.server);
    this.#origin = url.origin;
    this.#basePath = withoutTrailingSlashes(url.pathname);
    this.#userAgent = options.userAgent ?? DEFAULT_USER_AGENT;
    this.#connections = options.connections;
  }

  async getJson(path: string, options: KubeRequestOptions = {}): Promise<unknown> {
    const response = await this.#send(path, options, 'requests');
    const maxBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    let body: Buffer | undefined;
    try {
      body = await readAtMost(response.body, maxBytes);
    } catch (cause) {
      throw describeTransportFailure(cause, path, this.config);
    }
    if (body === undefined) {
      throw new KubeTransportError(
        'ERR_KUBE_RESPONSE_TOO_LARGE',
        'GET',
        path,
        `the response body exceeded ${maxBytes} bytes; raise the limit (maxListBytes) or page smaller (pageSize)`,
      );
    }
    try {
      return JSON.parse(body.toString('utf8'));
    } catch (cause) {
      throw new KubeTransportError('ERR_KUBE_TRANSPORT', 'GET', path, 'response body is not valid JSON', {
        cause,
      });
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
    await Promise.all([pools?.requests.destroy(), pools?.streams.destroy()]);
  }

  /** Sends a GET; on 401 re-reads the credentials once and retries (rotated tokens). */
  async #send(path: string, options: KubeRequestOptions, use: PoolUse): Promise<Dispatcher.ResponseData> {
    let response = await this.#attempt(path, options, false, use);
    if (response.statusCode === 401) {
      await response.body.dump({ limit: MAX_ERROR_BODY_BYTES }).catch(() => undefined);
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
  ): Promise<Dispatcher.ResponseData> {
    if (this.#closed) {
      throw new KubeTransportError('ERR_KUBE_CLIENT_CLOSED', 'GET', path, 'the client is closed');
    }
    const credentials = await this.config.auth.credentials({
      refresh,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': this.#userAgent };
    if (credentials.token) headers.authorization = `Bearer ${credentials.token.reveal()}`;
    const pool = this.#poolsFor(credentials.clientCertificate)[use];
    try {
      return await pool.request({
        method: 'GET',
        path: this.#basePath + path + renderQuery(options.query),
        headers,
        signal: options.signal,
        bodyTimeout: options.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS,
        headersTimeout: options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS,
        ...(options.highWaterMark === undefined ? {} : { highWaterMark: options.highWaterMark }),
      });
    } catch (error) {
      throw describeTransportFailure(error, path, this.config);
    }
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

  async #apiError(path: string, response: Dispatcher.ResponseData): Promise<KubeApiError> {
    const head = await readAtMost(response.body, MAX_ERROR_BODY_BYTES, true).catch(() => undefined);
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

function ignoreError(): void {}

/**
 * Reads a body to its end, or until it holds more than `maxBytes`: then the rest is not read, the
 * body is destroyed (which drops its connection instead of draining it), and the result is
 * `undefined`, or with `keepHead` its first `maxBytes` bytes, marked `truncated`.
 */
async function readAtMost(
  body: Readable,
  maxBytes: number,
  keepHead: true,
): Promise<{ bytes: Buffer; truncated: boolean }>;
async function readAtMost(body: Readable, maxBytes: number): Promise<Buffer | undefined>;
async function readAtMost(
  body: Readable,
  maxBytes: number,
  keepHead = false,
): Promise<Buffer | undefined | { bytes: Buffer; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of body) {
    chunks.push(chunk as Buffer);
    length += (chunk as Buffer).length;
    if (length > maxBytes) {
      body.on('error', ignoreError);
      body.destroy();
      return keepHead ? { bytes: Buffer.concat(chunks, maxBytes), truncated: true } : undefined;
    }
  }
  const bytes = Buffer.concat(chunks, length);
  return keepHead ? { bytes, truncated: false } : bytes;
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
