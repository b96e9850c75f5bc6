import type { Balancer, BalancerOptions } from '@endpoint-watch/balancer';
import type { EndpointSet } from '@endpoint-watch/core';
import type { Observable } from 'rxjs';
import type { Agent, Dispatcher } from 'undici';

/**
 * Where endpoints come from: a stream of sets (the dispatcher or interceptor then creates its own
 * balancer from `options.balancer` and closes it with itself), or a balancer you own (never closed
 * here, and it may be shared with other clients).
 */
export type BalancingSource =
  | { readonly endpoints: Observable<EndpointSet>; readonly balancer?: undefined }
  | { readonly balancer: Balancer; readonly endpoints?: undefined };

export interface EndpointBalancingOptions {
  /**
   * Which requests are balanced, by origin (`http://web.shop.svc:8080`). Default: all of them.
   * Others go through unchanged (to the inner Agent of `createBalancedAgent`). Called once per
   * distinct origin string, and the answer is cached: it must depend only on the URL.
   */
  readonly match?: (origin: URL) => boolean;
  /**
   * Key for consistent hashing (`strategy: 'consistent-hash'`), from the caller's dispatch options
   * (e.g. a header or the path). `undefined`: no key. Retries go without the key, to another endpoint.
   */
  readonly hashKey?: (options: Dispatcher.DispatchOptions) => string | undefined;
  /** Attempts per request, the first included. Default 3. `1` disables retries. */
  readonly maxAttempts?: number;
  /**
   * Also retry non-idempotent requests (POST, PATCH, …) whose connection broke after the request was
   * sent and before a response arrived. Default false: they may have been processed.
   */
  readonly retryNonIdempotent?: boolean;
  /**
   * How long a request waits for an endpoint when none can be picked (empty set, none yet, all
   * ejected) before failing with `NoEndpointsError` (`ERR_NO_ENDPOINTS`). Default: the balancer's
   * `noEndpointsTimeoutMs` (3 000 ms unless set). `0`: fail at once. At most 2^31 - 1 ms.
   */
  readonly noEndpointsTimeoutMs?: number;
  /** Settings of the balancer created for an `endpoints` source. Not allowed with a `balancer` source. */
  readonly balancer?: BalancerOptions;
}

/**
 * `createBalancedAgent` options: the balancing options, plus undici `Agent`/`Pool` options used for
 * every per-endpoint `Pool` and for the inner `Agent` of unmatched requests (`connect` with TLS
 * settings such as `ca`, `connections`, `pipelining`, `keepAliveTimeout`, `headersTimeout`,
 * `bodyTimeout`, `connectTimeout`, …).
 */
export interface BalancedAgentOptions
  extends EndpointBalancingOptions,
    Omit<Agent.Options, 'factory' | 'interceptors' | 'maxOrigins'> {
  /** Negotiate HTTP/2 with the pods over TLS (ALPN). Default false, whatever the undici version's default. */
  readonly allowH2?: boolean;
}

/** One open per-endpoint pool of a `BalancedAgent`. */
export interface EndpointPoolInfo {
  /** `http://10.0.0.1:8080` */
  readonly origin: string;
  /** `address:port` of the endpoint. */
  readonly endpoint: string;
  /** TLS server name the pool's connections use (`undefined` for http). */
  readonly servername: string | undefined;
  /** The endpoint left the set: the pool finishes its requests, then closes. */
  readonly draining: boolean;
  /** Sockets connected. */
  readonly connected: number;
  /** Connected sockets with nothing running. */
  readonly free: number;
  /** Requests running on its sockets. */
  readonly running: number;
  /** Requests queued or running. */
  readonly size: number;
}

/** An `endpointBalancing` interceptor, for `agent.compose(...)`. */
export interface EndpointBalancingInterceptor {
  (dispatch: Dispatcher.Dispatch): Dispatcher.Dispatch;
  /** The balancer picking the endpoints. */
  readonly balancer: Balancer;
  /** Closes the balancer when the interceptor created it (an `endpoints` source); else does nothing. */
  close(): void;
}
