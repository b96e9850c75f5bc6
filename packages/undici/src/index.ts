export { BalancedAgent, createBalancedAgent } from './agent.js';
export {
  type CommonBalancingOptions,
  resolveBalancingSource,
  validateBalancingOptions,
} from './balancing-source.js';
export { DEFAULT_MAX_ATTEMPTS } from './engine.js';
export { AllAttemptsFailedError, type AttemptFailure, BalancingOptionsError } from './errors.js';
export { endpointBalancing } from './interceptor.js';
export type {
  BalancedAgentOptions,
  BalancingSource,
  EndpointBalancingInterceptor,
  EndpointBalancingOptions,
  EndpointPoolInfo,
} from './types.js';
