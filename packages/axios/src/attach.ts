import { BalancingOptionsError } from '@endpoint-watch/undici';
import type { AxiosInstance } from 'axios';
import { AxiosEndpointBalancing, attachRouter, routerOf } from './balancing.js';
import type { AxiosBalancingOptions, BalancingSource, EndpointBalancing } from './types.js';

/**
 * The key under which a balanced instance lists its attachments (one per `withEndpointBalancing`
 * call, oldest first): `instance[kEndpointBalancing]`. Same as `getEndpointBalancing(instance)`.
 */
export const kEndpointBalancing: unique symbol = Symbol('endpoint-watch.axios');

export type BalancedAxiosInstance<T extends AxiosInstance = AxiosInstance> = T & {
  readonly [kEndpointBalancing]: readonly EndpointBalancing[];
};

/**
 * Balances the requests of `instance` that `options.match` (default: the host of `options.host` or of
 * the instance's `baseURL`) accepts over the endpoints of one Service, and returns the instance.
 * `source` is `{ endpoints }` (an `Observable<EndpointSet>`, e.g. `watchEndpoints(...)`: a balancer is
 * created from `options.balancer` and closed on detach) or `{ balancer }` (yours, never closed here).
 * Call it once per Service, with different `match`/`host`, for an instance that talks to several;
 * the first attachment that matches a request balances it.
 */
export function withEndpointBalancing<T extends AxiosInstance>(
  instance: T,
  source: BalancingSource,
  options: AxiosBalancingOptions = {},
): BalancedAxiosInstance<T> {
  if (typeof instance?.interceptors?.request?.use !== 'function') {
    throw new BalancingOptionsError('the first argument must be an axios instance (axios.create())');
  }
  const router = attachRouter(instance);
  const handle = new AxiosEndpointBalancing(router, instance.defaults.baseURL, source, options);
  router.add(handle);
  if (!Object.hasOwn(instance, kEndpointBalancing)) {
    Object.defineProperty(instance, kEndpointBalancing, {
      get: () => [...router.handles],
      configurable: true,
      enumerable: false,
    });
  }
  return instance as BalancedAxiosInstance<T>;
}

/** The attachments of `instance` still balancing, oldest first (empty when none). */
export function getEndpointBalancing(instance: AxiosInstance): readonly EndpointBalancing[] {
  return [...(routerOf(instance)?.handles ?? [])];
}

/**
 * Stops balancing on `instance` (every attachment, or only `which`): the request interceptor goes
 * once no attachment is left, later requests go out untouched, and once the balanced requests in
 * progress have settled the agents are closed and the balancers created from `{ endpoints }` are
 * closed, which ends their watches. Idempotent.
 */
export async function detachEndpointBalancing(
  instance: AxiosInstance,
  which?: EndpointBalancing,
): Promise<void> {
  const handles = which === undefined ? getEndpointBalancing(instance) : [which];
  await Promise.all(handles.map((handle) => handle.detach()));
}
