import type { EndpointSlots } from '../endpoint-slots.js';
import type { Strategy, StrategyContext } from '../types.js';

/**
 * What `createBalancer` gives strategies besides the public context (internal, not exported): its
 * per-endpoint arrays, so that the built-in strategies price candidates by slot instead of reading
 * their objects (see `EndpointSlots` for why).
 */
export interface SlotStrategyContext extends StrategyContext {
  readonly slots: EndpointSlots;
  /** `weight` by slot. */
  weightAt(slot: number, now: number): number;
}

/**
 * A strategy that answers with a position in the candidate array it was given by
 * `updateCandidates` (the balancer's own), which the balancer maps to a slot: no record is read.
 */
export interface PositionStrategy extends Strategy {
  pickPosition(key: string | undefined, now: number): number;
}

/** The balancer's slot view when `context` comes from `createBalancer`, else undefined. */
export function slotContextOf(context: StrategyContext): SlotStrategyContext | undefined {
  return 'slots' in context ? (context as SlotStrategyContext) : undefined;
}

export function isPositionStrategy(strategy: Strategy): strategy is PositionStrategy {
  return typeof (strategy as Partial<PositionStrategy>).pickPosition === 'function';
}
