// Workloads shared by the core benchmarks: the slices the real controller writes (lib/controller-slices.mjs,
// fixed seeds) serialized once as a LIST body and as watch lines.
import { controllerEndpointSlices, withKind } from './controller-slices.mjs';

export const SLICES_PATH = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices';

/** The slices of one Service, resourceVersions numbered from `firstRv`. */
export function serviceSlices(service, endpoints, seed = 42, firstRv = 1000) {
  const slices = controllerEndpointSlices({ service, endpoints, seed });
  let rv = firstRv;
  for (const slice of slices) slice.metadata.resourceVersion = String(++rv);
  return { slices, resourceVersion: rv };
}

export function listBody(slices, resourceVersion) {
  return Buffer.from(
    JSON.stringify({
      kind: 'EndpointSliceList',
      apiVersion: 'discovery.k8s.io/v1',
      metadata: { resourceVersion: String(resourceVersion) },
      items: slices,
    }),
  );
}

/**
 * `count` MODIFIED events, each flipping one endpoint's readiness (round-robin over the slices), on a
 * copy of `slices`. Returns the lines, the final resourceVersion and what the final set must hold.
 */
export function readinessFlips(slices, count, firstRv) {
  const state = structuredClone(slices);
  const lines = [];
  let rv = firstRv;
  let lastAddress;
  for (let m = 0; m < count; m++) {
    const slice = state[m % state.length];
    const endpoint = slice.endpoints[Math.floor(m / state.length) % slice.endpoints.length];
    endpoint.conditions = { ...endpoint.conditions, ready: !endpoint.conditions.ready };
    slice.metadata.resourceVersion = String(++rv);
    // What the controller rewrites with each update besides the endpoint: generation, trigger time.
    const time = new Date(Date.UTC(2026, 10, 30, 0, 0, m % 60)).toISOString().replace('.000Z', 'Z');
    slice.metadata.generation += 1;
    slice.metadata.annotations['endpoints.kubernetes.io/last-change-trigger-time'] = time;
    slice.metadata.managedFields[0].time = time;
    lines.push(`${JSON.stringify({ type: 'MODIFIED', object: withKind(slice) })}\n`);
    lastAddress = endpoint.addresses[0];
  }
  const endpoints = state.flatMap((s) => s.endpoints);
  return {
    body: Buffer.from(lines.join('')),
    resourceVersion: String(rv),
    lastAddress,
    lastReady:
      lastAddress === undefined
        ? undefined
        : endpoints.find((e) => e.addresses[0] === lastAddress).conditions.ready,
    readyCount: endpoints.filter((e) => e.conditions.ready).length,
  };
}

/**
 * Every endpoint changes once and comes back: each slice is MODIFIED with all its endpoints not
 * serving, then serving again (new pod names' uids stay; every record is rebuilt twice). The final
 * content equals the initial one.
 */
export function everyEndpointChanged(slices, firstRv) {
  const state = structuredClone(slices);
  const lines = [];
  let rv = firstRv;
  for (const serving of [false, true]) {
    for (const slice of state) {
      for (const endpoint of slice.endpoints) endpoint.conditions = { ...endpoint.conditions, serving };
      slice.metadata.resourceVersion = String(++rv);
      lines.push(`${JSON.stringify({ type: 'MODIFIED', object: withKind(slice) })}\n`);
    }
  }
  return { body: Buffer.from(lines.join('')), resourceVersion: String(rv) };
}

/** A streaming list (`sendInitialEvents=true`): ADDED per slice, then the bookmark that ends it. */
export function initialEvents(slices, resourceVersion) {
  const lines = slices.map((slice) => `${JSON.stringify({ type: 'ADDED', object: withKind(slice) })}\n`);
  lines.push(
    `${JSON.stringify({
      type: 'BOOKMARK',
      object: {
        kind: 'EndpointSlice',
        apiVersion: 'discovery.k8s.io/v1',
        metadata: {
          resourceVersion: String(resourceVersion),
          annotations: { 'k8s.io/initial-events-end': 'true' },
        },
      },
    })}\n`,
  );
  return Buffer.from(lines.join(''));
}

export const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
