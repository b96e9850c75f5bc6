import { combineLatest, Subscription, startWith } from 'rxjs';
import type { EndpointSet } from '../endpoints/types.js';
import {
  type WatchEndpointsOptions,
  watchEndpoints,
  watchEndpointsHealth,
} from '../endpoints/watch-endpoints.js';
import type { KubeClient } from '../transport/kube-client.js';
import type { WatchHealth } from '../watch/watch-health.js';
import type { MetricAttributes, MetricsMeter, ObservableMetricResult } from './meter.js';

export interface InstrumentEndpointWatchOptions {
  /** Where to record: an OpenTelemetry `Meter`. Without one nothing is subscribed nor recorded. */
  readonly meter?: MetricsMeter | undefined;
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
} as const;

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
  options: InstrumentEndpointWatchOptions,
): Subscription {
  const { meter } = options;
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

  let health: WatchHealth | undefined;
  let set: EndpointSet | undefined;
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

  const subscription = combineLatest([
    watchEndpointsHealth(client, watch),
    watchEndpoints(client, watch).pipe(startWith(undefined)),
  ]).subscribe({
    next: ([nextHealth, nextSet]) => {
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
  });
  return subscription;
}
