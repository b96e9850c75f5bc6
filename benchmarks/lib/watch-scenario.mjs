// The watch scenario's bytes, built the same way in whichever process needs them (fixed seed): a
// Service of `endpoints` endpoints in EndpointSlices of 100, as the controller writes them
// (managedFields, ownerReferences, targetRefs), then `modifications` MODIFIED events, each flipping
// one endpoint's readiness, round-robin over the slices.
import { realisticEndpointSlices } from '@endpoint-watch/testing';
import { readinessFlips } from './scenarios.mjs';

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
  const flips = readinessFlips(slices, modifications, rv);
  rv = Number(flips.resourceVersion);
  const lastAddress = flips.lastAddress;
  return {
    listBody,
    watchBody: flips.body,
    facts: {
      endpoints,
      slices: slices.length,
      modifications,
      listRv,
      finalRv: String(rv),
      lastAddress,
      lastReady: lastAddress === undefined ? undefined : flips.lastReady,
      expectedReady: flips.readyCount,
    },
  };
}
