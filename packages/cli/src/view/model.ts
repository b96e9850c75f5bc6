/**
 * The view model: what the live view, the plain lines and the summary show, built from SDK values
 * (endpoint sets, watch health, balancer stats) by pure functions. Rendering lives in `render.ts`
 * and `plain.ts`; nothing here writes anywhere.
 */
import { endpointKey } from '@endpoint-watch/balancer';
import { type Endpoint, type EndpointSet, KubeApiError, type WatchHealth } from '@endpoint-watch/core';
import { type ErrorContext, shortError } from '../errors.js';

export type EndpointStateName = 'ready' | 'not ready' | 'terminating, serving' | 'terminating';

/** The conditions as one word, the way `kubectl get endpointslices -o wide` users think of them. */
export function endpointState(
  endpoint: Pick<Endpoint, 'ready' | 'serving' | 'terminating'>,
): EndpointStateName {
  if (endpoint.terminating) return endpoint.serving ? 'terminating, serving' : 'terminating';
  return endpoint.ready ? 'ready' : 'not ready';
}

/** Traffic columns of one endpoint (demo only). */
export interface TrafficCells {
  readonly inFlight: number;
  /** Attempts per second, over the meter's window. */
  readonly rate: number;
  readonly attempts: number;
  readonly failed: number;
  readonly ejected: boolean;
  /** How long the ejection still lasts. */
  readonly ejectedForMs: number | undefined;
  /** Peak-EWMA latency estimate of the balancer. */
  readonly latencyMs: number | undefined;
}

export interface EndpointRow {
  /** `address:port` (`[v6]:port`), the balancer's identity. */
  readonly key: string;
  readonly address: string;
  readonly port: number;
  readonly pod: string | undefined;
  readonly node: string | undefined;
  readonly zone: string | undefined;
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
  readonly state: EndpointStateName;
  /**
   * Traffic may go there: in `set.endpoints`, and not ejected by the balancer's outlier detection
   * (an ejected endpoint stays in the set, but gets no traffic until it is back).
   */
  readonly usable: boolean;
  /** What the demo did to this pod (`slow +150 ms`, `crashed`). */
  readonly note: string | undefined;
  readonly traffic: TrafficCells | undefined;
}

export interface RowExtras {
  readonly traffic?: (key: string) => TrafficCells | undefined;
  readonly note?: (address: string) => string | undefined;
}

/** One row per endpoint of the set (`all`), in address order. */
export function endpointRows(set: EndpointSet | undefined, extras: RowExtras = {}): EndpointRow[] {
  if (!set) return [];
  const usable = new Set(set.endpoints.map((e) => endpointKey(e)));
  return [...set.all].sort(compareEndpoints).map((endpoint) => {
    const key = endpointKey(endpoint);
    const traffic = extras.traffic?.(key);
    return {
      key,
      address: endpoint.address,
      port: endpoint.port,
      pod: endpoint.targetRef?.name,
      node: endpoint.nodeName,
      zone: endpoint.zone,
      ready: endpoint.ready,
      serving: endpoint.serving,
      terminating: endpoint.terminating,
      state: endpointState(endpoint),
      usable: usable.has(key) && traffic?.ejected !== true,
      note: extras.note?.(endpoint.address),
      traffic,
    };
  });
}

/** Numeric order for IPv4, then text order (IPv6, FQDN), then port. */
export function compareEndpoints(
  a: Pick<Endpoint, 'address' | 'port'>,
  b: Pick<Endpoint, 'address' | 'port'>,
) {
  const ka = addressSortKey(a.address);
  const kb = addressSortKey(b.address);
  return ka < kb ? -1 : ka > kb ? 1 : a.port - b.port;
}

function addressSortKey(address: string): string {
  const parts = address.split('.');
  if (parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p))) {
    return `0${parts.map((p) => p.padStart(3, '0')).join('.')}`;
  }
  return `1${address}`;
}

export interface EndpointCounts {
  readonly total: number;
  readonly ready: number;
  readonly notReady: number;
  readonly terminating: number;
  /** Where traffic goes (`set.endpoints`). */
  readonly usable: number;
}

export function countEndpoints(set: EndpointSet | undefined): EndpointCounts {
  const all = set?.all ?? [];
  return {
    total: all.length,
    ready: all.filter((e) => e.ready && !e.terminating).length,
    notReady: all.filter((e) => !e.ready && !e.terminating).length,
    terminating: all.filter((e) => e.terminating).length,
    usable: set?.endpoints.length ?? 0,
  };
}

/** `3 ready, 1 terminating, 1 not ready` (zero counts left out; `none` when empty). */
export function describeCounts(counts: EndpointCounts): string {
  const parts = [
    `${counts.ready} ready`,
    counts.terminating > 0 ? `${counts.terminating} terminating` : '',
    counts.notReady > 0 ? `${counts.notReady} not ready` : '',
  ].filter(Boolean);
  return counts.total === 0 ? 'no endpoints' : parts.join(', ');
}

