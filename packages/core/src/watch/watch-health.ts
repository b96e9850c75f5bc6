/**
 * How a watch is doing, for dashboards and readiness probes. The data stream itself never errors
 * on transient faults; this is where they show. `synced` is said only while a watch is open and
 * known to be current; every other state means the last complete state may be stale.
 * - `connecting`: no complete state yet (first list or streaming list in progress, or the first
 *   watch not yet confirmed). `notice` tells of an expected turn taken, not an error (the server
 *   does not serve streaming lists: the state is read with LIST instead).
 * - `synced`: the state is complete and a watch is open and confirmed current (by the list that
 *   started it, by an event or bookmark, or by staying open without error); `since` is when.
 *   `notice` tells of a condition of that state worth knowing (no object for the Service at all).
 * - `resuming`: the watch ended (the server's timeout) or its connection broke (`error`: a reset,
 *   a cut mid-event, silence past the idle timeout) after a healthy life; a new watch from
 *   `resourceVersion` is being opened at once, without backoff. Stale since `staleSince`.
 * - `retrying`: the last request failed; the last good state is still served, stale since
 *   `staleSince`. `error` is typed (`KubeApiError` carries the apiserver's Status: 403 means RBAC).
 */
export type WatchHealth =
  | { readonly state: 'connecting'; readonly since: number; readonly notice?: string }
  | {
      readonly state: 'synced';
      readonly resourceVersion: string;
      readonly since: number;
      /**
       * Something true of the current state that a reader of an empty set needs to know, e.g. that
       * no EndpointSlice carries the Service's label at all (`watchEndpointsHealth`).
       */
      readonly notice?: string;
    }
  | {
      readonly state: 'resuming';
      readonly resourceVersion: string;
      readonly staleSince: number;
      /** Absent when the server ended the watch cleanly. */
      readonly error?: unknown;
    }
  | {
      readonly state: 'retrying';
      readonly error: unknown;
      readonly attempt: number;
      readonly retryInMs: number;
      readonly staleSince: number;
      readonly resourceVersion: string | undefined;
    };
