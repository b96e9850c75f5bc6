import { Observable, type Subscriber, Subscription } from 'rxjs';
import type { KubeClient } from '../transport/kube-client.js';
import type { StoreChange } from '../watch/object-store.js';
import {
  SharedResourceWatch,
  type SharedResourceWatchLifecycle,
  type SharedResourceWatchOptions,
} from '../watch/shared-resource-watch.js';
import type { KubeObject } from '../watch/watch-event.js';
import type { WatchHealth } from '../watch/watch-health.js';
import type { WatchStats } from '../watch/watch-stats.js';
import { ServiceDemux } from './service-demux.js';

/** What the endpoint aggregation of one Service reads: its changes, the health behind them, and a way to ask for a relist. */
export interface ChangeFeed {
  readonly changes$: Observable<StoreChange>;
  readonly health$: Observable<WatchHealth>;
  /** The counters of the watch behind the feed (a namespace watch's are the whole namespace's). */
  readonly stats: WatchStats;
  resync(error: unknown): void;
}

/**
 * One list+watch of a whole namespace's collection (kube-proxy's way: every EndpointSlice), served
 * to each Service as if it had its own watch. A single router follows the shared watch and hands
 * each batch to the followers of the Services it touches only (`ServiceDemux`), so churn in one
 * Service costs the others nothing. The routing runs while at least one Service is followed; the
 * underlying watch runs while it or a health subscriber is there (see `SharedResourceWatch`).
 */
export class NamespaceWatch {
  readonly #shared: SharedResourceWatch;
  readonly #serviceOf: (object: KubeObject) => string | undefined;
  #demux: ServiceDemux;
  readonly #followers = new Map<string, Set<Subscriber<StoreChange>>>();
  #routing: Subscription | undefined;

  constructor(
    client: KubeClient,
    options: SharedResourceWatchOptions,
    serviceOf: (object: KubeObject) => string | undefined,
    lifecycle: SharedResourceWatchLifecycle = {},
  ) {
    this.#shared = new SharedResourceWatch(client, options, lifecycle);
    this.#serviceOf = serviceOf;
    this.#demux = new ServiceDemux(serviceOf);
  }

  /**
   * One Service's view: its changes (a late follower starts from the Service's current state), the
   * namespace watch's health, and a resync of the namespace watch (one Service's unreadable object
   * relists the whole namespace: the store cannot skip an object).
   */
  feed(service: string): ChangeFeed {
    return {
      changes$: this.#changesOf(service),
      health$: this.#shared.health$,
      stats: this.#shared.stats,
      resync: (error) => this.#shared.resync(error),
    };
  }

  /** How many Services are followed now (tests read it: a Service left by its last follower has no entry). */
  get followedServices(): number {
    return this.#followers.size;
  }

  #changesOf(service: string): Observable<StoreChange> {
    return new Observable<StoreChange>((subscriber) => {
      let followers = this.#followers.get(service);
      if (!followers) {
        followers = new Set();
        this.#followers.set(service, followers);
      }
      followers.add(subscriber);
      if (this.#routing) {
        const current = this.#demux.current(service);
        if (current) subscriber.next(current);
      } else {
        this.#startRouting();
      }
      const own = followers;
      return () => {
        own.delete(subscriber);
        if (own.size === 0 && this.#followers.get(service) === own) this.#followers.delete(service);
        if (this.#followers.size === 0) this.#stopRouting();
      };
    });
  }

  #startRouting(): void {
    // Registered before subscribing: the shared watch may emit (and a follower leave) synchronously.
    const routing = new Subscription();
    this.#routing = routing;
    routing.add(
      this.#shared.changes$.subscribe({
        next: (change) => this.#route(change),
        error: (error: unknown) => {
          for (const followers of [...this.#followers.values()])
            for (const f of [...followers]) f.error(error);
        },
        complete: () => {
          for (const followers of [...this.#followers.values()]) for (const f of [...followers]) f.complete();
        },
      }),
    );
  }

  #stopRouting(): void {
    const routing = this.#routing;
    this.#routing = undefined;
    // The next router starts from the shared watch's state, replayed as a replace.
    this.#demux = new ServiceDemux(this.#serviceOf);
    routing?.unsubscribe();
  }

  #route(change: StoreChange): void {
    const demuxed = this.#demux.apply(change);
    if (demuxed.kind === 'replace') {
      // A relist: one replace per followed Service, each with that Service's whole new state.
      for (const [service, followers] of this.#followers) {
        const current = this.#demux.current(service);
        if (current) for (const follower of [...followers]) follower.next(current);
      }
      return;
    }
    for (const [service, serviceChange] of demuxed.changes) {
      const followers = this.#followers.get(service);
      if (followers) for (const follower of [...followers]) follower.next(serviceChange);
    }
  }
}
