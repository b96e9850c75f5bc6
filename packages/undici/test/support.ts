import { once } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type { Server, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Endpoint, EndpointSet } from '@endpoint-watch/core';

/** What a pod saw of one request. */
export interface PodRequest {
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
 * How a pod answers. `ok`: 200 with a JSON echo after `delayMs`; `hang`: never answers;
 * `reset-second`: destroys the connection when a second request arrives on it (a dying pod closing
 * kept-alive connections); `status`: answers with `status`.
 */
export type PodMode = 'ok' | 'hang' | 'reset-second' | 'status';

export interface Pod {
  readonly address: string;
  readonly requests: PodRequest[];
  /** Open sockets (server side). */
  readonly sockets: Set<Socket>;
  /** Connections accepted so far. */
  connections: number;
  /** Connections destroyed by `reset-second`. */
  resets: number;
  mode: PodMode;
  status: number;
  /** Delay before the response headers. */
  delayMs: number;
  /** Delay between the response headers (sent at once) and the body. */
  bodyDelayMs: number;
  /** When set, the body is this many bytes of `x` instead of the JSON echo. */
  bodyBytes: number | undefined;
  count(predicate?: (request: PodRequest) => boolean): number;
}

export interface Pods {
  readonly port: number;
  readonly pods: Pod[];
  /** `pods[i].address` */
  readonly addresses: string[];
  byAddress(address: string): Pod;
  close(): Promise<void>;
}

export interface PodOptions {
  /** Serve https with this certificate (`node:https`), or HTTP/2 with HTTP/1.1 fallback. */
  readonly tls?: { readonly key: string; readonly cert: string; readonly h2?: boolean };
  /** First address: 127.0.0.<first>. Default 2. */
  readonly first?: number;
  /** Listen on these addresses instead (e.g. `['::1']`). */
  readonly addresses?: readonly string[];
}

function makePod(address: string): Pod {
  const pod: Pod = {
    address,
    requests: [],
    sockets: new Set(),
    connections: 0,
    resets: 0,
    mode: 'ok',
    status: 200,
    delayMs: 0,
    bodyDelayMs: 0,
    bodyBytes: undefined,
    count(predicate = () => true) {
      return pod.requests.filter(predicate).length;
    },
  };
  return pod;
}

function handle(pod: Pod, perSocket: WeakMap<object, number>) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    const nth = (perSocket.get(socket) ?? 0) + 1;
    perSocket.set(socket, nth);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const seen: PodRequest = {
        pod: pod.address,
        method: req.method ?? '',
        url: req.url ?? '',
        host: req.headers.host ?? (req.headers[':authority'] as string | undefined),
        body: Buffer.concat(chunks).toString(),
        httpVersion: req.httpVersion,
        servername: (socket as TLSSocket).servername || undefined,
        headers: { ...req.headers },
      };
      if (pod.mode === 'reset-second' && nth >= 2) {
        pod.resets += 1;
        socket.destroy();
        return;
      }
      pod.requests.push(seen);
      if (pod.mode === 'hang') return;
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

function createServer(pod: Pod, options: PodOptions): Server {
  const perSocket = new WeakMap<object, number>();
  const handler = handle(pod, perSocket);
  let server: Server;
  if (options.tls?.h2) {
    server = http2.createSecureServer(
      { key: options.tls.key, cert: options.tls.cert, allowHTTP1: true },
      handler as never,
    ) as unknown as Server;
  } else if (options.tls) {
    server = https.createServer(
      { key: options.tls.key, cert: options.tls.cert, keepAliveTimeout: 30_000 },
      handler,
    );
  } else {
    server = http.createServer({ keepAliveTimeout: 30_000 }, handler);
  }
  // `Upgrade: echo`: 101, then the connection echoes what it receives.
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    pod.requests.push({
      pod: pod.address,
      method: req.method ?? '',
      url: req.url ?? '',
      host: req.headers.host,
      body: '',
      httpVersion: req.httpVersion,
      servername: undefined,
      headers: { ...req.headers },
    });
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
    if (head.length > 0) socket.write(head);
    socket.pipe(socket);
  });
  server.on('connection', (socket: Socket) => {
    pod.connections += 1;
    pod.sockets.add(socket);
    socket.on('close', () => pod.sockets.delete(socket));
  });
  return server;
}

async function listen(server: Server, port: number, host: string): Promise<number> {
  server.listen(port, host);
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return address.port;
}

async function closeServer(server: Server, pod: Pod): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  for (const socket of pod.sockets) socket.destroy();
  await closed;
}

/**
 * `count` pods like those of one Service: real servers on 127.0.0.2, 127.0.0.3, … (Linux routes all
 * of 127/8 to lo), all on one port, found by binding the first one to port 0.
 */
export async function startPods(count: number, options: PodOptions = {}): Promise<Pods> {
  const first = options.first ?? 2;
  const addresses = options.addresses
    ? [...options.addresses]
    : Array.from({ length: count }, (_, i) => `127.0.0.${first + i}`);
  for (let round = 0; ; round++) {
    const pods = addresses.map(makePod);
    const servers = pods.map((pod) => createServer(pod, options));
    try {
      const port = await listen(servers[0] as Server, 0, addresses[0] as string);
      for (let i = 1; i < count; i++) await listen(servers[i] as Server, port, addresses[i] as string);
      return {
        port,
        pods,
        addresses,
        byAddress(address) {
          const pod = pods.find((p) => p.address === address);
          if (!pod) throw new Error(`no pod ${address}`);
          return pod;
        },
        async close() {
          await Promise.all(servers.map((server, i) => closeServer(server, pods[i] as Pod)));
        },
      };
    } catch (error) {
      await Promise.all(servers.map((server, i) => closeServer(server, pods[i] as Pod)));
      if ((error as { code?: string }).code !== 'EADDRINUSE' || round >= 5) throw error;
    }
  }
}

export function endpoint(address: string, port: number): Endpoint {
  return {
    address,
    port,
    addressType: address.includes(':') ? 'IPv6' : 'IPv4',
    ready: true,
    serving: true,
    terminating: false,
  };
}

/** The EndpointSet of Service shop/web with these ready endpoints. */
export function endpointSet(addresses: readonly string[], port: number): EndpointSet {
  const endpoints = addresses.map((address) => endpoint(address, port));
  return {
    namespace: 'shop',
    service: 'web',
    port: { name: 'http', protocol: 'TCP' },
    endpoints,
    all: endpoints,
    resourceVersion: '1',
    source: 'endpointslices',
  };
}

/** Polls a condition (sockets and pools have no events to wait on here) with a bound. */
export async function eventually(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
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

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}

export function counts(pods: Pods): Record<string, number> {
  return Object.fromEntries(pods.pods.map((pod) => [pod.address, pod.requests.length]));
}
