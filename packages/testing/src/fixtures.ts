/** Plain object builders for EndpointSlices and Endpoints, as users and tests write them. */
import { isIPv4, isIPv6 } from 'node:net';
import { nameSuffix, randomSource, uuidFrom } from './random.js';
import { kubeTimestamp } from './store.js';
import type {
  EndpointAddress,
  EndpointConditions,
  EndpointPort,
  EndpointSliceEndpoint,
  EndpointSliceObject,
  EndpointSlicePort,
  EndpointsObject,
  ObjectMeta,
  ObjectReference,
  ServiceObject,
  ServicePort,
} from './types.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const CONTROLLER_NAME = 'endpointslice-controller.k8s.io';

export interface EndpointSpec {
  addresses: string[] | string;
  /** Conditions left undefined are omitted from the object (nil: ready/serving read as true, terminating as false). */
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
  nodeName?: string;
  zone?: string;
  hostname?: string;
  /** hints.forZones. */
  hintsZones?: string[];
  /** hints.forNodes. */
  hintsNodes?: string[];
  /** An ObjectReference, or 'pod' for a generated Pod reference (name and uid). */
  targetRef?: ObjectReference | 'pod';
}

export interface PortSpec {
  name?: string;
  port: number;
  protocol?: string;
  appProtocol?: string;
}

export interface EndpointSliceSpec {
  namespace?: string;
  service: string;
  /** Default `${service}-<5 random characters>`. */
  name?: string;
  /** Default: from the first address (IPv6 when it has a colon, FQDN when it is not an IP), IPv4 if none. */
  addressType?: 'IPv4' | 'IPv6' | 'FQDN';
  /** Default `[{ name: 'http', port: 8080, protocol: 'TCP' }]`; protocol defaults to TCP. */
  ports?: PortSpec[];
  endpoints: EndpointSpec[];
  /** Leave the `conditions` key out of every endpoint entirely. */
  omitConditions?: boolean;
  /** Add a managedFields entry like the EndpointSlice controller's. */
  managedFields?: boolean;
  /** Extra labels (the service-name and managed-by labels are always set). */
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

function toArray<T>(value: T[] | T): T[] {
  return Array.isArray(value) ? [...value] : [value];
}

function addressTypeOf(address: string | undefined): 'IPv4' | 'IPv6' | 'FQDN' {
  if (address === undefined || isIPv4(address)) return 'IPv4';
  if (isIPv6(address)) return 'IPv6';
  return 'FQDN';
}

function podRef(namespace: string, service: string, random: () => number): ObjectReference {
  return {
    kind: 'Pod',
    namespace,
    name: `${service}-${nameSuffix(10, random)}-${nameSuffix(5, random)}`,
    uid: uuidFrom(random),
  };
}

function portsOf(ports: PortSpec[] | undefined): EndpointSlicePort[] {
  return (ports ?? [{ name: 'http', port: 8080, protocol: 'TCP' }]).map((p) => {
    const out: EndpointSlicePort = {};
    if (p.name !== undefined) out.name = p.name;
    out.port = p.port;
    out.protocol = p.protocol ?? 'TCP';
    if (p.appProtocol !== undefined) out.appProtocol = p.appProtocol;
    return out;
  });
}

/** The managedFields entry the EndpointSlice controller leaves on the slices it writes. */
function controllerManagedFields(time: string, withOwner: boolean): Array<Record<string, unknown>> {
  const metadata: Record<string, unknown> = {
    'f:generateName': {},
    'f:labels': { '.': {}, [`f:${MANAGED_BY_LABEL}`]: {}, [`f:${SERVICE_NAME_LABEL}`]: {} },
  };
  if (withOwner) metadata['f:ownerReferences'] = { '.': {}, 'k:{"uid":"..."}': {} };
  return [
    {
      manager: 'kube-controller-manager',
      operation: 'Update',
      apiVersion: 'discovery.k8s.io/v1',
      time,
      fieldsType: 'FieldsV1',
      fieldsV1: { 'f:addressType': {}, 'f:endpoints': {}, 'f:metadata': metadata, 'f:ports': {} },
    },
  ];
}

/** Builds a discovery.k8s.io/v1 EndpointSlice for a Service. */
export function endpointSlice(spec: EndpointSliceSpec): EndpointSliceObject {
  const random = randomSource();
  const namespace = spec.namespace ?? 'default';
  const endpoints: EndpointSliceEndpoint[] = spec.endpoints.map((e) => {
    const out: EndpointSliceEndpoint = { addresses: toArray(e.addresses) };
    if (!spec.omitConditions) {
      const conditions: EndpointConditions = {};
      if (e.ready !== undefined) conditions.ready = e.ready;
      if (e.serving !== undefined) conditions.serving = e.serving;
      if (e.terminating !== undefined) conditions.terminating = e.terminating;
      out.conditions = conditions;
    }
    if (e.hostname !== undefined) out.hostname = e.hostname;
    if (e.targetRef !== undefined) {
      out.targetRef = e.targetRef === 'pod' ? podRef(namespace, spec.service, random) : { ...e.targetRef };
    }
    if (e.nodeName !== undefined) out.nodeName = e.nodeName;
    if (e.zone !== undefined) out.zone = e.zone;
    if (e.hintsZones !== undefined || e.hintsNodes !== undefined) {
      out.hints = {};
      if (e.hintsZones !== undefined) out.hints.forZones = e.hintsZones.map((name) => ({ name }));
      if (e.hintsNodes !== undefined) out.hints.forNodes = e.hintsNodes.map((name) => ({ name }));
    }
    return out;
  });
  const metadata: ObjectMeta = {
    name: spec.name ?? `${spec.service}-${nameSuffix(5, random)}`,
    generateName: `${spec.service}-`,
    namespace,
    labels: { ...spec.labels, [SERVICE_NAME_LABEL]: spec.service, [MANAGED_BY_LABEL]: CONTROLLER_NAME },
  };
  if (spec.annotations !== undefined) metadata.annotations = { ...spec.annotations };
  if (spec.managedFields) metadata.managedFields = controllerManagedFields(kubeTimestamp(), false);
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata,
    addressType: spec.addressType ?? addressTypeOf(endpoints[0]?.addresses[0]),
    endpoints,
    ports: portsOf(spec.ports),
  };
}

