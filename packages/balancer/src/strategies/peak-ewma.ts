import type { EndpointState, Strategy, StrategyContext } from '../types.js';
import { bestOfDistinct } from './sampling.js';
import { type PositionStrategy, slotContextOf } from './slot-context.js';

/**
 * Finagle `p2cPeakEwma` / Linkerd's balancer: power of two choices where the cost of a candidate is
 * its peak-EWMA latency × (inFlight + 1), lowest wins, ties at random. The latency estimate (see
 * `PeakEwma`) jumps to any sample above it and otherwise decays with τ = `ewmaDecayMs`; a never-sampled
 * endpoint starts at `ewmaDefaultLatencyMs` instead of 0. With slow start the cost is divided by the
 * weight. O(choiceCount).
 */
export function peakEwma(context: StrategyContext): Strategy {
  let items: readonly EndpointState[] = [];
  const view = slotContextOf(context);
  // Under createBalancer: priced by slot from its arrays, without reading the candidates' objects.
  const costAt =
    view === undefined
      ? (i: number, now: number) => {
          const s = items[i]!;
          return (context.latency(s, now) * (s.inFlight + 1)) / context.weight(s, now);
        }
      : (i: number, now: number) => {
          const slots = view.slots;
          const slot = slots.candidateSlots[i]!;
          return (slots.ewma.read(slot, now) * (slots.inFlight[slot]! + 1)) / view.weightAt(slot, now);
        };
  const pickPosition = (now: number) =>
    bestOfDistinct(items.length, context.choiceCount, context.random, costAt, now);
  const strategy: PositionStrategy = {
    name: 'peak-ewma',
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
