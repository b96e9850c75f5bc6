export {
  ENDPOINT_WATCH_INSTRUMENTS,
  type InstrumentEndpointWatchOptions,
  instrumentEndpointWatch,
} from './instrument-endpoint-watch.js';
export type {
  MetricAttributes,
  MetricCounter,
  MetricHistogram,
  MetricOptions,
  MetricsMeter,
  ObservableMetric,
  ObservableMetricResult,
} from './meter.js';
export { type MetricsMeterProvider, type MetricsOptions, meterFor } from './meter-source.js';
