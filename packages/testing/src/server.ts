/**
 * The fake apiserver: a real node:http / node:https server on loopback serving list, get and watch of
 * discovery.k8s.io/v1 EndpointSlices and v1 Endpoints, with auth, TLS/mTLS, recording and faults.
 */
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createSecureServer, constants as http2Constants, type ServerHttp2Session } from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import type { Server as NetServer, Socket } from 'node:net';
import { authenticate } from './auth.js';
import {
  apiGroup,
  apiGroupList,
  apiVersions,
  coreV1Resources,
  discoveryV1Resources,
  versionInfo,
} from './discovery.js';
import { createFaults, type FakeApiServerFaults, FaultState, type FaultTarget } from './faults.js';
import {
  buildKubeconfig,
  type KubeconfigOptions,
  type ServiceAccountFiles,
  writeServiceAccountFiles,
} from './kubeconfig.js';
import { listObjects } from './list.js';
import { qualifiedResource, type ResourceInfo, resourceForKind } from './resources.js';
import {
  baseHeaders,
  sendJson,
  sendJsonInParts,
  sendJsonSplit,
  sendPaddedStatus,
  sendStatus,
  sendText,
} from './respond.js';
import { parseRoute, type Route, underKnownApi } from './routes.js';
import {
  type ObjectFilter,
  parseFieldSelector,
  parseLabelSelector,
  type Selector,
  SelectorError,
} from './selectors.js';
import { failureStatus } from './status.js';
import { Store } from './store.js';
import {
  type CertificateAuthority,
  createCertificateAuthority,
  createClientCertificate,
  createServerCertificate,
  type TlsMaterial,
} from './tls.js';
import type { KubeObject, RecordedRequest, ResourceKind } from './types.js';
import { planWatch } from './watch-request.js';
import { type WatchInfo, WatchStream } from './watch-stream.js';

export interface FakeApiServerOptions {
  /** Loopback address to listen on: '127.0.0.1' (default) or '::1'. */
  host?: string;
  /** Default 0 (an ephemeral port). */
  port?: number;
  /**
   * HTTPS with a generated CA. Server certificate SANs default to localhost, 127.0.0.1 and ::1 (plus
   * `host`); `names` makes a certificate valid ONLY for those names; `ca` signs with your CA instead.
   */
  tls?: boolean | { names?: string[]; ca?: CertificateAuthority };
  /** mTLS (implies tls): clients must present a certificate signed by the server's CA (`tls.client`). */
  requireClientCertificate?: boolean;
  /** Required bearer token (default 'test-token'); false = no authentication. */
  token?: string | false;
  /** Period of BOOKMARK events to watches with allowWatchBookmarks=true (default 60 000 ms). */
  bookmarkIntervalMs?: number;
  /** Serve `sendInitialEvents` (default true); false answers it with 422 like a server whose WatchList gate is off. */
  watchList?: boolean;
  /** Objects stored before the server starts listening. */
  initialObjects?: object[];
  /** What /version reports (default 'v1.34.1'). */
  kubernetesVersion?: string;
  /**
   * Changes kept for watch replay and consistent paging (default 100 000). Beyond it the oldest go,
   * as from a watch cache: watches and continue tokens from before them get 410 Expired.
   */
  historyLimit?: number;
  /**
   * With TLS: HTTP/2 as well (ALPN `h2`; HTTP/1.1 clients are still served, as by the apiserver).
   * Default true; false serves HTTP/1.1 only. Ignored without TLS (no h2c, like the apiserver).
   */
  http2?: boolean | FakeHttp2Options;
}

export interface FakeHttp2Options {
  /** SETTINGS_MAX_CONCURRENT_STREAMS advertised per connection, and enforced (default 100, the apiserver's). */
  maxConcurrentStreams?: number;
  /**
   * Refuse (RST_STREAM REFUSED_STREAM) every stream over this many open on one connection, without
   * advertising it: a server whose real limit is below what it said, or that lowered it.
   */
  refuseStreamsOver?: number;
}

