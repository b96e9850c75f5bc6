import type { EndpointState, Strategy, StrategyContext } from '../types.js';
import { randomIndex } from './sampling.js';
import type { PositionStrategy } from './slot-context.js';

/**
 * Round robin over the candidates in the balancer's order (set order after a set read whole; an
 * incremental change moves the last candidate into a removed one's place and appends new ones),
 * starting at a random position (so that many clients created at once do not all hit the first
 * endpoint). When the candidates change the cursor keeps its position modulo the new length.
 * Ignores slow start and keys. O(1).
 */
export function roundRobin(context: StrategyContext): Strategy {
  let items: readonly EndpointState[] = [];
  let cursor = -1;
  const take = (candidates: readonly EndpointState[]) => {
    items = candidates;
    if (items.length === 0) return;
    cursor = cursor < 0 ? randomIndex(context.random, items.length) : cursor % items.length;
  };
  const next = () => {
    const position = cursor;
    cursor = (cursor + 1) % items.length;
    return position;
  };
  const strategy: PositionStrategy = {
    name: 'round-robin',
    setCandidates: take,
    updateCandidates: take,
    pick: () => items[next()]!,
    pickPosition: next,
  };
  return strategy;
}
