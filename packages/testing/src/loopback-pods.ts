import { once } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import { isIP, type Server, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';

/** What a pod saw of one request; by default pods answer with it as JSON. */
export interface LoopbackPodRequest {
  readonly pod: string;
  readonly method: string;
  readonly url: string;
  readonly host: string | undefined;
  readonly body: string;
  readonly httpVersion: string;
  /** TLS SNI the client sent (https pods). */
  readonly servername: string | undefined;
  readonly headers: Record<string, string | string[] | undefined>;
}

/**
 * How a pod answers. `ok`: 200 with the JSON echo; `status`: `status` with the echo; `hang`: never;
 * `reset-second`: destroys a kept-alive connection when a second request arrives on it (a pod closing
 * idle connections as it goes away).
 */
export type LoopbackPodMode = 'ok' | 'status' | 'hang' | 'reset-second';

/**
 * Answers a request before the default echo (after `reset-second` and `hang`). Return `true` when it
 * answered; otherwise the pod answers as its mode says.
 */
export type LoopbackPodHandler = (
  request: IncomingMessage,
  response: ServerResponse,
  pod: LoopbackPod,
  seen: LoopbackPodRequest,
) => boolean | undefined;

export interface LoopbackPod {
  readonly address: string;
  readonly port: number;
  /** The underlying `node:http`, `node:https` or `node:http2` server. */
  readonly server: Server;
  readonly requests: LoopbackPodRequest[];
  /** Open connections (server side). */
  readonly sockets: Set<Socket>;
  /** Connections accepted so far. */
  connections: number;
  /** Connections destroyed by `reset-second`. */
  resets: number;
  mode: LoopbackPodMode;
  /** The status `mode: 'status'` answers with. */
  status: number;
  /** Delay before the response headers. */
  delayMs: number;
  /** Delay between the response headers (sent at once) and the body. */
  bodyDelayMs: number;
  /** When set, the body is this many bytes of `x` instead of the JSON echo. */
  bodyBytes: number | undefined;
  /** Requests seen (that match `predicate`). */
  count(predicate?: (request: LoopbackPodRequest) => boolean): number;
  /** Resolves when the pod has received `n` requests in all. */
  received(n: number): Promise<void>;
  /** Adds a request to `requests` (for requests answered outside the HTTP handler, e.g. upgrades). */
  record(request: LoopbackPodRequest): void;
  /** Stops listening and closes idle connections; resolves when every connection has ended. */
  close(): Promise<void>;
  /** Stops listening and destroys every connection at once, like a pod that died. */
  kill(): Promise<void>;
  /** Listens again on the same address and port after `close()` or `kill()`: the pod came back. */
  restart(): Promise<void>;
}

export interface LoopbackPods {
  /** The port every pod listens on. */
  readonly port: number;
  readonly pods: LoopbackPod[];
  /** `pods[i].address` */
  readonly addresses: string[];
  byAddress(address: string): LoopbackPod;
  /** Requests seen per pod address. */
  counts(): Record<string, number>;
  /** Kills every pod. */
  close(): Promise<void>;
}

export interface LoopbackPodsOptions {
  /** How many pods; default 1, or `addresses.length`. */
  readonly count?: number;
  /** The first pod's IPv4 address, counting up from there; default `'127.0.0.2'`. Must be in 127.0.0.0/8. */
  readonly firstAddress?: string;
  /** Addresses to leave out while counting up (e.g. one that plays a dead pod). */
  readonly skip?: readonly string[];
  /** Listen on exactly these loopback addresses instead (e.g. `['::1']`). */
  readonly addresses?: readonly string[];
  /** Serve https with this certificate (`node:https`), or with `h2: true` HTTP/2 with HTTP/1.1 fallback. */
  readonly tls?: { readonly key: string; readonly cert: string; readonly h2?: boolean };
  readonly handler?: LoopbackPodHandler;
}

function isLoopback(address: string): boolean {
  return address === '::1' || (isIP(address) === 4 && address.startsWith('127.'));
}

function toInt(address: string): number {
  return address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
}

function fromInt(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

function podAddresses(options: LoopbackPodsOptions): string[] {
  let addresses: string[];
  if (options.addresses) {
    addresses = [...options.addresses];
  } else {
    const first = options.firstAddress ?? '127.0.0.2';
    if (isIP(first) !== 4 || !isLoopback(first))
      throw new Error(`firstAddress ${first} is not in 127.0.0.0/8`);
    const skip = new Set(options.skip ?? []);
    addresses = [];
    for (let n = toInt(first); addresses.length < (options.count ?? 1); n++) {
      const address = fromInt(n);
      if (!skip.has(address)) addresses.push(address);
    }
  }
  for (const address of addresses) {
    if (!isLoopback(address)) throw new Error(`${address} is not a loopback address (127.0.0.0/8 or ::1)`);
  }
  if (addresses.length === 0) throw new Error('no pod addresses');
  return addresses;
}

type PodState = Omit<LoopbackPod, 'port' | 'server'> & { port: number; server: Server };

function makePod(address: string): PodState {
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const requests: LoopbackPodRequest[] = [];
  const pod: PodState = {
    address,
    port: 0,
    server: undefined as unknown as Server,
    requests,
    sockets: new Set(),
    connections: 0,
    resets: 0,
    mode: 'ok',
    status: 200,
    delayMs: 0,
    bodyDelayMs: 0,
    bodyBytes: undefined,
    count: (predicate) => (predicate ? requests.filter(predicate).length : requests.length),
    received: (n) =>
      requests.length >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve })),
    record(request) {
      requests.push(request);
      for (const waiter of waiters.filter((w) => w.n <= requests.length)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    },
    close: () => closeServer(pod, false),
    kill: () => closeServer(pod, true),
    async restart() {
      if (!pod.server.listening) await listen(pod.server, pod.port, address);
    },
  };
  return pod;
}