/** The connections the server has accepted (TCP, both protocols). */
export interface FakeConnectionStats {
  /** Accepted since the start. */
  readonly accepted: number;
  /** Open now. */
  readonly open: number;
  /** HTTP/2 sessions open now. */
  readonly http2Sessions: number;
  /** HTTP/2 sessions since the start. */
  readonly http2SessionsTotal: number;
  /** Streams refused with REFUSED_STREAM (the fault or `refuseStreamsOver`). */
  readonly refusedStreams: number;
}

export interface WaitForRequestOptions {
  /** Default 5000 ms. */
  timeoutMs?: number;
  /** Index into `requests` from which to look (default: requests.length at the call, i.e. future requests). */
  since?: number;
}

/** What `onWatchChange` reports. */
export type WatchChange = 'opened' | 'closed';

export interface FakeApiServer {
  /** 'http(s)://127.0.0.1:PORT' (IPv6 bracketed), no trailing slash. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly tls: TlsMaterial | undefined;
  /** The accepted bearer token; undefined when authentication is off. */
  readonly token: string | undefined;
  /** Token rotation: from now on only `token` is accepted (401 otherwise). */
  setToken(token: string): void;
  /** Current global resourceVersion (decimal string, increasing). */
  readonly resourceVersion: string;
  /**
   * Creates or replaces an object by (kind, namespace, name), assigning resourceVersion, uid (stable
   * across updates), creationTimestamp (and generation for EndpointSlices); notifies watches with
   * ADDED or MODIFIED. Returns a copy of the stored object. An update that changes nothing is not
   * written (no new resourceVersion, no event), as on a real apiserver.
   */
  upsert<T extends object>(obj: T): T;
  /** Deletes an object (watches get DELETED with its last state and a new resourceVersion); false if absent. */
  delete(kind: ResourceKind, namespace: string, name: string): boolean;
  /** Changes made inside `fn` reach each watch in one socket write. */
  batch(fn: () => void): void;
  /** Copies of the stored objects of a kind, sorted by namespace/name. */
  list(kind: ResourceKind, namespace?: string): KubeObject[];
  get(kind: ResourceKind, namespace: string, name: string): KubeObject | undefined;
  /**
   * Forgets the history: watches from an older resourceVersion get an in-stream 410, continue tokens
   * issued before get HTTP 410. The resourceVersion advances by one (as other writes would move it).
   */
  compact(): void;
  readonly faults: FakeApiServerFaults;
  /** Every request received, in order. */
  readonly requests: readonly RecordedRequest[];
  /** Forgets the recorded requests. */
  clearRequests(): void;
  readonly openWatches: number;
  /** The watches open now, oldest first: who asked (path, query, headers), since when, what was written. */
  listWatches(): WatchInfo[];
  /**
   * Calls `listener` (synchronously; it must not throw) when a watch opens, after its first lines
   * were queued, and when it closes. Returns what removes the listener.
   */
  onWatchChange(listener: (watch: WatchInfo, change: WatchChange) => void): () => void;
  /** Resolves once at least `count` watches are open; rejects after `timeoutMs` (default 5000). */
  waitForWatches(count: number, timeoutMs?: number): Promise<void>;
  /** Resolves with the first request (from `since` on) for which `match` returns true. */
  waitForRequest(
    match: (req: RecordedRequest) => boolean,
    options?: WaitForRequestOptions,
  ): Promise<RecordedRequest>;
  /** TCP connections accepted and open, HTTP/2 sessions, refused streams. */
  connectionStats(): FakeConnectionStats;
  /** A kubeconfig YAML for this server (CA data, token, client certificate under mTLS). */
  kubeconfig(options?: KubeconfigOptions): string;
  /** Writes token, ca.crt and namespace into `dir`, like a pod's mounted service account. */
  writeServiceAccount(dir: string, options?: { namespace?: string }): ServiceAccountFiles;
  /** Ends every watch and connection; resolves within about two seconds at most. */
  close(): Promise<void>;
}

function defaultNames(host: string): string[] {
  return [...new Set(['localhost', '127.0.0.1', '::1', host])];
}

