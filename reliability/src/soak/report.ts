/** The soak's figures, targets and verdict: pure, from the result. */
import type { SoakResult } from './run.js';
import { slopePerMinute, syncFigures } from './stats.js';

export const TARGETS = {
  /**
   * Staleness each cut may cost: the target of 99 % synced with a cut every 20 s. The share target
   * of a run follows from its cut period (95 % with a cut every 4 s, as the test runs it).
   */
  staleBudgetPerCutMs: 200,
  /** Longest time a Service is not synced. */
  longestStaleMs: 5_000,
  /** Heap after GC, growth per minute (a leak of 60 MiB an hour shows). */
  heapSlopeBytesPerMinute: 1024 * 1024,
  /** Growth per minute of any kind of handle, and of the agent's pools. */
  handleSlopePerMinute: 1,
  /** Slopes are judged only on runs at least this long (shorter ones are noise). */
  slopeMinDurationMs: 5 * 60_000,
} as const;

/** The share of time each Service must be synced, given how often its watch is cut. */
export function syncedShareTarget(cutEveryMs: number): number {
  return Math.max(0, 1 - TARGETS.staleBudgetPerCutMs / cutEveryMs);
}

/** Samples before this are warm-up (connections, caches, JIT): left out of the slopes. */
export function warmUpMs(durationMs: number): number {
  return Math.min(60_000, durationMs * 0.2);
}

export interface SoakFigures {
  readonly slopes: ReadonlyArray<{
    name: string;
    perMinute: number | undefined;
    first: number;
    last: number;
  }>;
  readonly services: ReadonlyArray<{
    service: string;
    syncedShare: number | undefined;
    longestStaleMs: number;
    longestStaleAt: number | undefined;
    staleWindows: number;
  }>;
  readonly failures: readonly string[];
  readonly slopesJudged: boolean;
}

export function soakFigures(result: SoakResult): SoakFigures {
  const from = result.startedAt + warmUpMs(result.options.durationMs);
  const kept = result.samples.filter((s) => s.at >= from);
  const series = (name: string, value: (s: (typeof kept)[number]) => number) => ({
    name,
    perMinute: slopePerMinute(kept.map((s) => ({ t: s.at, value: value(s) }))),
    first: kept[0] === undefined ? 0 : value(kept[0]),
    last: kept.at(-1) === undefined ? 0 : value(kept.at(-1)!),
  });
  const types = [...new Set(result.samples.flatMap((s) => Object.keys(s.resources)))].sort();
  const slopes = [
    series('heap after GC (bytes)', (s) => s.heapUsed),
    series('undici pools', (s) => s.pools),
    series('pod connections', (s) => s.podConnections),
    ...(result.samples.every((s) => s.fds !== undefined)
      ? [series('open fds (process)', (s) => s.fds ?? 0)]
      : []),
    series('active resources (all)', (s) => Object.values(s.resources).reduce((a, b) => a + b, 0)),
    ...types.map((type) => series(type, (s) => s.resources[type] ?? 0)),
  ];
  const services = [...result.health].map(([service, changes]) => {
    const figures = syncFigures(changes, result.endedAt);
    return {
      service,
      syncedShare: figures?.syncedShare,
      longestStaleMs: figures?.longestStaleMs ?? result.endedAt - result.startedAt,
      longestStaleAt: figures?.longestStaleAt,
      staleWindows: figures?.staleWindows ?? 0,
    };
  });
  const failures: string[] = [];
  const shareTarget = syncedShareTarget(result.options.cutEveryMs);
  for (const s of services) {
    if (s.syncedShare === undefined) failures.push(`${s.service} never synced`);
    else if (s.syncedShare < shareTarget)
      failures.push(
        `${s.service} synced ${(s.syncedShare * 100).toFixed(2)} % of the time (target >= ${percent(shareTarget)})`,
      );
    if (s.longestStaleMs > TARGETS.longestStaleMs)
      failures.push(
        `${s.service} stale for ${(s.longestStaleMs / 1000).toFixed(1)} s in a row (target <= ${TARGETS.longestStaleMs / 1000} s)`,
      );
  }
  const slopesJudged = result.options.durationMs >= TARGETS.slopeMinDurationMs;
  if (slopesJudged) {
    for (const slope of slopes) {
      if (slope.perMinute === undefined) continue;
      const limit = slope.name.startsWith('heap')
        ? TARGETS.heapSlopeBytesPerMinute
        : TARGETS.handleSlopePerMinute;
      if (slope.perMinute > limit)
        failures.push(`${slope.name} grows ${slope.perMinute.toFixed(2)} per minute (target <= ${limit})`);
    }
  }
  return { slopes, services, failures, slopesJudged };
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(2)} MiB`;
const percent = (share: number) => `${Number((share * 100).toFixed(2))} %`;

export function formatSoakReport(result: SoakResult): string {
  const { options } = result;
  const figures = soakFigures(result);
  const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 0)} s`;
  const lines = [
    `soak: ${seconds(result.endedAt - result.startedAt)}, ${options.services} Services + the pods' Service, ` +
      `${options.writesPerSecond} writes/s of churn (${result.cluster.writes} writes), a cut every ${seconds(options.cutEveryMs)} ` +
      `(${result.cluster.cuts}), a compaction every ${seconds(options.compactEveryMs)} (${result.cluster.compactions}), ` +
      `${result.samples.length} samples every ${seconds(options.sampleEveryMs)}`,
    `requests through the balanced agent: ${result.requests.sent} sent, ${result.requests.failed} failed${result.requests.firstError === undefined ? '' : ` (first: ${result.requests.firstError})`}`,
    `slopes (linear fit, after ${seconds(warmUpMs(options.durationMs))} of warm-up)${figures.slopesJudged ? '' : ' — not judged: the run is shorter than 5 min'}:`,
    ...figures.slopes.map((s) => {
      const heap = s.name.startsWith('heap');
      const value = (v: number) => (heap ? mib(v) : String(v));
      const slope =
        s.perMinute === undefined ? '-' : heap ? `${mib(s.perMinute)}/min` : `${s.perMinute.toFixed(3)}/min`;
      return `  ${s.name.padEnd(28)} ${slope.padStart(14)}   (first ${value(s.first)}, last ${value(s.last)})`;
    }),
    `synced share (target >= ${percent(syncedShareTarget(options.cutEveryMs))}: ${TARGETS.staleBudgetPerCutMs} ms per cut) ` +
      `and longest stale window (target <= ${TARGETS.longestStaleMs / 1000} s), per Service:`,
    ...figures.services.map(
      (s) =>
        `  ${s.service.padEnd(8)} ${s.syncedShare === undefined ? 'never synced' : `${(s.syncedShare * 100).toFixed(2)} %`}, ` +
        `longest stale ${seconds(s.longestStaleMs)}${s.longestStaleAt === undefined ? '' : ` at +${seconds(s.longestStaleAt - result.startedAt)}`}, ${s.staleWindows} stale window(s)`,
    ),
  ];
  const worstShare = Math.min(...figures.services.map((s) => s.syncedShare ?? 0));
  const worstStale = Math.max(...figures.services.map((s) => s.longestStaleMs));
  lines.push(
    `worst: synced ${(worstShare * 100).toFixed(2)} %, longest stale window ${seconds(worstStale)}`,
    figures.failures.length === 0
      ? 'verdict: PASS'
      : `verdict: FAIL\n${figures.failures.map((f) => `  - ${f}`).join('\n')}`,
  );
  return lines.join('\n');
}
