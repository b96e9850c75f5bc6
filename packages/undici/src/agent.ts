import type { Balancer } from '@endpoint-watch/balancer';
import { Agent, Dispatcher, errors } from 'undici';
import { attemptEndpoint } from './attempt.js';
import type { BalancedRequest } from './balanced-request.js';
import { resolveBalancingSource, validateBalancingOptions } from './balancing-source.js';
import { EndpointPools } from './endpoint-pools.js';
import { BalancingEngine } from './engine.js';
import type {
  BalancedAgentOptions,
  BalancingSource,
  EndpointBalancingOptions,
  EndpointPoolInfo,
} from './types.js';

type DispatcherEvent = 'connect' | 'disconnect' | 'connectionError';

const BALANCING_KEYS = [
  'match',
  'hashKey',
  'maxAttempts',
  'retryNonIdempotent',
  'noEndpointsTimeoutMs',
  'balancer',
] as const satisfies readonly (keyof EndpointBalancingOptions)[];
/** Agent-only options that mean something else (or nothing) to a Pool. */
const AGENT_ONLY_KEYS = ['factory', 'maxOrigins', 'interceptors'] as const;

type Handler = Dispatcher.DispatchHandler;

/**
 * An undici `Dispatcher` that sends each request to one endpoint of a Service, picked per request
 * by an `@endpoint-watch/balancer` `Balancer`, over one keep-alive pool per endpoint. Usable as
 * `request(url, { dispatcher })`, `stream`, `pipeline`, `fetch(url, { dispatcher })` (the `fetch`
 * of the same undici package), or `setGlobalDispatcher`. See the package README.
 */
export class BalancedAgent extends Dispatcher {
  /** The balancer picking the endpoints (created from `options.balancer` for an `endpoints` source). */
  readonly balancer: Balancer;
  readonly #ownsBalancer: boolean;
  readonly #pools: EndpointPools;
  readonly #passthrough: Agent;
  readonly #engine: BalancingEngine;
  /** Below the engine: an attempt to its endpoint's pool, an unbalanced request to the plain Agent. */
  readonly #route: (options: Dispatcher.DispatchOptions, handler: Handler) => boolean;
  /** Requests in progress (waiting for an endpoint or running): `close()` waits for none to be left. */
  #inProgress = 0;
  /**
   * The requests waiting for an endpoint, which `destroy()` fails itself. A running request needs no
   * entry (no `Set` work per request): its pool's `destroy()` fails its attempt, and it fails with that.
   */
  readonly #waiting = new Set<BalancedRequest>();
  #whenIdle: Array<() => void> = [];
  #closed = false;
  #destroyed = false;
  #closing: Promise<void> | undefined;
  #destroying: Promise<void> | undefined;

