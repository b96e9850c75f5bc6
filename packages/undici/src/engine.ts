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
  /**
   * The headers of a request that gives none: `host` alone, one object for every such request
   * (undici only reads it). Frozen: a dispatcher below that wrote to it would change every request.
   */
  readonly hostOnly: Readonly<Record<string, string>>;
  /**
   * The URL's host name when it is a DNS name: the TLS server name over https. Given over plain HTTP
   * too, where undici ignores it, because without one undici's `Request` derives it from the Host
   * header on every request (`getServerName`: `net.isIP` and its regular expressions).
   */
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
  readonly #onStart: (() => void) | undefined;
  /** One cache of endpoint origins per protocol (http:, https:), shared by the targets. */
  readonly #origins = new Map<string, EndpointOrigins>();

  constructor(
    balancer: Balancer,
    options: EndpointBalancingOptions,
    hooks: {
      stopped?: () => boolean;
      /** Where the requests waiting for an endpoint are kept while they wait. */
      waiting?: Set<BalancedRequest>;
      onStart?: () => void;
      onSettled?: () => void;
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
      waiting: hooks.waiting,
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
      options.headers == null ? target.hostOnly : withHostHeader(options.headers, target.host),
      (options as { servername?: string }).servername ?? target.servername,
      target.origins,
      this.#hashKey?.(options),
    );
    this.#onStart?.();
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
        hostOnly: Object.freeze({ host: url.host }),
        servername: isIP(hostname) === 0 ? hostname : undefined,
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
