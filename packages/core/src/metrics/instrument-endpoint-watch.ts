import { combineLatest, Subscription, startWith } from 'rxjs';
import type { EndpointSet } from '../endpoints/types.js';
import {
  type WatchEndpointsOptions,
  watchEndpoints,
  watchEndpointsStatus,
} from '../endpoints/watch-endpoints.js';
import type { KubeClient } from '../transport/kube-client.js';
import type { WatchHealth } from '../watch/watch-health.js';
import type { WatchStats } from '../watch/watch-stats.js';
import type { MetricAttributes, ObservableMetricResult } from './meter.js';
import { type MetricsOptions, meterFor } from './meter-source.js';

/**
 * Where to record (`meter`, else `meterProvider`, else the global provider of `@opentelemetry/api`;
 * with none of them, because the API is not installed, nothing is subscribed nor recorded).
 */
export interface InstrumentEndpointWatchOptions extends MetricsOptions {
  /** Clock for staleness (ms since the epoch); default `Date.now`. */
  readonly now?: () => number;
}

/** Every health state, so that the state gauge reports 0 for the states a watch is not in. */
const STATES: readonly WatchHealth['state'][] = ['connecting', 'synced', 'resuming', 'retrying'];

/** Instrument names and units, as documented in the README ("Metrics"). */
export const ENDPOINT_WATCH_INSTRUMENTS = {
  state: 'endpoint_watch.watch.state',
  stateTransitions: 'endpoint_watch.watch.state_transitions',
  staleness: 'endpoint_watch.watch.staleness',
  endpoints: 'endpoint_watch.endpoints',
  relists: 'endpoint_watch.watch.relists',
  events: 'endpoint_watch.watch.events',
  bytes: 'endpoint_watch.watch.bytes',
} as const;

/** The instrumentation scope: the package's name. */
const SCOPE = '@endpoint-watch/core';

/**
 * Records OpenTelemetry metrics for the endpoints of one Service port, by subscribing to
 * `watchEndpoints` and `watchEndpointsHealth` (sharing the watch other subscribers already hold).
 * Observable instruments are read at each collection; unsubscribe the returned subscription to
 * stop recording (their callbacks are then removed). Recording also stops when the endpoint stream
 * errors (misuse: a multi-port Service and no `port`).
 */
export function instrumentEndpointWatch(
  client: KubeClient,
  watch: WatchEndpointsOptions,
  options: InstrumentEndpointWatchOptions = {},
): Subscription {
  const meter = meterFor(options, SCOPE);
  if (!meter) return new Subscription();
  const now = options.now ?? Date.now;
  const service: MetricAttributes = {
    'k8s.namespace.name': watch.namespace ?? client.config.namespace,
    'k8s.service.name': watch.service,
  };
  const stateGauge = meter.createObservableGauge(ENDPOINT_WATCH_INSTRUMENTS.state, {
    description: '1 for the current health state of the watch (attribute endpoint_watch.watch.state), else 0',
    unit: '{state}',
  });
  const transitions = meter.createCounter(ENDPOINT_WATCH_INSTRUMENTS.stateTransitions, {
    description: 'Health state changes of the watch, by the state entered',
    unit: '{transition}',
  });
  const staleness = meter.createObservableGauge(ENDPOINT_WATCH_INSTRUMENTS.staleness, {
    description: 'Seconds since the watch was last known current; 0 while synced',
    unit: 's',
  });
  const endpointsGauge = meter.createObservableGauge(ENDPOINT_WATCH_INSTRUMENTS.endpoints, {
    description: 'Known endpoints of the Service port, by condition (an endpoint may count in several)',
    unit: '{endpoint}',
  });

  const relists = meter.createObservableCounter(ENDPOINT_WATCH_INSTRUMENTS.relists, {
    description:
      'Full lists made to replace the state the watch held (410 Expired, an unreadable object, a retried relist)',
    unit: '{relist}',
  });
  const events = meter.createObservableCounter(ENDPOINT_WATCH_INSTRUMENTS.events, {
    description: 'Watch events decoded, bookmarks and a streaming list included',
    unit: '{event}',
  });
  const bytes = meter.createObservableCounter(ENDPOINT_WATCH_INSTRUMENTS.bytes, {
    description: 'Bytes of watch response bodies decoded (LIST bodies not included)',
    unit: 'By',
  });

  let health: WatchHealth | undefined;
  let set: EndpointSet | undefined;
  /** The counters of the watch serving the Service (read at each collection, not per event). */
  let stats: WatchStats | undefined;
  const observeRelists = (result: ObservableMetricResult) => {
    if (stats) result.observe(stats.relists, service);
  };
  const observeEvents = (result: ObservableMetricResult) => {
    if (stats) result.observe(stats.eventsDecoded, service);
  };
  const observeBytes = (result: ObservableMetricResult) => {
    if (stats) result.observe(stats.bytesDecoded, service);
  };
  const observeState = (result: ObservableMetricResult) => {
    if (!health) return;
    for (const state of STATES) {
      result.observe(state === health.state ? 1 : 0, { ...service, 'endpoint_watch.watch.state': state });
    }
  };
  const observeStaleness = (result: ObservableMetricResult) => {
    if (!health) return;
    const since =
      health.state === 'synced'
        ? undefined
        : health.state === 'connecting'
          ? health.since
          : health.staleSince;
    result.observe(since === undefined ? 0 : Math.max(0, now() - since) / 1000, service);
  };
  const observeEndpoints = (result: ObservableMetricResult) => {
    if (!set) return;
    let ready = 0;
    let serving = 0;
    let terminating = 0;
    for (const endpoint of set.all) {
      if (endpoint.ready) ready++;
      if (endpoint.serving) serving++;
      if (endpoint.terminating) terminating++;
    }
    result.observe(ready, { ...service, 'endpoint_watch.endpoint.condition': 'ready' });
    result.observe(serving, { ...service, 'endpoint_watch.endpoint.condition': 'serving' });
    result.observe(terminating, { ...service, 'endpoint_watch.endpoint.condition': 'terminating' });
  };
  stateGauge.addCallback(observeState);
  staleness.addCallback(observeStaleness);
  endpointsGauge.addCallback(observeEndpoints);
  relists.addCallback(observeRelists);
  events.addCallback(observeEvents);
  bytes.addCallback(observeBytes);

  const subscription = combineLatest([
    watchEndpointsStatus(client, watch),
    watchEndpoints(client, watch).pipe(startWith(undefined)),
  ]).subscribe({
    next: ([status, nextSet]) => {
      const nextHealth = status.health;
      stats = status.stats;
      if (nextHealth.state !== health?.state) {
        transitions.add(1, { ...service, 'endpoint_watch.watch.state': nextHealth.state });
      }
      health = nextHealth;
      set = nextSet;
    },
    // Misuse (a multi-port Service without `port`): the caller's own `watchEndpoints` tells it; here
    // recording stops (the callbacks are removed) instead of throwing an unhandled error.
    error: () => undefined,
  });
  subscription.add(() => {
    stateGauge.removeCallback(observeState);
    staleness.removeCallback(observeStaleness);
    endpointsGauge.removeCallback(observeEndpoints);
    relists.removeCallback(observeRelists);
    events.removeCallback(observeEvents);
    bytes.removeCallback(observeBytes);
  });
  return subscription;
}
