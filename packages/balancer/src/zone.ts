import type { Endpoint } from '@endpoint-watch/core';
import type { ResolvedZoneOptions } from './options.js';
import { isPanic } from './panic.js';
import type { ZoneRouting } from './types.js';

export interface ZoneSelection<T> {
  readonly candidates: readonly T[];
  readonly routing: ZoneRouting;
}

/**
 * Zone preference, a simplification of Envoy's zone-aware routing combined with Kubernetes topology
 * hints (kube-proxy semantics):
 *
 * 1. Which endpoints are "local": when every endpoint of the set carries `hints.forZones` (hints are
 *    all-or-nothing, as in kube-proxy), those hinted for the caller's zone; otherwise those whose
 *    `zone` is the caller's. The `zone` field path is used only when at least `minClusterSize` endpoints
 *    are healthy (Envoy `min_cluster_size`); hints skip that check, the EndpointSlice controller only
 *    publishes them when each zone has enough capacity.
 * 2. Spill-over to all healthy endpoints when there is no local endpoint or the local zone is short:
 *    fewer than `panicThresholdPercent` of the local endpoints healthy (or none at all).
 * 3. Otherwise, only the healthy local endpoints.
 *
 * Unlike Envoy, the caller's own cluster (how many callers sit in each zone) is unknown, so there is no
 * partial "residual" routing: traffic is all local or all spread.
 */
export function selectZone<T extends { readonly endpoint: Endpoint }>(
  members: readonly T[],
  healthy: readonly T[],
  isHealthy: (member: T) => boolean,
  options: ResolvedZoneOptions,
  panicThresholdPercent: number,
): ZoneSelection<T> {
  const spill: ZoneSelection<T> = { candidates: healthy, routing: 'spill' };
  if (members.length === 0) return spill;
  const byHints = members.every((m) => (m.endpoint.hints?.forZones?.length ?? 0) > 0);
  if (!byHints && healthy.length < options.minClusterSize) return spill;
  const local = byHints
    ? members.filter((m) => m.endpoint.hints?.forZones?.includes(options.local) === true)
    : members.filter((m) => m.endpoint.zone === options.local);
  if (local.length === 0) return spill;
  const localHealthy = local.filter(isHealthy);
  if (localHealthy.length === 0 || isPanic(localHealthy.length, local.length, panicThresholdPercent))
    return spill;
  return { candidates: localHealthy, routing: 'local' };
}
