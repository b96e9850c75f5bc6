export * from './model.js';
export type { Endpoint, EndpointHints, EndpointSet, EndpointTargetRef, ServicePortRef } from './types.js';
export {
  type EndpointSource,
  type EndpointWatchTuning,
  type WatchEndpointsOptions,
  watchEndpoints,
  watchEndpointsHealth,
} from './watch-endpoints.js';