function requestListener(pod: PodState, handler: LoopbackPodHandler | undefined) {
  const perSocket = new WeakMap<object, number>();
  return (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    const nth = (perSocket.get(socket) ?? 0) + 1;
    perSocket.set(socket, nth);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (pod.mode === 'reset-second' && nth >= 2) {
        pod.resets += 1;
        socket.destroy();
        return;
      }
      const seen: LoopbackPodRequest = {
        pod: pod.address,
        method: req.method ?? '',
        url: req.url ?? '',
        host: req.headers.host ?? (req.headers[':authority'] as string | undefined),
        body: Buffer.concat(chunks).toString(),
        httpVersion: req.httpVersion,
        servername: (socket as TLSSocket).servername || undefined,
        headers: { ...req.headers },
      };
      pod.record(seen);
      if (pod.mode === 'hang') return;
      if (handler?.(req, res, pod, seen) === true) return;
      const answer = () => {
        const status = pod.mode === 'status' ? pod.status : 200;
        if (pod.bodyBytes !== undefined) {
          res.writeHead(status, { 'content-type': 'text/plain' });
          res.end(Buffer.alloc(pod.bodyBytes, 'x'));
          return;
        }
        res.writeHead(status, { 'content-type': 'application/json' });
        if (pod.bodyDelayMs > 0) {
          res.flushHeaders();
          setTimeout(() => res.end(JSON.stringify(seen)), pod.bodyDelayMs);
        } else {
          res.end(JSON.stringify(seen));
        }
      };
      if (pod.delayMs > 0) setTimeout(answer, pod.delayMs);
      else answer();
    });
  };
}

function createServer(pod: PodState, options: LoopbackPodsOptions): Server {
  const listener = requestListener(pod, options.handler);
  let server: Server;
  if (options.tls?.h2) {
    server = http2.createSecureServer(
      { key: options.tls.key, cert: options.tls.cert, allowHTTP1: true },
      listener as never,
    ) as unknown as Server;
  } else if (options.tls) {
    server = https.createServer(
      { key: options.tls.key, cert: options.tls.cert, keepAliveTimeout: 30_000 },
      listener,
    );
  } else {
    server = http.createServer({ keepAliveTimeout: 30_000 }, listener);
  }
  server.on('connection', (socket: Socket) => {
    pod.connections += 1;
    pod.sockets.add(socket);
    socket.on('close', () => pod.sockets.delete(socket));
  });
  pod.server = server;
  return server;
}

