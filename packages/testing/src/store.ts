/**
 * The object store: current objects per resource, one global resourceVersion counter, the history of
 * changes (kept until `compact()`), reconstruction of the state at any retained resourceVersion, and
 * change notification with batching.
 */
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { nameSuffix } from './random.js';
import { type ResourceInfo, resourceForKind, resourceForObject } from './resources.js';
import type { KubeObject, ResourceKind } from './types.js';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One committed change. Objects are frozen and shared; never mutate them. */
export interface StoreEvent {
  readonly type: EventType;
  readonly resource: ResourceInfo;
  /** The new state; for DELETED, the last state stamped with the deletion's resourceVersion. */
  readonly object: KubeObject;
  /** The state before the change (MODIFIED, DELETED). */
  readonly prev: KubeObject | undefined;
  readonly rv: number;
}

export type StoreListener = (events: readonly StoreEvent[]) => void;

/** Thrown for objects the store cannot take. */
export class StoreError extends Error {
  override readonly name = 'StoreError';
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** Kubernetes timestamps: RFC 3339, second precision, UTC. */
export function kubeTimestamp(date = new Date()): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

/** `namespace/name`: sorts like the apiserver's storage keys. */
export function objectKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

function keyOf(obj: KubeObject): string {
  return objectKey(obj.metadata.namespace ?? '', obj.metadata.name ?? '');
}

/** Returns a copy of a stored object with metadata.resourceVersion replaced. */
export function withResourceVersion(obj: KubeObject, rv: number): KubeObject {
  return deepFreeze({ ...obj, metadata: { ...obj.metadata, resourceVersion: String(rv) } });
}

export class Store {
  /** Global resourceVersion: the RV of the last write (or the starting point). */
  private rv: number;
  /** Watches and continue tokens from below this RV are expired (410). */
  private floor: number;
  private readonly objects = new Map<ResourceInfo, Map<string, KubeObject>>();
  private history: StoreEvent[] = [];
  private readonly listeners = new Set<StoreListener>();
  private batchDepth = 0;
  private pending: StoreEvent[] = [];

  /**
   * @param historyLimit how many changes to keep for watch replay and consistent pages; older ones are
   *   dropped (in steps of a quarter) and resourceVersions before them expire, like a watch cache.
   */
  constructor(
    private readonly historyLimit = Number.POSITIVE_INFINITY,
    startRv = 1000,
  ) {
    this.rv = startRv;
    this.floor = 0;
  }

  get resourceVersion(): number {
    return this.rv;
  }

  /** The oldest RV a watch may start from or a continue token may carry. */
  get compactedBelow(): number {
    return this.floor;
  }

