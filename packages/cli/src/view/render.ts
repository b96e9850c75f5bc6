/**
 * The live view for a terminal: state in, lines out (at most `height`, each at most `width` wide).
 * Pure; `terminal.ts` puts the lines on the screen.
 */
import { fitColumns, type Narrowing, wrapParts, wrapWords } from './fit.js';
import type { EndpointRow, LiveView, LogEntry } from './model.js';
import { describeCounts } from './model.js';
import {
  type Column,
  formatClock,
  formatMs,
  formatOffset,
  formatRate,
  formatTable,
  paint,
  type Style,
  truncate,
  visibleLength,
} from './table.js';

export interface RenderOptions {
  readonly width: number;
  readonly height: number;
  readonly color: boolean;
}

/** Fewest event lines shown, however many endpoints there are. */
const MIN_EVENTS = 3;

export function renderLive(view: LiveView, options: RenderOptions): string[] {
  const { color } = options;
  const width = Math.max(20, options.width - 1); // never write into the last column: no wrap
  const height = Math.max(8, options.height);

  // Lines of ` · `-separated facts wrap between facts on a narrow terminal instead of losing the end.
  const wrap = (parts: string[]) => wrapParts(parts, width, ' '.repeat(8), visibleLength);
  const head: string[] = [...wrap(headline(view, color)), ...wrap(watchLine(view, color))];
  if (view.health.error) {
    const style = view.health.problem ? 'red' : 'yellow';
    wrapWords(`↳ ${view.health.error}`, width - 10).forEach((line, i) => {
      head.push(`${' '.repeat(i === 0 ? 8 : 10)}${paint(line, style, color)}`);
    });
  }
  if (view.origin) head.push(paint(`from    ${view.origin}`, 'dim', color));
  if (view.traffic) head.push(...wrap(trafficLine(view, color)));
  head.push('');

  const columns = view.traffic
    ? fitColumns(TRAFFIC_COLUMNS, trafficNarrowings(view.rows), view.rows, width, 1)
    : fitColumns(WATCH_COLUMNS, WATCH_NARROWINGS, view.rows, width, 1);
  const table = formatTable(columns, view.rows, { color, indent: ' ' });
  const below: string[] = [];
  // Advice is read whole: wrapped, not cut.
  for (const paragraph of view.hint?.split('\n') ?? []) {
    for (const line of wrapWords(paragraph, width - 1)) below.push(paint(` ${line}`, 'yellow', color));
  }

  // Room: head, table, hint, a blank line, the "events" title, and at least MIN_EVENTS events.
  const fixed = head.length + below.length + 2;
  const maxTable = Math.max(2, height - fixed - MIN_EVENTS);
  let tableLines = table;
  if (table.length > maxTable) {
    const hidden = table.length - (maxTable - 1);
    tableLines = [...table.slice(0, maxTable - 1), paint(` … ${hidden} more endpoints`, 'dim', color)];
  }
  const eventRoom = Math.max(0, height - fixed - tableLines.length);
  const events = view.events.slice(-eventRoom).map((entry) => eventLine(entry, color));

  const lines = [...head, ...tableLines, ...below, '', paint('events', 'bold', color), ...events];
  return lines.slice(0, height).map((line) => truncate(line, width));
}

/** The parts of a line, to be joined with ` · `. */
function headline(view: LiveView, color: boolean): string[] {
  const clock =
    view.durationMs === undefined
      ? formatClock(view.elapsedMs)
      : `${formatClock(view.elapsedMs)} / ${formatClock(view.durationMs)}`;
  return [
    paint(view.title, 'bold', color),
    paint(view.target, 'cyan', color),
    clock,
    paint('Ctrl-C to stop', 'dim', color),
  ];
}

function watchLine(view: LiveView, color: boolean): string[] {
  const style: Style = view.health.problem ? 'red' : view.health.state === 'synced' ? 'green' : 'yellow';
  // The health text is itself ` · `-separated (`synced · rv 42 · for 3.0 s`): kept whole, colored.
  return [
    `watch   ${paint(view.health.text, style, color)}`,
    ...(view.source ? [view.source] : []),
    describeCounts(view.counts),
  ];
}

function trafficLine(view: LiveView, color: boolean): string[] {
  const t = view.traffic;
  if (!t) return [];
  const failed = paint(`failed ${t.failed}`, t.failed > 0 ? 'red' : undefined, color);
  const attempts = `attempts ${t.attempts} (${t.failedAttempts} failed${t.failedAttempts > 0 ? ', retried' : ''})`;
  return [
    `traffic ${formatRate(t.rate)} req/s`,
    `sent ${t.sent} = ok ${t.succeeded} + ${failed} + in flight ${t.inFlight}`,
    attempts,
    t.strategy,
    ...(t.panic ? [paint('PANIC: balancing over all endpoints', 'red', color)] : []),
  ];
}

function eventLine(entry: LogEntry, color: boolean): string {
  const style: Style | undefined =
    entry.kind === 'script'
      ? 'cyan'
      : entry.kind === 'balancer'
        ? 'magenta'
        : entry.kind === 'health'
          ? 'yellow'
          : undefined;
  return ` ${paint(formatOffset(entry.atMs).padStart(7), 'dim', color)}  ${paint(entry.text, style, color)}`;
}

