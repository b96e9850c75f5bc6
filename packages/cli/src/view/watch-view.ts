/** The `watch` command's live view model. Pure. */
import type { EndpointSet, WatchHealth } from '@endpoint-watch/core';
import {
  countEndpoints,
  describeHealth,
  describeTarget,
  endpointRows,
  type LiveView,
  type LogEntry,
} from './model.js';

export interface WatchViewInput {
  readonly namespace: string;
  readonly service: string;
  /** `https://… (context prod)`. */
  readonly origin: string;
  readonly elapsedMs: number;
  /** `Date.now()`, the clock of the health timestamps. */
  readonly wallNow: number;
  readonly set: EndpointSet | undefined;
  readonly health: WatchHealth | undefined;
  readonly events: readonly LogEntry[];
}

export function buildWatchView(input: WatchViewInput): LiveView {
  const counts = countEndpoints(input.set);
  const empty = input.set !== undefined && counts.total === 0;
  return {
    title: 'endpoint-watch watch',
    target: describeTarget(input.namespace, input.service, input.set),
    origin: input.origin,
    elapsedMs: input.elapsedMs,
    durationMs: undefined,
    health: describeHealth(
      input.health,
      input.wallNow,
      { namespace: input.namespace },
      input.set?.resourceVersion,
    ),
    counts,
    resourceVersion: input.set?.resourceVersion,
    source: input.set?.source,
    rows: endpointRows(input.set),
    traffic: undefined,
    events: input.events,
    hint: empty
      ? `no endpoints: does Service ${input.namespace}/${input.service} exist and select running pods? ` +
        `(kubectl get service,endpointslices -n ${input.namespace})`
      : undefined,
  };
}
