import { isIP } from 'node:net';
import type { Balancer } from '@endpoint-watch/balancer';
import type { Dispatcher } from 'undici';
import {
  BalancedRequest,
  EndpointOrigins,
  HandlerFailures,
  type RequestSettings,
} from './balanced-request.js';
import { withHostHeader } from './headers.js';
import type { EndpointBalancingOptions } from './types.js';

export const DEFAULT_MAX_ATTEMPTS = 3;
/** Distinct origins whose `match` answer is cached; the cache starts over beyond. */
const MAX_CACHED_ORIGINS = 1_000;

type Handler = Dispatcher.DispatchHandler;
type DispatchFn = (options: Dispatcher.DispatchOptions, handler: Handler) => boolean;

/** What a balanced origin keeps for every request to it. */
interface Target {
  /** The endpoints' origins for the URL's protocol. */
  readonly origins: EndpointOrigins;
  /** `host[:port]` as in the URL: the Host header. */
  readonly host: string;
  /** TLS server name for https to a DNS name. */
  readonly servername: string | undefined;
}

/**
 * The balancing logic shared by the interceptor and `BalancedAgent`: decides whether a request is
 * balanced, and runs a `BalancedRequest` for each balanced one over `next` (the dispatch below).
 */
export class BalancingEngine {
  readonly balancer: Balancer;
  readonly #settings: RequestSettings;
  readonly #match: ((origin: URL) => boolean) | undefined;
  readonly #hashKey: ((options: Dispatcher.DispatchOptions) => string | undefined) | undefined;
  readonly #targets = new Map<string, Target | null>();
  /** The origin of the latest request and its target (see `#target`). */
  #lastOrigin: string | undefined;
  #lastTarget: Target | null = null;
  readonly #onStart: ((request: BalancedRequest) => void) | undefined;
  /** One cache of endpoint origins per protocol (http:, https:), shared by the targets. */
  readonly #origins = new Map<string, EndpointOrigins>();

  constructor(
    balancer: Balancer,
    options: EndpointBalancingOptions,
    hooks: {
      stopped?: () => boolean;
      onStart?: (request: BalancedRequest) => void;
      onSettled?: (request: BalancedRequest) => void;
    } = {},
  ) {
    // The options were validated by the agent or interceptor, before the balancer was made.
    this.balancer = balancer;
    this.#match = options.match;
    this.#hashKey = options.hashKey;
    this.#onStart = hooks.onStart;
    const stopped = hooks.stopped ?? (() => false);
    this.#settings = {
      balancer,
      maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      retryNonIdempotent: options.retryNonIdempotent ?? false,
      noEndpointsTimeoutMs: options.noEndpointsTimeoutMs,
      stopped,
      onSettled: hooks.onSettled,
      memory: new HandlerFailures(),
    };
  }

  /** Interceptor form: `(dispatch) => dispatch`. The returned function takes exactly 2 arguments. */
  interceptor(): (next: Dispatcher.Dispatch) => Dispatcher.Dispatch {
    return (next) => (options, handler) => this.dispatch(next as DispatchFn, options, handler);
  }

  dispatch(next: DispatchFn, options: Dispatcher.DispatchOptions, handler: Handler): boolean {
    const target = this.#target(options.origin);
    if (target === null) return next(options, handler);
    const request = new BalancedRequest(
      this.#settings,
      next,
      handler,
      options,
      withHostHeader(options.headers, target.host),
      (options as { servername?: string }).servername ?? target.servername,
      target.origins,
      this.#hashKey?.(options),
    );
    this.#onStart?.(request);
    request.start();
    return true;
  }

  #originsFor(protocol: string): EndpointOrigins {
    let origins = this.#origins.get(protocol);
    if (origins === undefined) {
      origins = new EndpointOrigins(protocol);
      this.#origins.set(protocol, origins);
    }
    return origins;
  }

  /** `null`: not balanced (no origin, or `match` said no). */
  #target(origin: Dispatcher.DispatchOptions['origin']): Target | null {
    if (origin === undefined || origin === null || origin === '') return null;
    const text = typeof origin === 'string' ? origin : origin.href;
    // `request()` makes a new origin string per request, which the map would hash each time: the
    // last origin, compared as a string, answers the usual run of requests to one Service.
    if (text === this.#lastOrigin) return this.#lastTarget;
    const cached = this.#targets.get(text);
    if (cached !== undefined) return this.#remember(text, cached);
    let url: URL;
    try {
      url = typeof origin === 'string' ? new URL(origin) : origin;
    } catch {
      return null; // undici reports the invalid origin
    }
    let target: Target | null = null;
    if (this.#match === undefined || this.#match(url)) {
      const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
      target = {
        origins: this.#originsFor(url.protocol),
        host: url.host,
        servername: url.protocol === 'https:' && isIP(hostname) === 0 ? hostname : undefined,
      };
    }
    if (this.#targets.size >= MAX_CACHED_ORIGINS) this.#targets.clear();
    this.#targets.set(text, target);
    return this.#remember(text, target);
  }

  #remember(origin: string, target: Target | null): Target | null {
    this.#lastOrigin = origin;
    this.#lastTarget = target;
    return target;
  }
}
