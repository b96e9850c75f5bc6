/**
 * Building the frozen `EndpointSet`, shared by both aggregators. The lists are kept as the per-group
 * chunks they are made of and concatenated on first read: `snapshot()` stays O(number of groups) and
 * a set nobody reads (superseded before a subscriber looks at it) never costs O(n).
 */
import type { Endpoint, EndpointSet, ServicePortRef } from './types.js';

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

/**
 * A frozen EndpointSet. `all` and `endpoints` are own, enumerable, read-only accessors that build
 * their frozen array on the first read and return that same array afterwards (equality helpers,
 * spreading and JSON see plain values): a set nobody reads costs O(groups), not O(endpoints).
 * When `endpoints` is `all` (every endpoint is ready), both return one array. `chunks` must not be
 * mutated afterwards.
 */
export function makeEndpointSet(
  header: SetHeader,
  chunks: readonly Endpoint[][],
  endpointsList: EndpointsList,
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
