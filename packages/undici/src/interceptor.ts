import { resolveBalancingSource, validateBalancingOptions } from './balancing-source.js';
import { BalancingEngine } from './engine.js';
import type { BalancingSource, EndpointBalancingInterceptor, EndpointBalancingOptions } from './types.js';

/**
 * Client-side load balancing as an undici interceptor, in the manner of `interceptors.dns`: each
 * matched request goes to one endpoint picked by the balancer, its origin rewritten to the endpoint's
 * `address:port` while the `Host` header and the TLS server name stay those of the URL. Compose it on
 * an `Agent` (which keys its pools by origin, so there is one pool per endpoint):
 *
 * ```ts
 * const balancing = endpointBalancing({ endpoints: watchEndpoints(client, { service: 'web' }) });
 * const dispatcher = new Agent().compose(balancing);
 * ```
 *
 * The Agent closes the pool of an endpoint that left once its connections have gone idle and closed
 * (keep-alive timeout); `createBalancedAgent` closes it as soon as the endpoint leaves. Call
 * `balancing.close()` after closing the agent when the interceptor owns its balancer.
 */
export function endpointBalancing(
  source: BalancingSource,
  options: EndpointBalancingOptions = {},
): EndpointBalancingInterceptor {
  validateBalancingOptions(options);
  const { balancer, owned } = resolveBalancingSource(source, options);
  const engine = new BalancingEngine(balancer, options);
  return Object.assign(engine.interceptor(), {
    balancer,
    close(): void {
      if (owned) balancer.close();
    },
  });
}