function acceptsJson(accept: string | undefined): boolean {
  if (accept === undefined || accept.trim() === '') return true;
  return accept.split(',').some((part) => {
    const type = part.split(';')[0]?.trim().toLowerCase() ?? '';
    return type === 'application/json' || type === '*/*' || type === 'application/*';
  });
}

function isTrue(value: string | undefined): boolean {
  return value === 'true' || value === '1';
}

interface Waiter {
  check(): boolean;
  reject(error: Error): void;
}

/** A restart's down time: the listener is closed until `end` runs. */
interface DownTime {
  readonly timer: NodeJS.Timeout;
  readonly end: () => void;
}

class FakeApiServerImpl implements FakeApiServer, FaultTarget {
  readonly store: Store;
  private readonly faultState = new FaultState();
  readonly faults: FakeApiServerFaults;
  private readonly recorded: RecordedRequest[] = [];
  private readonly watches = new Set<WatchStream>();
  private readonly watchListeners = new Set<(watch: WatchInfo, change: WatchChange) => void>();
  private watchCount = 0;
  private downTime: DownTime | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly sessions = new Set<ServerHttp2Session>();
  /** TLS sockets by remote address:port, to cut an HTTP/2 connection abruptly. */
  private readonly tlsSockets = new Map<string, Socket>();
  private readonly sessionStreams = new WeakMap<ServerHttp2Session, number>();
  private accepted = 0;
  private sessionsTotal = 0;
  private refused = 0;
  refuseStreamsOver: number | undefined;
  private readonly waiters = new Set<Waiter>();
  private currentToken: string | undefined;
  private closing: Promise<void> | undefined;
  url = '';
  port = 0;
  server!: NetServer;

  constructor(
    readonly host: string,
    readonly tls: TlsMaterial | undefined,
    token: string | undefined,
    private readonly bookmarkIntervalMs: number,
    private readonly watchList: boolean,
    private readonly kubernetesVersion: string,
    historyLimit: number,
  ) {
    this.store = new Store(historyLimit);
    this.currentToken = token;
    this.faults = createFaults(this.faultState, this);
  }

