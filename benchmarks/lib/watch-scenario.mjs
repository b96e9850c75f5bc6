// The watch scenario's bytes, built the same way in whichever process needs them (fixed seed): a
// Service of `endpoints` endpoints in EndpointSlices of 100, as the controller writes them
// (managedFields, ownerReferences, targetRefs), then `modifications` MODIFIED events, each flipping
// one endpoint's readiness, round-robin over the slices.
import { realisticEndpointSlices } from '@endpoint-watch/testing';

export const SLICES_PATH = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices';

export function watchScenario({ endpoints, modifications, seed = 42 }) {
  const slices = realisticEndpointSlices({ service: 'web', endpoints, perSlice: 100, seed });
  let rv = 1000;
  for (const slice of slices) slice.metadata.resourceVersion = String(++rv);
  const listRv = String(rv);
  const listBody = Buffer.from(
    JSON.stringify({
      kind: 'EndpointSliceList',
      apiVersion: 'discovery.k8s.io/v1',
      metadata: { resourceVersion: listRv },
      items: slices,
    }),
  );
  const lines = [];
  const state = structuredClone(slices);
  let lastAddress;
  for (let m = 0; m < modifications; m++) {
    const slice = state[m % state.length];
    const endpoint = slice.endpoints[Math.floor(m / state.length) % slice.endpoints.length];
    endpoint.conditions = { ...endpoint.conditions, ready: !endpoint.conditions.ready };
    slice.metadata.resourceVersion = String(++rv);
    slice.metadata.managedFields[0].time = new Date(Date.UTC(2026, 10, 30, 0, 0, m % 60)).toISOString();
    lines.push(`${JSON.stringify({ type: 'MODIFIED', object: slice })}\n`);
    lastAddress = endpoint.addresses[0];
  }
  const all = state.flatMap((s) => s.endpoints);
  return {
    listBody,
    watchBody: Buffer.from(lines.join('')),
    facts: {
      endpoints,
      slices: slices.length,
      modifications,
      listRv,
      finalRv: String(rv),
      lastAddress,
      lastReady:
        lastAddress === undefined
          ? undefined
          : all.find((e) => e.addresses[0] === lastAddress).conditions.ready,
      expectedReady: all.filter((e) => e.conditions.ready).length,
    },
  };
}
