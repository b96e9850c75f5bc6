/** The chaos run's printout: pure, from the results. */
import { INVARIANTS, type InvariantName, type Violation } from '../invariants.js';
import type { ChaosResult } from './run.js';
import { countFaults } from './schedule.js';

/**
 * The engine defects of issue 9 these invariants caught before they were fixed: a report names
 * them next to a broken invariant, as a lead.
 */
export const CAUGHT_BEFORE: Partial<Record<InvariantName, string>> = {
  convergence: 'item 5, watches waiting for one another behind the connections bound',
  'prompt-reconnect': 'item 1, backoff after cuts of healthy watches',
  'silence-bound': 'item 2, no silence bound on a LIST body or on headers',
  'error-body-capped': 'item 3, error bodies read whole',
  'synced-through-stall': 'item 4, idleness counted bytes, not events',
  'synced-needs-open-watch': 'synced right after a LIST',
  'synced-on-expired-watch': 'synced as soon as a resumed watch opened',
  'backoff-cap': 'jitter above the cap',
};

export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const seconds = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(2)} s`);

function counts(record: Record<string, number>): string {
  return Object.entries(record)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
}

/** One violation with what is needed to replay and find it. */
export function describeViolation(v: Violation, result: ChaosResult): string[] {
  const at = v.at - result.startedAt;
  const before = result.injected.filter((f) => f.at <= at && f.at >= at - 5_000);
  return [
    `  ${v.invariant} — seed ${result.seed} (CHAOS_SEED=${result.seed}), +${at} ms${v.stream === undefined ? '' : `, ${v.stream}`}`,
    `  ${v.message}`,
    ...(v.expected === undefined ? [] : [`  expected: ${v.expected}`]),
    ...(v.actual === undefined ? [] : [`  actual:   ${v.actual}`]),
    `  faults in the 5 s before: ${before.length === 0 ? 'none' : before.map((f) => `+${f.at} ms ${JSON.stringify(f.fault)}`).join('; ')}`,
  ];
}

export function formatChaosReport(result: ChaosResult): string {
  const lines: string[] = [];
  const converged = result.streams.flatMap((s) =>
    s.convergedAfterMs === undefined ? [] : [s.convergedAfterMs],
  );
  const sets = result.streams.reduce((n, s) => n + s.sets, 0);
  lines.push(
    `chaos seed ${result.seed} (CHAOS_SEED=${result.seed} replays the schedule): ${result.durationMs / 1000} s of faults, ` +
      `${result.mutations} mutations, ${result.streams.length} streams, ${sets} sets`,
    `faults injected (${result.injected.length}): ${counts(countFaults(result.injected))}`,
    `requests through undici and axios: ${result.requests.sent} sent, ${result.requests.failed} failed`,
    `huge error bodies: ${result.hugeBodies.answered} answered, ${result.hugeBodies.readWhole} read to the end`,
    `convergence after the faults stopped (bound ${seconds(result.convergenceBoundMs)}): ` +
      `${converged.length}/${result.streams.length} streams, max ${seconds(Math.max(...converged, 0))}, ` +
      `p99 ${seconds(percentile(converged, 99))}`,
    `event loop late by at most ${result.eventLoopLagMaxMs} ms (added to every timing bound's grace)`,
    'invariants:',
  );
  const byInvariant = new Map<InvariantName, Violation[]>();
  for (const v of result.violations)
    byInvariant.set(v.invariant, [...(byInvariant.get(v.invariant) ?? []), v]);
  for (const [name, description] of Object.entries(INVARIANTS) as Array<[InvariantName, string]>) {
    const found = byInvariant.get(name) ?? [];
    const note =
      found.length > 0 && CAUGHT_BEFORE[name] !== undefined
        ? ` (it caught issue 9: ${CAUGHT_BEFORE[name]})`
        : '';
    lines.push(
      `  ${found.length === 0 ? 'ok  ' : 'FAIL'}  ${name}: ${description}${found.length === 0 ? '' : ` — ${found.length} violation(s)${note}`}`,
    );
  }
  const first = result.violations[0];
  if (first !== undefined) lines.push('first violation:', ...describeViolation(first, result));
  for (const [name, found] of byInvariant) {
    if (found[0] === first) continue;
    lines.push(`first ${name}:`, ...describeViolation(found[0]!, result));
  }
  return lines.join('\n');
}
