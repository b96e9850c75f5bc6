import type { Subscription } from 'rxjs';
import type { Balancer } from './types.js';

/**
 * Resources a balancer's consumer keeps per endpoint (connection pools, agents), under ids of its
 * own (several per endpoint, e.g. one per TLS server name), retired as soon as their endpoint leaves
 * the set. Follows `balancer.left$` and `balancer.has` when the balancer has them (`createBalancer`'s
 * does: O(changed) per set change); otherwise `stats$`, comparing each set of keys with the last
 * (O(n) per change).
 */
export class EndpointResources<T> {
  readonly #byId = new Map<string, { readonly key: string; readonly resource: T }>();
  /** Endpoint key -> the ids held for it. */
  readonly #ids = new Map<string, Set<string>>();
  readonly #retire: (resource: T) => void;
  readonly #subscription: Subscription;
  readonly #has: (key: string) => boolean;

  constructor(balancer: Balancer, retire: (resource: T) => void) {
    this.#retire = retire;
    const { left$, has } = balancer;
    if (left$ !== undefined && has !== undefined) {
      this.#has = (key) => has.call(balancer, key);
      this.#subscription = left$.subscribe((keys) => this.#onLeft(keys));
      return;
    }
    let current: ReadonlySet<string> | undefined;
    this.#has = (key) => current === undefined || current.has(key);
    this.#subscription = balancer.stats$.subscribe((stats) => {
      const previous = current;
      const next = new Set(stats.endpoints.map((endpoint) => endpoint.key));
      current = next;
      if (previous !== undefined) this.#onLeft([...previous].filter((key) => !next.has(key)));
    });
  }

  get(id: string): T | undefined {
    return this.#byId.get(id)?.resource;
  }

  /** Whether `key` (`address:port`) is in the balancer's set. */
  has(key: string): boolean {
    return this.#has(key);
  }

  /** Holds `resource` under `id` for the endpoint `key` (in the set: see `has`). */
  add(id: string, key: string, resource: T): void {
    this.#byId.set(id, { key, resource });
    let ids = this.#ids.get(key);
    if (ids === undefined) {
      ids = new Set();
      this.#ids.set(key, ids);
    }
    ids.add(id);
  }

  values(): T[] {
    return Array.from(this.#byId.values(), (entry) => entry.resource);
  }

  /** Stops following the balancer and hands back every resource held, forgetting them. */
  takeAll(): T[] {
    this.#subscription.unsubscribe();
    const all = this.values();
    this.#byId.clear();
    this.#ids.clear();
    return all;
  }

  #onLeft(keys: readonly string[]): void {
    for (const key of keys) {
      const ids = this.#ids.get(key);
      if (ids === undefined) continue;
      this.#ids.delete(key);
      for (const id of ids) {
        const entry = this.#byId.get(id);
        if (entry === undefined) continue;
        this.#byId.delete(id);
        this.#retire(entry.resource);
      }
    }
  }
}
