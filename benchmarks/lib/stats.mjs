import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// Medians over rotated rounds: every round runs each contender once, starting from a different one
// each round, so that what a run leaves behind (garbage, a grown heap, a warm cache) weighs on every
// contender alike. Ratios are taken within a round, then their median is the figure.

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * Runs `contenders` (name → async () => measured value) for `rounds` rounds in rotated order, after
 * `warmup` unmeasured rounds. `before` runs ahead of each measured run (e.g. a full GC), unmeasured.
 * Returns per-contender value arrays, indexed by round.
 */
export async function rotatedRounds(contenders, { rounds, warmup = 1, before } = {}) {
  const names = Object.keys(contenders);
  const values = Object.fromEntries(names.map((name) => [name, []]));
  for (let round = -warmup; round < rounds; round++) {
    const offset = ((round % names.length) + names.length) % names.length;
    for (let k = 0; k < names.length; k++) {
      const name = names[(offset + k) % names.length];
      if (before) await before();
      const value = await contenders[name]();
      if (round >= 0) values[name].push(value);
    }
  }
  return values;
}

/** Median over rounds of `a[i] / b[i]`. */
export function medianRatio(a, b) {
  return median(a.map((value, i) => value / b[i]));
}

/** Full collections until the heap settles (needs --expose-gc). */
export async function fullGc() {
  if (typeof globalThis.gc !== 'function') throw new Error('run node with --expose-gc');
  for (let i = 0; i < 3; i++) {
    globalThis.gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** A metric as the orchestrator records it. */
export function metric(value, { unit = '×', label, detail } = {}) {
  return { value, unit, label, ...(detail ? { detail } : {}) };
}

/** True when this module is the script node was started with. */
export function isMain(importMetaUrl) {
  return process.argv[1] !== undefined && fileURLToPath(importMetaUrl) === resolve(process.argv[1]);
}
