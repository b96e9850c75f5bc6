/**
 * Informer-style events from a stream of endpoint sets: which endpoints were added, removed or
 * changed between consecutive sets (of `endpoints`, where traffic goes), as users of client-go
 * informers or kube-rs watchers expect them.
 */
import { filter, map, type Observable, type OperatorFunction, scan } from 'rxjs';
import type { KubeClient } from '../transport/kube-client.js';
import { sameBase } from './endpoint-fields.js';
import { changesSince } from './endpoint-set.js';
import type { Endpoint, EndpointChange, EndpointChanges, EndpointSet } from './types.js';
import { type WatchEndpointsOptions, watchEndpoints } from './watch-endpoints.js';

/** What changed, and the set it led to. */
export interface EndpointChangeEvent extends EndpointChanges {
  /** The set after the change. */
  readonly set: EndpointSet;
  /** True for the first event of a subscription: every endpoint of the first set is `added`. */
  readonly initial: boolean;
}

const keyOf = (endpoint: Endpoint) => `${endpoint.address}\0${endpoint.port}`;

/** The difference between two sets' `endpoints`, read whole: O(n), for when a set carries no usable diff. */
function compareWhole(previous: EndpointSet, next: EndpointSet): EndpointChanges {
  const before = new Map(previous.endpoints.map((endpoint) => [keyOf(endpoint), endpoint]));
  const added: Endpoint[] = [];
  const changed: EndpointChange[] = [];
  for (const after of next.endpoints) {
    const key = keyOf(after);
    const old = before.get(key);
    if (old === undefined) added.push(after);
    else if (old !== after && !sameBase(old, after)) changed.push({ before: old, after });
    before.delete(key);
  }
  return { added, removed: [...before.values()], changed };
}

/**
 * Turns a stream of sets into change events. The first set gives an `initial` event (emitted even
 * when empty, so a consumer knows the state is known); later sets give an event only when something
 * in `endpoints` changed. Uses the set's own diff, O(changed), whenever it starts exactly at the
 * previous set, else compares the two sets whole.
 */
export function endpointChanges(): OperatorFunction<EndpointSet, EndpointChangeEvent> {
  return (sets) =>
    sets.pipe(
      scan<EndpointSet, { previous: EndpointSet | undefined; event: EndpointChangeEvent }, undefined>(
        (state, set) => {
          const previous = state?.previous;
          if (previous === undefined) {
            return {
              previous: set,
              event: { set, initial: true, added: set.endpoints, removed: [], changed: [] },
            };
          }
          const changes = changesSince(previous, set) ?? compareWhole(previous, set);
          return { previous: set, event: { set, initial: false, ...changes } };
        },
        undefined,
      ),
      map((state) => state.event),
      filter(
        (event) => event.initial || event.added.length + event.removed.length + event.changed.length > 0,
      ),
    );
}

/** `watchEndpoints(client, options)` as change events (see {@link endpointChanges}). */
export function watchEndpointChanges(
  client: KubeClient,
  options: WatchEndpointsOptions,
): Observable<EndpointChangeEvent> {
  return watchEndpoints(client, options).pipe(endpointChanges());
}
