// The core benchmarks' one fixture: EndpointSlices as the real EndpointSlice controller writes them
// for a Deployment-backed Service with topology hints (`trafficDistribution: PreferClose`), field for
// field and in the controller's key order — compare lib/real-controller-slices.json, captured from
// kube-controller-manager v1.37.2 (startControlPlane). Per slice: uid, generation, creation
// timestamp, the Service's labels copied beside the controller's two, the trigger-time annotation,
// the Service owner reference, the controller's managedFields entry; per endpoint: conditions
// (all three written), a Pod targetRef (kind, namespace, name, uid), nodeName, zone and
// hints.forZones (the endpoint's zone). Fixed seeds; 10.244.x.y addresses are data, never dialled.
// `hints: false` gives the same objects without hints (a Service without trafficDistribution); so
// does BENCH_HINTS=0 in the environment, for every benchmark and its children at once.
import { seededRandom } from '@endpoint-watch/testing';

const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
const TIME = '2026-11-30T00:00:00Z';

const suffix = (length, random) => {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[Math.floor(random() * ALPHABET.length)];
  return out;
};

const uuid = (random) => {
  const bytes = Array.from({ length: 16 }, () => Math.floor(random() * 256));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};

function managedFields(serviceUid) {
  return [
    {
      manager: 'kube-controller-manager',
      operation: 'Update',
      apiVersion: 'discovery.k8s.io/v1',
      time: TIME,
      fieldsType: 'FieldsV1',
      fieldsV1: {
        'f:addressType': {},
        'f:endpoints': {},
        'f:metadata': {
          'f:annotations': { '.': {}, 'f:endpoints.kubernetes.io/last-change-trigger-time': {} },
          'f:generateName': {},
          'f:labels': {
            '.': {},
            'f:app.kubernetes.io/name': {},
            'f:endpointslice.kubernetes.io/managed-by': {},
            'f:kubernetes.io/service-name': {},
          },
          'f:ownerReferences': { '.': {}, [`k:{"uid":"${serviceUid}"}`]: {} },
        },
        'f:ports': {},
      },
    },
  ];
}

/** A slice as a watch event or a single GET carries it: unlike a LIST's items, it names its kind. */
export const withKind = (slice) => ({ kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1', ...slice });

/** The slices of one Service of `endpoints` pods (`perSlice` per slice, the controller's default 100). */
export function controllerEndpointSlices({
  service,
  endpoints,
  perSlice = 100,
  seed = 42,
  namespace = 'default',
  hints = process.env.BENCH_HINTS !== '0',
  zones = ['zone-a', 'zone-b', 'zone-c'],
}) {
  const random = seededRandom(seed);
  const nodes = Math.max(1, Math.ceil(endpoints / 30));
  const replicaSetHash = suffix(10, random);
  const serviceUid = uuid(random);
  const slices = [];
  for (let s = 0; s * perSlice < Math.max(1, endpoints); s++) {
    const entries = [];
    for (let i = s * perSlice; i < Math.min(endpoints, (s + 1) * perSlice); i++) {
      const n = i + 1;
      const node = i % nodes;
      const zone = zones[node % zones.length];
      const entry = {
        addresses: [`10.${244 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`],
        conditions: { ready: true, serving: true, terminating: false },
        targetRef: {
          kind: 'Pod',
          namespace,
          name: `${service}-${replicaSetHash}-${suffix(5, random)}`,
          uid: uuid(random),
        },
        nodeName: `node-${node}`,
        zone,
      };
      if (hints) entry.hints = { forZones: [{ name: zone }] };
      entries.push(entry);
    }
    const slice = {
      metadata: {
        name: `${service}-${suffix(5, random)}`,
        generateName: `${service}-`,
        namespace,
        uid: uuid(random),
        resourceVersion: String(1000 + s),
        generation: 1,
        creationTimestamp: TIME,
        labels: {
          'app.kubernetes.io/name': service,
          'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
          'kubernetes.io/service-name': service,
        },
        annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': TIME },
        ownerReferences: [
          {
            apiVersion: 'v1',
            kind: 'Service',
            name: service,
            uid: serviceUid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
        managedFields: managedFields(serviceUid),
      },
      addressType: 'IPv4',
      // The controller's placeholder slice of a Service without pods: no endpoints, no ports.
      endpoints: entries.length > 0 ? entries : null,
      ports: entries.length > 0 ? [{ name: 'http', protocol: 'TCP', port: 8080 }] : null,
    };
    slices.push(slice);
  }
  return slices;
}
