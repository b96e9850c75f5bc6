import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Balancer } from '@endpoint-watch/balancer';
import type { Endpoint, EndpointSet } from '@endpoint-watch/core';
import * as loopback from '@endpoint-watch/testing';
import { BehaviorSubject, type Observable } from 'rxjs';
import { Agent, type Dispatcher, request } from 'undici';
import { afterEach } from 'vitest';
import {
  type BalancedAgent,
  type BalancedAgentOptions,
  createBalancedAgent,
  type EndpointBalancingInterceptor,
  type EndpointBalancingOptions,
  endpointBalancing,
} from '../src/index.js';

export { eventually, within } from '@endpoint-watch/testing';

/** What a pod saw of one request. */
export type PodRequest = loopback.LoopbackPodRequest;
export type PodMode = loopback.LoopbackPodMode;
export type Pod = loopback.LoopbackPod;
export type Pods = loopback.LoopbackPods;

export interface PodOptions {
  /** Serve https with this certificate (`node:https`), or HTTP/2 with HTTP/1.1 fallback. */
  readonly tls?: { readonly key: string; readonly cert: string; readonly h2?: boolean };
  /** First address: 127.0.0.<first>. Default 2. */
  readonly first?: number;
  /** Listen on these addresses instead (e.g. `['::1']`). */
  readonly addresses?: readonly string[];
  /** Answers requests before the pods' default echo (see `LoopbackPodHandler`). */
  readonly handler?: loopback.LoopbackPodHandler;
}

/**
 * `count` pods of Service shop/web on 127.0.0.2, 127.0.0.3, … sharing one port. `Upgrade: echo`
 * requests get a 101, then the connection echoes what it receives.
 */
export async function startPods(count: number, options: PodOptions = {}): Promise<Pods> {
  const pods = await loopback.startLoopbackPods({
    count,
    firstAddress: `127.0.0.${options.first ?? 2}`,
    ...(options.addresses ? { addresses: options.addresses } : {}),
    ...(options.tls ? { tls: options.tls } : {}),
    ...(options.handler ? { handler: options.handler } : {}),
  });
  for (const pod of pods.pods) {
    pod.server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      pod.record({
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
  }
  return pods;
}

export function endpoint(address: string, port: number): Endpoint {
  return loopback.readyEndpoint(address, port);
}

/** The EndpointSet of Service shop/web with these ready endpoints. */
export function endpointSet(addresses: readonly string[], port: number): EndpointSet {
  return loopback.endpointSet(addresses, port, { namespace: 'shop' });
}

export { rejection } from '@endpoint-watch/testing';

export function counts(pods: Pods): Record<string, number> {
  return pods.counts();
}

/**
 * The usual test bench: `count` pods and a `BalancedAgent` over an endpoint set the test controls
 * (`use`), all torn down after each test. Call once at the top of a test file; the returned
 * function sets up one test. `initial`: the first set, as a count of pods (default: all) or a
 * function of their addresses; the other options go to `startPods`.
 */
export function useBalancedAgent() {
  let pods: Pods | undefined;
  let agent: BalancedAgent | undefined;
  afterEach(async () => {
    await agent?.destroy().catch(() => undefined);
    await pods?.close();
    agent = undefined;
    pods = undefined;
  });
  return async (
    count: number,
    options: BalancedAgentOptions = {},
    {
      initial = count,
      ...podOptions
    }: PodOptions & { readonly initial?: number | ((addresses: string[]) => readonly string[]) } = {},
  ) => {
    pods = await startPods(count, podOptions);
    const port = pods.port;
    const first = typeof initial === 'number' ? pods.addresses.slice(0, initial) : initial(pods.addresses);
    const sets = new BehaviorSubject<EndpointSet>(endpointSet(first, port));
    const balanced = createBalancedAgent({ endpoints: sets }, options);
    agent = balanced;
    const url = `${podOptions.tls ? 'https' : 'http'}://web.shop.svc:${port}`;
    const use = (addresses: readonly string[]) => sets.next(endpointSet(addresses, port));
    const get = async (path = '/') => {
      const response = await request(`${url}${path}`, { dispatcher: balanced });
      return (await response.body.json()) as PodRequest;
    };
    return { pods, agent: balanced, sets, url, use, get, port };
  };
}

/** A balanced dispatcher, in one of its forms, with what a test needs of it. */
export interface BalancedDispatcher {
  readonly dispatcher: Dispatcher;
  readonly balancer: Balancer;
  /** Closes the dispatcher (which waits for the requests in progress), then its balancer. */
  close(): Promise<void>;
}

type Interceptor = Dispatcher.DispatcherComposeInterceptor;

/**
 * The interceptor form: `new Agent().compose(...chain(balancing))`, so the test says where the
 * balancer stands among other interceptors (in undici the last one is the outermost).
 */
export function balancingOnAgent(
  endpoints: Observable<EndpointSet>,
  options: EndpointBalancingOptions,
  chain: (balancing: EndpointBalancingInterceptor) => Interceptor[] = (balancing) => [balancing],
): BalancedDispatcher {
  const balancing = endpointBalancing({ endpoints }, options);
  const base = new Agent();
  return {
    dispatcher: base.compose(chain(balancing)),
    balancer: balancing.balancer,
    close: () => base.close().finally(() => balancing.close()),
  };
}

/** The agent form: `createBalancedAgent(…)`, with `above` composed around it. */
export function balancedAgentWith(
  endpoints: Observable<EndpointSet>,
  options: BalancedAgentOptions,
  above: Interceptor[] = [],
): BalancedDispatcher {
  const agent = createBalancedAgent({ endpoints }, options);
  return {
    dispatcher: above.length === 0 ? agent : (agent.compose(above) as Dispatcher),
    balancer: agent.balancer,
    close: () => agent.close(),
  };
}
