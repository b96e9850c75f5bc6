/**
 * Reading OpenTelemetry metrics in tests: a reader collected on demand (each test reads the values
 * at the moment it asks) and the collected data points flattened.
 */
import { MetricReader } from '@opentelemetry/sdk-metrics';

export class ManualReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

export interface Point {
  readonly name: string;
  /** A number for counters and gauges; the SDK's histogram record for histograms. */
  readonly value: unknown;
  readonly attributes: Record<string, unknown>;
}

export async function points(reader: MetricReader): Promise<Point[]> {
  const { resourceMetrics } = await reader.collect();
  return resourceMetrics.scopeMetrics.flatMap((scope) =>
    scope.metrics.flatMap((metric) =>
      metric.dataPoints.map((p) => ({
        name: metric.descriptor.name,
        value: p.value,
        attributes: p.attributes,
      })),
    ),
  );
}

/** The points of one instrument whose attributes include `attributes`. */
export const pointsOf = (all: readonly Point[], name: string, attributes: Record<string, unknown> = {}) =>
  all.filter(
    (p) => p.name === name && Object.entries(attributes).every(([key, value]) => p.attributes[key] === value),
  );
