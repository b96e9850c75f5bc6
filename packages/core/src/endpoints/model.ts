/** Public names of the pure endpoint model (no I/O, no timers, no RxJS). */
export type { AggregatorOptions } from './aggregator-base.js';
export type { AddressType } from './endpoint-fields.js';
export type { EndpointRecord, RecordGroup } from './endpoint-record.js';
export { EndpointSliceAggregator, SERVICE_NAME_LABEL } from './endpointslice-aggregator.js';
export { ParsedEndpointSlice, parseEndpointSlice } from './endpointslice-parser.js';
export { InvalidObjectError, PortSelectionError } from './errors.js';
export { V1EndpointsAggregator } from './v1-endpoints-aggregator.js';
export { type ParsedSubset, ParsedV1Endpoints, parseV1Endpoints } from './v1-endpoints-parser.js';