export interface HealthView {
  readonly state: WatchHealth['state'] | 'starting';
  /**
   * `synced · rv 42 · for 3.0 s`, `resuming from rv 42 (stale for 0.1 s)`,
   * `retrying (attempt 3, next in 1.6 s, stale for 4.0 s)`.
   */
  readonly text: string;
  /**
   * Why it is retrying (`403 Forbidden: grant list, watch on …`) or resuming (the cut), or what a
   * synced state means (no EndpointSlice for the Service at all).
   */
  readonly error: string | undefined;
  /** Something the user should look at. */
  readonly problem: boolean;
}

/**
 * The watch's health as one line. `now` is on the clock of the health's timestamps (`Date.now`).
 * `setResourceVersion`, the latest set's, is what `synced` shows: the health's own is that of the
 * moment the watch was confirmed, and would read as stale while the sets move on.
 */
export function describeHealth(
  health: WatchHealth | undefined,
  now: number,
  context: ErrorContext = {},
  setResourceVersion?: string,
): HealthView {
  if (!health) return { state: 'starting', text: 'starting', error: undefined, problem: false };
  switch (health.state) {
    case 'connecting':
      return {
        state: 'connecting',
        text: `connecting (${seconds(now - health.since)})${health.notice ? ` · ${health.notice}` : ''}`,
        error: undefined,
        problem: false,
      };
    case 'resuming':
      return {
        state: 'resuming',
        text: `resuming from rv ${health.resourceVersion} (stale for ${seconds(now - health.staleSince)})`,
        error: health.error === undefined ? undefined : shortError(health.error, context),
        problem: false,
      };
    case 'synced':
      return {
        state: 'synced',
        text: `synced · rv ${setResourceVersion ?? health.resourceVersion} · for ${seconds(now - health.since)}`,
        // Shown under the health line, in yellow: a fact about the state, not a failure.
        error: health.notice,
        problem: false,
      };
    case 'retrying': {
      const stale = `stale for ${seconds(now - health.staleSince)}`;
      const relist = expiredRelist(health);
      if (relist) {
        return {
          state: 'retrying',
          text: `relisting (${relist.what}, ${stale})`,
          error: undefined,
          problem: false,
        };
      }
      return {
        state: 'retrying',
        text: `retrying (attempt ${health.attempt}, next in ${seconds(health.retryInMs)}, ${stale})`,
        error: shortError(health.error, context),
        problem: true,
      };
    }
  }
}

/**
 * `{ what: 'rv 42 has expired', status: '410 Expired' }` when the watch relists at once because its
 * resourceVersion aged out (etcd compaction: the engine's first answer to a 410 after a good watch).
 * A turn taken, not a failure; 410s that keep coming are retried with backoff, and told as retries.
 */
export function expiredRelist(health: WatchHealth): { what: string; status: string } | undefined {
  if (health.state !== 'retrying' || health.retryInMs > 0) return undefined;
  const error = health.error;
  if (!(error instanceof KubeApiError) || !error.isExpired) return undefined;
  const rv = health.resourceVersion;
  return {
    what: `${rv === undefined ? 'the list in progress' : `rv ${rv}`} has expired`,
    status: `${error.statusCode}${error.status.reason ? ` ${error.status.reason}` : ''}`,
  };
}

function seconds(ms: number): string {
  return `${(Math.max(0, ms) / 1000).toFixed(1)} s`;
}

export interface TrafficTotals {
  readonly strategy: string;
  /** Requests completed per second. */
  readonly rate: number;
  readonly sent: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly inFlight: number;
  readonly attempts: number;
  readonly failedAttempts: number;
  readonly panic: boolean;
}

export type LogKind = 'script' | 'change' | 'health' | 'balancer' | 'info';

export interface LogEntry {
  /** Offset from the start of the command. */
  readonly atMs: number;
  readonly kind: LogKind;
  readonly text: string;
}

export interface LiveView {
  /** `endpoint-watch demo`, `endpoint-watch watch`. */
  readonly title: string;
  /** `shop/web port http`. */
  readonly target: string;
  /** Where from: `https://… (context prod)`. */
  readonly origin: string | undefined;
  readonly elapsedMs: number;
  readonly durationMs: number | undefined;
  readonly health: HealthView;
  readonly counts: EndpointCounts;
  readonly resourceVersion: string | undefined;
  readonly source: string | undefined;
  readonly rows: readonly EndpointRow[];
  readonly traffic: TrafficTotals | undefined;
  /** Oldest first; the view shows the newest that fit. */
  readonly events: readonly LogEntry[];
  /** A line of advice under the table (e.g. an empty set). */
  readonly hint: string | undefined;
}

/** `shop/web port http`, or `shop/web` before the port is known. */
export function describeTarget(namespace: string, service: string, set: EndpointSet | undefined): string {
  const port = set?.port;
  if (!port) return `${namespace}/${service}`;
  return `${namespace}/${service} port ${port.name === '' ? '(unnamed)' : port.name}`;
}

/** Appends and keeps the newest `max` entries. */
export function appendLog(log: LogEntry[], entry: LogEntry, max = 200): void {
  log.push(entry);
  if (log.length > max) log.splice(0, log.length - max);
}
