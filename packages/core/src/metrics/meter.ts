/**
 * The part of an OpenTelemetry `Meter` (from `@opentelemetry/api`) that endpoint-watch uses, declared
 * structurally so that `@opentelemetry/api` stays an optional peer: nothing is imported at run time
 * or in the published declarations, and a user without OpenTelemetry pays nothing. Pass the
 * `Meter` of your choice, e.g. `metrics.getMeter('@endpoint-watch/core')`, or none for the global
 * provider's (see `meterFor`).
 */
export type MetricAttributes = Record<string, string | number | boolean>;

export interface MetricCounter {
  add(value: number, attributes?: MetricAttributes): void;
}

export interface MetricHistogram {
  record(value: number, attributes?: MetricAttributes): void;
}

export interface ObservableMetricResult {
  observe(value: number, attributes?: MetricAttributes): void;
}

export interface ObservableMetric {
  addCallback(callback: (result: ObservableMetricResult) => void): void;
  removeCallback(callback: (result: ObservableMetricResult) => void): void;
}

export interface MetricOptions {
  readonly description?: string;
  readonly unit?: string;
}

export interface MetricsMeter {
  createCounter(name: string, options?: MetricOptions): MetricCounter;
  createObservableGauge(name: string, options?: MetricOptions): ObservableMetric;
  createObservableCounter(name: string, options?: MetricOptions): ObservableMetric;
  createHistogram(
    name: string,
    options?: MetricOptions & { readonly advice?: { readonly explicitBucketBoundaries?: number[] } },
  ): MetricHistogram;
}
