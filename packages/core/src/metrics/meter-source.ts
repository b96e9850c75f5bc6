/**
 * Where instruments get their `Meter`, the way OpenTelemetry instrumentation libraries do it: the
 * user's `meter`, else the user's `meterProvider`, else the global provider of
 * `@opentelemetry/api` (`metrics.getMeterProvider()`: a no-op until an SDK registers one). The API
 * is an optional peer: it is loaded on first use with `require` (it ships CommonJS, and its global
 * registry is shared by every copy), and when it is not installed there is no meter and nothing is
 * recorded, at no cost.
 */
import { createRequire } from 'node:module';
import type { MetricsMeter } from './meter.js';

/** The part of an OpenTelemetry `MeterProvider` used here (`@opentelemetry/api` 1.x fits). */
export interface MetricsMeterProvider {
  getMeter(name: string, version?: string): MetricsMeter;
}

/** How a caller says where to record; both absent: the global provider of `@opentelemetry/api`. */
export interface MetricsOptions {
  /** Record with this meter (it wins over `meterProvider`). */
  readonly meter?: MetricsMeter | undefined;
  /** Take the meter from this provider, with the package's name as the instrumentation scope. */
  readonly meterProvider?: MetricsMeterProvider | undefined;
}

interface OpenTelemetryApi {
  readonly metrics: { getMeterProvider(): MetricsMeterProvider };
}

/** `null`: looked for and not installed. */
let api: OpenTelemetryApi | null | undefined;

/**
 * The meter to record with under the instrumentation scope `scope` (the package's name), or
 * undefined when none was given and `@opentelemetry/api` is not installed.
 */
export function meterFor(options: MetricsOptions, scope: string): MetricsMeter | undefined {
  if (options.meter) return options.meter;
  const provider = options.meterProvider ?? globalMeterProvider();
  return provider?.getMeter(scope);
}

function globalMeterProvider(): MetricsMeterProvider | undefined {
  api ??= loadOptionalApi((id) => createRequire(import.meta.url)(id));
  return api?.metrics.getMeterProvider();
}

/** @internal `@opentelemetry/api` through `load`, or null when it is not installed (any other failure is thrown). */
export function loadOptionalApi(load: (id: string) => unknown): OpenTelemetryApi | null {
  try {
    return load('@opentelemetry/api') as OpenTelemetryApi;
  } catch (error) {
    if ((error as { code?: unknown }).code === 'MODULE_NOT_FOUND') return null;
    throw error;
  }
}
