import type { Endpoint, EndpointSet } from '../../src/endpoints/types.js';

export const NS = 'default';
export const SVC = 'web';

export interface RawPort {
  name?: string | null;
  port?: number | null;
  protocol?: string | null;
  appProtocol?: string | null;
}

export interface SliceOptions {
  addressType?: string;
  ports?: RawPort[] | null;
  service?: string | null;
  namespace?: string | null;
  resourceVersion?: string;
  annotations?: Record<string, string>;
}

export const HTTP: RawPort = { name: 'http', port: 8080, protocol: 'TCP' };

/** A raw discovery.k8s.io/v1 EndpointSlice as the apiserver would send it. */
export function slice(
  name: string,
  endpoints: unknown[] | null,
  o: SliceOptions = {},
): Record<string, unknown> {
  const labels: Record<string, string> = {
    'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
  };
  if (o.service !== null) labels['kubernetes.io/service-name'] = o.service ?? SVC;
  return {
    kind: 'EndpointSlice',
    apiVersion: 'discovery.k8s.io/v1',
    metadata: {
      name,
      ...(o.namespace === null ? {} : { namespace: o.namespace ?? NS }),
      resourceVersion: o.resourceVersion ?? '1',
      labels,
      annotations: o.annotations ?? {},
      managedFields: [
        { manager: 'kube-controller-manager', operation: 'Update', fieldsV1: { 'f:endpoints': {} } },
      ],
    },
    addressType: o.addressType ?? 'IPv4',
    endpoints,
    ports: o.ports === undefined ? [HTTP] : o.ports,
  };
}

export interface EpOptions {
  ready?: boolean | null;
  serving?: boolean | null;
  terminating?: boolean | null;
  nodeName?: string;
  zone?: string;
  hostname?: string;
  pod?: string;
  forZones?: string[];
  forNodes?: string[];
}

/** A raw slice endpoint; conditions are left out entirely unless one is given. */
export function ep(address: string, o: EpOptions = {}): Record<string, unknown> {
  const e: Record<string, unknown> = { addresses: [address] };
  if ('ready' in o || 'serving' in o || 'terminating' in o) {
    const c: Record<string, unknown> = {};
    if ('ready' in o) c.ready = o.ready;
    if ('serving' in o) c.serving = o.serving;
    if ('terminating' in o) c.terminating = o.terminating;
    e.conditions = c;
  }
  if (o.nodeName !== undefined) e.nodeName = o.nodeName;
  if (o.zone !== undefined) e.zone = o.zone;
  if (o.hostname !== undefined) e.hostname = o.hostname;
  if (o.pod !== undefined) e.targetRef = { kind: 'Pod', namespace: NS, name: o.pod, uid: `uid-${o.pod}` };
  if (o.forZones !== undefined || o.forNodes !== undefined) {
    e.hints = {
      ...(o.forZones ? { forZones: o.forZones.map((name) => ({ name })) } : {}),
      ...(o.forNodes ? { forNodes: o.forNodes.map((name) => ({ name })) } : {}),
    };
  }
  return e;
}

/** Deep copy, as a new watch event would deliver the same content. */
export function copy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** `address:port` of each endpoint, sorted. */
export function keys(endpoints: readonly Endpoint[]): string[] {
  return endpoints.map((e) => `${e.address}:${e.port}`).sort();
}

/** Order-independent, comparable form of a set's content. */
export function canonical(set: EndpointSet): unknown {
  const key = (e: Endpoint) => `${e.address}|${e.port}`;
  const norm = (list: readonly Endpoint[]) =>
    [...list].sort((a, b) => (key(a) < key(b) ? -1 : 1)).map((e) => JSON.parse(JSON.stringify(e)) as unknown);
  const port = set.port === undefined ? undefined : (JSON.parse(JSON.stringify(set.port)) as unknown);
  return { port, endpoints: norm(set.endpoints), all: norm(set.all) };
}

/** Fails the test when `value` is undefined; narrows the type otherwise. */
export function defined<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('expected a value, got undefined');
  return value;
}
