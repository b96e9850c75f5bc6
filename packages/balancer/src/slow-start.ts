import type { ResolvedSlowStartOptions } from './options.js';

/**
 * Envoy slow start: during `windowMs` after joining, an endpoint's weight is
 * max(minWeightPercent / 100, timeFactor^(1 / aggression)) with
 * timeFactor = max(elapsed, 1 s) / window. Outside the window (or for endpoints of the first set the
 * balancer saw, `since` undefined) the weight is 1.
 */
export function slowStartWeight(
  options: ResolvedSlowStartOptions | undefined,
  since: number | undefined,
  now: number,
): number {
  if (!options || since === undefined) return 1;
  const elapsed = now - since;
  if (elapsed >= options.windowMs) return 1;
  const timeFactor = Math.max(elapsed, 1_000) / options.windowMs;
  // Not through the power: with an aggression near 0 the exponent is Infinity, and 1 ** Infinity is NaN.
  if (timeFactor >= 1) return 1;
  const ramp = timeFactor ** (1 / options.aggression);
  // A weight divides a load: never 0, even when the smallest minWeightPercent over 100 underflows.
  return Math.max(options.minWeightPercent / 100, ramp, Number.MIN_VALUE);
}
