import type { EndpointState, Strategy, StrategyContext } from '../types.js';
import { bestOfDistinct } from './sampling.js';

/**
 * Least request by the power of two choices (Mitzenmacher 2001; Envoy `LEAST_REQUEST`,
 * `choice_count` 2): sample `choiceCount` distinct candidates at random and take the one with the
 * fewest requests in flight, ties at random. With slow start the comparison uses Envoy's weighted
 * form, weight / (inFlight + 1)^activeRequestBias (highest wins), which orders exactly like
 * "fewest in flight" while all weights are equal. O(choiceCount).
 */
export function leastRequest(context: StrategyContext): Strategy {
  let items: readonly EndpointState[] = [];
  const bias = context.activeRequestBias;
  const cost = (s: EndpointState, now: number) => {
    const load = bias === 1 ? s.inFlight + 1 : (s.inFlight + 1) ** bias;
    return load / context.weight(s, now);
  };
  return {
    name: 'least-request',
    setCandidates(candidates) {
      items = candidates;
    },
    updateCandidates(candidates) {
      items = candidates;
    },
    pick(_key, now) {
      return bestOfDistinct(items, context.choiceCount, context.random, cost, now);
    },
  };
}
