/** The soak's figures from its samples and health changes: pure. */
import type { HealthChange } from '../checks/health.js';

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
  const first = changes.find((c) => c.state === 'synced' && c.at < end);
  if (first === undefined) return undefined;
  let synced = 0;
  let longest = 0;
  let longestAt: number | undefined;
  let windows = 0;
  let since = first.at;
  let isSynced = true;
  const close = (at: number) => {
    const span = Math.min(at, end) - since;
    if (isSynced) synced += span;
    else if (span > longest) {
      longest = span;
      longestAt = since;
    }
  };
  for (const change of changes) {
    if (change.at <= first.at || change.at >= end) continue;
    const next = change.state === 'synced';
    if (next === isSynced) continue;
    close(change.at);
    if (!next) windows++;
    since = change.at;
    isSynced = next;
  }
  close(end);
  const total = end - first.at;
  return {
    syncedShare: total > 0 ? synced / total : 1,
    longestStaleMs: longest,
    longestStaleAt: longestAt,
    staleWindows: windows,
  };
}