  attach(server: NetServer): void {
    this.server = server;
    server.on('connection', (socket: Socket) => {
      this.accepted++;
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    server.on('secureConnection', (socket: Socket) => {
      const key = `${socket.remoteAddress}:${socket.remotePort}`;
      this.tlsSockets.set(key, socket);
      socket.on('close', () => this.tlsSockets.delete(key));
    });
    server.on('session', (session: ServerHttp2Session) => {
      this.sessionsTotal++;
      this.sessions.add(session);
      session.on('error', () => {});
      session.on('close', () => this.sessions.delete(session));
    });
  }

  connectionStats(): FakeConnectionStats {
    return {
      accepted: this.accepted,
      open: this.sockets.size,
      http2Sessions: this.sessions.size,
      http2SessionsTotal: this.sessionsTotal,
      refusedStreams: this.refused,
    };
  }

  get token(): string | undefined {
    return this.currentToken;
  }

  setToken(token: string): void {
    this.currentToken = token;
  }

  get resourceVersion(): string {
    return String(this.store.resourceVersion);
  }

  upsert<T extends object>(obj: T): T {
    return structuredClone(this.store.upsert(obj)) as unknown as T;
  }

  delete(kind: ResourceKind, namespace: string, name: string): boolean {
    return this.store.delete(kind, namespace, name);
  }

  batch(fn: () => void): void {
    this.store.batch(fn);
  }

  private info(kind: ResourceKind): ResourceInfo {
    const info = resourceForKind(kind);
    if (info === undefined) throw new Error(`unknown kind ${kind}`);
    return info;
  }

  list(kind: ResourceKind, namespace?: string): KubeObject[] {
    return this.store
      .current(this.info(kind))
      .filter((o) => namespace === undefined || o.metadata.namespace === namespace)
      .map((o) => structuredClone(o));
  }

  get(kind: ResourceKind, namespace: string, name: string): KubeObject | undefined {
    const obj = this.store.get(this.info(kind), namespace, name);
    return obj === undefined ? undefined : structuredClone(obj);
  }

  compact(): void {
    this.store.compact();
  }

  get requests(): readonly RecordedRequest[] {
    return this.recorded;
  }

  clearRequests(): void {
    this.recorded.length = 0;
  }

  get openWatches(): number {
    return this.watches.size;
  }

  listWatches(): WatchInfo[] {
    return [...this.watches].map((w) => w.info());
  }

  onWatchChange(listener: (watch: WatchInfo, change: WatchChange) => void): () => void {
    this.watchListeners.add(listener);
    return () => this.watchListeners.delete(listener);
  }

  private watchChanged(watch: WatchStream, change: WatchChange): void {
    if (this.watchListeners.size === 0) return;
    const info = watch.info();
    for (const listener of [...this.watchListeners]) listener(info, change);
  }

  openWatchStreams(): Iterable<WatchStream> {
    return this.watches;
  }

  async restart(downMs: number): Promise<void> {
    if (this.closing) return;
    // A fresh watch cache knows only the current state: every resourceVersion handed out is expired.
    this.store.compact();
    const stopListening =
      downMs > 0 && this.downTime === undefined && this.server.listening
        ? new Promise<void>((resolve) => this.server.close(() => resolve()))
        : undefined;
    this.dropConnections();
    if (stopListening === undefined) return;
    await stopListening;
    if (this.closing) return;
    await new Promise<void>((resolve) => {
      const end = () => {
        clearTimeout(timer);
        this.downTime = undefined;
        resolve();
      };
      const timer = setTimeout(end, downMs);
      this.downTime = { timer, end };
    });
    if (this.closing) return;
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, this.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  endDownTime(): void {
    this.downTime?.end();
  }

  /**
   * Ends every watch, held request and connection at once. HTTP/2 connections get a GOAWAY first
   * (what a shutting-down apiserver sends), then their sockets close too.
   */
  private dropConnections(): void {
    for (const session of this.sessions) {
      if (!session.closed && !session.destroyed) session.goaway(http2Constants.NGHTTP2_NO_ERROR);
    }
    for (const watch of [...this.watches]) watch.destroy('restart');
    this.faultState.dropAll();
    const server = this.server as Partial<Server>;
    server.closeAllConnections?.();
    const sockets = [...this.sockets];
    const sessions = [...this.sessions];
    if (sessions.length === 0) {
      for (const socket of sockets) socket.destroy();
      return;
    }
    // Let the GOAWAY frames reach the wire before the sockets go.
    // Not unref'd: a close() waiting for these sockets must keep the process alive until they go.
    setTimeout(() => {
      for (const session of sessions) session.destroy();
      for (const socket of sockets) socket.destroy();
    }, 50);
  }

  private wait<T>(timeoutMs: number, describe: () => string, poll: () => T | undefined): Promise<T> {
    const first = poll();
    if (first !== undefined) return Promise.resolve(first);
    if (this.closing) return Promise.reject(new Error('fake apiserver is closed'));
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = {
        check: () => {
          const value = poll();
          if (value === undefined) return false;
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(value);
          return true;
        },
        reject: (error) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          reject(error);
        },
      };
      const timer = setTimeout(() => waiter.reject(new Error(describe())), timeoutMs);
      timer.unref();
      this.waiters.add(waiter);
    });
  }

  private checkWaiters(): void {
    for (const waiter of [...this.waiters]) waiter.check();
  }

  waitForWatches(count: number, timeoutMs = 5000): Promise<void> {
    return this.wait(
      timeoutMs,
      () => `timed out after ${timeoutMs} ms waiting for ${count} open watches (open: ${this.watches.size})`,
      () => (this.watches.size >= count ? true : undefined),
    ).then(() => undefined);
  }

  waitForRequest(
    match: (req: RecordedRequest) => boolean,
    options: WaitForRequestOptions = {},
  ): Promise<RecordedRequest> {
    const timeoutMs = options.timeoutMs ?? 5000;
    const since = options.since ?? this.recorded.length;
    return this.wait(
      timeoutMs,
      () =>
        `timed out after ${timeoutMs} ms waiting for a matching request (${this.recorded.length - since} seen)`,
      () => this.recorded.slice(since).find(match),
    );
  }

