import type { EndpointSet } from '@endpoint-watch/core';
import {
  type LoopbackPodRequest,
  type LoopbackPods,
  endpointSet as loopbackEndpointSet,
  startLoopbackPods,
  within,
} from '@endpoint-watch/testing';
import axios, { type AxiosInstance } from 'axios';
import { BehaviorSubject } from 'rxjs';
import { afterEach } from 'vitest';
import {
  type AxiosBalancingOptions,
  detachEndpointBalancing,
  type EndpointBalancing,
  getEndpointBalancing,
  withEndpointBalancing,
} from '../src/index.js';

// Pods answer with what they saw (`PodRequest`) as JSON; in any mode `/old` answers 302 to `/new`
// and `/away` 307 to the dead pod's address.
export {
  eventually,
  type LoopbackPod as Pod,
  type LoopbackPodMode as PodMode,
  type LoopbackPodRequest as PodRequest,
  type LoopbackPods as Pods,
  readyEndpoint as endpoint,
  within,
} from '@endpoint-watch/testing';

/** The address where nothing listens (a dead pod). */
export const DEAD_POD = '127.0.0.5';

/**
 * `count` pods of Service shop/web on 127.0.0.2, 127.0.0.3, … sharing one port. 127.0.0.5 is left
 * free (`DEAD_POD`) to play a pod that died: nothing listens there.
 */
export interface PodOptions {
  readonly tls?: { readonly key: string; readonly cert: string };
  readonly addresses?: readonly string[];
}

export function startPods(count: number, options: PodOptions = {}): Promise<LoopbackPods> {
  return startLoopbackPods({
    count,
    skip: [DEAD_POD],
    ...(options.addresses ? { addresses: options.addresses } : {}),
    ...(options.tls ? { tls: options.tls } : {}),
    handler(req, res) {
      if (req.url !== '/old' && req.url !== '/away') return false;
      // `/away`: to the dead pod's address, where the redirected request is refused
      const port = (req.socket.localPort ?? 0).toString();
      res.writeHead(req.url === '/old' ? 302 : 307, {
        location: req.url === '/old' ? '/new' : `http://${DEAD_POD}:${port}/new`,
      });
      res.end();
      return true;
    },
  });
}

/** The EndpointSet of Service shop/web with these ready endpoints. */
export function endpointSet(addresses: readonly string[], port: number, service = 'web'): EndpointSet {
  return loopbackEndpointSet(addresses, port, { namespace: 'shop', service });
}

/** The error a promise rejects with, `isAxiosError` and `cause` included (fails the test if it resolves). */
export function rejection(
  promise: Promise<unknown>,
): Promise<Error & { code?: string; cause?: unknown; isAxiosError?: boolean }> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error as Error & { code?: string },
  );
}

export const ADAPTERS = ['http', 'fetch'] as const;
export type AdapterName = (typeof ADAPTERS)[number];

/**
 * The usual test bench: `count` pods and an axios instance (`adapter`) balanced over an endpoint
 * set the test controls (`use`), detached and closed after each test. Call once at the top of a
 * test file; the returned function sets up one test. `initial`: the first set's addresses (default:
 * every pod); `host`: the base URL's host name; the other options go to `startPods`.
 */
export function useBalancedAxios() {
  let pods: LoopbackPods | undefined;
  let instance: AxiosInstance | undefined;
  afterEach(async () => {
    if (instance) await within(detachEndpointBalancing(instance), 5_000, 'detach');
    await pods?.close();
    instance = undefined;
    pods = undefined;
  });
  return async (
    adapter: AdapterName,
    count: number,
    options: AxiosBalancingOptions = {},
    {
      initial = (addresses) => addresses,
      host = 'web.shop.svc',
      ...podOptions
    }: PodOptions & {
      readonly initial?: (addresses: string[]) => readonly string[];
      readonly host?: string;
    } = {},
  ) => {
    pods = await startPods(count, podOptions);
    const port = pods.port;
    const sets = new BehaviorSubject<EndpointSet>(endpointSet(initial(pods.addresses), port));
    const baseURL = `${podOptions.tls ? 'https' : 'http'}://${host}:${port}`;
    const balanced = withEndpointBalancing(axios.create({ baseURL, adapter }), { endpoints: sets }, options);
    instance = balanced;
    const handle = getEndpointBalancing(balanced)[0] as EndpointBalancing;
    const use = (addresses: readonly string[]) => sets.next(endpointSet(addresses, port));
    const get = async (path = '/') => (await balanced.get<LoopbackPodRequest>(path)).data;
    return { pods, instance: balanced, handle, sets, use, get, port, baseURL };
  };
}
