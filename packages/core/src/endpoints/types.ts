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
  readonly nodeName?: string;
  readonly zone?: string;
  readonly hostname?: string;
  readonly hints?: EndpointHints;
  readonly targetRef?: EndpointTargetRef;
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
}
