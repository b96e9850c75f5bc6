import { concat, defer, filter, finalize, map, type Observable, of, Subject, share } from 'rxjs';
import type { KubeClient } from '../transport/kube-client.js';
import { type ListWatchOptions, listWatch } from './list-watch.js';
import { ObjectStore, type StoreChange } from './object-store.js';
import type { ObjectTransform } from './transforms.js';
import type { WatchHealth } from './watch-health.js';

export interface SharedResourceWatchOptions extends Omit<ListWatchOptions, 'resync'> {
  /**
   * Rewrites each object before it is stored, e.g. `stripManagedFields` or a parser. When it throws,
   * the batch is not taken, the error shows in `health$`, and the watch starts over with a fresh
   * list after backoff (an object is never skipped).
   */
  readonly transform?: ObjectTransform;
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

  constructor(client: KubeClient, options: SharedResourceWatchOptions) {
    this.#notifications = defer(() => {
      const store = new ObjectStore(options.transform);
      this.#store = store;
      this.#health = undefined;
      return listWatch(client, { ...options, resync: this.#resync }).pipe(
        map((notification): SharedNotification | undefined => {
          if (notification.kind === 'health') {
            this.#health = notification.health;
            return notification;
          }
          let change: StoreChange | undefined;
          try {
            change = store.apply(notification.events);
          } catch (error) {
            // The transform rejected an object: nothing of the batch was taken. Never skip an
            // object: start over with a fresh list after backoff; health shows the error meanwhile.
            this.resync(error);
            return undefined;
          }
          return change && { kind: 'change', change };
        }),
        filter((notification) => notification !== undefined),
      );
    }).pipe(
      finalize(() => {
        this.#store = undefined;
        this.#health = undefined;
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