  kubeconfig(options?: KubeconfigOptions): string {
    return buildKubeconfig({ url: this.url, token: this.currentToken, tls: this.tls }, options);
  }

  writeServiceAccount(dir: string, options?: { namespace?: string }): ServiceAccountFiles {
    return writeServiceAccountFiles(dir, { url: this.url, token: this.currentToken, tls: this.tls }, options);
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      for (const waiter of [...this.waiters]) waiter.reject(new Error('fake apiserver closed'));
      this.downTime?.end();
      const timer = setTimeout(resolve, 2000);
      timer.unref();
      // Called with an error when a restart had stopped the listener: closed all the same.
      this.server.close(() => {
        clearTimeout(timer);
        resolve();
      });
      this.dropConnections();
    });
    return this.closing;
  }

  // ---- request handling ----

  handle(req: IncomingMessage, res: ServerResponse): void {
    res.on('error', () => {});
    const stream =
      req.httpVersionMajor === 2 ? (req as unknown as { stream: Http2StreamLike }).stream : undefined;
    if (stream !== undefined && this.overStreamLimit(stream)) {
      this.refused++;
      stream.close(http2Constants.NGHTTP2_REFUSED_STREAM);
      return;
    }
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname;
    const query = Object.fromEntries(url.searchParams);
    const route = parseRoute(path);
    const watch = isTrue(query.watch) || (route.type === 'resource' && route.watchPrefix);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined || name.startsWith(':')) continue;
      headers[name] = name === 'authorization' ? 'REDACTED' : Array.isArray(value) ? value.join(', ') : value;
    }
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path,
      query,
      status: 0,
      watch,
      headers,
      receivedAt: Date.now(),
    };
    this.recorded.push(record);
    if (stream !== undefined && this.faultState.takeRefusal(record)) {
      this.refused++;
      stream.close(http2Constants.NGHTTP2_REFUSED_STREAM);
      this.checkWaiters();
      return;
    }
    try {
      this.route(req, res, record, route);
    } catch (error) {
      sendStatus(res, record, failureStatus(500, { message: `Internal error occurred: ${String(error)}` }));
    }
    this.checkWaiters();
  }

  /** Counts the streams open on the session; true when this one is over `refuseStreamsOver`. */
  private overStreamLimit(stream: Http2StreamLike): boolean {
    const session = stream.session;
    if (session === undefined) return false;
    const open = (this.sessionStreams.get(session) ?? 0) + 1;
    if (this.refuseStreamsOver !== undefined && open > this.refuseStreamsOver) return true;
    this.sessionStreams.set(session, open);
    stream.once('close', () => this.sessionStreams.set(session, (this.sessionStreams.get(session) ?? 1) - 1));
    return false;
  }

  private route(req: IncomingMessage, res: ServerResponse, record: RecordedRequest, route: Route): void {
    if (this.closing) {
      res.destroy();
      return;
    }
    if (!authenticate(req.headers.authorization, this.currentToken, record.path)) {
      sendStatus(res, record, failureStatus(401, { message: 'Unauthorized' }));
      return;
    }
    if (this.faultState.takeHeaderStall(record)) {
      const forget = this.faultState.hold(record, 'headers', () => {
        res.off('close', forget);
        if (res.destroyed || this.closing) return;
        this.serve(req, res, record, route);
        this.checkWaiters();
      });
      res.on('close', forget);
      return;
    }
    this.serve(req, res, record, route);
  }

  /** Serves an authenticated request (after a header stall, if there was one). */
  private serve(req: IncomingMessage, res: ServerResponse, record: RecordedRequest, route: Route): void {
    const failure = this.faultState.takeFailure(record);
    if (failure !== undefined) {
      const extra = { Warning: route.type === 'resource' ? route.resource.warning : undefined };
      if (failure.bodyBytes === undefined) sendStatus(res, record, failure.status, extra);
      else
        sendPaddedStatus(
          res,
          record,
          failure.status,
          failure.bodyBytes,
          extra,
          this.faultState.trackPadded(record, failure.bodyBytes),
        );
      return;
    }
    if (route.type === 'unknown') {
      if (underKnownApi(record.path)) sendStatus(res, record, failureStatus(404, { details: {} }));
      else sendText(res, record, 404, '404 page not found\n');
      return;
    }
    if (record.method !== 'GET') {
      const what = route.type === 'resource' ? qualifiedResource(route.resource) : 'this path';
      sendStatus(
        res,
        record,
        failureStatus(405, { message: `the fake apiserver serves only GET (get, list, watch) on ${what}` }),
      );
      return;
    }
    switch (route.type) {
      case 'version':
        sendJson(res, record, 200, versionInfo(this.kubernetesVersion));
        return;
      case 'health':
        sendText(res, record, 200, 'ok');
        return;
      case 'api':
        sendJson(res, record, 200, apiVersions(new URL(this.url).host));
        return;
      case 'coreV1':
        sendJson(res, record, 200, coreV1Resources());
        return;
      case 'apis':
        sendJson(res, record, 200, apiGroupList());
        return;
      case 'group':
        sendJson(res, record, 200, apiGroup());
        return;
      case 'groupVersion':
        sendJson(res, record, 200, discoveryV1Resources());
        return;
      case 'resource':
        this.serveResource(req, res, record, route);
        return;
    }
  }

  private serveResource(
    req: IncomingMessage,
    res: ServerResponse,
    record: RecordedRequest,
    route: Extract<Route, { type: 'resource' }>,
  ): void {
    const { resource, name } = route;
    const warning = { Warning: resource.warning };
    if (!acceptsJson(req.headers.accept)) {
      sendStatus(res, record, failureStatus(406), warning);
      return;
    }
    const query = record.query;
    let labels: Selector;
    let fields: Selector;
    try {
      labels = parseLabelSelector(query.labelSelector);
      fields = parseFieldSelector(query.fieldSelector);
    } catch (error) {
      if (!(error instanceof SelectorError)) throw error;
      sendStatus(res, record, failureStatus(400, { message: error.message }), warning);
      return;
    }
    if (name !== undefined) {
      const inner = fields;
      fields = { empty: false, matches: (obj) => obj.metadata.name === name && inner.matches(obj) };
    }
    const filter: ObjectFilter = { namespace: route.namespace, labels, fields };

    if (record.watch) {
      this.serveWatch(req, res, record, resource, filter);
      return;
    }
    if (name !== undefined && route.namespace !== undefined) {
      const obj = this.store.get(resource, route.namespace, name);
      if (obj === undefined) {
        sendStatus(
          res,
          record,
          failureStatus(404, {
            message: `${qualifiedResource(resource)} "${name}" not found`,
            details: {
              name,
              ...(resource.group !== '' ? { group: resource.group } : {}),
              kind: resource.resource,
            },
          }),
          warning,
        );
        return;
      }
      sendJson(res, record, 200, obj, warning);
      return;
    }
    const result = listObjects(this.store, resource, filter, query);
    if (!result.ok) {
      sendStatus(res, record, result.status, warning);
      return;
    }
    const stall = this.faultState.takeListBodyStall(record);
    const split = this.faultState.split;
    if (stall === undefined && split?.lists === true) {
      sendJsonSplit(res, record, 200, result.body, warning, split);
      return;
    }
    if (stall === undefined) {
      sendJson(res, record, 200, result.body, warning);
      return;
    }
    const writeRest = sendJsonInParts(res, record, 200, result.body, warning, stall.bytes);
    if (writeRest === undefined) return;
    const forget = this.faultState.hold(record, 'body', () => {
      res.off('close', forget);
      writeRest();
    });
    res.on('close', forget);
  }

  private serveWatch(
    req: IncomingMessage,
    res: ServerResponse,
    record: RecordedRequest,
    resource: ResourceInfo,
    filter: ObjectFilter,
  ): void {
    const warning = { Warning: resource.warning };
    const plan = planWatch(this.store, resource, filter, record.query, this.watchList);
    if (!plan.ok) {
      sendStatus(res, record, plan.status, warning);
      return;
    }
    const stream = new WatchStream(
      res,
      { id: ++this.watchCount, request: record, startedExpired: plan.expired !== undefined },
      {
        resource,
        filter,
        allowBookmarks: plan.allowBookmarks,
        bookmarkIntervalMs: this.bookmarkIntervalMs,
        timeoutSeconds: plan.timeoutSeconds,
        afterResourceVersion: plan.afterResourceVersion,
      },
      this.store,
      this.faultState,
      (w) => {
        if (this.watches.delete(w)) this.watchChanged(w, 'closed');
      },
    );
    if (req.httpVersionMajor === 2) {
      const socket = this.tlsSockets.get(`${req.socket.remoteAddress}:${req.socket.remotePort}`);
      if (socket !== undefined) stream.cutConnection = () => socket.destroy();
    }
    this.watches.add(stream);
    record.status = 200;
    stream.start(baseHeaders(warning), plan.initial, plan.initialResourceVersion);
    if (plan.expired !== undefined) stream.fail(plan.expired);
    if (this.watches.has(stream)) this.watchChanged(stream, 'opened');
  }
}

