import type { Endpoint, MetricsOptions } from '@endpoint-watch/core';
import type { Observable } from 'rxjs';

/** Why a request failed, as the caller saw it. Every kind counts as a failure for outlier detection. */
export type FailureKind = 'connect' | 'reset' | 'timeout' | 'status5xx' | 'other';

/**
 * How a request sent to a picked endpoint ended. `latencyMs` defaults to the time between `pick`
 * and `release` measured with the balancer's clock (`options.now`).
 */
export type Outcome =
  | { readonly ok: true; readonly latencyMs?: number }
  | { readonly ok: false; readonly failure: FailureKind; readonly latencyMs?: number };

/** One request's claim on an endpoint. Release it exactly once when the request ends; later calls are no-ops. */
export interface Lease {
  readonly endpoint: Endpoint;
  /**
   * The endpoint's key (`address:port`, as `endpointKey` makes it), when the balancer has it at hand
   * (`createBalancer`'s leases do): spares the caller building the string again per request.
   */
  readonly key?: string;
  release(outcome: Outcome): void;
}

/** Names of the built-in strategies. */
export type StrategyName = 'least-request' | 'round-robin' | 'random' | 'peak-ewma' | 'consistent-hash';

/**
 * Live per-endpoint state a strategy may read (never write). The objects are the balancer's own:
 * the same object for as long as the endpoint stays in the set.
 */
export interface EndpointState {
  /** `address:port` (`[v6]:port` for IPv6), the identity across set changes. */
  readonly key: string;
  readonly endpoint: Endpoint;
  readonly inFlight: number;
  readonly picks: number;
  readonly successes: number;
  readonly failures: number;
  readonly consecutiveFailures: number;
  /** Balancer clock time at which the endpoint (last) joined the set. */
  readonly addedAt: number;
}

/** What a strategy gets from the balancer. */
export interface StrategyContext {
  /** Uniform in [0, 1). */
  readonly random: () => number;
  readonly now: () => number;
  readonly choiceCount: number;
  readonly activeRequestBias: number;
  readonly hash: Readonly<Required<HashOptions>>;
  /** Slow-start weight in (0, 1] at `now`; 1 when slow start is off or over. */
  weight(state: EndpointState, now: number): number;
  /** Peak-EWMA latency estimate in ms at `now` (kept for every endpoint whatever the strategy). */
  latency(state: EndpointState, now: number): number;
}

/**
 * A per-request selection policy. `setCandidates` is called with the endpoints eligible right now
 * (after outlier ejection, panic and zone selection) whenever that list changes; it may do O(n) work
 * (or O(table size) for consistent hashing). `pick` is called only when there is at least one
 * candidate and must be O(1) or O(log n), returning one of the candidates.
 */
export interface Strategy {
  readonly name: string;
  setCandidates(candidates: readonly EndpointState[]): void;
  /**
   * Optional, O(changed): the candidates after an incremental change (`added` joined, `removed`
   * left). A strategy that has this method gets the balancer's own candidate array in both calls:
   * it may keep it and read it at pick time (the balancer updates it in place, in no particular
   * order, and always calls this method or `setCandidates` right after), but must never modify it.
   * Without it, `setCandidates` gets a copy after every change.
   */
  updateCandidates?(
    candidates: readonly EndpointState[],
    added: readonly EndpointState[],
    removed: readonly EndpointState[],
  ): void;
  pick(key: string | undefined, now: number): EndpointState;
}

export type StrategyFactory = (context: StrategyContext) => Strategy;

export interface HashOptions {
  /** Default `maglev`. */
  readonly algorithm?: 'maglev' | 'ring';
  /** Maglev lookup table size, a prime. Default 65 537 (Envoy). */
  readonly tableSize?: number;
  /** Minimum number of ring entries for ring hash. Default 1 024 (Envoy `minimum_ring_size`). */
  readonly ringMinSize?: number;
}

