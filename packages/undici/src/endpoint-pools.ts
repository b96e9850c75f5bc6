import type { Balancer, BalancerStats } from '@endpoint-watch/balancer';
import type { Subscription } from 'rxjs';
import { type Dispatcher, errors, Pool } from 'undici';
import type { EndpointPoolInfo } from './types.js';

type DispatcherEvent = 'connect' | 'disconnect' | 'connectionError';

interface PoolEntry {
  readonly pool: Pool;
  readonly origin: string;
  readonly endpoint: string;
  readonly servername: string | undefined;
  draining: boolean;
}

/**
 * One keep-alive `Pool` per endpoint (and TLS server name), created on first use. Watches the
 * balancer's `stats$`: when an endpoint leaves the set its pool is retired at once, which lets its
 * running and queued requests finish and then closes its sockets. A pool is never reused after
 * retirement: an endpoint that comes back gets a new one.
 */
export class EndpointPools {
  readonly #options: Pool.Options;
  readonly #forward: (
    event: DispatcherEvent,
    origin: URL,
    targets: readonly Dispatcher[],
    error?: Error,
  ) => void;
  /** Pools in use, by `origin servername`. */
  readonly #pools = new Map<string, PoolEntry>();
  readonly #draining = new Set<PoolEntry>();
  readonly #subscription: Subscription;
  /** Endpoint keys of the balancer's latest set; `undefined` before the first stats. */
  #current: Set<string> | undefined;
  #closed = false;

  constructor(
    balancer: Balancer,
    options: Pool.Options,
    forward: (event: DispatcherEvent, origin: URL, targets: readonly Dispatcher[], error?: Error) => void,
  ) {
    this.#options = options;
    this.#forward = forward;
    this.#subscription = balancer.stats$.subscribe((stats) => this.#onStats(stats));
  }

  dispatch(
    endpoint: string,
    options: Dispatcher.DispatchOptions,
    handler: Dispatcher.DispatchHandler,
  ): boolean {
    if (this.#closed) throw new errors.ClientClosedError();
    const origin = String(options.origin);
    const servername = (options as { servername?: string }).servername;
    const key = `${origin} ${servername ?? ''}`;
    let entry = this.#pools.get(key);
    if (entry === undefined) {
      entry = this.#create(origin, endpoint, servername);
      if (this.#current !== undefined && !this.#current.has(endpoint)) {
        // The endpoint left between the pick and now: a one-off pool, closed after this request.
        const result = entry.pool.dispatch(options, handler);
        this.#retire(entry);
        return result;
      }
      this.#pools.set(key, entry);
    }
    return entry.pool.dispatch(options, handler);
  }

  info(): EndpointPoolInfo[] {
    return [...this.#pools.values(), ...this.#draining].map((entry) => {
      const stats = entry.pool.stats;
      return {
        origin: entry.origin,
        endpoint: entry.endpoint,
        servername: entry.servername,
        draining: entry.draining,
        connected: stats.connected,
        free: stats.free,
        running: stats.running,
        size: stats.size,
      };
    });
  }

  /** Closes every pool, letting their requests finish. */
  async close(): Promise<void> {
    await Promise.all(this.#takeAll().map((entry) => entry.pool.close().catch(() => undefined)));
  }

  async destroy(error: Error): Promise<void> {
    await Promise.all(this.#takeAll().map((entry) => entry.pool.destroy(error).catch(() => undefined)));
  }

  #takeAll(): PoolEntry[] {
    this.#closed = true;
    this.#subscription.unsubscribe();
    const all = [...this.#pools.values(), ...this.#draining];
    this.#pools.clear();
    return all;
  }

  #create(origin: string, endpoint: string, servername: string | undefined): PoolEntry {
    const pool = new Pool(origin, this.#options);
    for (const event of ['connect', 'disconnect', 'connectionError'] as const) {
      pool.on(event as 'disconnect', (url: URL, targets: readonly Dispatcher[], error: Error) =>
        this.#forward(event, url, targets, error),
      );
    }
    return { pool, origin, endpoint, servername, draining: false };
  }

  #onStats(stats: BalancerStats): void {
    const current = new Set(stats.endpoints.map((endpoint) => endpoint.key));
    this.#current = current;
    for (const [key, entry] of this.#pools) {
      if (current.has(entry.endpoint)) continue;
      this.#pools.delete(key);
      this.#retire(entry);
    }
  }

  #retire(entry: PoolEntry): void {
    entry.draining = true;
    this.#draining.add(entry);
    entry.pool
      .close()
      .catch(() => undefined)
      .finally(() => this.#draining.delete(entry));
  }
}
