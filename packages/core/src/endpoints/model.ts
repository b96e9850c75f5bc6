/** Public names of the pure endpoint model (no I/O, no timers, no RxJS). */
export type { AggregatorOptions } from './aggregator-base.js';
export type { AddressType } from './endpoint-fields.js';
export { EndpointSliceAggregator, SERVICE_NAME_LABEL } from './endpointslice-aggregator.js';
export { InvalidObjectError, PortSelectionError } from './errors.js';
export { V1EndpointsAggregator } from './v1-endpoints-aggregator.js';
