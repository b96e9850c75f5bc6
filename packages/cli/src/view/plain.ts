/**
 * Output for pipes, CI logs and scripts: one status line per period, one line per event, the demo's
 * summary table, and the JSON form of an endpoint set. Pure.
 */
import type { EndpointSet } from '@endpoint-watch/core';
import type { DemoSummary, SummaryRow } from '../demo/summary.js';
import { fitColumns, type Narrowing, wrapWords } from './fit.js';
import { describeCounts, type LiveView, type LogEntry } from './model.js';
import { type Column, formatOffset, formatRate, formatTable, paint } from './table.js';

/** `[+12.0s] 5 endpoints: 4 ready, 1 terminating · watch synced · rv 57 · traffic 149 req/s · …` */
export function plainStatusLine(view: LiveView): string {
  const parts = [
    `${view.counts.total} endpoints: ${describeCounts(view.counts)}`,
    `watch ${view.health.text}${view.health.error ? `: ${view.health.error}` : ''}`,
  ];
  const t = view.traffic;
  if (t) {
    parts.push(
      `${formatRate(t.rate)} req/s`,
      `sent ${t.sent} = ok ${t.succeeded} + failed ${t.failed} + in flight ${t.inFlight}`,
      `attempts ${t.attempts} (${t.failedAttempts} failed)`,
    );
    const ejected = view.rows.filter((row) => row.traffic?.ejected).map((row) => row.key);
    if (ejected.length > 0) parts.push(`ejected ${ejected.join(', ')}`);
  }
  return `[${formatOffset(view.elapsedMs)}] ${parts.join(' · ')}`;
}

/** `[+3.1s] ── deploy web v1 with 3 pods` */
export function plainLogLine(entry: LogEntry): string {
  return `[${formatOffset(entry.atMs)}] ${entry.text}`;
}

/**
 * One endpoint set as one line of JSON, in the SDK's `EndpointSet` shape: `endpoints` are where
 * traffic goes (ready, or serving+terminating when none is ready), `all` every endpoint.
 */
export function jsonSetLine(set: EndpointSet): string {
  return JSON.stringify({
    namespace: set.namespace,
    service: set.service,
    port: set.port ?? null,
    resourceVersion: set.resourceVersion ?? null,
    source: set.source,
    endpoints: set.endpoints,
    all: set.all,
  });
}

const SUMMARY_COLUMNS: readonly Column<SummaryRow>[] = [
  { header: 'POD', value: (row) => row.pod ?? '-' },
  { header: 'ENDPOINT', value: (row) => row.endpoint },
  { header: 'FATE', value: (row) => row.fate },
  { header: 'ATTEMPTS', align: 'right', value: (row) => String(row.attempts) },
  { header: 'OK', align: 'right', value: (row) => String(row.ok) },
  { header: 'FAILED', align: 'right', value: (row) => String(row.failed) },
  {
    header: 'FAILURES',
    value: (row) =>
      Object.entries(row.failures)
        .map(([kind, n]) => `${kind} ${n}`)
        .join(', '),
  },
];

/**
 * On a narrow terminal: the endpoint goes first (the pod names it), then OK (attempts − failed), then
 * the fates lose their details (`gone (slow, replaced)`). Pod, attempts, failures and their kinds stay.
 */
const SUMMARY_NARROWINGS: readonly Narrowing<SummaryRow>[] = [
  { drop: ['ENDPOINT'] },
  { drop: ['OK'] },
  {
    replace: 'FATE',
    by: { header: 'FATE', value: (row) => row.fate.replace(/ \+\d+ ms| by v\d+/g, '') },
  },
];

/**
 * The closing summary. Numbers are plain integers so scripts can read them. With `width` (a terminal)
 * the table and the prose fit in it; without, nothing is left out.
 */
export function renderSummary(summary: DemoSummary, options: { color: boolean; width?: number }): string[] {
  const { color } = options;
  // Like the live view, never into the last column.
  const width = options.width === undefined ? Number.POSITIVE_INFINITY : Math.max(20, options.width - 1);
  const { requests: r, attempts: a } = summary;
  const ended = summary.endedBy === 'interrupt' ? 'stopped by Ctrl-C' : 'ended after --duration';
  const totals: SummaryRow = {
    pod: 'total',
    endpoint: '',
    fate: '',
    attempts: summary.rows.reduce((n, row) => n + row.attempts, 0),
    ok: summary.rows.reduce((n, row) => n + row.ok, 0),
    failed: summary.rows.reduce((n, row) => n + row.failed, 0),
    failures: a.failures,
  };
  const errors = Object.entries(r.errors)
    .map(([code, n]) => `${code} ${n}`)
    .join(', ');
  const hidden =
    a.failed > 0
      ? `${a.failed} attempts failed on dying or dead pods; the agent retried them, ${r.failed} requests failed`
      : 'no attempt failed';
  const lines = [
    paint(
      `Summary · Service ${summary.service} · ${(summary.elapsedMs / 1000).toFixed(1)} s, ${ended}`,
      'bold',
      color,
    ),
    `  requests  sent ${r.sent} = succeeded ${r.succeeded} + failed ${r.failed}${errors ? ` (${errors})` : ''}`,
    `  attempts  ${a.attempts} = ok ${a.ok} + failed ${a.failed} (one per try; retries are extra attempts)`,
    ...wrapWords(hidden, width - 12).map((line) => `            ${line}`),
    '',
    ...formatTable(
      fitColumns(SUMMARY_COLUMNS, SUMMARY_NARROWINGS, [...summary.rows, totals], width, 2),
      [...summary.rows, totals],
      {
        color,
        indent: '  ',
      },
    ),
    '',
    ...summary.checks.map((check) =>
      check.ok
        ? `  ${paint('✓', 'green', color)} ${check.text}`
        : `  ${paint('✗', 'red', color)} ${check.text}`,
    ),
  ];
  return lines;
}
