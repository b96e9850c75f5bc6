/**
 * The demo's live view model, from what the demo command holds: the current endpoint set, the
 * watch health, the balancer's stats, the attempt and request counts and their rates. Pure.
 */
import type { BalancerStats } from '@endpoint-watch/balancer';
import type { EndpointSet, WatchHealth } from '@endpoint-watch/core';
import type { AttemptCounts, RequestCounts } from '../demo/ledger.js';
import {
  countEndpoints,
  describeHealth,
  describeTarget,
  endpointRows,
  type LiveView,
  type LogEntry,
  type TrafficCells,
} from './model.js';

export interface DemoViewInput {
  readonly namespace: string;
  readonly service: string;
  readonly elapsedMs: number;
  readonly durationMs: number;
  /** `Date.now()`, the clock of the health timestamps. */
  readonly wallNow: number;
  readonly set: EndpointSet | undefined;
  readonly health: WatchHealth | undefined;
  readonly stats: BalancerStats;
  readonly attempts: (key: string) => AttemptCounts | undefined;
  readonly attemptTotals: AttemptCounts;
  /** Attempts per second of an endpoint. */
  readonly attemptRate: (key: string) => number;
  readonly requests: RequestCounts;
  /** Completed requests per second. */
  readonly requestRate: number;
  /** What the script did to the pod at this address. */
  readonly note: (address: string) => string | undefined;
  readonly events: readonly LogEntry[];
}

export function buildDemoView(input: DemoViewInput): LiveView {
  const byKey = new Map(input.stats.endpoints.map((e) => [e.key, e]));
  const traffic = (key: string): TrafficCells => {
    const counts = input.attempts(key);
    const stats = byKey.get(key);
    return {
      inFlight: counts?.inFlight ?? 0,
      rate: input.attemptRate(key),
      attempts: counts?.attempts ?? 0,
      failed: counts?.failed ?? 0,
      ejected: stats?.ejected ?? false,
      ejectedForMs:
        stats?.ejectedUntil === undefined ? undefined : Math.max(0, stats.ejectedUntil - input.stats.at),
      latencyMs: stats?.ewmaLatencyMs,
    };
  };
  const { requests, attemptTotals } = input;
  return {
    title: 'endpoint-watch demo',
    target: describeTarget(input.namespace, input.service, input.set),
    origin: undefined,
    elapsedMs: input.elapsedMs,
    durationMs: input.durationMs,
    health: describeHealth(
      input.health,
      input.wallNow,
      { namespace: input.namespace },
      input.set?.resourceVersion,
    ),
    counts: countEndpoints(input.set),
    resourceVersion: input.set?.resourceVersion,
    source: input.set?.source,
    rows: endpointRows(input.set, { traffic, note: input.note }),
    traffic: {
      strategy: input.stats.strategy,
      rate: input.requestRate,
      sent: requests.sent,
      succeeded: requests.succeeded,
      failed: requests.failed,
      inFlight: requests.inFlight,
      attempts: attemptTotals.attempts,
      failedAttempts: attemptTotals.failed,
      panic: input.stats.panic,
    },
    events: input.events,
    hint: undefined,
  };
}
