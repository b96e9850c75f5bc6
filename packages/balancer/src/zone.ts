import type { Endpoint } from '@endpoint-watch/core';
import type { ResolvedZoneOptions } from './options.js';
import { isPanic } from './panic.js';

/**
 * Which endpoints zone preference keeps (see `ZoneCounts`): the healthy ones hinted for the caller's
 * node, hinted for its zone, or in its zone; or every healthy one (`spill`).
 */
export type ZoneGroup = 'node' | 'hinted' | 'zone' | 'spill';

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
 *
 * The decision needs only how many members fall in each group and how many of those are healthy:
 * the counts are updated by a set diff in O(changed), and so are the candidates while the decision
 * stays the same (a change of decision reads every member).
 */
export class ZoneCounts {
  #withNodeHints = 0;
  #onNode = 0;
  #onNodeHealthy = 0;
  #withZoneHints = 0;
  #hinted = 0;
  #hintedHealthy = 0;
  #inZone = 0;
  #inZoneHealthy = 0;

  constructor(readonly options: ResolvedZoneOptions) {}

  /** Adds (`sign` 1) or takes away (−1) one member. */
  count(endpoint: Endpoint, healthy: boolean, sign: 1 | -1): void {
    const h = healthy ? sign : 0;
    const { node, local } = this.options;
    const forNodes = endpoint.hints?.forNodes;
    if (forNodes !== undefined && forNodes.length > 0) {
      this.#withNodeHints += sign;
      if (node !== undefined && forNodes.includes(node)) {
        this.#onNode += sign;
        this.#onNodeHealthy += h;
      }
    }
    const forZones = endpoint.hints?.forZones;
    if (forZones !== undefined && forZones.length > 0) {
      this.#withZoneHints += sign;
      if (forZones.includes(local)) {
        this.#hinted += sign;
        this.#hintedHealthy += h;
      }
    }
    if (endpoint.zone === local) {
      this.#inZone += sign;
      this.#inZoneHealthy += h;
    }
  }

  /** Which group the candidates come from, given the members' and the healthy members' numbers. */
  group(members: number, healthy: number, panicThresholdPercent: number): ZoneGroup {
    if (members === 0) return 'spill';
    const usable = (group: number, groupHealthy: number) =>
      group > 0 && groupHealthy > 0 && !isPanic(groupHealthy, group, panicThresholdPercent);
    if (
      this.options.node !== undefined &&
      this.#withNodeHints === members &&
      usable(this.#onNode, this.#onNodeHealthy)
    ) {
      return 'node';
    }
    if (this.#withZoneHints === members)
      return usable(this.#hinted, this.#hintedHealthy) ? 'hinted' : 'spill';
    if (healthy < this.options.minClusterSize) return 'spill';
    return usable(this.#inZone, this.#inZoneHealthy) ? 'zone' : 'spill';
  }

  /** Whether an endpoint belongs to `group` (every one belongs to `spill`). */
  inGroup(group: ZoneGroup, endpoint: Endpoint): boolean {
    switch (group) {
      case 'node':
        return endpoint.hints?.forNodes?.includes(this.options.node!) === true;
      case 'hinted':
        return endpoint.hints?.forZones?.includes(this.options.local) === true;
      case 'zone':
        return endpoint.zone === this.options.local;
      default:
        return true;
    }
  }
}
