export {
  ENDPOINT_WATCH_INSTRUMENTS,
  type InstrumentEndpointWatchOptions,
  instrumentEndpointWatch,
} from './instrument-endpoint-watch.js';
export type {
  MetricAttributes,
  MetricCounter,
  MetricOptions,
  MetricsMeter,
  ObservableMetric,
  ObservableMetricResult,
} from './meter.js';
