/** The soak's figures from its samples and health changes: pure. */
import { type HealthChange, syncedIntervals } from '../checks/health.js';
import type { Interval } from '../checks/intervals.js';

export interface Point {
  /** ms */
  readonly t: number;
  readonly value: number;
}

/** Least-squares line through the points, slope per minute; undefined with fewer than 2 distinct times. */
export function slopePerMinute(points: readonly Point[]): number | undefined {
  const n = points.length;
  if (n < 2) return undefined;
  const meanT = points.reduce((s, p) => s + p.t, 0) / n;
  const meanV = points.reduce((s, p) => s + p.value, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - meanT) * (p.value - meanV);
    den += (p.t - meanT) ** 2;
  }
  return den === 0 ? undefined : (num / den) * 60_000;
}

export interface SyncFigures {
  /** Share of the time synced, from the first synced moment to `end`. */
  readonly syncedShare: number;
  /** The longest stretch not synced after the first synced moment (a stretch still open at `end` counts). */
  readonly longestStaleMs: number;
  /** When that stretch began. */
  readonly longestStaleAt: number | undefined;
  readonly staleWindows: number;
}

/** Synced share and stale windows of one stream; undefined if it never got synced. */
export function syncFigures(changes: readonly HealthChange[], end: number): SyncFigures | undefined {
  const synced = syncedIntervals(changes, end);
  const first = synced[0];
  if (first === undefined) return undefined;
  // The stale windows are the gaps between the synced stretches, and after the last one.
  const gaps = synced
    .map((s, i) => ({ from: s.to, to: synced[i + 1]?.from ?? end }))
    .filter((g) => g.to > g.from);
  const longest = gaps.reduce<Interval | undefined>(
    (max, g) => (max === undefined || g.to - g.from > max.to - max.from ? g : max),
    undefined,
  );
  const total = end - first.from;
  return {
    syncedShare: total > 0 ? synced.reduce((n, s) => n + s.to - s.from, 0) / total : 1,
    longestStaleMs: longest === undefined ? 0 : longest.to - longest.from,
    longestStaleAt: longest?.from,
    staleWindows: gaps.length,
  };
}