/** Starts a fake apiserver on loopback. */
export async function startFakeApiServer(options: FakeApiServerOptions = {}): Promise<FakeApiServer> {
  const host = options.host ?? '127.0.0.1';
  let tls: TlsMaterial | undefined;
  if (options.tls || options.requireClientCertificate) {
    const tlsOptions = typeof options.tls === 'object' ? options.tls : {};
    const ca = tlsOptions.ca ?? (await createCertificateAuthority());
    const serverCert = await createServerCertificate(ca, { names: tlsOptions.names ?? defaultNames(host) });
    tls = { ca: ca.cert, cert: serverCert.cert, key: serverCert.key };
    if (options.requireClientCertificate) tls.client = await createClientCertificate(ca);
  }
  const token = options.token === false ? undefined : (options.token ?? 'test-token');
  const impl = new FakeApiServerImpl(
    host,
    tls,
    token,
    options.bookmarkIntervalMs ?? 60_000,
    options.watchList ?? true,
    options.kubernetesVersion ?? 'v1.34.1',
    Math.max(1, options.historyLimit ?? 100_000),
  );
  for (const obj of options.initialObjects ?? []) impl.store.upsert(obj);

  const handler = (req: IncomingMessage, res: ServerResponse) => impl.handle(req, res);
  const http2 = options.http2 ?? true;
  const http2Options = typeof http2 === 'object' ? http2 : {};
  impl.refuseStreamsOver = http2Options.refuseStreamsOver;
  const server: NetServer =
    tls === undefined
      ? createHttpServer(handler)
      : http2 !== false
        ? createSecureServer(
            {
              key: tls.key,
              cert: tls.cert,
              ca: [tls.ca],
              requestCert: options.requireClientCertificate === true,
              rejectUnauthorized: options.requireClientCertificate === true,
              allowHTTP1: true,
              settings: { maxConcurrentStreams: http2Options.maxConcurrentStreams ?? 100 },
            },
            // The compatibility API's request and response stand in for node:http's (same methods used).
            handler as unknown as Parameters<typeof createSecureServer>[1],
          )
        : createHttpsServer(
            {
              key: tls.key,
              cert: tls.cert,
              ca: [tls.ca],
              requestCert: options.requireClientCertificate === true,
              rejectUnauthorized: options.requireClientCertificate === true,
            },
            handler,
          );
  impl.attach(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('fake apiserver: no TCP address');
  impl.port = address.port;
  impl.url = `${tls === undefined ? 'http' : 'https'}://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
  return impl;
}

/** What the server needs of an HTTP/2 stream (node:http2's ServerHttp2Stream). */
interface Http2StreamLike {
  readonly session: ServerHttp2Session | undefined;
  close(code: number): void;
  once(event: 'close', listener: () => void): unknown;
}
