/**
 * Field-level helpers shared by both aggregators: validation with zod and error reporting, the
 * port-independent part of an endpoint, and the cheap raw-field comparisons that let an unchanged
 * entry of a MODIFIED object skip zod entirely.
 */
import { z } from 'zod';
import { InvalidObjectError } from './errors.js';
import type { Endpoint, EndpointHints, EndpointTargetRef } from './types.js';

export type AddressType = Endpoint['addressType'];

export type RawObject = Readonly<Record<string, unknown>>;

/** A JSON object (not null, not an array). */
export function isObject(v: unknown): v is RawObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Everything an Endpoint holds except its port, parsed once per distinct raw entry. */
export type EndpointBase = Omit<Endpoint, 'port'>;

/** The frozen public Endpoint; every key is present (absent values are undefined) so all share one shape. */
export function makeEndpoint(b: EndpointBase, port: number): Endpoint {
  return Object.freeze({
    address: b.address,
    port,
    addressType: b.addressType,
    ready: b.ready,
    serving: b.serving,
    terminating: b.terminating,
    nodeName: b.nodeName,
    zone: b.zone,
    hostname: b.hostname,
    hints: b.hints,
    targetRef: b.targetRef,
  });
}

function sameStrings(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Semantic equality of two parsed entries (used on the slow path, after zod). */
export function sameBase(a: EndpointBase, b: EndpointBase): boolean {
  const ha = a.hints;
  const hb = b.hints;
  const ta = a.targetRef;
  const tb = b.targetRef;
  return (
    a.address === b.address &&
    a.addressType === b.addressType &&
    a.ready === b.ready &&
    a.serving === b.serving &&
    a.terminating === b.terminating &&
    a.nodeName === b.nodeName &&
    a.zone === b.zone &&
    a.hostname === b.hostname &&
    (ha === hb ||
      (ha !== undefined &&
        hb !== undefined &&
        sameStrings(ha.forZones, hb.forZones) &&
        sameStrings(ha.forNodes, hb.forNodes))) &&
    (ta === tb ||
      (ta !== undefined &&
        tb !== undefined &&
        ta.kind === tb.kind &&
        ta.namespace === tb.namespace &&
        ta.name === tb.name &&
        ta.uid === tb.uid))
  );
}

// ---------------------------------------------------------------------------------------------
// Cheap comparisons of a new raw entry with an already parsed one. A raw field matches when, with the
// API default applied, it is identical to the parsed value; since parsed values are strings, booleans
// or undefined, a match also proves the raw field has a valid type, so a matching entry may skip zod.
// Comparing with the parsed values (not the previous raw objects) touches less, colder, memory; the
// fields are written out one by one because generic keyed access is megamorphic and much slower.

/** Raw `conditions` against parsed conditions (nil: ready and serving true, terminating false). */
export function conditionsMatch(c: unknown, b: EndpointBase): boolean {
  if (c == null) return b.ready && b.serving && !b.terminating;
  if (!isObject(c)) return false;
  return (
    (c.ready ?? true) === b.ready &&
    (c.serving ?? true) === b.serving &&
    (c.terminating ?? false) === b.terminating
  );
}

export function targetRefMatches(t: unknown, ref: EndpointTargetRef | undefined): boolean {
  if (t == null || ref === undefined) return t == null && ref === undefined;
  if (!isObject(t)) return false;
  return (
    (t.name ?? undefined) === ref.name &&
    (t.uid ?? undefined) === ref.uid &&
    (t.kind ?? undefined) === ref.kind &&
    (t.namespace ?? undefined) === ref.namespace
  );
}

function namesMatch(list: unknown, names: readonly string[] | undefined): boolean {
  if (list == null) return names === undefined;
  if (!Array.isArray(list)) return false;
  if (list.length === 0 || names === undefined) return list.length === 0 && names === undefined;
  if (list.length !== names.length) return false;
  for (let i = 0; i < list.length; i++) {
    const item: unknown = list[i];
    if (!isObject(item) || item.name !== names[i]) return false;
  }
  return true;
}

export function hintsMatch(h: unknown, hints: EndpointHints | undefined): boolean {
  if (h == null) return hints === undefined;
  if (!isObject(h)) return false;
  return namesMatch(h.forZones, hints?.forZones) && namesMatch(h.forNodes, hints?.forNodes);
}

// ---------------------------------------------------------------------------------------------
// zod schemas and builders for the nested parts both APIs share.

/**
 * An array (not looked into) or null/absent. Cheaper than z.array(z.unknown()), which copies it: the
 * entries are checked one by one by the aggregators, most of them without zod.
 */
export const arrayOrNil = z
  .custom<readonly unknown[]>((v) => Array.isArray(v), { message: 'Invalid input: expected array' })
  .nullish();

/**
 * The API's own bounds on an EndpointSlice (discovery/v1 validation): at most 1000 endpoints, 100
 * ports, 100 addresses per endpoint. A larger slice is no slice the apiserver could have stored,
 * and is rejected before its entries are looked at (10^6 of them would block the event loop).
 */
export const SLICE_LIMITS = { endpoints: 1000, ports: 100, addresses: 100 } as const;

/** `arrayOrNil` of at most `max` items (the entries are not looked into). */
export function boundedArrayOrNil(max: number) {
  return z
    .custom<readonly unknown[]>((v) => Array.isArray(v), { message: 'Invalid input: expected array' })
    .refine((v) => v.length <= max, { message: `Too big: expected at most ${max} items` })
    .nullish();
}

export const TargetRefSchema = z.object({
  kind: z.string().nullish(),
  namespace: z.string().nullish(),
  name: z.string().nullish(),
  uid: z.string().nullish(),
});

export function makeTargetRef(
  t: z.output<typeof TargetRefSchema> | null | undefined,
): EndpointTargetRef | undefined {
  if (t == null) return undefined;
  return Object.freeze({
    kind: t.kind ?? undefined,
    namespace: t.namespace ?? undefined,
    name: t.name ?? undefined,
    uid: t.uid ?? undefined,
  });
}

function names(list: readonly { readonly name: string }[] | null | undefined): readonly string[] | undefined {
  return list == null || list.length === 0 ? undefined : Object.freeze(list.map((x) => x.name));
}

/**
 * Hints already made, by content: a Service with topology hints gives every endpoint of a zone the
 * same hints (`forZones: [its zone]`), so endpoints share one frozen object instead of three each.
 * Bounded: cleared when full (sharing is an optimization, equality never depends on it).
 */
const internedHints = new Map<string, EndpointHints>();
const internedZoneHints = new Map<string, EndpointHints>();
const MAX_INTERNED_HINTS = 1024;

function hintsKey(list: readonly { readonly name: string }[] | null | undefined): string {
  if (list == null) return '';
  let key = '';
  for (const item of list) key += `${item.name.length}:${item.name}`;
  return key;
}

/** Flattens forZones/forNodes to name arrays; empty lists count as absent, no list at all gives undefined. */
export function makeHints(
  forZones: readonly { readonly name: string }[] | null | undefined,
  forNodes: readonly { readonly name: string }[] | null | undefined,
): EndpointHints | undefined {
  const noNodes = forNodes == null || forNodes.length === 0;
  if ((forZones == null || forZones.length === 0) && noNodes) return undefined;
  // What topology-aware routing writes: the endpoint's own zone, alone. Keyed by the name itself.
  const oneZone = noNodes && forZones!.length === 1;
  // Otherwise length-prefixed names: no name can fake a separator (nor a one-zone key, which has none).
  const key = oneZone ? forZones![0]!.name : `${hintsKey(forZones)}|${hintsKey(forNodes)}`;
  const interned = oneZone ? internedZoneHints : internedHints;
  const known = interned.get(key);
  if (known !== undefined) return known;
  const hints: EndpointHints = Object.freeze({ forZones: names(forZones), forNodes: names(forNodes) });
  if (interned.size >= MAX_INTERNED_HINTS) interned.clear();
  interned.set(key, hints);
  return hints;
}

const DOTTED_QUAD = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;
const IPV6_TEXT = /^[0-9A-Fa-f:.]+$/;

/** A '0' that starts an octet and is followed by another digit ("010.1.1.1"). */
function hasLeadingZero(s: string): boolean {
  for (let i = 0; i < s.length - 1; i++) {
    if (s.charCodeAt(i) !== 48 || (i > 0 && s.charCodeAt(i - 1) !== 46)) continue;
    const next = s.charCodeAt(i + 1);
    if (next >= 48 && next <= 57) return true;
  }
  return false;
}

/**
 * The address as used for deduplication and in `Endpoint.address`: IPv6 in canonical RFC 5952 text
 * (lowercase, `::` compression, what kube-proxy's ParseIPSloppy().String() yields), IPv4 without
 * legacy leading zeros (read as decimal, like ParseIPSloppy). Unparseable text and FQDNs stay as given.
 */
export function canonicalAddress(addressType: AddressType, raw: string): string {
  if (addressType === 'IPv6') {
    // The URL parser reads more than an address: '::1]:80/x' as [::1]. Only address text is rewritten.
    if (!IPV6_TEXT.test(raw)) return raw;
    try {
      const host = new URL(`http://[${raw}]/`).hostname;
      return host.slice(1, -1);
    } catch {
      return raw;
    }
  }
  if (addressType === 'IPv4' && hasLeadingZero(raw) && DOTTED_QUAD.test(raw)) {
    const octets = raw.split('.').map((part) => Number.parseInt(part, 10));
    if (octets.every((octet) => octet <= 255)) return octets.join('.');
  }
  return raw;
}

// ---------------------------------------------------------------------------------------------
// Validation and error reporting.

function formatPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out === '' ? '(root)' : out;
}

