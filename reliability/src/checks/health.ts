/**
 * Health against the server's facts: `synced` is a claim that a watch is open and current, so each
 * synced moment is checked against the watches the fake apiserver really had open for that client
 * and Service, and against the times the chaos schedule kept open watches from delivering.
 */
import type { WatchHealth } from '@endpoint-watch/core';
import type { Violation } from '../invariants.js';
import { type Interval, mergeIntervals } from './intervals.js';

export type HealthState = WatchHealth['state'];

export interface HealthChange {
  readonly at: number;
  readonly state: HealthState;
}

/** One watch of the stream as the server saw it (the last `WatchInfo` reported for it). */
export interface ServerWatchLife {
  readonly id: number;
  readonly openedAt: number;
  readonly closedAt: number | undefined;
  /** Its only event is the in-stream 410 (it started from a compacted resourceVersion). */
  readonly startedExpired: boolean;
  /** When the server last wrote to it (for a `startedExpired` watch: when the 410 went out). */
  readonly lastWriteAt: number | undefined;
}

export interface HealthCheckInput {
  readonly stream: string;
  /** In time order. */
  readonly changes: readonly HealthChange[];
  /** This stream's watches, by `openedAt`. */
  readonly watches: readonly ServerWatchLife[];
  /** When open watches delivered nothing (the watch stall and the byte drip of the schedule). */
  readonly stalls: readonly Interval[];
  /** End of the observation. */
  readonly end: number;
  /** The server's bookkeeping and the client's reaction to a closed socket: a cut may take this long to show. */
  readonly graceMs: number;
  /** The client's silence bound: a silent watch may be taken for a live one this long. */
  readonly idleTimeoutMs: number;
}

/** The synced stretches before `end`, each from a change to synced until the next change away from it. */
export function syncedIntervals(changes: readonly HealthChange[], end: number): Interval[] {
  const out: Interval[] = [];
  let from: number | undefined;
  for (const change of changes) {
    if (change.at >= end) break;
    if (change.state === 'synced') from ??= change.at;
    else if (from !== undefined) {
      out.push({ from, to: change.at });
      from = undefined;
    }
  }
  if (from !== undefined && from < end) out.push({ from, to: end });
  return out;
}

/** The first moment of `span` that no interval of `covered` (merged, sorted) covers, and until when. */
function firstGap(span: Interval, covered: readonly Interval[]): Interval | undefined {
  let t = span.from;
  for (const c of covered) {
    if (c.to <= t) continue;
    if (c.from > t) return { from: t, to: Math.min(c.from, span.to) };
    t = c.to;
    if (t >= span.to) return undefined;
  }
  return t < span.to ? { from: t, to: span.to } : undefined;
}

function latestOpenedBy(watches: readonly ServerWatchLife[], at: number): ServerWatchLife | undefined {
  let latest: ServerWatchLife | undefined;
  for (const w of watches) if (w.openedAt <= at) latest = w;
  return latest;
}

const describe = (w: ServerWatchLife | undefined): string =>
  w === undefined
    ? 'none yet'
    : `watch #${w.id} opened at ${w.openedAt}${w.closedAt === undefined ? '' : `, closed at ${w.closedAt}`}`;

export function checkHealth(input: HealthCheckInput): Violation[] {
  const { stream, watches, graceMs, idleTimeoutMs } = input;
  const violations: Violation[] = [];
  const synced = syncedIntervals(input.changes, input.end);

  const open = mergeIntervals(
    watches.map((w) => ({ from: w.openedAt, to: (w.closedAt ?? Number.POSITIVE_INFINITY) + graceMs })),
  );
  for (const span of synced) {
    const gap = firstGap(span, open);
    if (gap === undefined) continue;
    const last = latestOpenedBy(watches, gap.from);
    // The server registers a watch before the client can see its headers: no grace before an open.
    const sinceClose = last?.closedAt === undefined ? undefined : gap.from - last.closedAt;
    const when =
      sinceClose === undefined
        ? 'before any watch was open'
        : sinceClose > graceMs + 1
          ? `before its next watch was open (the last one closed ${Math.round(sinceClose)} ms before)`
          : `past the ${graceMs} ms grace after its watch closed`;
    violations.push({
      invariant: 'synced-needs-open-watch',
      at: gap.from,
      stream,
      message: `synced for ${Math.round(gap.to - gap.from)} ms with no watch open, ${when}`,
      expected: 'an open watch for this client and Service',
      actual: `latest watch: ${describe(last)}`,
    });
  }

  for (const change of input.changes) {
    if (change.state !== 'synced') continue;
    const w = latestOpenedBy(watches, change.at);
    if (w?.startedExpired && w.lastWriteAt !== undefined && w.lastWriteAt <= change.at) {
      violations.push({
        invariant: 'synced-on-expired-watch',
        at: change.at,
        stream,
        message: `synced ${change.at - w.lastWriteAt} ms after the server had sent this watch its 410 Expired`,
        expected: 'retrying or connecting (relist)',
        actual: `synced on ${describe(w)}`,
      });
    }
  }

  watches.forEach((w, i) => {
    const replacedAt = Math.min(
      w.closedAt ?? Number.POSITIVE_INFINITY,
      watches[i + 1]?.openedAt ?? Number.POSITIVE_INFINITY,
    );
    for (const stall of input.stalls) {
      const from = Math.max(stall.from, w.openedAt) + idleTimeoutMs + graceMs;
      const to = Math.min(stall.to, replacedAt, input.end);
      if (from >= to) continue;
      const hit = synced.find((s) => s.from < to && s.to > from);
      if (hit === undefined) continue;
      violations.push({
        invariant: 'synced-through-stall',
        at: Math.max(hit.from, from),
        stream,
        message: `still synced ${Math.round(Math.max(hit.from, from) - Math.max(stall.from, w.openedAt))} ms into a stall of its watch (bound: idle timeout ${idleTimeoutMs} ms + ${graceMs} ms)`,
        expected: 'retrying after the idle timeout',
        actual: `synced on ${describe(w)}, stalled from ${stall.from}`,
      });
    }
  });
  return violations;
}
