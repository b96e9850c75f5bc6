/**
 * What the resolver tells grpc-js, decided from what the watch said: pure, no grpc-js, no I/O.
 *
 * - A set: its `endpoints` (the ready ones, or kube-proxy's serving-and-terminating fallback), one
 *   grpc-js endpoint per pod. An empty set is still a set: the policies then fail calls at once
 *   with UNAVAILABLE, and the resolution note (which grpc-js puts in their message) names the
 *   Service and says why it is empty when the watch knows.
 * - A health problem: only while no set has ever arrived. Then no address is known, and the
 *   channel can only fail calls: it should say why (a 403 and the grant to add, a TLS name, an
 *   unreachable apiserver). Once a set has arrived the last one keeps being served, since a watch
 *   that retries still describes the cluster best with its last complete state.
 */
import {
  type Endpoint,
  type EndpointSet,
  KubeApiError,
  rbacGrantFor,
  type WatchHealth,
} from '@endpoint-watch/core';

/** Where an endpoint runs, for locality-aware policies (see `endpointLocality`). */
export interface EndpointLocality {
  readonly zone: string | undefined;
  readonly nodeName: string | undefined;
}

export type ResolutionUpdate =
  | {
      readonly kind: 'endpoints';
      readonly addresses: readonly { readonly host: string; readonly port: number }[];
      /** By `host:port` (IPv6 in brackets, as grpc-js' `subchannelAddressToString` writes it). */
      readonly locality: ReadonlyMap<string, EndpointLocality>;
      /** grpc-js puts it in the message of calls failed for lack of addresses. */
      readonly note: string;
    }
  | { readonly kind: 'error'; readonly details: string };

/** `host:port` as grpc-js writes a TCP subchannel address. */
export function addressKey(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export function endpointsUpdate(set: EndpointSet, health: WatchHealth | undefined): ResolutionUpdate {
  const locality = new Map<string, EndpointLocality>();
  const addresses = set.endpoints.map((endpoint: Endpoint) => {
    locality.set(addressKey(endpoint.address, endpoint.port), {
      zone: endpoint.zone,
      nodeName: endpoint.nodeName,
    });
    return { host: endpoint.address, port: endpoint.port };
  });
  return {
    kind: 'endpoints',
    addresses,
    locality,
    note: addresses.length === 0 ? emptyNote(set, health) : '',
  };
}

function emptyNote(set: EndpointSet, health: WatchHealth | undefined): string {
  const port = set.port === undefined ? '' : ` port ${set.port.name === '' ? '(unnamed)' : set.port.name}`;
  const known = set.all.length;
  const why =
    health?.state === 'synced' && health.notice !== undefined
      ? health.notice
      : known === 0
        ? 'the Service has no endpoint (scaled to zero, or no pod matches its selector)'
        : `none of its ${known} endpoint(s) is ready or serving`;
  return `service ${set.namespace}/${set.service}${port} has no endpoints to call: ${why}`;
}

/**
 * The resolver error for a health state, or undefined when none is due: only `retrying` before any
 * set (a first watch still connecting is not an error yet; calls wait for it).
 */
export function healthUpdate(
  health: WatchHealth,
  everHadSet: boolean,
  service: string,
): ResolutionUpdate | undefined {
  if (everHadSet || health.state !== 'retrying') return undefined;
  return {
    kind: 'error',
    details: `service ${service}: no endpoint set has arrived yet; the watch is retrying (attempt ${health.attempt}): ${describeWatchError(health.error)}`,
  };
}

/** The stream itself failed (misuse, e.g. a Service with several ports and none chosen). */
export function streamErrorUpdate(error: unknown, service: string): ResolutionUpdate {
  return { kind: 'error', details: `service ${service}: ${describeWatchError(error)}` };
}

/**
 * The watch's error as one line with its code, and for a 403 the grant that fixes it: RBAC refusals
 * are the most common reason a new client sees nothing, and the message alone does not say what
 * the Role must contain.
 */
export function describeWatchError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  const text = typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
  const grant = error instanceof KubeApiError ? rbacGrantFor(error) : undefined;
  if (grant === undefined) return text;
  return `${text}. To fix it, ${grant.advice}`;
}
