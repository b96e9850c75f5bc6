/** The `watch` command's live view model. Pure. */
import type { AddressType, EndpointSet, WatchHealth } from '@endpoint-watch/core';
import {
  countEndpoints,
  describeHealth,
  describeTarget,
  endpointRows,
  type LiveView,
  type LogEntry,
} from './model.js';

export interface WatchViewInput {
  readonly namespace: string;
  readonly service: string;
  /** `https://… (context prod)`. */
  readonly origin: string;
  readonly elapsedMs: number;
  /** `Date.now()`, the clock of the health timestamps. */
  readonly wallNow: number;
  readonly set: EndpointSet | undefined;
  readonly health: WatchHealth | undefined;
  readonly events: readonly LogEntry[];
  /** `--address-type`: only these families are shown (undefined: all). */
  readonly addressTypes?: readonly AddressType[] | undefined;
}

export function buildWatchView(input: WatchViewInput): LiveView {
  const counts = countEndpoints(input.set);
  return {
    title: 'endpoint-watch watch',
    target: describeTarget(input.namespace, input.service, input.set),
    origin: input.origin,
    elapsedMs: input.elapsedMs,
    durationMs: undefined,
    health: describeHealth(
      input.health,
      input.wallNow,
      { namespace: input.namespace },
      input.set?.resourceVersion,
    ),
    counts,
    resourceVersion: input.set?.resourceVersion,
    // A filtered view says so where the source is told: missing pods of another family are not a mystery.
    source:
      input.set?.source && input.addressTypes
        ? `${input.set.source} · ${input.addressTypes.join('+')} only`
        : input.set?.source,
    rows: endpointRows(input.set),
    traffic: undefined,
    events: input.events,
    hint: emptinessHint(input.set, input),
  };
}

/**
 * Why no traffic can go anywhere, and the kubectl commands that show it: no endpoint at all (no pods
 * match; no such Service is the health's notice, a `--port` the slices do not carry an
 * ERR_PORT_SELECTION error), or endpoints none of which is ready (nor serving while terminating). Undefined while
 * traffic has somewhere to go. Possibly several lines.
 */
export function emptinessHint(
  set: EndpointSet | undefined,
  target: {
    readonly namespace: string;
    readonly service: string;
    readonly addressTypes?: readonly AddressType[] | undefined;
  },
): string | undefined {
  if (!set || set.endpoints.length > 0) return undefined;
  const { namespace, service, addressTypes } = target;
  if (set.all.length === 0 && addressTypes) {
    const families = addressTypes.join(', ');
    return (
      `no ${families} endpoints (--address-type ${addressTypes.join(',')}): are the Service's slices of another family, or does its selector match no running pod?\n` +
      `See: kubectl get endpointslices -n ${namespace} -l kubernetes.io/service-name=${service} (ADDRESSTYPE, ENDPOINTS); ` +
      `kubectl get service ${service} -n ${namespace} -o wide (SELECTOR)`
    );
  }
  if (set.all.length > 0) {
    return (
      `no endpoint is ready (nor serving while terminating): traffic has nowhere to go.\n` +
      `Why the pods are not ready: kubectl get pods -n ${namespace} -o wide; kubectl describe pod <name> -n ${namespace}`
    );
  }
  // Whether the Service exists at all, the watch's health says (its synced notice); this is the rest.
  return (
    `no endpoints: does the selector of Service ${namespace}/${service} match running pods?\n` +
    `See: kubectl get service ${service} -n ${namespace} -o wide (SELECTOR, PORTS); ` +
    `kubectl get endpointslices -n ${namespace} -l kubernetes.io/service-name=${service} (ENDPOINTS)`
  );
}

/**
 * What to look at when the watch's health says no object carries the Service's label at all: whether
 * it exists (its name, its namespace), before its selector.
 */
export function absentServiceHint(target: { readonly namespace: string; readonly service: string }): string {
  const { namespace, service } = target;
  return (
    `See: kubectl get service ${service} -n ${namespace} -o wide (does it exist? SELECTOR, PORTS); ` +
    `kubectl get services -n ${namespace} (its name)`
  );
}