export type EndpointAddressSpec = string | EndpointAddress;

export interface EndpointsSpec {
  namespace?: string;
  service: string;
  subsets: Array<{
    addresses?: EndpointAddressSpec[];
    notReadyAddresses?: EndpointAddressSpec[];
    ports: PortSpec[];
  }>;
  labels?: Record<string, string>;
}

function address(a: EndpointAddressSpec): EndpointAddress {
  return typeof a === 'string' ? { ip: a } : { ...a };
}

/** Builds a core/v1 Endpoints object (named like its Service). */
export function v1Endpoints(spec: EndpointsSpec): EndpointsObject {
  const metadata: ObjectMeta = { name: spec.service, namespace: spec.namespace ?? 'default' };
  if (spec.labels !== undefined) metadata.labels = { ...spec.labels };
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata,
    subsets: spec.subsets.map((s) => {
      const out: {
        addresses?: EndpointAddress[];
        notReadyAddresses?: EndpointAddress[];
        ports: EndpointPort[];
      } = {
        ports: s.ports.map((p) => {
          const port: EndpointPort = { port: p.port, protocol: p.protocol ?? 'TCP' };
          if (p.name !== undefined) port.name = p.name;
          if (p.appProtocol !== undefined) port.appProtocol = p.appProtocol;
          return port;
        }),
      };
      if (s.addresses !== undefined && s.addresses.length > 0) out.addresses = s.addresses.map(address);
      if (s.notReadyAddresses !== undefined && s.notReadyAddresses.length > 0) {
        out.notReadyAddresses = s.notReadyAddresses.map(address);
      }
      return out;
    }),
  };
}

export interface ServiceSpec {
  name: string;
  namespace?: string;
  /** Default `[{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }]`; protocol defaults to TCP. */
  ports?: ServicePort[];
  /** Default `{ app: <name> }`. */
  selector?: Record<string, string>;
  /** Data only: nothing dials it. Omitted by default (a headless-looking Service the fake never allocates). */
  clusterIP?: string;
  labels?: Record<string, string>;
}

