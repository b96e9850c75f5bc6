import type { EndpointState, Strategy, StrategyContext } from '../types.js';
import { randomIndex } from './sampling.js';

/** Uniformly random candidate. Ignores slow start and keys. O(1). */
export function randomStrategy(context: StrategyContext): Strategy {
  let items: readonly EndpointState[] = [];
  return {
    name: 'random',
    setCandidates(candidates) {
      items = candidates;
    },
    updateCandidates(candidates) {
      items = candidates;
    },
    pick() {
      return items[randomIndex(context.random, items.length)] as EndpointState;
    },
  };
}
