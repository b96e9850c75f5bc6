import { concat, defer, filter, finalize, map, type Observable, of, Subject, share } from 'rxjs';
import type { KubeClient } from '../transport/kube-client.js';
import { type ListWatchOptions, listWatch } from './list-watch.js';
import { ObjectStore, objectKey, type StoreChange } from './object-store.js';
import type { ObjectTransform } from './transforms.js';
import type { KubeObject } from './watch-event.js';
import type { WatchHealth } from './watch-health.js';
import { WatchStats } from './watch-stats.js';

export interface SharedResourceWatchOptions extends Omit<ListWatchOptions, 'resync' | 'transform'> {
  /**
   * Rewrites each object as soon as it is decoded, before it is stored, e.g. `stripManagedFields`
   * or a parser; it gets the transformed version the object replaces, if any, to share what did
   * not change. When it throws, the error shows in `health$` and the watch starts over with a
   * fresh list after backoff (an object is never skipped; see `ListWatchOptions.transform`).
   */
  readonly transform?: ObjectTransform;
}

/** Told when the shared watch starts (first subscriber) and stops (last unsubscribe), e.g. to keep a registry of live watches. */
export interface SharedResourceWatchLifecycle {
  readonly started?: () => void;
  readonly stopped?: () => void;
}

type SharedNotification =
  | { readonly kind: 'change'; readonly change: StoreChange }
  | { readonly kind: 'health'; readonly health: WatchHealth };

/**
 * One list+watch of a collection shared by every subscriber (refCount: the first subscription
 * starts it, the last unsubscribe aborts it), with an exact store so that a late subscriber
 * starts from the whole current state.
 */
export class SharedResourceWatch {
  readonly #resync = new Subject<unknown>();
  readonly #notifications: Observable<SharedNotification>;
  #store: ObjectStore | undefined;
  #health: WatchHealth | undefined;
  /** What the watch has done over all its runs (relists, events and bytes decoded); only grows. */
  readonly stats = new WatchStats();

  constructor(
    client: KubeClient,
    options: SharedResourceWatchOptions,
    lifecycle: SharedResourceWatchLifecycle = {},
  ) {
    const { transform, ...listWatchOptions } = options;
    this.#notifications = defer(() => {
      lifecycle.started?.();
      const store = new ObjectStore();
      this.#store = store;
      this.#health = undefined;
      // Objects transformed since the store last applied a batch: the previous version of a later
      // object in the same batch is there, not yet in the store.
      const pending = new Map<string, KubeObject>();
      const transformWithPrevious =
        transform &&
        ((object: KubeObject) => {
          const key = objectKey(object);
          const result = transform(object, pending.get(key) ?? store.get(key));
          pending.set(key, result);
          return result;
        });
      return listWatch(client, {
        ...listWatchOptions,
        resync: this.#resync,
        stats: this.stats,
        ...(transformWithPrevious ? { transform: transformWithPrevious } : {}),
      }).pipe(
        map((notification): SharedNotification | undefined => {
          if (notification.kind === 'health') {
            this.#health = notification.health;
            return notification;
          }
          pending.clear();
          const change = store.apply(notification.events);
          return change && { kind: 'change', change };
        }),
        filter((notification) => notification !== undefined),
      );
    }).pipe(
      finalize(() => {
        this.#store = undefined;
        this.#health = undefined;
        lifecycle.stopped?.();
      }),
      share(),
    );
  }

  /**
   * Net changes of the collection. A subscriber that arrives while the watch is synced first
   * receives the whole current state as a `replace`.
   */
  readonly changes$: Observable<StoreChange> = defer(() => {
    const live = this.#notifications.pipe(
      filter((n) => n.kind === 'change'),
      map((n) => n.change),
    );
    const current = this.#store?.current();
    return current ? concat(of(current), live) : live;
  });

  /** Health of the shared watch; replays the latest state to a late subscriber. Subscribing keeps the watch open. */
  readonly health$: Observable<WatchHealth> = defer(() => {
    const live = this.#notifications.pipe(
      filter((n) => n.kind === 'health'),
      map((n) => n.health),
    );
    return this.#health ? concat(of(this.#health), live) : live;
  });

  /** Asks for a fresh list (after backoff): the consumer met an object it could not use. */
  resync(error: unknown): void {
    this.#resync.next(error);
  }
}
