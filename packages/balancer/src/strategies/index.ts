import type { StrategyFactory, StrategyName } from '../types.js';
import { consistentHash } from './consistent-hash.js';
import { leastRequest } from './least-request.js';
import { peakEwma } from './peak-ewma.js';
import { randomStrategy } from './random.js';
import { roundRobin } from './round-robin.js';

export const STRATEGY_FACTORIES: Readonly<Record<StrategyName, StrategyFactory>> = {
  'least-request': leastRequest,
  'round-robin': roundRobin,
  random: randomStrategy,
  'peak-ewma': peakEwma,
  'consistent-hash': consistentHash,
};

export { buildMaglevTable, buildRing, consistentHash, keyHash, ringLookup } from './consistent-hash.js';
export { leastRequest } from './least-request.js';
export { peakEwma } from './peak-ewma.js';
export { randomStrategy } from './random.js';
export { roundRobin } from './round-robin.js';
