import { type Balancer, EndpointResources } from '@endpoint-watch/balancer';
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
 * One keep-alive `Pool` per endpoint (and TLS server name), created on first use. Follows the
 * balancer's membership (`EndpointResources`, O(changed) per set change): when an endpoint leaves
 * the set its pool is retired at once, which lets its
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
  /** Pools in use, by `origin servername`, each under its endpoint. */
  readonly #pools: EndpointResources<PoolEntry>;
  readonly #draining = new Set<PoolEntry>();
  #closed = false;

  constructor(
    balancer: Balancer,
    options: Pool.Options,
    forward: (event: DispatcherEvent, origin: URL, targets: readonly Dispatcher[], error?: Error) => void,
  ) {
    this.#options = options;
    this.#forward = forward;
    this.#pools = new EndpointResources(balancer, (entry) => this.#retire(entry));
  }

  dispatch(
    endpoint: string,
    options: Dispatcher.DispatchOptions,
    handler: Dispatcher.DispatchHandler,
  ): boolean {
    if (this.#closed) throw new errors.ClientClosedError();
    const origin = String(options.origin);
    // A server name means something over TLS only (the engine gives one over plain HTTP too).
    const given = (options as { servername?: string }).servername;
    const servername = given !== undefined && origin.startsWith('https:') ? given : undefined;
    const key = servername === undefined ? origin : `${origin} ${servername}`;
    let entry = this.#pools.get(key);
    if (entry === undefined) {
      entry = this.#create(origin, endpoint, servername);
      if (!this.#pools.has(endpoint)) {
        // The endpoint left between the pick and now: a one-off pool, closed after this request.
        const result = entry.pool.dispatch(options, handler);
        this.#retire(entry);
        return result;
      }
      this.#pools.add(key, endpoint, entry);
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
    return [...this.#pools.takeAll(), ...this.#draining];
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

  #retire(entry: PoolEntry): void {
    entry.draining = true;
    this.#draining.add(entry);
    entry.pool
      .close()
      .catch(() => undefined)
      .finally(() => this.#draining.delete(entry));
  }
}