/**
 * Builds a core/v1 Service. The fake apiserver stores and serves it (get, list, watch) so that a
 * client can map a Service port to the slices' target ports; it writes no EndpointSlices for it.
 */
export function service(spec: ServiceSpec): ServiceObject {
  const metadata: ObjectMeta = { name: spec.name, namespace: spec.namespace ?? 'default' };
  if (spec.labels !== undefined) metadata.labels = { ...spec.labels };
  const ports = spec.ports ?? [{ name: 'http', port: 80, targetPort: 8080 }];
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata,
    spec: {
      type: 'ClusterIP',
      selector: { ...(spec.selector ?? { app: spec.name }) },
      ports: ports.map((p) => ({ ...p, protocol: p.protocol ?? 'TCP', targetPort: p.targetPort ?? p.port })),
      ...(spec.clusterIP === undefined ? {} : { clusterIP: spec.clusterIP, clusterIPs: [spec.clusterIP] }),
    },
  };
}

export interface RealisticSpec {
  service: string;
  namespace?: string;
  /** Total number of endpoints (pods). */
  endpoints: number;
  /** Endpoints per slice (the controller's default maximum is 100). */
  perSlice?: number;
  /** Seed for names, uids and placement: the same seed gives the same objects. */
  seed?: number;
  ports?: PortSpec[];
  /** Zones to spread nodes over (default zone-a, zone-b, zone-c). */
  zones?: string[];
}

/**
 * Slices like the EndpointSlice controller writes them for a Deployment-backed Service: owner
 * reference, managedFields, trigger-time annotation, ready pods with Pod targetRefs (uid), nodeName and
 * zone, 10.244.x.y addresses. The addresses are data: nothing dials them. Zero endpoints give the
 * controller's placeholder slice (`endpoints: null`, no ports).
 */
export function realisticEndpointSlices(spec: RealisticSpec): EndpointSliceObject[] {
  const random = randomSource(spec.seed);
  const namespace = spec.namespace ?? 'default';
  const perSlice = Math.max(1, Math.floor(spec.perSlice ?? 100));
  const zones = spec.zones ?? ['zone-a', 'zone-b', 'zone-c'];
  const nodes = Math.max(1, Math.ceil(spec.endpoints / 30));
  const replicaSetHash = nameSuffix(10, random);
  const serviceUid = uuidFrom(random);
  const time = kubeTimestamp();
  const sliceCount = Math.max(1, Math.ceil(spec.endpoints / perSlice));
  const slices: EndpointSliceObject[] = [];
  for (let s = 0; s < sliceCount; s++) {
    const endpoints: EndpointSliceEndpoint[] = [];
    for (let i = s * perSlice; i < Math.min(spec.endpoints, (s + 1) * perSlice); i++) {
      const n = i + 1;
      const node = i % nodes;
      endpoints.push({
        addresses: [`10.${244 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`],
        conditions: { ready: true, serving: true, terminating: false },
        targetRef: {
          kind: 'Pod',
          namespace,
          name: `${spec.service}-${replicaSetHash}-${nameSuffix(5, random)}`,
          uid: uuidFrom(random),
        },
        nodeName: `node-${node}`,
        zone: zones[node % zones.length] ?? 'zone-a',
      });
    }
    const slice: EndpointSliceObject = {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: `${spec.service}-${nameSuffix(5, random)}`,
        generateName: `${spec.service}-`,
        namespace,
        labels: {
          'app.kubernetes.io/name': spec.service,
          [MANAGED_BY_LABEL]: CONTROLLER_NAME,
          [SERVICE_NAME_LABEL]: spec.service,
        },
        annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': time },
        ownerReferences: [
          {
            apiVersion: 'v1',
            kind: 'Service',
            name: spec.service,
            uid: serviceUid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
        managedFields: controllerManagedFields(time, true),
      },
      addressType: 'IPv4',
      endpoints: endpoints.length > 0 ? endpoints : null,
    };
    if (endpoints.length > 0) slice.ports = portsOf(spec.ports);
    slices.push(slice);
  }
  return slices;
}