  constructor(source: BalancingSource, options: BalancedAgentOptions = {}) {
    super();
    validateBalancingOptions(options);
    const poolOptions: Record<string, unknown> = { ...options, allowH2: options.allowH2 ?? false };
    for (const key of [...BALANCING_KEYS, ...AGENT_ONLY_KEYS]) delete poolOptions[key];
    const { balancer, owned } = resolveBalancingSource(source, options);
    this.balancer = balancer;
    this.#ownsBalancer = owned;
    const forward = (event: DispatcherEvent, origin: URL, targets: readonly Dispatcher[], error?: Error) =>
      this.emit(event as 'disconnect', origin, [this, ...targets], error as errors.UndiciError);
    this.#pools = new EndpointPools(balancer, poolOptions, forward);
    this.#passthrough = new Agent(poolOptions);
    for (const event of ['connect', 'disconnect', 'connectionError'] as const) {
      this.#passthrough.on(
        event as 'disconnect',
        (origin: URL, targets: readonly Dispatcher[], error: Error) =>
          // The inner Agent lists itself first; this agent stands in for it.
          forward(event, origin, targets.slice(1), error),
      );
    }
    this.#engine = new BalancingEngine(balancer, options, {
      stopped: () => this.#destroyed,
      waiting: this.#waiting,
      onStart: () => {
        this.#inProgress++;
      },
      onSettled: () => this.#settled(),
    });
    const pools = this.#pools;
    const passthrough = this.#passthrough;
    this.#route = (dispatchOptions, handler) => {
      const endpoint = attemptEndpoint(handler);
      return endpoint === undefined
        ? passthrough.dispatch(dispatchOptions, handler)
        : pools.dispatch(endpoint, dispatchOptions, handler);
    };
    // undici's compose() returns a Proxy of this agent whose methods run with the Proxy as `this`,
    // which has none of the private fields: the methods that use them are bound to the agent.
    this.close = this.close.bind(this) as BalancedAgent['close'];
    this.destroy = this.destroy.bind(this) as BalancedAgent['destroy'];
    this.pools = this.pools.bind(this);
  }

  /** `true` once `close()` or `destroy()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** `true` once `destroy()` was called. */
  get destroyed(): boolean {
    return this.#destroyed;
  }

  /**
   * Straight to the engine, which speaks to the handler in its own API (no `compose()` layers: each
   * would wrap a legacy handler, such as `request()`'s, in an adapter that re-encodes the headers).
   */
  override dispatch(options: Dispatcher.DispatchOptions, handler: Handler): boolean {
    if (this.#closed) {
      const error = this.#destroyed ? new errors.ClientDestroyedError() : new errors.ClientClosedError();
      if (typeof handler.onRequestStart === 'function')
        handler.onResponseError?.(null as unknown as Dispatcher.DispatchController, error);
      else if (typeof handler.onError === 'function') handler.onError(error);
      else throw new errors.InvalidArgumentError('invalid onError method');
      return false;
    }
    return this.#engine.dispatch(this.#route, options, handler);
  }

  /**
   * undici's `compose()`. What it returns stands in for this agent: its `close()`, `destroy()`,
   * `pools()`, `balancer`, `closed` and `destroyed` are the agent's; its `dispatch` goes through the
   * interceptors first.
   */
  override compose(interceptors: Dispatcher.DispatcherComposeInterceptor[]): BalancedAgent;
  override compose(...interceptors: Dispatcher.DispatcherComposeInterceptor[]): BalancedAgent;
  override compose(
    ...args: [Dispatcher.DispatcherComposeInterceptor[]] | Dispatcher.DispatcherComposeInterceptor[]
  ): BalancedAgent {
    const interceptors = Array.isArray(args[0])
      ? args[0]
      : (args as Dispatcher.DispatcherComposeInterceptor[]);
    return super.compose(interceptors) as unknown as BalancedAgent;
  }

  /** The per-endpoint pools open now (including those of departed endpoints still draining). */
  pools(): EndpointPoolInfo[] {
    return this.#pools.info();
  }

  /**
   * Waits for the requests in progress (including those waiting for an endpoint) to finish, closes
   * every pool and the inner Agent, then the balancer if this agent created it. New requests fail
   * with `ClientClosedError` meanwhile.
   */
  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | undefined {
    const done = this.#close();
    if (callback === undefined) return done;
    done.then(callback, callback);
    return undefined;
  }

  /** Fails every request in progress with `error` (default `ClientDestroyedError`) and closes everything. */
  override destroy(): Promise<void>;
  override destroy(error: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(error: Error | null, callback: () => void): void;
  override destroy(
    errorOrCallback?: Error | null | (() => void),
    maybeCallback?: () => void,
  ): Promise<void> | undefined {
    const callback = typeof errorOrCallback === 'function' ? errorOrCallback : maybeCallback;
    const error = typeof errorOrCallback === 'function' ? undefined : (errorOrCallback ?? undefined);
    const done = this.#destroy(error);
    if (callback === undefined) return done;
    done.then(callback, callback);
    return undefined;
  }

  #close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= (async () => {
      await this.#idle();
      await Promise.all([this.#pools.close(), this.#passthrough.close().catch(() => undefined)]);
      this.#closeBalancer();
    })();
    return this.#closing;
  }

  #destroy(error: Error | undefined): Promise<void> {
    this.#closed = true;
    this.#destroyed = true;
    this.#destroying ??= (async () => {
      const reason = error ?? new errors.ClientDestroyedError();
      for (const request of [...this.#waiting]) request.abort(reason);
      await Promise.all([
        this.#pools.destroy(reason),
        this.#passthrough.destroy(reason).catch(() => undefined),
      ]);
      this.#closeBalancer();
    })();
    return this.#destroying;
  }

  #closeBalancer(): void {
    if (this.#ownsBalancer) this.balancer.close();
  }

  #settled(): void {
    if (--this.#inProgress > 0 || this.#whenIdle.length === 0) return;
    const waiting = this.#whenIdle;
    this.#whenIdle = [];
    for (const resolve of waiting) resolve();
  }

  #idle(): Promise<void> {
    if (this.#inProgress === 0) return Promise.resolve();
    return new Promise((resolve) => this.#whenIdle.push(resolve));
  }
}

/**
 * A `BalancedAgent` over `{ endpoints }` (an `Observable<EndpointSet>`, e.g. `watchEndpoints(...)`;
 * the agent creates a balancer from `options.balancer` and closes it on `close()`) or over
 * `{ balancer }` (yours; left open).
 */
export function createBalancedAgent(source: BalancingSource, options?: BalancedAgentOptions): BalancedAgent {
  return new BalancedAgent(source, options);
}
