export { GrpcBalancingOptionsError, KubernetesTargetError } from './errors.js';
export {
  LEAST_REQUEST_POLICY,
  LeastRequestConfig,
  LeastRequestLoadBalancer,
  leastRequestChannelOptions,
  registerLeastRequestPolicy,
} from './least-request.js';
export type { EndpointLocality } from './resolution.js';
export {
  endpointLocality,
  type KubernetesResolverOptions,
  type KubernetesResolverRegistration,
  LOCALITY_ATTRIBUTE,
  registerKubernetesResolver,
} from './resolver.js';
export { type KubernetesTarget, parseKubernetesTarget } from './target.js';