async function listen(server: Server, port: number, host: string): Promise<number> {
  server.listen(port, host);
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return address.port;
}

async function closeServer(pod: PodState, abrupt: boolean): Promise<void> {
  const server = pod.server;
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  if (abrupt) {
    for (const socket of pod.sockets) socket.destroy();
  } else {
    (server as Partial<http.Server>).closeIdleConnections?.();
  }
  await closed;
}

/**
 * Pods like those of one Service: real servers on 127.0.0.2, 127.0.0.3, … (Linux routes all of
 * 127.0.0.0/8 to lo; elsewhere add the addresses to lo0), all on one port, found by binding the first
 * one to port 0 (retried if another process holds that port on a later address).
 */
export async function startLoopbackPods(options: LoopbackPodsOptions = {}): Promise<LoopbackPods> {
  const addresses = podAddresses(options);
  for (let round = 0; ; round++) {
    const pods = addresses.map(makePod);
    const servers = pods.map((pod) => createServer(pod, options));
    try {
      const port = await listen(servers[0] as Server, 0, addresses[0] as string);
      for (let i = 1; i < addresses.length; i++)
        await listen(servers[i] as Server, port, addresses[i] as string);
      for (const pod of pods) pod.port = port;
      return {
        port,
        pods,
        addresses,
        byAddress(address) {
          const pod = pods.find((p) => p.address === address);
          if (!pod) throw new Error(`no pod ${address}`);
          return pod;
        },
        counts: () => Object.fromEntries(pods.map((pod) => [pod.address, pod.requests.length])),
        async close() {
          await Promise.all(pods.map((pod) => pod.kill()));
        },
      };
    } catch (error) {
      await Promise.all(pods.map((pod) => pod.kill()));
      if ((error as { code?: string }).code !== 'EADDRINUSE' || round >= 5) throw error;
    }
  }
}

/** One ready endpoint, shaped like `@endpoint-watch/core`'s `Endpoint`. */
export interface LoopbackEndpoint {
  readonly address: string;
  readonly port: number;
  readonly addressType: 'IPv4' | 'IPv6';
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
}

/** A snapshot shaped like `@endpoint-watch/core`'s `EndpointSet` (assignable to it). */
export interface LoopbackEndpointSet {
  readonly namespace: string;
  readonly service: string;
  readonly port: { readonly name: string; readonly protocol: string };
  readonly endpoints: readonly LoopbackEndpoint[];
  readonly all: readonly LoopbackEndpoint[];
  readonly resourceVersion: string;
  readonly source: 'endpointslices';
}

export interface EndpointSetOptions {
  /** Default `'default'`. */
  readonly namespace?: string;
  /** Default `'web'`. */
  readonly service?: string;
  /** The Service port's name; default `'http'`. */
  readonly portName?: string;
  /** Default `'1'`. */
  readonly resourceVersion?: string;
}

export function readyEndpoint(address: string, port: number): LoopbackEndpoint {
  return {
    address,
    port,
    addressType: address.includes(':') ? 'IPv6' : 'IPv4',
    ready: true,
    serving: true,
    terminating: false,
  };
}

/**
 * An EndpointSet with these ready endpoints, to feed a client without a watch (e.g.
 * `new BehaviorSubject(endpointSet(pods.addresses, pods.port))`).
 */
export function endpointSet(
  addresses: readonly string[],
  port: number,
  options: EndpointSetOptions = {},
): LoopbackEndpointSet {
  const endpoints = addresses.map((address) => readyEndpoint(address, port));
  return {
    namespace: options.namespace ?? 'default',
    service: options.service ?? 'web',
    port: { name: options.portName ?? 'http', protocol: 'TCP' },
    endpoints,
    all: endpoints,
    resourceVersion: options.resourceVersion ?? '1',
    source: 'endpointslices',
  };
}

/** Polls `condition` every 5 ms (sockets and pools have no event to wait on) until it holds or `timeoutMs` passes. */
export async function eventually(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The error a promise rejects with; throws (failing the test) if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}

/** Rejects if `promise` has not settled within `timeoutMs`. */
export async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, bound]);
  } finally {
    clearTimeout(timer);
  }
}
