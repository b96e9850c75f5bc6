import type { ResourceKind } from './types.js';

/** What the server needs to know about one served resource type. */
export interface ResourceInfo {
  readonly kind: ResourceKind;
  readonly listKind: string;
  /** '' for the core group. */
  readonly group: string;
  readonly version: string;
  readonly apiVersion: string;
  /** Plural, lower-case: the path segment. */
  readonly resource: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  /** `Warning` header every response about this resource carries, if any. */
  readonly warning: string | undefined;
  /** The fields an empty object of the kind serializes with (besides kind, apiVersion, metadata). */
  readonly emptyFields: Readonly<Record<string, unknown>>;
}

export const ENDPOINT_SLICES: ResourceInfo = {
  kind: 'EndpointSlice',
  listKind: 'EndpointSliceList',
  group: 'discovery.k8s.io',
  version: 'v1',
  apiVersion: 'discovery.k8s.io/v1',
  resource: 'endpointslices',
  singular: 'endpointslice',
  shortNames: [],
  warning: undefined,
  emptyFields: { addressType: '', endpoints: null, ports: null },
};

export const ENDPOINTS: ResourceInfo = {
  kind: 'Endpoints',
  listKind: 'EndpointsList',
  group: '',
  version: 'v1',
  apiVersion: 'v1',
  resource: 'endpoints',
  singular: 'endpoints',
  shortNames: ['ep'],
  warning: '299 - "v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice"',
  emptyFields: {},
};

export const SERVICES: ResourceInfo = {
  kind: 'Service',
  listKind: 'ServiceList',
  group: '',
  version: 'v1',
  apiVersion: 'v1',
  resource: 'services',
  singular: 'service',
  shortNames: ['svc'],
  warning: undefined,
  emptyFields: { spec: {}, status: { loadBalancer: {} } },
};

export const RESOURCES: readonly ResourceInfo[] = [ENDPOINT_SLICES, ENDPOINTS, SERVICES];

/** The resources of the core group (`/api/v1`), by path segment. */
export const CORE_V1_RESOURCES: readonly ResourceInfo[] = [ENDPOINTS, SERVICES];

export function resourceForKind(kind: string): ResourceInfo | undefined {
  return RESOURCES.find((r) => r.kind === kind);
}

/** The resource an object belongs to, from its apiVersion and kind (a missing apiVersion is accepted). */
export function resourceForObject(apiVersion: unknown, kind: unknown): ResourceInfo | undefined {
  const info = RESOURCES.find((r) => r.kind === kind);
  if (info === undefined) return undefined;
  if (apiVersion !== undefined && apiVersion !== info.apiVersion) return undefined;
  return info;
}

/** `endpointslices.discovery.k8s.io` / `endpoints`, as the apiserver names a resource in messages. */
export function qualifiedResource(info: ResourceInfo): string {
  return info.group === '' ? info.resource : `${info.resource}.${info.group}`;
}
