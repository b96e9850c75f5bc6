import type { EndpointState, Strategy, StrategyContext } from '../types.js';
import { randomIndex } from './sampling.js';
import type { PositionStrategy } from './slot-context.js';

/** Uniformly random candidate. Ignores slow start and keys. O(1). */
export function randomStrategy(context: StrategyContext): Strategy {
  let items: readonly EndpointState[] = [];
  const strategy: PositionStrategy = {
    name: 'random',
    setCandidates(candidates) {
      items = candidates;
    },
    updateCandidates(candidates) {
      items = candidates;
    },
    pick: () => items[randomIndex(context.random, items.length)]!,
    pickPosition: () => randomIndex(context.random, items.length),
  };
  return strategy;
}
