/**
 * How a watch is doing, for dashboards and readiness probes. The data stream itself never errors
 * on transient faults; this is where they show.
 * - `connecting`: no complete state yet (first list or streaming list in progress).
 * - `synced`: the state is complete and a watch is (re)connected; `since` is when that began.
 * - `retrying`: the last request failed; the last good state is still served, possibly stale since
 *   `staleSince`. `error` is typed (`KubeApiError` carries the apiserver's Status: 403 means RBAC).
 */
export type WatchHealth =
  | { readonly state: 'connecting'; readonly since: number }
  | { readonly state: 'synced'; readonly resourceVersion: string; readonly since: number }
  | {
      readonly state: 'retrying';
      readonly error: unknown;
      readonly attempt: number;
      readonly retryInMs: number;
      readonly staleSince: number;
      readonly resourceVersion: string | undefined;
    };