  subscribe(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private table(resource: ResourceInfo): Map<string, KubeObject> {
    let t = this.objects.get(resource);
    if (t === undefined) {
      t = new Map();
      this.objects.set(resource, t);
    }
    return t;
  }

  /** Creates or replaces an object; returns the stored (frozen) copy. */
  upsert(input: object): KubeObject {
    const raw = input as Partial<KubeObject>;
    const resource = resourceForObject(raw.apiVersion, raw.kind);
    if (resource === undefined) {
      throw new StoreError(
        `cannot store apiVersion ${String(raw.apiVersion)} kind ${String(raw.kind)}: the fake apiserver serves discovery.k8s.io/v1 EndpointSlice, v1 Endpoints and v1 Service`,
      );
    }
    const copy = structuredClone(raw) as KubeObject;
    copy.apiVersion = resource.apiVersion;
    copy.kind = resource.kind;
    copy.metadata = { ...(copy.metadata ?? {}) };
    const meta = copy.metadata;
    if (!meta.name) {
      if (!meta.generateName)
        throw new StoreError(`${resource.kind} needs metadata.name or metadata.generateName`);
      meta.name = `${meta.generateName}${nameSuffix()}`;
    }
    meta.namespace = meta.namespace || 'default';
    const table = this.table(resource);
    const key = keyOf(copy);
    const prev = table.get(key);
    // Like the apiserver, an update that changes nothing is not written: no new resourceVersion,
    // no event.
    if (prev !== undefined && sameContent(copy, prev)) return prev;
    const rv = ++this.rv;
    meta.resourceVersion = String(rv);
    meta.uid = prev?.metadata.uid ?? meta.uid ?? randomUUID();
    meta.creationTimestamp = prev?.metadata.creationTimestamp ?? meta.creationTimestamp ?? kubeTimestamp();
    if (resource.kind === 'EndpointSlice') meta.generation = (prev?.metadata.generation ?? 0) + 1;
    deepFreeze(copy);
    table.set(key, copy);
    this.commit({ type: prev === undefined ? 'ADDED' : 'MODIFIED', resource, object: copy, prev, rv });
    return copy;
  }

  /** Deletes an object; returns false when it did not exist. */
  delete(kind: ResourceKind, namespace: string, name: string): boolean {
    const resource = resourceForKind(kind);
    if (resource === undefined) throw new StoreError(`unknown kind ${kind}`);
    const table = this.table(resource);
    const key = objectKey(namespace, name);
    const prev = table.get(key);
    if (prev === undefined) return false;
    table.delete(key);
    const rv = ++this.rv;
    this.commit({ type: 'DELETED', resource, object: withResourceVersion(prev, rv), prev, rv });
    return true;
  }

  get(resource: ResourceInfo, namespace: string, name: string): KubeObject | undefined {
    return this.table(resource).get(objectKey(namespace, name));
  }

  /** Current objects of a resource, sorted by namespace/name. */
  current(resource: ResourceInfo): KubeObject[] {
    return sortByKey([...this.table(resource).values()]);
  }

  /**
   * The objects of a resource as they were at `rv` (sorted), or undefined when `rv` is below the
   * compaction floor. `rv` at or above the current RV gives the current objects.
   */
  stateAt(resource: ResourceInfo, rv: number): KubeObject[] | undefined {
    if (rv < this.floor) return undefined;
    if (rv >= this.rv) return this.current(resource);
    const state = new Map(this.table(resource));
    for (let i = this.history.length - 1; i >= 0; i--) {
      const ev = this.history[i]!;
      if (ev.rv <= rv) break;
      if (ev.resource !== resource) continue;
      const key = keyOf(ev.object);
      if (ev.type === 'ADDED') state.delete(key);
      else if (ev.prev !== undefined) state.set(key, ev.prev);
    }
    return sortByKey([...state.values()]);
  }

  /** Events of `resource` with RV greater than `rv`, oldest first; undefined if compacted away. */
  eventsAfter(resource: ResourceInfo, rv: number): StoreEvent[] | undefined {
    if (rv < this.floor) return undefined;
    let lo = 0;
    let hi = this.history.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.history[mid]!.rv <= rv) lo = mid + 1;
      else hi = mid;
    }
    return this.history.slice(lo).filter((ev) => ev.resource === resource);
  }

  /**
   * Forgets all history. Like a real cluster, where other writes move the global RV on, the RV
   * advances by one (without an event), so every RV handed out before is now expired.
   */
  compact(): void {
    this.rv += 1;
    this.floor = this.rv;
    this.history = [];
  }

  /** Runs `fn`; listeners get every change made inside in one call when the outermost batch ends. */
  batch(fn: () => void): void {
    this.batchDepth++;
    try {
      fn();
    } finally {
      this.batchDepth--;
      if (this.batchDepth === 0 && this.pending.length > 0) {
        const events = this.pending;
        this.pending = [];
        this.emit(events);
      }
    }
  }

  private commit(ev: StoreEvent): void {
    this.history.push(ev);
    if (this.history.length > this.historyLimit + Math.ceil(this.historyLimit / 4)) {
      const drop = this.history.length - this.historyLimit;
      this.floor = Math.max(this.floor, this.history[drop - 1]!.rv);
      this.history = this.history.slice(drop);
    }
    if (this.batchDepth > 0) this.pending.push(ev);
    else this.emit([ev]);
  }

  private emit(events: readonly StoreEvent[]): void {
    for (const listener of [...this.listeners]) listener(events);
  }
}

function sortByKey(objects: KubeObject[]): KubeObject[] {
  return objects.sort((a, b) => {
    const ka = keyOf(a);
    const kb = keyOf(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

/** Equal apart from the fields the server sets itself (resourceVersion, uid, creationTimestamp, generation). */
function sameContent(next: KubeObject, stored: KubeObject): boolean {
  const {
    resourceVersion: _rv,
    uid: _uid,
    creationTimestamp: _created,
    generation: _generation,
    ...meta
  } = next.metadata;
  const {
    resourceVersion: _storedRv,
    uid: storedUid,
    creationTimestamp: _storedCreated,
    generation: _storedGeneration,
    ...storedMeta
  } = stored.metadata;
  if (next.metadata.uid !== undefined && next.metadata.uid !== storedUid) return false;
  return isDeepStrictEqual({ ...next, metadata: meta }, { ...stored, metadata: storedMeta });
}
