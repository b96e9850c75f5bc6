import type { EndpointSet } from '@endpoint-watch/core';
import {
  type LoopbackPods,
  endpointSet as loopbackEndpointSet,
  startLoopbackPods,
} from '@endpoint-watch/testing';

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
export function startPods(
  count: number,
  options: { tls?: { key: string; cert: string }; addresses?: readonly string[] } = {},
): Promise<LoopbackPods> {
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
