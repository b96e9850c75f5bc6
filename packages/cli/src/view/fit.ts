/**
 * Making a table fit the terminal: a list of ways to narrow it (drop a column, or put a compact form
 * in its place), tried cumulatively in the order given until the table fits. The order is the
 * caller's statement of what matters least; columns no step names are never touched. Pure.
 */
import { type Column, tableWidth } from './table.js';

export type Narrowing<R> =
  /** Leave out the columns with these headers. */
  | { readonly drop: readonly string[] }
  /** Put `by` in place of the column with header `replace`. */
  | { readonly replace: string; readonly by: Column<R> };

/**
 * The columns after as few narrowings as make `rows` fit in `width` (indent included), or after
 * all of them when nothing fits.
 */
export function fitColumns<R>(
  columns: readonly Column<R>[],
  narrowings: readonly Narrowing<R>[],
  rows: readonly R[],
  width: number,
  indent = 0,
): readonly Column<R>[] {
  let current = columns;
  for (const step of narrowings) {
    if (indent + tableWidth(current, rows) <= width) return current;
    current =
      'drop' in step
        ? current.filter((column) => !step.drop.includes(column.header))
        : current.map((column) => (column.header === step.replace ? step.by : column));
  }
  return current;
}

/**
 * `parts` joined with ` · `, as many per line as fit in `width`; the lines after the first start with
 * `indent`. A part wider than a line gets a line of its own (the caller truncates it).
 */
export function wrapParts(
  parts: readonly string[],
  width: number,
  indent: string,
  measure: (text: string) => number,
): string[] {
  const lines: string[] = [];
  let line = '';
  for (const part of parts) {
    const candidate = line === '' ? part : `${line} · ${part}`;
    if (line !== '' && measure(candidate) > width) {
      lines.push(line);
      line = `${indent}${part}`;
    } else {
      line = candidate;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** `text` broken at spaces into lines at most `width` wide (a longer word gets a line of its own). */
export function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}
