import type { EndpointState, Strategy, StrategyContext } from '../types.js';
import { bestOfDistinct } from './sampling.js';

/**
 * Finagle `p2cPeakEwma` / Linkerd's balancer: power of two choices where the cost of a candidate is
 * its peak-EWMA latency × (inFlight + 1), lowest wins, ties at random. The latency estimate (see
 * `PeakEwma`) jumps to any sample above it and otherwise decays with τ = `ewmaDecayMs`; a never-sampled
 * endpoint starts at `ewmaDefaultLatencyMs` instead of 0. With slow start the cost is divided by the
 * weight. O(choiceCount).
 */
export function peakEwma(context: StrategyContext): Strategy {
  let items: readonly EndpointState[] = [];
  const cost = (s: EndpointState, now: number) =>
    (context.latency(s, now) * (s.inFlight + 1)) / context.weight(s, now);
  return {
    name: 'peak-ewma',
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