function clip(text: string): string {
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}

/** The object being read, for error messages (described only when an error is thrown). */
export interface ObjectRef {
  readonly kind: string;
  readonly value: unknown;
  /** Position in a list (reset), if any. */
  readonly position?: number | undefined;
}

/**
 * How an object is named in error messages: `Kind "name"` when it has a usable metadata.name,
 * else `Kind #position of the list` (reset) or just `Kind`.
 */
export function describeObject(ref: ObjectRef): string {
  const { kind, value, position } = ref;
  if (isObject(value) && isObject(value.metadata)) {
    const name = value.metadata.name;
    if (typeof name === 'string' && name !== '') return `${kind} ${JSON.stringify(clip(name))}`;
  }
  return position === undefined ? kind : `${kind} #${position} of the list`;
}

/** Runs a zod schema; on failure throws InvalidObjectError naming the object and the first bad field. */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  value: unknown,
  ref: ObjectRef,
  prefix = '',
): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issues = r.error.issues;
  const first = issues[0]!;
  const more =
    issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
  throw new InvalidObjectError(
    describeObject(ref),
    formatPath(prefix, first.path),
    clip(first.message) + more,
  );
}

/** Throws unless the object is a JSON object. */
export function requireObject(ref: ObjectRef): RawObject {
  const value = ref.value;
  if (isObject(value)) return value;
  const got = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  throw new InvalidObjectError(describeObject(ref), '(root)', `expected an object, received ${got}`);
}
