export { type EndpointChangeEvent, endpointChanges, watchEndpointChanges } from './endpoint-changes.js';
export { changesSince } from './endpoint-set.js';
export * from './model.js';
export type {
  Endpoint,
  EndpointChange,
  EndpointChanges,
  EndpointHints,
  EndpointSet,
  EndpointTargetRef,
  ServicePortRef,
} from './types.js';
export {
  EndpointsTimeoutError,
  needsUserAction,
  type WaitForEndpointsOptions,
  waitForEndpoints,
} from './wait-for-endpoints.js';
export {
  type EndpointSource,
  type EndpointSourceInfo,
  type EndpointWatchTuning,
  endpointSourceOf,
  NAMESPACE_WATCH_THRESHOLD,
  type WatchEndpointsOptions,
  type WatchScope,
  watchEndpoints,
  watchEndpointsHealth,
} from './watch-endpoints.js';
