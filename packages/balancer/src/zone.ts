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
 * 0. With the caller's node known: when every endpoint carries `hints.forNodes` and some are hinted
 *    for this node, those, if healthy enough (else on to zones), as kube-proxy does for
 *    `trafficDistribution: PreferSameNode`.
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
  const node = options.node;
  if (node !== undefined && members.every((m) => (m.endpoint.hints?.forNodes?.length ?? 0) > 0)) {
    const onNode = preferred(
      members.filter((m) => m.endpoint.hints?.forNodes?.includes(node) === true),
      isHealthy,
      panicThresholdPercent,
    );
    if (onNode !== undefined) return { candidates: onNode, routing: 'local' };
  }
  const byHints = members.every((m) => (m.endpoint.hints?.forZones?.length ?? 0) > 0);
  if (!byHints && healthy.length < options.minClusterSize) return spill;
  const local = byHints
    ? members.filter((m) => m.endpoint.hints?.forZones?.includes(options.local) === true)
    : members.filter((m) => m.endpoint.zone === options.local);
  const localHealthy = preferred(local, isHealthy, panicThresholdPercent);
  return localHealthy === undefined ? spill : { candidates: localHealthy, routing: 'local' };
}

/** The healthy ones of a preferred group, unless the group is empty or short (under the panic threshold). */
function preferred<T>(
  group: readonly T[],
  isHealthy: (member: T) => boolean,
  panicThresholdPercent: number,
): readonly T[] | undefined {
  if (group.length === 0) return undefined;
  const healthy = group.filter(isHealthy);
  if (healthy.length === 0 || isPanic(healthy.length, group.length, panicThresholdPercent)) return undefined;
  return healthy;
}
