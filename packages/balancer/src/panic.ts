/**
 * Envoy's panic threshold: when fewer than `thresholdPercent` of the endpoints are healthy, the
 * health status is ignored and load is spread over all of them, so a detector that marks most
 * endpoints bad cannot pile the whole load onto the few left. `0` disables panic mode (then, with
 * every endpoint ejected, nothing can be picked).
 */
export function isPanic(healthy: number, total: number, thresholdPercent: number): boolean {
  if (total === 0 || thresholdPercent <= 0) return false;
  return healthy * 100 < thresholdPercent * total;
}
