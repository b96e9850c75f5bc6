import type { WatcherEvent } from './list-watch-machine.js';
import type { KubeObject } from './watch-event.js';

/**
 * What changed in the store after one batch of watcher events.
 * `replace`: a (re)list completed; `objects` is the whole new state, to swap in at once.
 * `delta`: net changes since the previous change (an object updated then deleted in the same batch is only deleted).
 */
export type StoreChange =
  | { readonly kind: 'replace'; readonly objects: readonly KubeObject[]; readonly resourceVersion: string }
  | {
      readonly kind: 'delta';
      readonly upserts: readonly KubeObject[];
      readonly deletes: readonly KubeObject[];
      readonly resourceVersion: string;
    };

/**
 * An exact cache of the watched objects (kube-rs' reflector Store): objects of a (re)list are
 * buffered and swapped in whole at `initDone`, so readers never see a partial or empty state
 * in between. Pure: no I/O.
 */
export class ObjectStore {
  #objects = new Map<string, KubeObject>();
  #buffer: Map<string, KubeObject> | undefined;
  #resourceVersion: string | undefined;

  /** True once a first list completed. */
  get synced(): boolean {
    return this.#resourceVersion !== undefined;
  }

  get resourceVersion(): string | undefined {
    return this.#resourceVersion;
  }

  /** The whole current state as a `replace` change, for late subscribers; undefined before the first sync. */
  current(): StoreChange | undefined {
    if (this.#resourceVersion === undefined) return undefined;
    return { kind: 'replace', objects: [...this.#objects.values()], resourceVersion: this.#resourceVersion };
  }

  /** The stored object with this key (see `objectKey`), if any. */
  get(key: string): KubeObject | undefined {
    return this.#objects.get(key);
  }

  /** Applies one batch; returns the net change it made visible, if any. */
  apply(events: readonly WatcherEvent[]): StoreChange | undefined {
    let replaced = false;
    const delta = new Map<string, { readonly object: KubeObject; readonly deleted: boolean }>();
    for (const event of events) {
      switch (event.type) {
        case 'init':
          this.#buffer = new Map();
          break;
        case 'initApply':
          this.#buffer?.set(objectKey(event.object), event.object);
          break;
        case 'initDone':
          // Only a list that was started can complete; a stray initDone must not wipe the state.
          if (!this.#buffer) break;
          this.#objects = this.#buffer;
          this.#buffer = undefined;
          this.#resourceVersion = event.resourceVersion;
          replaced = true;
          delta.clear();
          break;
        case 'apply': {
          const key = objectKey(event.object);
          this.#objects.set(key, event.object);
          this.#resourceVersion = event.resourceVersion;
          delta.set(key, { object: event.object, deleted: false });
          break;
        }
        case 'delete': {
          const key = objectKey(event.object);
          this.#objects.delete(key);
          this.#resourceVersion = event.resourceVersion;
          delta.set(key, { object: event.object, deleted: true });
          break;
        }
      }
    }
    if (replaced) return this.current();
    if (delta.size === 0 || this.#resourceVersion === undefined) return undefined;
    const upserts: KubeObject[] = [];
    const deletes: KubeObject[] = [];
    for (const { object, deleted } of delta.values()) (deleted ? deletes : upserts).push(object);
    return { kind: 'delta', upserts, deletes, resourceVersion: this.#resourceVersion };
  }
}

/** The store's key of an object: `namespace/name`. */
export function objectKey(object: KubeObject): string {
  return `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}
