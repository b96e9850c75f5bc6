/**
 * Building the frozen `EndpointSet`, shared by both aggregators. The lists are kept as the per-group
 * chunks they are made of and concatenated on first read: `snapshot()` stays O(number of groups) and
 * a set nobody reads (superseded before a subscriber looks at it) never costs O(n).
 */
import type { Endpoint, EndpointSet, ServicePortRef } from './types.js';

const EMPTY: readonly Endpoint[] = Object.freeze([]);

/**
 * One group's winners, in entry order: every one, the ready ones, the serving-and-terminating ones.
 * The arrays are never mutated once a set holds them, and never frozen: V8 copies frozen arrays
 * element by element (about 100x slower than the memcpy it uses for ordinary ones).
 */
export interface GroupChunk {
  readonly all: Endpoint[];
  readonly ready: Endpoint[];
  readonly fallback: Endpoint[];
}

/** Which list of each chunk makes `EndpointSet.endpoints`. */
export type EndpointsList = 'all' | 'ready' | 'fallback';

function join(chunks: readonly GroupChunk[], list: EndpointsList): readonly Endpoint[] {
  if (chunks.length === 0) return EMPTY;
  const parts = chunks.map((chunk) => chunk[list]);
  const out: Endpoint[] = parts.length === 1 ? parts[0]!.slice() : Array.prototype.concat.apply([], parts);
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
 * spreading and JSON see plain values). When `endpoints` is `all` (every endpoint is ready), both
 * return one array. `chunks` must not be mutated afterwards.
 */
export function makeEndpointSet(
  header: SetHeader,
  chunks: readonly GroupChunk[],
  endpointsList: EndpointsList,
): EndpointSet {
  let all: readonly Endpoint[] | undefined;
  let endpoints: readonly Endpoint[] | undefined;
  // Dropped once both lists are built: they hold everything the chunks did.
  let parts: readonly GroupChunk[] | undefined = chunks;
  const set: EndpointSet = {
    __proto__: SET_PROTOTYPE,
    namespace: header.namespace,
    service: header.service,
    port: header.port,
    get endpoints(): readonly Endpoint[] {
      if (endpoints === undefined) {
        endpoints = endpointsList === 'all' ? this.all : join(parts ?? [], endpointsList);
        if (all !== undefined) parts = undefined;
      }
      return endpoints;
    },
    get all(): readonly Endpoint[] {
      if (all === undefined) {
        all = join(parts ?? [], 'all');
        if (endpoints !== undefined || endpointsList === 'all') parts = undefined;
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
