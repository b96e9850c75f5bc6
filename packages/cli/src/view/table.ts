/**
 * Text layout for the views: columns padded to their widest cell, ANSI colors that never count
 * toward a width, truncation that keeps escape sequences intact. Pure.
 */

export type Style = 'bold' | 'dim' | 'red' | 'green' | 'yellow' | 'cyan' | 'magenta';

const CODES: Record<Style, [number, number]> = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  cyan: [36, 39],
  magenta: [35, 39],
};

// Control Sequence Introducer sequences (colors, cursor moves); built from a string so the regex
// literal holds no control character.
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;?]*[A-Za-z]`, 'g');
const ESC = String.fromCharCode(27);

/** `text` in `style`, or unchanged when color is off. */
export function paint(text: string, style: Style | undefined, color: boolean): string {
  if (!color || style === undefined || text === '') return text;
  const [on, off] = CODES[style];
  return `${ESC}[${on}m${text}${ESC}[${off}m`;
}

export function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}

/** Width on screen: every code point counts one (the views only use narrow characters). */
export function visibleLength(text: string): number {
  return [...stripAnsi(text)].length;
}

/** Cuts `text` to `width` visible characters, ending in `…` when cut; escape sequences are kept. */
export function truncate(text: string, width: number): string {
  if (visibleLength(text) <= width) return text;
  if (width <= 0) return '';
  let out = '';
  let visible = 0;
  let i = 0;
  while (i < text.length && visible < width - 1) {
    ANSI.lastIndex = i;
    const sequence = text[i] === ESC ? ANSI.exec(text) : null;
    if (sequence && sequence.index === i) {
      out += sequence[0];
      i += sequence[0].length;
      continue;
    }
    const codePoint = text.codePointAt(i) ?? 0;
    const char = String.fromCodePoint(codePoint);
    out += char;
    i += char.length;
    visible++;
  }
  const colored = out.includes(ESC);
  return `${out}…${colored ? `${ESC}[0m` : ''}`;
}

export function padEnd(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - visibleLength(text)));
}

export function padStart(text: string, width: number): string {
  return ' '.repeat(Math.max(0, width - visibleLength(text))) + text;
}

export interface Column<R> {
  readonly header: string;
  readonly align?: 'left' | 'right';
  /** Plain text of the cell. */
  readonly value: (row: R) => string;
  /** Color of the cell, applied after padding. */
  readonly style?: (row: R) => Style | undefined;
}

/** Width of the table `formatTable` makes of these columns and rows (without its indent). */
export function tableWidth<R>(columns: readonly Column<R>[], rows: readonly R[]): number {
  const widths = columnWidths(
    columns,
    rows.map((row) => columns.map((column) => column.value(row))),
  );
  return widths.reduce((sum, width) => sum + width, 0) + 2 * Math.max(0, columns.length - 1);
}

function columnWidths<R>(columns: readonly Column<R>[], cells: readonly (readonly string[])[]): number[] {
  return columns.map((column, i) =>
    Math.max(visibleLength(column.header), ...cells.map((line) => visibleLength(line[i] ?? ''))),
  );
}

/**
 * Header line plus one line per row, columns separated by two spaces, each as wide as its widest
 * cell. Lines are not truncated (the caller knows the screen width).
 */
export function formatTable<R>(
  columns: readonly Column<R>[],
  rows: readonly R[],
  options: { color: boolean; indent?: string },
): string[] {
  const indent = options.indent ?? '';
  const cells = rows.map((row) => columns.map((column) => column.value(row)));
  const widths = columnWidths(columns, cells);
  const last = columns.length - 1;
  // The last column is not padded: no trailing blanks (which colors would hide from trimEnd).
  const pad = (text: string, i: number) =>
    i === last && columns[i]?.align !== 'right'
      ? text
      : columns[i]?.align === 'right'
        ? padStart(text, widths[i] ?? 0)
        : padEnd(text, widths[i] ?? 0);
  const header = columns.map((column, i) => pad(column.header, i)).join('  ');
  const lines = [indent + paint(header.trimEnd(), 'bold', options.color)];
  rows.forEach((row, r) => {
    const line = columns.map((column, i) => {
      // Color the text, not the padding around it.
      const [, before = '', core = '', after = ''] =
        /^(\s*)(.*?)(\s*)$/s.exec(pad(cells[r]?.[i] ?? '', i)) ?? [];
      return before + paint(core, column.style?.(row), options.color) + after;
    });
    lines.push(indent + line.join('  ').trimEnd());
  });
  return lines;
}

/** `0:07`, `1:30`, `1:02:03`. */
export function formatClock(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** `+12.3s`, the offset of an event from the start. */
export function formatOffset(ms: number): string {
  return `+${(Math.max(0, ms) / 1000).toFixed(1)}s`;
}

/** A rate: one decimal under 10, whole numbers above. */
export function formatRate(perSecond: number): string {
  if (perSecond <= 0) return '0';
  return perSecond < 10 ? perSecond.toFixed(1) : String(Math.round(perSecond));
}

/** A duration in ms: `0.8 ms`, `12 ms`, `1.4 s`. */
export function formatMs(ms: number): string {
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}