function stateStyle(row: EndpointRow): Style | undefined {
  if (row.note?.includes('crashed')) return 'red';
  switch (row.state) {
    case 'ready':
      return 'green';
    case 'terminating, serving':
      return 'yellow';
    case 'terminating':
      return 'red';
    default:
      return 'dim';
  }
}

/** ● traffic goes here (in the set, not ejected); ○ it does not. */
const mark = (row: EndpointRow) => (row.usable ? '●' : '○');
const ENDPOINT: Column<EndpointRow> = {
  header: '  ENDPOINT',
  value: (row) => `${mark(row)} ${row.key}`,
  style: (row) => (row.usable ? undefined : 'dim'),
};
/** Without the port, when every row has the same one (the change events still name it). */
const ADDRESS: Column<EndpointRow> = {
  header: '  ADDRESS',
  value: (row) => `${mark(row)} ${row.address}`,
  style: ENDPOINT.style,
};
const POD: Column<EndpointRow> = { header: 'POD', value: (row) => row.pod ?? '-' };
const ZONE: Column<EndpointRow> = { header: 'ZONE', value: (row) => row.zone ?? '-' };
const STATE: Column<EndpointRow> = { header: 'STATE', value: (row) => row.state, style: stateStyle };
const SHORT_STATE: Column<EndpointRow> = {
  header: 'STATE',
  value: (row) => row.state.replace('terminating, ', 'term., '),
  style: stateStyle,
};

const WATCH_COLUMNS: readonly Column<EndpointRow>[] = [
  ENDPOINT,
  POD,
  { header: 'NODE', value: (row) => row.node ?? '-' },
  ZONE,
  STATE,
  { header: 'READY', value: (row) => yesNo(row.ready) },
  { header: 'SERVING', value: (row) => yesNo(row.serving) },
  { header: 'TERMINATING', value: (row) => yesNo(row.terminating) },
];

/** What goes first on a narrow terminal: the conditions STATE sums up, then where, then who. */
const WATCH_NARROWINGS: readonly Narrowing<EndpointRow>[] = [
  { drop: ['READY', 'SERVING', 'TERMINATING'] },
  { drop: ['ZONE'] },
  { drop: ['NODE'] },
  { replace: 'STATE', by: SHORT_STATE },
  { drop: ['POD'] },
];

const TRAFFIC_COLUMNS: readonly Column<EndpointRow>[] = [
  ENDPOINT,
  POD,
  ZONE,
  STATE,
  { header: 'IN-FLIGHT', align: 'right', value: (row) => String(row.traffic?.inFlight ?? 0) },
  { header: 'REQ/S', align: 'right', value: (row) => formatRate(row.traffic?.rate ?? 0) },
  { header: 'ATTEMPTS', align: 'right', value: (row) => String(row.traffic?.attempts ?? 0) },
  {
    header: 'FAILED',
    align: 'right',
    value: (row) => String(row.traffic?.failed ?? 0),
    style: (row) => ((row.traffic?.failed ?? 0) > 0 ? 'red' : undefined),
  },
  {
    header: 'LATENCY',
    align: 'right',
    value: (row) => (row.traffic?.latencyMs === undefined ? '-' : formatMs(row.traffic.latencyMs)),
  },
  ejectedColumn((s) => ` (${s} s)`),
  { header: 'NOTE', value: (row) => row.note ?? '', style: () => 'magenta' },
];

/**
 * What goes first on a narrow terminal. Never touched: the endpoint and its mark, STATE, FAILED,
 * EJECTED and NOTE, which tell the story (a crash: failures, then an ejection; a slow pod: its
 * note, then its latency and rate), LATENCY and REQ/S as long as they fit.
 */
function trafficNarrowings(rows: readonly EndpointRow[]): Narrowing<EndpointRow>[] {
  const onePort = new Set(rows.map((row) => row.port)).size <= 1;
  return [
    { drop: ['ZONE'] },
    { drop: ['IN-FLIGHT'] },
    { drop: ['ATTEMPTS'] },
    { replace: 'STATE', by: SHORT_STATE },
    { replace: 'EJECTED', by: ejectedColumn((s) => ` ${s}s`) },
    { drop: ['POD'] },
    ...(onePort ? [{ replace: ENDPOINT.header, by: ADDRESS }] : []),
    { drop: ['REQ/S'] },
    { drop: ['LATENCY'] },
  ];
}

/** `yes (28 s)`, or `yes 28s` compact: ejected, and for how long still. */
function ejectedColumn(remaining: (seconds: number) => string): Column<EndpointRow> {
  return {
    header: 'EJECTED',
    value: (row) =>
      row.traffic?.ejected
        ? `yes${row.traffic.ejectedForMs === undefined ? '' : remaining(Math.ceil(row.traffic.ejectedForMs / 1000))}`
        : '-',
    style: (row) => (row.traffic?.ejected ? 'red' : undefined),
  };
}

function yesNo(value: boolean): string {
  return value ? 'yes' : 'no';
}
