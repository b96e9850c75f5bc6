/**
 * Label and field selectors with the apiserver's grammar and semantics.
 * Label: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x,y)`, `a`, `!a`, `a>1`, `a<1`; commas AND the terms.
 * Field: `metadata.name` / `metadata.namespace` with `=`, `==`, `!=` (values may escape `\,` `\=` `\\`).
 */
import type { KubeObject } from './types.js';

/** Thrown for a selector the server cannot parse; the server answers 400 BadRequest with its message. */
export class SelectorError extends Error {
  override readonly name = 'SelectorError';
}

type LabelRequirement =
  | { op: 'exists' | 'notexists'; key: string }
  | { op: 'in' | 'notin'; key: string; values: Set<string> }
  | { op: 'gt' | 'lt'; key: string; value: number };

export interface Selector {
  /** True when the selector is empty (matches everything). */
  readonly empty: boolean;
  matches(obj: KubeObject): boolean;
}

const KEY = '(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?';
const VALUE = '(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?';
const RE_NOT_EXISTS = new RegExp(`^!\\s*(${KEY})$`);
const RE_EXISTS = new RegExp(`^(${KEY})$`);
const RE_SET = new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\((.*)\\)$`);
const RE_EQUALITY = new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*(${VALUE})$`);
const RE_COMPARE = new RegExp(`^(${KEY})\\s*(>|<)\\s*(-?[0-9]+)$`);
const RE_VALUE = new RegExp(`^${VALUE}$`);

/** Splits on commas that are not inside parentheses. */
function splitTerms(selector: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      terms.push(current);
      current = '';
    } else current += ch;
  }
  if (depth !== 0) throw new SelectorError('unbalanced parentheses');
  terms.push(current);
  return terms;
}

function parseLabelTerm(raw: string): LabelRequirement {
  const term = raw.trim();
  let m = RE_NOT_EXISTS.exec(term);
  if (m) return { op: 'notexists', key: m[1]! };
  m = RE_SET.exec(term);
  if (m) {
    const values = m[3]!.split(',').map((v) => v.trim());
    for (const v of values) if (!RE_VALUE.test(v)) throw new SelectorError(`invalid label value: "${v}"`);
    return { op: m[2] === 'in' ? 'in' : 'notin', key: m[1]!, values: new Set(values) };
  }
  m = RE_EQUALITY.exec(term);
  if (m) return { op: m[2] === '!=' ? 'notin' : 'in', key: m[1]!, values: new Set([m[3]!]) };
  m = RE_COMPARE.exec(term);
  if (m) return { op: m[2] === '>' ? 'gt' : 'lt', key: m[1]!, value: Number(m[3]) };
  m = RE_EXISTS.exec(term);
  if (m) return { op: 'exists', key: m[1]! };
  throw new SelectorError(`unable to parse requirement: ${JSON.stringify(term)}`);
}

function matchesRequirement(req: LabelRequirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, req.key);
  const value = labels[req.key];
  switch (req.op) {
    case 'exists':
      return has;
    case 'notexists':
      return !has;
    case 'in':
      return has && req.values.has(value ?? '');
    case 'notin':
      return !has || !req.values.has(value ?? '');
    case 'gt':
    case 'lt': {
      if (!has || !/^-?[0-9]+$/.test(value ?? '')) return false;
      const n = Number(value);
      return req.op === 'gt' ? n > req.value : n < req.value;
    }
  }
}

/** Parses a label selector; '' or undefined matches everything. */
export function parseLabelSelector(selector: string | undefined): Selector {
  const text = (selector ?? '').trim();
  if (text === '') return { empty: true, matches: () => true };
  const requirements = splitTerms(text).map(parseLabelTerm);
  return {
    empty: false,
    matches: (obj) => {
      const labels = obj.metadata.labels ?? {};
      return requirements.every((r) => matchesRequirement(r, labels));
    },
  };
}

/** Fields the apiserver supports in field selectors for Endpoints and EndpointSlices. */
const FIELDS: Record<string, (obj: KubeObject) => string> = {
  'metadata.name': (obj) => obj.metadata.name ?? '',
  'metadata.namespace': (obj) => obj.metadata.namespace ?? '',
};

interface FieldRequirement {
  field: string;
  value: string;
  negate: boolean;
}

/** Splits on unescaped `sep`, keeping escapes for a later unescape. */
function splitUnescaped(text: string, sep: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\\' && i + 1 < text.length) {
      current += ch + text[i + 1];
      i++;
    } else if (ch === sep) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts;
}

function unescapeFieldValue(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (ch === '\\') {
      const next = value[i + 1];
      if (next === undefined || !'\\,='.includes(next))
        throw new SelectorError(`invalid field selector value: ${value}`);
      out += next;
      i++;
    } else if (ch === ',' || ch === '=') {
      throw new SelectorError(`invalid field selector value: unescaped ${ch} in ${value}`);
    } else out += ch;
  }
  return out;
}

function parseFieldTerm(term: string): FieldRequirement {
  const ops: Array<[string, boolean]> = [
    ['!=', true],
    ['==', false],
    ['=', false],
  ];
  for (const [op, negate] of ops) {
    // Find the operator outside escapes.
    let idx = -1;
    for (let i = 0; i < term.length; i++) {
      if (term[i] === '\\') {
        i++;
        continue;
      }
      if (term.startsWith(op, i)) {
        idx = i;
        break;
      }
    }
    if (idx < 0) continue;
    const field = term.slice(0, idx).trim();
    const value = unescapeFieldValue(term.slice(idx + op.length).trim());
    if (!(field in FIELDS))
      throw new SelectorError(
        `${JSON.stringify(field)} is not a known field selector: only ${Object.keys(FIELDS)
          .map((f) => JSON.stringify(f))
          .join(', ')}`,
      );
    return { field, value, negate };
  }
  throw new SelectorError(`invalid selector: '${term}'; can't understand '${term}'`);
}

/** Parses a field selector; '' or undefined matches everything. */
export function parseFieldSelector(selector: string | undefined): Selector {
  const text = (selector ?? '').trim();
  if (text === '') return { empty: true, matches: () => true };
  const requirements = splitUnescaped(text, ',')
    .filter((t) => t.trim() !== '')
    .map(parseFieldTerm);
  return {
    empty: requirements.length === 0,
    matches: (obj) =>
      requirements.every((r) => {
        const actual = FIELDS[r.field]!(obj);
        return r.negate ? actual !== r.value : actual === r.value;
      }),
  };
}

/** Everything a list or watch filters on: the namespace of the path and both selectors. */
export interface ObjectFilter {
  readonly namespace: string | undefined;
  readonly labels: Selector;
  readonly fields: Selector;
}

export function filterMatches(filter: ObjectFilter, obj: KubeObject): boolean {
  if (filter.namespace !== undefined && obj.metadata.namespace !== filter.namespace) return false;
  return filter.labels.matches(obj) && filter.fields.matches(obj);
}
