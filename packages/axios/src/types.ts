import type { AgentOptions } from 'node:http';
import type { ConnectionOptions } from 'node:tls';
import type { Balancer, BalancerOptions } from '@endpoint-watch/balancer';
import type { BalancedAgent, BalancedAgentOptions, BalancingSource } from '@endpoint-watch/undici';
import type { InternalAxiosRequestConfig } from 'axios';

export type { BalancingSource };

/** TLS settings for the connections to the pods (both adapters). */
export type PodTlsOptions = Pick<
  ConnectionOptions,
  | 'ca'
  | 'cert'
  | 'key'
  | 'pfx'
  | 'passphrase'
  | 'rejectUnauthorized'
  | 'ciphers'
  | 'minVersion'
  | 'maxVersion'
  | 'checkServerIdentity'
>;

/** Options of the per-endpoint `http.Agent`/`https.Agent` of the http adapter. `keepAlive` defaults to true. */
export type EndpointAgentOptions = Pick<
  AgentOptions,
  | 'keepAlive'
  | 'keepAliveMsecs'
  | 'maxSockets'
  | 'maxFreeSockets'
  | 'maxTotalSockets'
  | 'timeout'
  | 'scheduling'
>;

/** Options of the undici `BalancedAgent` behind the fetch adapter (TLS comes from `tls`). */
export type FetchDispatcherOptions = Omit<
  BalancedAgentOptions,
  'match' | 'hashKey' | 'maxAttempts' | 'retryNonIdempotent' | 'noEndpointsTimeoutMs' | 'balancer'
>;

export interface AxiosBalancingOptions {
  /**
   * The logical host whose requests are balanced: `web.shop.svc` (any port) or `web.shop.svc:8080`
   * (that port only). Default: host name and port of the instance's `baseURL` when
   * `withEndpointBalancing` is called. Ignored when `match` is given.
   */
  readonly host?: string;
  /**
   * Which requests are balanced, from the request's full URL (`baseURL` + `url`, before `params`).
   * Overrides `host`. Others go out untouched.
   */
  readonly match?: (url: URL) => boolean;
  /** Key for `strategy: 'consistent-hash'`, from the request config. Retries go without it. */
  readonly hashKey?: (config: InternalAxiosRequestConfig) => string | undefined;
  /** Attempts per request, the first included. Default 3. `1` disables retries. */
  readonly maxAttempts?: number;
  /** Also retry non-idempotent requests (POST, PATCH) whose connection broke after they were sent. Default false. */
  readonly retryNonIdempotent?: boolean;
  /**
   * How long a request waits for an endpoint when none can be picked before failing with
   * `ERR_NO_ENDPOINTS`. Default: the balancer's `noEndpointsTimeoutMs` (3 000 ms). `0`: at once.
   */
  readonly noEndpointsTimeoutMs?: number;
  /** Settings of the balancer created for an `{ endpoints }` source. Not allowed with `{ balancer }`. */
  readonly balancer?: BalancerOptions;
  /** TLS settings for https to the pods: `ca`, client `cert`/`key`, … (verification stays on by default). */
  readonly tls?: PodTlsOptions;
  /** Per-endpoint Node agents of the http adapter. */
  readonly agent?: EndpointAgentOptions;
  /** The undici `BalancedAgent` used by the fetch adapter (`connections`, `keepAliveTimeout`, timeouts, …). */
  readonly fetchDispatcher?: FetchDispatcherOptions;
}

/** One per-endpoint Node agent of the http adapter. */
export interface EndpointAgentInfo {
  /** `address:port` (`[v6]:port`) of the endpoint. */
  readonly endpoint: string;
  readonly protocol: 'http:' | 'https:';
  /** TLS server name (SNI) of its connections; `undefined` for http or an IP logical host. */
  readonly servername: string | undefined;
  /** The endpoint left the set: the agent is destroyed once its requests are done. */
  readonly retired: boolean;
  /** Balanced attempts running on it. */
  readonly inFlight: number;
  /** Open sockets, busy and free. */
  readonly sockets: number;
  /** Kept-alive sockets with nothing running. */
  readonly freeSockets: number;
}

/** What `withEndpointBalancing` attached to an instance: one per call (one per Service). */
export interface EndpointBalancing {
  /** The balancer picking the endpoints. */
  readonly balancer: Balancer;
  /** Whether `url` is balanced by this attachment (its `match`). */
  matches(url: URL): boolean;
  /** The per-endpoint Node agents of the http adapter open now (retired ones included). */
  agents(): EndpointAgentInfo[];
  /** The undici dispatcher behind the fetch adapter, once a fetch-adapter request created it. */
  readonly fetchDispatcher: BalancedAgent | undefined;
  /** `true` once `detach()` was called. */
  readonly detached: boolean;
  /**
   * Stops balancing at once (later requests go out untouched), then, once the balanced requests in
   * progress have settled, closes the agents, the fetch dispatcher and the balancer if it was created
   * from `{ endpoints }` (which ends its watch). Idempotent.
   */
  detach(): Promise<void>;
}
