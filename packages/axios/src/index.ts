export { NoEndpointsError } from '@endpoint-watch/balancer';
export { AllAttemptsFailedError, BalancingOptionsError, DEFAULT_MAX_ATTEMPTS } from '@endpoint-watch/undici';
export {
  type BalancedAxiosInstance,
  detachEndpointBalancing,
  getEndpointBalancing,
  kEndpointBalancing,
  withEndpointBalancing,
} from './attach.js';
export type {
  AxiosBalancingOptions,
  BalancingSource,
  EndpointAgentInfo,
  EndpointAgentOptions,
  EndpointBalancing,
  FetchDispatcherOptions,
  PodTlsOptions,
} from './types.js';