export interface OutlierDetectionOptions {
  /** Consecutive failed outcomes that eject an endpoint. Default 5 (Envoy `consecutive_5xx`). */
  readonly consecutiveFailures?: number;
  /** Ejection time = base × times ejected (capped by `maxEjectionMs`). Default 30 000. */
  readonly baseEjectionMs?: number;
  /** Default 300 000. */
  readonly maxEjectionMs?: number;
  /** At most this share of the set is ejected at once. Default 10. */
  readonly maxEjectionPercent?: number;
  /**
   * Allow one ejection even when `maxEjectionPercent` of the set rounds down to zero (Envoy
   * `always_eject_one_host`). Default **true** here (Envoy: false), since Services usually have
   * fewer than 10 pods and the detector would otherwise never act.
   */
  readonly alwaysEjectOneHost?: boolean;
  /**
   * Envoy `interval`: how often the success rates are compared, and each full interval an endpoint
   * stays un-ejected lowers its ejection multiplier by one. Default 10 000.
   */
  readonly intervalMs?: number;
  /** Envoy's success-rate detector; on by default (Envoy `enforcing_success_rate` 100); `false` turns it off. */
  readonly successRate?: SuccessRateOptions | false;
}

/**
 * Every `intervalMs`, among the endpoints that got at least `requestVolume` outcomes in the interval
 * (when there are at least `minimumHosts` of them), an endpoint whose success rate is below
 * mean − `stdevFactor` × standard deviation is ejected, lowest rate first, within the same cap and
 * for the same time as a consecutive-failure ejection.
 */
export interface SuccessRateOptions {
  /** Default 5 (Envoy `success_rate_minimum_hosts`). */
  readonly minimumHosts?: number;
  /** Default 100 (Envoy `success_rate_request_volume`). */
  readonly requestVolume?: number;
  /** Default 1.9 (Envoy `success_rate_stdev_factor` 1900, in thousandths). */
  readonly stdevFactor?: number;
}

export interface SlowStartOptions {
  /** How long a new endpoint ramps up. */
  readonly windowMs: number;
  /** Default 1.0 (linear). Higher ramps faster at first. */
  readonly aggression?: number;
  /** Floor of the ramp, in percent of full weight. Default 10. */
  readonly minWeightPercent?: number;
}

export interface ZoneOptions {
  /** The caller's zone (`topology.kubernetes.io/zone` of its node). */
  readonly local: string;
  /**
   * The caller's node name (the downward API's `spec.nodeName`). With it, `hints.forNodes`
   * (`trafficDistribution: PreferSameNode`) keep traffic on the caller's node when every endpoint
   * carries them and one is hinted for this node, before zones are considered (kube-proxy).
   */
  readonly node?: string;
  /** Below this many healthy endpoints zone preference by `zone` field is off. Default 6 (Envoy). */
  readonly minClusterSize?: number;
}

export interface BalancerOptions {
  /** Default `least-request`. */
  readonly strategy?: StrategyName | StrategyFactory;
  /** Endpoints sampled per pick by least-request and peak-ewma. Default 2 (power of two choices). */
  readonly choiceCount?: number;
  /** Envoy `active_request_bias`: how strongly in-flight requests discount a weight. Default 1.0. */
  readonly activeRequestBias?: number;
  /** Peak-EWMA time constant τ. Default 10 000 ms (Finagle, Linkerd). */
  readonly ewmaDecayMs?: number;
  /** Latency estimate of a never-sampled endpoint. Default 30 ms (Linkerd's default RTT). */
  readonly ewmaDefaultLatencyMs?: number;
  readonly hash?: HashOptions;
  /** Passive outlier detection; on by default with Envoy's defaults; `false` turns it off. */
  readonly outlierDetection?: OutlierDetectionOptions | false;
  /** Balance over all endpoints when fewer than this percent are healthy. Default 50; 0 disables. */
  readonly panicThresholdPercent?: number;
  /** Off by default. */
  readonly slowStart?: SlowStartOptions;
  /** Off by default. */
  readonly zone?: ZoneOptions;
  /** Clock in ms. Default `performance.now`. */
  readonly now?: () => number;
  /** Uniform random in [0, 1). Default `Math.random`. */
  readonly random?: () => number;
  /** Default bound of `waitForPick`. Default 3 000 ms. */
  readonly noEndpointsTimeoutMs?: number;
  /** Names the service in errors before the first set arrives (e.g. `default/web`). */
  readonly name?: string;
  /**
   * OpenTelemetry metrics per endpoint (see `instrumentBalancer`): `true` records with the global
   * provider of `@opentelemetry/api` (nothing when it is not installed), `{ meter }` or
   * `{ meterProvider }` with yours. Off by default: recording costs about 0.1 µs per pick with a
   * no-op meter, 3 µs with the SDK.
   */
  readonly metrics?: boolean | MetricsOptions;
}

