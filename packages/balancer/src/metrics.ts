import { type MetricAttributes, type MetricsOptions, meterFor } from '@endpoint-watch/core';
import type { Subscription } from 'rxjs';
import { endpointKey } from './endpoint-state.js';
import type { Balancer, Lease, Outcome, PickOptions, WaitForPickOptions } from './types.js';

/**
 * Where to record: `meter`, else `meterProvider`, else the global provider of `@opentelemetry/api`;
 * when none is given and the API is not installed, the balancer is returned as it is.
 */
export interface InstrumentBalancerOptions extends MetricsOptions {
  /** Clock for request durations when an outcome carries no `latencyMs` (ms); default `performance.now`. */
  readonly now?: () => number;
}

/** Instrument names, as documented in the core README ("Metrics"). */
export const BALANCER_INSTRUMENTS = {
  requests: 'endpoint_watch.endpoint.requests',
  failures: 'endpoint_watch.endpoint.failures',
  ejections: 'endpoint_watch.endpoint.ejections',
  duration: 'endpoint_watch.endpoint.request.duration',
} as const;

/** The OpenTelemetry semantic conventions' boundaries for HTTP durations, in seconds. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/**
 * A balancer that records, per endpoint, the requests released on its leases, their failures by
 * kind, their durations and the endpoint's ejections, and otherwise behaves as `balancer` (every call
 * is delegated). Released leases are counted whatever picked them, so wrap the balancer before
 * handing it to a dispatcher. `close()` closes the wrapped balancer and stops recording.
 */
export function instrumentBalancer(balancer: Balancer, options: InstrumentBalancerOptions = {}): Balancer {
  const meter = meterFor(options, '@endpoint-watch/balancer');
  if (!meter) return balancer;
  const now = options.now ?? (() => performance.now());
  const requests = meter.createCounter(BALANCER_INSTRUMENTS.requests, {
    description: 'Requests sent to the endpoint (leases released)',
    unit: '{request}',
  });
  const failures = meter.createCounter(BALANCER_INSTRUMENTS.failures, {
    description: 'Failed requests, by endpoint_watch.failure.kind',
    unit: '{request}',
  });
  const ejections = meter.createCounter(BALANCER_INSTRUMENTS.ejections, {
    description: 'Times the endpoint was ejected by outlier detection',
    unit: '{ejection}',
  });
  const duration = meter.createHistogram(BALANCER_INSTRUMENTS.duration, {
    description: 'Duration of requests sent to the endpoint, from pick to release',
    unit: 's',
    advice: { explicitBucketBoundaries: DURATION_BUCKETS },
  });

  let service: MetricAttributes = {};
  /** One attribute object per endpoint (and per failure kind), not one per request. */
  interface EndpointAttributes {
    readonly base: MetricAttributes;
    readonly byFailure: Map<string, MetricAttributes>;
  }
  const attributesByKey = new Map<string, EndpointAttributes>();
  const attributesOf = (key: string, address: string, port: number): EndpointAttributes => {
    let attributes = attributesByKey.get(key);
    if (!attributes) {
      attributes = {
        base: { ...service, 'server.address': address, 'server.port': port },
        byFailure: new Map(),
      };
      attributesByKey.set(key, attributes);
    }
    return attributes;
  };
  const ejected = new Set<string>();
  const stats: Subscription = balancer.stats$.subscribe((snapshot) => {
    if (
      snapshot.namespace !== service['k8s.namespace.name'] ||
      snapshot.service !== service['k8s.service.name']
    ) {
      service = {};
      if (snapshot.namespace !== undefined) service['k8s.namespace.name'] = snapshot.namespace;
      if (snapshot.service !== undefined) service['k8s.service.name'] = snapshot.service;
      attributesByKey.clear();
    }
    const present = new Set<string>();
    for (const endpoint of snapshot.endpoints) {
      present.add(endpoint.key);
      if (!endpoint.ejected) {
        ejected.delete(endpoint.key);
      } else if (!ejected.has(endpoint.key)) {
        ejected.add(endpoint.key);
        ejections.add(1, attributesOf(endpoint.key, endpoint.address, endpoint.port).base);
      }
    }
    // Forget the endpoints that left, so a long-lived balancer keeps nothing for them.
    for (const key of ejected) if (!present.has(key)) ejected.delete(key);
    for (const key of attributesByKey.keys()) if (!present.has(key)) attributesByKey.delete(key);
  });

  const wrap = (lease: Lease | undefined): Lease | undefined => {
    if (!lease) return lease;
    const start = now();
    let released = false;
    const release = (outcome: Outcome) => {
      if (!released) {
        released = true;
        const { address, port } = lease.endpoint;
        const attributes = attributesOf(lease.key ?? endpointKey(lease.endpoint), address, port);
        requests.add(1, attributes.base);
        duration.record((outcome.latencyMs ?? now() - start) / 1000, attributes.base);
        if (!outcome.ok) {
          let withKind = attributes.byFailure.get(outcome.failure);
          if (!withKind) {
            withKind = { ...attributes.base, 'endpoint_watch.failure.kind': outcome.failure };
            attributes.byFailure.set(outcome.failure, withKind);
          }
          failures.add(1, withKind);
        }
      }
      lease.release(outcome);
    };
    return lease.key === undefined
      ? { endpoint: lease.endpoint, release }
      : { endpoint: lease.endpoint, key: lease.key, release };
  };

  const instrumented: Balancer = {
    pick: (key?: string, pickOptions?: PickOptions) => wrap(balancer.pick(key, pickOptions)),
    waitForPick: async (key?: string, pickOptions?: WaitForPickOptions) =>
      wrap(await balancer.waitForPick(key, pickOptions)) as Lease,
    get endpoints() {
      return balancer.endpoints;
    },
    stats: () => balancer.stats(),
    stats$: balancer.stats$,
    close() {
      stats.unsubscribe();
      balancer.close();
    },
  };
  if (balancer.left$) (instrumented as { left$?: Balancer['left$'] }).left$ = balancer.left$;
  if (balancer.has) (instrumented as { has?: Balancer['has'] }).has = balancer.has.bind(balancer);
  return instrumented;
}
