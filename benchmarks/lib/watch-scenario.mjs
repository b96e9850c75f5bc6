// The watch scenario's bytes, built the same way in whichever process needs them (fixed seed): a
// Service of `endpoints` endpoints in EndpointSlices of 100, as the controller writes them
// (lib/controller-slices.mjs), then `modifications` MODIFIED events, each flipping one endpoint's
// readiness, round-robin over the slices.
import { listBody, readinessFlips, SLICES_PATH, serviceSlices } from './scenarios.mjs';

export { SLICES_PATH };

export function watchScenario({ endpoints, modifications, seed = 42 }) {
  const { slices, resourceVersion } = serviceSlices('web', endpoints, seed);
  const listRv = String(resourceVersion);
  const flips = readinessFlips(slices, modifications, resourceVersion);
  const lastAddress = flips.lastAddress;
  return {
    listBody: listBody(slices, resourceVersion),
    watchBody: flips.body,
    facts: {
      endpoints,
      slices: slices.length,
      modifications,
      listRv,
      finalRv: flips.resourceVersion,
      lastAddress,
      lastReady: lastAddress === undefined ? undefined : flips.lastReady,
      expectedReady: flips.readyCount,
    },
  };
}
