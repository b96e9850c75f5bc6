/** URL path → what is asked for. */
import { CORE_V1_RESOURCES, ENDPOINT_SLICES, type ResourceInfo } from './resources.js';

export type Route =
  | { type: 'version' }
  | { type: 'health' }
  | { type: 'api' }
  | { type: 'coreV1' }
  | { type: 'apis' }
  | { type: 'group' }
  | { type: 'groupVersion' }
  | {
      type: 'resource';
      resource: ResourceInfo;
      namespace: string | undefined;
      name: string | undefined;
      /** The deprecated `/watch/` path prefix was used. */
      watchPrefix: boolean;
    }
  | { type: 'unknown' };

const FIXED: Record<string, Route> = {
  '/version': { type: 'version' },
  '/healthz': { type: 'health' },
  '/livez': { type: 'health' },
  '/readyz': { type: 'health' },
  '/api': { type: 'api' },
  '/api/v1': { type: 'coreV1' },
  '/apis': { type: 'apis' },
  '/apis/discovery.k8s.io': { type: 'group' },
  '/apis/discovery.k8s.io/v1': { type: 'groupVersion' },
};

/** Paths that anonymous requests may read (system:public-info-viewer). */
export const PUBLIC_PATHS = new Set(['/version', '/healthz', '/livez', '/readyz']);

/**
 * Whether a path not served is under an API prefix the server knows (the core API or a served
 * group): kube-apiserver answers those with a NotFound Status, every other path with its plain-text
 * `404 page not found` (an unknown group included).
 */
export function underKnownApi(path: string): boolean {
  return (
    path === '/api' ||
    path.startsWith('/api/') ||
    path === '/apis/discovery.k8s.io' ||
    path.startsWith('/apis/discovery.k8s.io/')
  );
}

export function parseRoute(path: string): Route {
  const fixed = FIXED[path];
  if (fixed !== undefined) return fixed;
  let rest: string[];
  let served: readonly ResourceInfo[];
  if (path.startsWith('/api/v1/')) {
    rest = path.slice('/api/v1/'.length).split('/');
    served = CORE_V1_RESOURCES;
  } else if (path.startsWith('/apis/discovery.k8s.io/v1/')) {
    rest = path.slice('/apis/discovery.k8s.io/v1/'.length).split('/');
    served = [ENDPOINT_SLICES];
  } else return { type: 'unknown' };
  let segments: string[];
  try {
    segments = rest.map((s) => decodeURIComponent(s));
  } catch {
    return { type: 'unknown' };
  }
  let watchPrefix = false;
  if (segments[0] === 'watch') {
    watchPrefix = true;
    segments = segments.slice(1);
  }
  let namespace: string | undefined;
  if (segments[0] === 'namespaces' && segments.length >= 3) {
    namespace = segments[1];
    segments = segments.slice(2);
    if (namespace === '') return { type: 'unknown' };
  }
  const resource = served.find((r) => r.resource === segments[0]);
  if (resource === undefined) return { type: 'unknown' };
  if (segments.length === 1) return { type: 'resource', resource, namespace, name: undefined, watchPrefix };
  if (segments.length === 2 && namespace !== undefined && segments[1] !== '') {
    return { type: 'resource', resource, namespace, name: segments[1], watchPrefix };
  }
  return { type: 'unknown' };
}
