/** The object metadata the fake server reads and writes (a subset of meta/v1 ObjectMeta; other keys pass through). */
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: Array<Record<string, unknown>>;
  managedFields?: Array<Record<string, unknown>>;
  [key: string]: unknown;
}

/** Any Kubernetes object as JSON: apiVersion, kind, metadata and whatever else it carries. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

/** The kinds the fake server stores and serves. */
export type ResourceKind = 'EndpointSlice' | 'Endpoints' | 'Service';

/** A reference to another object, as in core/v1 ObjectReference. */
export interface ObjectReference {
  kind?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  apiVersion?: string;
  resourceVersion?: string;
  fieldPath?: string;
}

/** discovery.k8s.io/v1 EndpointConditions: an absent field means nil, which readers resolve themselves. */
export interface EndpointConditions {
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

export interface EndpointSliceEndpoint {
  addresses: string[];
  conditions?: EndpointConditions;
  hostname?: string;
  targetRef?: ObjectReference;
  nodeName?: string;
  zone?: string;
  hints?: { forZones?: Array<{ name: string }>; forNodes?: Array<{ name: string }> };
  deprecatedTopology?: Record<string, string>;
}

export interface EndpointSlicePort {
  name?: string;
  port?: number;
  protocol?: string;
  appProtocol?: string;
}

/** discovery.k8s.io/v1 EndpointSlice. */
export interface EndpointSliceObject extends KubeObject {
  apiVersion: 'discovery.k8s.io/v1';
  kind: 'EndpointSlice';
  addressType: 'IPv4' | 'IPv6' | 'FQDN';
  endpoints: EndpointSliceEndpoint[] | null;
  ports?: EndpointSlicePort[] | null;
}

export interface EndpointAddress {
  ip: string;
  hostname?: string;
  nodeName?: string;
  targetRef?: ObjectReference;
}

export interface EndpointPort {
  name?: string;
  port: number;
  protocol?: string;
  appProtocol?: string;
}

export interface EndpointSubset {
  addresses?: EndpointAddress[];
  notReadyAddresses?: EndpointAddress[];
  ports?: EndpointPort[];
}

/** core/v1 Endpoints (deprecated in Kubernetes 1.33+). */
export interface EndpointsObject extends KubeObject {
  apiVersion: 'v1';
  kind: 'Endpoints';
  subsets?: EndpointSubset[];
}

export interface ServicePort {
  name?: string;
  protocol?: string;
  appProtocol?: string;
  port: number;
  /** A number, or the name of a container port. */
  targetPort?: number | string;
  nodePort?: number;
}

/**
 * core/v1 Service: what readers of endpoints need of it (its ports, to map a Service port to the
 * EndpointSlices' target ports, and its selector). The fake stores it as given: no IP allocation,
 * no controller writes slices for it.
 */
export interface ServiceObject extends KubeObject {
  apiVersion: 'v1';
  kind: 'Service';
  spec: {
    type?: string;
    selector?: Record<string, string>;
    ports?: ServicePort[];
    clusterIP?: string;
    clusterIPs?: string[];
    [key: string]: unknown;
  };
  status?: Record<string, unknown>;
}

/** One request the fake server received, as recorded in `FakeApiServer.requests`. */
export interface RecordedRequest {
  readonly method: string;
  /** URL path without the query string. */
  readonly path: string;
  /** Query parameters (the last value wins when a name repeats). */
  readonly query: Record<string, string>;
  /** HTTP status the server answered (0 while undecided; 200 for a watch that started streaming). */
  status: number;
  /** True for `watch=true|1` requests. */
  readonly watch: boolean;
  /** Request headers, lower-cased names; `authorization` is replaced by 'REDACTED'. */
  readonly headers: Record<string, string>;
  /** When it arrived (`Date.now()`). */
  readonly receivedAt: number;
}
