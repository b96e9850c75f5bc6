export { createBalancer } from './balancer.js';
export { EndpointResources } from './endpoint-resources.js';
export { endpointKey } from './endpoint-state.js';
export { BalancerClosedError, BalancerOptionsError, NoEndpointsError } from './errors.js';
export { PeakEwma } from './ewma.js';
export { CONNECTION_RESET_CODES, isIdempotentMethod, NEVER_CONNECTED_CODES } from './failure-codes.js';
export { hash32 } from './hash.js';
export { BALANCER_INSTRUMENTS, type InstrumentBalancerOptions, instrumentBalancer } from './metrics.js';
export { DEFAULTS } from './options.js';
export {
  buildMaglevTable,
  buildRing,
  consistentHash,
  leastRequest,
  peakEwma,
  randomStrategy,
  ringLookup,
  roundRobin,
} from './strategies/index.js';
export type {
  BalancedEndpoint,
  Balancer,
  BalancerOptions,
  BalancerStats,
  EndpointState,
  EndpointStats,
  FailureKind,
  HashOptions,
  Lease,
  Outcome,
  OutlierDetectionOptions,
  PickOptions,
  SlowStartOptions,
  Strategy,
  StrategyContext,
  StrategyFactory,
  StrategyName,
  SuccessRateOptions,
  WaitForPickOptions,
  ZoneOptions,
  ZoneRouting,
} from './types.js';
