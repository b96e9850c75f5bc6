import { objectKey, type StoreChange } from '../watch/object-store.js';
import type { KubeObject } from '../watch/watch-event.js';

/**
 * What one namespace-wide change means per Service:
 * - `replace`: the namespace was (re)listed; every Service's state was swapped at once, so each
 *   follower of a Service reads its new state with `current(service)` (one replace per Service);
 * - `delta`: the net change of each Service the batch touched, and of no other.
 */
export type DemuxedChange =
  | { readonly kind: 'replace' }
  | { readonly kind: 'delta'; readonly changes: ReadonlyMap<string, StoreChange> };

/**
 * Splits the changes of one watch of a whole namespace (what `ObjectStore` reports) into the changes
 * a watch of each Service alone would have reported, as the apiserver does for a label or field
 * selector: an object whose owner changes (its `kubernetes.io/service-name` label was edited) is
 * deleted from the old Service and added to the new one; an object of no Service belongs to none.
 *
 * Cost: a delta costs O(objects in the batch) whatever the number of Services; a replace costs
 * O(objects in the namespace) once, then `current(service)` costs O(that Service's objects).
 * Pure: no I/O.
 */
export class ServiceDemux {
  readonly #serviceOf: (object: KubeObject) => string | undefined;
  /** The Service of each stored object, by `objectKey`. */
  readonly #owners = new Map<string, string>();
  /** Each Service's objects, by `objectKey`; a Service with none has no entry. */
  #byService = new Map<string, Map<string, KubeObject>>();
  #resourceVersion: string | undefined;

  constructor(serviceOf: (object: KubeObject) => string | undefined) {
    this.#serviceOf = serviceOf;
  }

  /** Applies one namespace change (deltas only after a first replace, as `ObjectStore` emits them). */
  apply(change: StoreChange): DemuxedChange {
    this.#resourceVersion = change.resourceVersion;
    if (change.kind === 'replace') {
      this.#owners.clear();
      this.#byService = new Map();
      for (const object of change.objects) this.#add(objectKey(object), object, this.#serviceOf(object));
      return { kind: 'replace' };
    }
    const builders = new Map<string, { upserts: KubeObject[]; deletes: KubeObject[] }>();
    const builder = (service: string) => {
      let b = builders.get(service);
      if (!b) {
        b = { upserts: [], deletes: [] };
        builders.set(service, b);
      }
      return b;
    };
    for (const object of change.deletes) {
      const key = objectKey(object);
      const owner = this.#remove(key);
      if (owner !== undefined) builder(owner).deletes.push(object);
    }
    for (const object of change.upserts) {
      const key = objectKey(object);
      const before = this.#owners.get(key);
      const owner = this.#serviceOf(object);
      if (before !== undefined && before !== owner) {
        // Moved to another Service (or to none): the old one sees it go, as its own watch would.
        const previous = this.#byService.get(before)?.get(key);
        this.#remove(key);
        if (previous) builder(before).deletes.push(previous);
      }
      if (owner === undefined) continue;
      this.#add(key, object, owner);
      builder(owner).upserts.push(object);
    }
    const changes = new Map<string, StoreChange>();
    for (const [service, { upserts, deletes }] of builders) {
      changes.set(service, { kind: 'delta', upserts, deletes, resourceVersion: change.resourceVersion });
    }
    return { kind: 'delta', changes };
  }

  /** True once a first replace was applied. */
  get synced(): boolean {
    return this.#resourceVersion !== undefined;
  }

  /** One Service's whole current state as a `replace`; undefined before the first replace. */
  current(service: string): StoreChange | undefined {
    if (this.#resourceVersion === undefined) return undefined;
    const objects = this.#byService.get(service);
    return {
      kind: 'replace',
      objects: objects ? [...objects.values()] : [],
      resourceVersion: this.#resourceVersion,
    };
  }

  /** How many Services have objects (tests read it: an emptied Service keeps no entry). */
  get serviceCount(): number {
    return this.#byService.size;
  }

  #add(key: string, object: KubeObject, owner: string | undefined): void {
    if (owner === undefined) return;
    this.#owners.set(key, owner);
    let objects = this.#byService.get(owner);
    if (!objects) {
      objects = new Map();
      this.#byService.set(owner, objects);
    }
    objects.set(key, object);
  }

  /** Forgets an object; returns the Service it belonged to. */
  #remove(key: string): string | undefined {
    const owner = this.#owners.get(key);
    if (owner === undefined) return undefined;
    this.#owners.delete(key);
    const objects = this.#byService.get(owner);
    objects?.delete(key);
    if (objects?.size === 0) this.#byService.delete(owner);
    return owner;
  }
}
