import { once } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { Server, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Endpoint, EndpointSet } from '@endpoint-watch/core';

/** What a pod saw of one request; pods answer with it as JSON. */
export interface PodRequest {
  readonly pod: string;
  readonly method: string;
  readonly url: string;
  readonly host: string | undefined;
  readonly body: string;
  /** TLS SNI the client sent (https pods). */
  readonly servername: string | undefined;
  readonly headers: Record<string, string | string[] | undefined>;
}

/**
 * How a pod answers. `ok`: 200 with the JSON echo; `status`: `status` with the echo; `hang`: never;
 * `reset-second`: destroys a kept-alive connection when a second request arrives on it (a pod closing
 * idle connections as it goes away). Any mode: `/old` answers 302 to `/new`, `/away` 307 to the dead
 * pod's address.
 */
export type PodMode = 'ok' | 'status' | 'hang' | 'reset-second';

export interface Pod {
  readonly address: string;
  readonly requests: PodRequest[];
  /** Open connections (server side). */
  readonly sockets: Set<Socket>;
  mode: PodMode;
  status: number;
  resets: number;
  count(): number;
  /** Resolves when the pod has received `n` requests in all. */
  received(n: number): Promise<void>;
}

export interface Pods {
  readonly port: number;
  readonly pods: Pod[];
  readonly addresses: string[];
  byAddress(address: string): Pod;
  close(): Promise<void>;
}

function makePod(address: string): Pod {
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const requests: PodRequest[] = [];
  const pod: Pod = {
    address,
    requests,
    sockets: new Set(),
    mode: 'ok',
    status: 200,
    resets: 0,
    count: () => requests.length,
    received: (n) =>
      requests.length >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve })),
  };
  const push = requests.push.bind(requests);
  requests.push = (...items: PodRequest[]) => {
    const length = push(...items);
    for (const waiter of waiters.filter((w) => w.n <= length)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
    return length;
  };
  return pod;
}

function handler(pod: Pod) {
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
      const seen: PodRequest = {
        pod: pod.address,
        method: req.method ?? '',
        url: req.url ?? '',
        host: req.headers.host,
        body: Buffer.concat(chunks).toString(),
        servername: (socket as TLSSocket).servername || undefined,
        headers: { ...req.headers },
      };
      pod.requests.push(seen);
      if (pod.mode === 'hang') return;
      if (req.url === '/old' || req.url === '/away') {
        // `/away`: to the dead pod's address, where the redirected request is refused
        const port = (socket.localPort ?? 0).toString();
        res.writeHead(req.url === '/old' ? 302 : 307, {
          location: req.url === '/old' ? '/new' : `http://${DEAD_POD}:${port}/new`,
        });
        res.end();
        return;
      }
      res.writeHead(pod.mode === 'status' ? pod.status : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(seen));
    });
  };
}

function createServer(pod: Pod, tls: { key: string; cert: string } | undefined): Server {
  const server = tls
    ? https.createServer({ key: tls.key, cert: tls.cert, keepAliveTimeout: 30_000 }, handler(pod))
    : http.createServer({ keepAliveTimeout: 30_000 }, handler(pod));
  server.on('connection', (socket: Socket) => {
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
 * `count` pods of one Service: real servers on 127.0.0.2, 127.0.0.3, … (Linux routes all of 127/8 to
 * lo), all on one port, found by binding the first one to port 0. 127.0.0.5 is left free by default
 * (`skip`) to play a pod that died: nothing listens there.
 */
export async function startPods(
  count: number,
  options: { tls?: { key: string; cert: string }; addresses?: readonly string[] } = {},
): Promise<Pods> {
  const addresses = options.addresses
    ? [...options.addresses]
    : Array.from({ length: count }, (_, i) => `127.0.0.${i < 3 ? i + 2 : i + 3}`);
  for (let round = 0; ; round++) {
    const pods = addresses.map(makePod);
    const servers = pods.map((pod) => createServer(pod, options.tls));
    try {
      const port = await listen(servers[0] as Server, 0, addresses[0] as string);
      for (let i = 1; i < addresses.length; i++) {
        await listen(servers[i] as Server, port, addresses[i] as string);
      }
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

/** The address where nothing listens (a dead pod). */
export const DEAD_POD = '127.0.0.5';

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
export function endpointSet(addresses: readonly string[], port: number, service = 'web'): EndpointSet {
  const endpoints = addresses.map((address) => endpoint(address, port));
  return {
    namespace: 'shop',
    service,
    port: { name: 'http', protocol: 'TCP' },
    endpoints,
    all: endpoints,
    resourceVersion: '1',
    source: 'endpointslices',
  };
}

/** Polls a condition (sockets and agents have no event to wait on here), with a bound. */
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
export async function rejection(
  promise: Promise<unknown>,
): Promise<Error & { code?: string; cause?: unknown; isAxiosError?: boolean }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}

export const ADAPTERS = ['http', 'fetch'] as const;
export type AdapterName = (typeof ADAPTERS)[number];
