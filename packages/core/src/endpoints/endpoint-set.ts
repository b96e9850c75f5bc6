/**
 * Building the frozen `EndpointSet`, shared by both aggregators. The lists are kept as the per-group
 * chunks they are made of and concatenated on first read: `snapshot()` stays O(number of groups) and
 * a set nobody reads (superseded before a subscriber looks at it) never costs O(n).
 */
import type { Endpoint, EndpointChange, EndpointChanges, EndpointSet, ServicePortRef } from './types.js';

const EMPTY: readonly Endpoint[] = Object.freeze([]);

/**
 * Which endpoints make `EndpointSet.endpoints`: all of them (every one is ready), the ready ones, or
 * the serving-and-terminating ones (none is ready).
 */
export type EndpointsList = 'all' | 'ready' | 'fallback';

const isReady = (e: Endpoint) => e.ready;
const isFallback = (e: Endpoint) => e.serving && e.terminating;

/**
 * One frozen array from the groups' chunks (each group's winners, in entry order). The chunks are
 * never mutated once a set holds them, and never frozen: V8 copies frozen arrays element by element
 * (about 100x slower than the memcpy it uses for ordinary ones).
 */
function join(chunks: readonly Endpoint[][]): readonly Endpoint[] {
  if (chunks.length === 0) return EMPTY;
  const out: Endpoint[] =
    chunks.length === 1 ? chunks[0]!.slice() : Array.prototype.concat.apply([], chunks as Endpoint[][]);
  return Object.freeze(out);
}

export interface SetHeader {
  readonly namespace: string;
  readonly service: string;
  readonly port: ServicePortRef | undefined;
  readonly resourceVersion: string | undefined;
  readonly source: EndpointSet['source'];
}

const INSPECT = Symbol.for('nodejs.util.inspect.custom');

/** Shared by every set: console.log / util.inspect show the lists instead of [Getter]. */
const SET_PROTOTYPE = Object.freeze({
  [INSPECT](this: EndpointSet) {
    return { ...this };
  },
});

/** Identity of each set made here, and of the set each diff starts from (numbers: no chain of sets kept alive). */
const serials = new WeakMap<EndpointSet, number>();
const bases = new WeakMap<EndpointChanges, number>();
let serialCounter = 0;

/** A frozen diff from `base` (a set made by `makeEndpointSet`). */
export function makeChanges(
  base: EndpointSet,
  added: Endpoint[],
  removed: Endpoint[],
  changed: EndpointChange[],
): EndpointChanges {
  const changes: EndpointChanges = Object.freeze({
    added: Object.freeze(added),
    removed: Object.freeze(removed),
    changed: Object.freeze(changed),
  });
  const serial = serials.get(base);
  if (serial !== undefined) bases.set(changes, serial);
  return changes;
}

/**
 * `next.changes` when it is the diff from exactly `previous` (the set this consumer last applied),
 * else undefined: then read `next.endpoints` whole. O(1).
 */
export function changesSince(
  previous: EndpointSet | undefined,
  next: EndpointSet,
): EndpointChanges | undefined {
  const changes = next.changes;
  if (changes === undefined || previous === undefined) return undefined;
  const base = bases.get(changes);
  return base !== undefined && base === serials.get(previous) ? changes : undefined;
}

/**
 * A frozen EndpointSet. `all` and `endpoints` are own, enumerable, read-only accessors that build
 * their frozen array on the first read and return that same array afterwards (equality helpers,
 * spreading and JSON see plain values): a set nobody reads costs O(groups), not O(endpoints).
 * When `endpoints` is `all` (every endpoint is ready), both return one array. `chunks` must not be
 * mutated afterwards. `changes` (the diff from the previous set, made by `makeChanges`) is a
 * non-enumerable own property.
 */
export function makeEndpointSet(
  header: SetHeader,
  chunks: readonly Endpoint[][],
  endpointsList: EndpointsList,
  changes?: EndpointChanges,
): EndpointSet {
  let all: readonly Endpoint[] | undefined;
  let endpoints: readonly Endpoint[] | undefined;
  // Dropped once `all` is built: it holds everything the chunks did.
  let parts: readonly Endpoint[][] | undefined = chunks;
  const set: EndpointSet = {
    __proto__: SET_PROTOTYPE,
    namespace: header.namespace,
    service: header.service,
    port: header.port,
    get endpoints(): readonly Endpoint[] {
      if (endpoints === undefined) {
        const every = this.all;
        endpoints =
          endpointsList === 'all'
            ? every
            : Object.freeze(every.filter(endpointsList === 'ready' ? isReady : isFallback));
      }
      return endpoints;
    },
    get all(): readonly Endpoint[] {
      if (all === undefined) {
        all = join(parts ?? []);
        parts = undefined;
      }
      return all;
    },
    resourceVersion: header.resourceVersion,
    source: header.source,
  } as EndpointSet;
  // Not enumerable: sets with the same content stay equal whatever their history (see EndpointSet.changes).
  Object.defineProperty(set, 'changes', { value: changes, enumerable: false });
  serials.set(set, ++serialCounter);
  return Object.freeze(set);
}

/** Same members, in any order. */
export function sameMembers(a: readonly Endpoint[], b: readonly Endpoint[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  if (i === a.length) return true;
  const rest = new Set(b.slice(i));
  for (; i < a.length; i++) if (!rest.has(a[i]!)) return false;
  return true;
}
