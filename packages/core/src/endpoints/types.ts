/** Topology hints an EndpointSlice controller attaches to an endpoint (discovery.k8s.io/v1 EndpointHints). */
export interface EndpointHints {
  readonly forZones?: readonly string[];
  readonly forNodes?: readonly string[];
}

/** The object an endpoint stands for, usually a Pod. */
export interface EndpointTargetRef {
  readonly kind?: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly uid?: string;
}

/**
 * One address:port behind a Service. Conditions follow discovery.k8s.io/v1 with absent values
 * already resolved the way kube-proxy reads them: ready and serving default to true, terminating to false.
 * Objects are frozen and shared between consecutive snapshots while they do not change.
 */
export interface Endpoint {
  /** IPv4 dotted quad, IPv6 in canonical text form without brackets, or an FQDN (deprecated type). */
  readonly address: string;
  readonly port: number;
  readonly addressType: 'IPv4' | 'IPv6' | 'FQDN';
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
  // `| undefined`: every key is present on every endpoint (one shape for all), absent values are
  // undefined; a consumer compiling with exactOptionalPropertyTypes sees the truth.
  readonly nodeName?: string | undefined;
  readonly zone?: string | undefined;
  readonly hostname?: string | undefined;
  readonly hints?: EndpointHints | undefined;
  readonly targetRef?: EndpointTargetRef | undefined;
}

/** The Service port the set was resolved for. */
export interface ServicePortRef {
  /** The port's name in the Service/EndpointSlice ('' for a single unnamed port). */
  readonly name: string;
  readonly protocol: string;
  readonly appProtocol?: string;
}

/** Immutable snapshot of the endpoints of one Service port. */
export interface EndpointSet {
  readonly namespace: string;
  readonly service: string;
  readonly port: ServicePortRef | undefined;
  /**
   * Where to send traffic: the ready endpoints; when none is ready anywhere, the endpoints that are
   * serving and terminating (kube-proxy's fallback). Deduplicated by address and port.
   */
  readonly endpoints: readonly Endpoint[];
  /** Every known endpoint of the port, ready or not, deduplicated; for views and diagnostics. */
  readonly all: readonly Endpoint[];
  /** resourceVersion of the newest object reflected in the set (list or event), if known. */
  readonly resourceVersion: string | undefined;
  /** Which API the set came from. */
  readonly source: 'endpointslices' | 'endpoints';
  /**
   * What changed in `endpoints` since the previous set of the same stream (same aggregator, same
   * port), so that a consumer can follow a stream in O(changed) instead of reading every set whole.
   * Undefined on the first set, after a re-index of everything (the followed port changed, or the
   * automatically selected port name did), and when `endpoints` switches between the ready endpoints
   * and the serving-and-terminating fallback: then read `endpoints` whole. A relist (or a new v1
   * Endpoints version) that changes one endpoint still gives a one-endpoint diff.
   *
   * Not enumerable: equality helpers, spreading and JSON compare content, not history. A shared stream
   * replays its latest set to a late subscriber, whose diff is then relative to a set that subscriber
   * never saw: use `changesSince(previous, set)`, which checks that the diff starts at `previous`.
   */
  readonly changes?: EndpointChanges | undefined;
}

/** One address:port whose Endpoint changed (conditions or fields) while it stayed in `endpoints`. */
export interface EndpointChange {
  readonly before: Endpoint;
  readonly after: Endpoint;
}

/**
 * The difference between the `endpoints` of two consecutive sets, by address and port. An endpoint
 * that became ready (or stopped being ready) is added (removed); one that stayed and changed in any
 * field is in `changed`. Unchanged endpoints are the same frozen objects in both sets, so
 * `before`/`removed` objects are those of the previous set. Frozen arrays, in no particular order.
 */
export interface EndpointChanges {
  readonly added: readonly Endpoint[];
  readonly removed: readonly Endpoint[];
  readonly changed: readonly EndpointChange[];
}
