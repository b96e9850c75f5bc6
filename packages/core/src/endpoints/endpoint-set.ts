/**
 * Building the frozen `EndpointSet`, shared by both aggregators. The lists are kept as the per-group
 * chunks they are made of and concatenated on first read: `snapshot()` stays O(number of groups) and
 * a set nobody reads (superseded before a subscriber looks at it) never costs O(n).
 */
import type { Endpoint, EndpointSet, ServicePortRef } from './types.js';

const EMPTY: readonly Endpoint[] = Object.freeze([]);

/**
 * One frozen array from chunks. The chunks must never be frozen themselves: V8 copies frozen arrays
 * element by element (about 100x slower than the memcpy it uses for ordinary ones).
 */
export function joinChunks(parts: Endpoint[][]): readonly Endpoint[] {
  if (parts.length === 0) return EMPTY;
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

/**
 * A frozen EndpointSet. `all` and `endpoints` are own, enumerable, read-only accessors that build
 * their frozen array on the first read and return that same array afterwards (equality helpers,
 * spreading and JSON see plain values). `endpointParts` undefined means "same list as all" (every
 * endpoint is ready): both then return one array. Chunk arrays must not be mutated afterwards.
 */
export function makeEndpointSet(
  header: SetHeader,
  allParts: Endpoint[][],
  endpointParts: Endpoint[][] | undefined,
): EndpointSet {
  let allChunks: Endpoint[][] | undefined = allParts;
  let endpointChunks: Endpoint[][] | undefined = endpointParts;
  let all: readonly Endpoint[] | undefined;
  let endpoints: readonly Endpoint[] | undefined;
  const set: EndpointSet = {
    namespace: header.namespace,
    service: header.service,
    port: header.port,
    get endpoints(): readonly Endpoint[] {
      if (endpoints === undefined) {
        endpoints = endpointChunks === undefined ? this.all : joinChunks(endpointChunks);
        endpointChunks = undefined;
      }
      return endpoints;
    },
    get all(): readonly Endpoint[] {
      if (all === undefined) {
        all = joinChunks(allChunks ?? []);
        allChunks = undefined;
      }
      return all;
    },
    resourceVersion: header.resourceVersion,
    source: header.source,
  };
  // console.log / util.inspect show the lists instead of [Getter].
  Object.defineProperty(set, INSPECT, {
    value(this: EndpointSet) {
      return { ...this };
    },
  });
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