export interface PickOptions {
  /**
   * Endpoint keys (`address:port`, as `endpointKey` makes them) not to pick, e.g. those a request
   * already failed on. Never picked while another candidate exists; when every candidate is
   * excluded, one of them is picked anyway (a retry may go back to the only pod).
   */
  readonly exclude?: ReadonlySet<string>;
}

export interface WaitForPickOptions extends PickOptions {
  readonly signal?: AbortSignal;
  /**
   * Default `options.noEndpointsTimeoutMs`. `0`: reject at once when nothing can be picked. Outside
   * [0, 2^31 - 1] (NaN, Infinity included) the call rejects with `BalancerOptionsError`.
   */
  readonly timeoutMs?: number;
}

/** Counters of one endpoint, a snapshot. */
export interface EndpointStats {
  readonly key: string;
  readonly address: string;
  readonly port: number;
  readonly zone: string | undefined;
  readonly inFlight: number;
  readonly picks: number;
  readonly successes: number;
  readonly failures: number;
  readonly consecutiveFailures: number;
  readonly ejected: boolean;
  /** Balancer clock time the ejection ends, when ejected. */
  readonly ejectedUntil: number | undefined;
  /** Current ejection multiplier (times ejected in a row, decayed while healthy). */
  readonly ejectionCount: number;
  readonly ewmaLatencyMs: number;
  /** Slow-start weight in (0, 1]. */
  readonly weight: number;
  /** Whether picks may currently land on it (after ejection, panic and zone selection). */
  readonly candidate: boolean;
  readonly addedAt: number;
}

/** One endpoint of the current set with its counters. */
export interface BalancedEndpoint extends EndpointStats {
  readonly endpoint: Endpoint;
}

/**
 * `local`: picks stay in the caller's zone; `spill`: zone preference is on but all endpoints are used
 * (local zone missing, short or the set too small); `off`: no `zone` option, or panic.
 */
export type ZoneRouting = 'off' | 'local' | 'spill';

export interface BalancerStats {
  readonly namespace: string | undefined;
  readonly service: string | undefined;
  readonly strategy: string;
  /** Balancer clock time of the snapshot. */
  readonly at: number;
  readonly closed: boolean;
  /** Fewer than `panicThresholdPercent` of the endpoints are healthy: balancing over all of them. */
  readonly panic: boolean;
  readonly zoneRouting: ZoneRouting;
  readonly endpoints: readonly EndpointStats[];
  readonly totals: {
    readonly endpoints: number;
    readonly healthy: number;
    readonly ejected: number;
    readonly candidates: number;
    /** Unreleased leases, including those on endpoints that have left the set. */
    readonly inFlight: number;
    /** Lifetime counters of this balancer (endpoints that left included). */
    readonly picks: number;
    readonly successes: number;
    readonly failures: number;
  };
}

export interface Balancer {
  /**
   * A lease on an endpoint, or `undefined` when there is none to pick (empty set, none yet, closed).
   * `options.exclude`: see `PickOptions`.
   */
  pick(key?: string, options?: PickOptions): Lease | undefined;
  /**
   * Like `pick`, but waits up to `timeoutMs` for an endpoint to appear, then rejects with
   * `NoEndpointsError`. Rejects with `signal.reason` on abort and `BalancerClosedError` on close.
   */
  waitForPick(key?: string, options?: WaitForPickOptions): Promise<Lease>;
  /** The current set with counters (a fresh snapshot on each access). */
  readonly endpoints: readonly BalancedEndpoint[];
  stats(): BalancerStats;
  /**
   * Current stats on subscribe, then on each structural change: set change, ejection, return from
   * ejection (noticed lazily, at the next pick or `stats()`), close (then completes). Not on every pick.
   */
  readonly stats$: Observable<BalancerStats>;
  /**
   * The keys (`address:port`) that left the set, at each set change where some did; completes on
   * close. O(changed) per change, unlike `stats$` (which lists every endpoint): what a consumer that
   * keeps per-endpoint resources (connection pools) should follow. Optional for other `Balancer`
   * implementations; `createBalancer`'s has it.
   */
  readonly left$?: Observable<readonly string[]>;
  /** Whether `key` (`address:port`) is in the current set. O(1). Present when `left$` is. */
  has?(key: string): boolean;
  /** Unsubscribes from the endpoint stream; later picks return `undefined`, waits reject. Idempotent. */
  close(): void;
}
