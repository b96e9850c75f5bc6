/** Discovery documents: /version, /api, /api/v1, /apis, /apis/discovery.k8s.io[/v1]. */
import { CORE_V1_RESOURCES, ENDPOINT_SLICES, type ResourceInfo } from './resources.js';

/** The verbs the fake server implements for its resources. */
const VERBS = ['get', 'list', 'watch'];

function apiResource(info: ResourceInfo): object {
  return {
    name: info.resource,
    singularName: info.singular,
    namespaced: true,
    kind: info.kind,
    verbs: VERBS,
    ...(info.shortNames.length > 0 ? { shortNames: info.shortNames } : {}),
  };
}

/** `/version` for a git version like 'v1.34.1'. */
export function versionInfo(gitVersion: string): object {
  const m = /^v?(\d+)\.(\d+)/.exec(gitVersion);
  return {
    major: m?.[1] ?? '1',
    minor: m?.[2] ?? '34',
    gitVersion,
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2025-01-01T00:00:00Z',
    goVersion: 'go1.24.0',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

export function apiVersions(serverAddress: string): object {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

export function coreV1Resources(): object {
  return { kind: 'APIResourceList', groupVersion: 'v1', resources: CORE_V1_RESOURCES.map(apiResource) };
}

function discoveryGroup(): object {
  const version = { groupVersion: ENDPOINT_SLICES.apiVersion, version: ENDPOINT_SLICES.version };
  return { name: ENDPOINT_SLICES.group, versions: [version], preferredVersion: version };
}

export function apiGroupList(): object {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: [discoveryGroup()] };
}

export function apiGroup(): object {
  return { kind: 'APIGroup', apiVersion: 'v1', ...discoveryGroup() };
}

export function discoveryV1Resources(): object {
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: ENDPOINT_SLICES.apiVersion,
    resources: [apiResource(ENDPOINT_SLICES)],
  };
}
