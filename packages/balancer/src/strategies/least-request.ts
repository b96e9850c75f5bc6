import type { EndpointState, Strategy, StrategyContext } from '../types.js';
import { bestOfDistinct } from './sampling.js';
import { type PositionStrategy, slotContextOf } from './slot-context.js';

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
  const load = (inFlight: number) => (bias === 1 ? inFlight + 1 : (inFlight + 1) ** bias);
  const view = slotContextOf(context);
  // Under createBalancer: priced by slot from its arrays, without reading the candidates' objects.
  const costAt =
    view === undefined
      ? (i: number, now: number) => {
          const s = items[i]!;
          return load(s.inFlight) / context.weight(s, now);
        }
      : (i: number, now: number) => {
          const slot = view.slots.candidateSlots[i]!;
          return load(view.slots.inFlight[slot]!) / view.weightAt(slot, now);
        };
  const pickPosition = (now: number) =>
    bestOfDistinct(items.length, context.choiceCount, context.random, costAt, now);
  const strategy: PositionStrategy = {
    name: 'least-request',
    setCandidates(candidates) {
      items = candidates;
    },
    updateCandidates(candidates) {
      items = candidates;
    },
    pick: (_key, now) => items[pickPosition(now)]!,
    pickPosition: (_key, now) => pickPosition(now),
  };
  return strategy;
}
