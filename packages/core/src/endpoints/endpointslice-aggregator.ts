import { z } from 'zod';
import { AggregatorBase, type AggregatorOptions } from './aggregator-base.js';
import {
  type AddressType,
  arrayOrNil,
  canonicalAddress,
  conditionsMatch,
  type EndpointBase,
  hintsMatch,
  isObject,
  makeHints,
  makeTargetRef,
  type ObjectRef,
  parseOrThrow,
  type RawObject,
  requireObject,
  TargetRefSchema,
  targetRefMatches,
} from './endpoint-fields.js';
import { type Entry, EntryCollector, type GroupSpec } from './endpoint-index.js';
import { InvalidObjectError } from './errors.js';
import { SlicePortSchema, toParsedPorts } from './ports.js';
import { isValidSliceEndpoint } from './slice-endpoint-guard.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

const SliceShellSchema = z.object({
  metadata: z.object({
    name: z.string().min(1),
    namespace: z.string().nullish(),
    labels: z.record(z.string(), z.string()).nullish(),
  }),
  addressType: z.enum(['IPv4', 'IPv6', 'FQDN']),
  endpoints: arrayOrNil,
  ports: z.array(SlicePortSchema).nullish(),
});

const NameRefSchema = z.object({ name: z.string() });

export const SliceEndpointSchema = z.object({
  addresses: z.array(z.string()).min(1),
  conditions: z
    .object({
      ready: z.boolean().nullish(),
      serving: z.boolean().nullish(),
      terminating: z.boolean().nullish(),
    })
    .nullish(),
  hostname: z.string().nullish(),
  nodeName: z.string().nullish(),
  zone: z.string().nullish(),
  hints: z
    .object({
      forZones: z.array(NameRefSchema).nullish(),
      forNodes: z.array(NameRefSchema).nullish(),
    })
    .nullish(),
  targetRef: TargetRefSchema.nullish(),
});

/** The relevant fields of a raw slice endpoint match a parsed one (the first address is equal by lookup). */
function sameSliceEntry(b: Entry, raw: RawObject): boolean {
  return (
    (raw.nodeName ?? undefined) === b.nodeName &&
    (raw.zone ?? undefined) === b.zone &&
    (raw.hostname ?? undefined) === b.hostname &&
    conditionsMatch(raw.conditions, b) &&
    targetRefMatches(raw.targetRef, b.targetRef) &&
    hintsMatch(raw.hints, b.hints)
  );
}

/** The first address when `addresses` is a non-empty array of strings (checked without zod). */
function firstAddress(addresses: unknown): string | undefined {
  if (!Array.isArray(addresses)) return undefined;
  const first: unknown = addresses[0];
  if (typeof first !== 'string') return undefined;
  for (let i = 1; i < addresses.length; i++) if (typeof addresses[i] !== 'string') return undefined;
  return first;
}

function sliceBase(e: z.output<typeof SliceEndpointSchema>, addressType: AddressType): EndpointBase {
  const c = e.conditions;
  return {
    address: canonicalAddress(addressType, e.addresses[0]!),
    addressType,
    // discovery/v1 nil semantics as kube-proxy reads them.
    ready: c?.ready ?? true,
    serving: c?.serving ?? true,
    terminating: c?.terminating ?? false,
    nodeName: e.nodeName ?? undefined,
    zone: e.zone ?? undefined,
    hostname: e.hostname ?? undefined,
    hints: makeHints(e.hints?.forZones, e.hints?.forNodes),
    targetRef: makeTargetRef(e.targetRef),
  };
}

/** A slice of this Service (spec), or of another one (spec undefined: a slice of that name goes away). */
type Parsed = { readonly name: string; readonly spec: GroupSpec | undefined };

/**
 * Incremental union of the discovery.k8s.io/v1 EndpointSlices of one Service port, with
 * kube-proxy's semantics (EndpointSliceCache):
 * - the set is the union of all slices, deduplicated by address+port; when several slices carry the
 *   same address+port (legal, e.g. while an endpoint moves), the non-terminating copy wins, then the
 *   ready one, then the copy from the slice whose name sorts first;
 * - nil conditions: ready ⇒ true, serving ⇒ true, terminating ⇒ false;
 * - `endpoints` are the ready ones; when none is ready, the serving and terminating ones;
 * - only the first address of an endpoint is used (as the API tells consumers);
 * - IPv4, IPv6 and FQDN slices all contribute (dual-stack: one slice per family, both appear),
 *   unless `addressTypes` restricts them; each Endpoint carries its addressType.
 *
 * The lists are ordered by slice name, then by position in the slice. `snapshot()` returns a set
 * only when the content changed: unchanged endpoints keep their frozen Endpoint object from set to
 * set, and an update that changes nothing relevant (resourceVersion, annotations, managedFields,
 * fields not listed on Endpoint, null vs absent) emits nothing. `endpoints` and `all` are built on
 * first read (see endpoint-set.ts), so a set costs O(changed slices) to produce.
 *
 * Cost: an upsert costs O(endpoints in that slice): entries whose relevant fields are unchanged are
 * recognized by a cheap field comparison and reused without zod; only new or changed entries are
 * validated with zod. The dedupe index and the ready count are maintained incrementally.
 *
 * Slices labelled for another Service are ignored (an upsert of such a slice removes a slice of that
 * name: its label changed); slices of another namespace are ignored entirely. Every method is atomic:
 * on InvalidObjectError nothing changed. Validation covers the fields the aggregator reads; other
 * fields are ignored.
 */
export class EndpointSliceAggregator extends AggregatorBase {
  constructor(options: AggregatorOptions) {
    super(options, 'endpointslices');
  }

  /** Replaces the whole state with these slices (initial list, relist after 410). */
  reset(slices: readonly unknown[]): void {
    if (!Array.isArray(slices)) {
      throw new InvalidObjectError('EndpointSlice list', '(root)', 'expected an array of EndpointSlices');
    }
    const specs = new Map<string, GroupSpec>();
    for (let i = 0; i < slices.length; i++) {
      const r = this.#parse(slices[i], i);
      if (r === undefined) continue;
      if (r.spec === undefined) specs.delete(r.name);
      else specs.set(r.name, r.spec);
    }
    this.index.replaceAll(specs);
  }

  /** ADDED / MODIFIED slice. */
  upsert(slice: unknown): void {
    const r = this.#parse(slice, undefined);
    if (r !== undefined) this.index.apply(r.name, r.spec);
  }

  /** DELETED slice, by metadata.name; an unknown name is a no-op. */
  remove(slice: unknown): void {
    const ref: ObjectRef = { kind: 'EndpointSlice', value: slice };
    const meta = parseOrThrow(RemoveSchema, requireObject(ref).metadata, ref, 'metadata');
    if (meta.namespace != null && meta.namespace !== this.options.namespace) return;
    this.index.apply(meta.name, undefined);
  }

  /** undefined for a slice of another namespace. */
  #parse(slice: unknown, position: number | undefined): Parsed | undefined {
    const what: ObjectRef = { kind: 'EndpointSlice', value: slice, position };
    const shell = parseOrThrow(SliceShellSchema, requireObject(what), what);
    const meta = shell.metadata;
    const owner = meta.labels?.[SERVICE_NAME_LABEL];
    if (meta.namespace != null && meta.namespace !== this.options.namespace) return undefined;
    if (
      (owner !== undefined && owner !== this.options.service) ||
      (this.types !== undefined && !this.types.has(shell.addressType))
    ) {
      return { name: meta.name, spec: undefined };
    }
    const addressType = shell.addressType;
    const collector = new EntryCollector(this.index.group(meta.name));
    const raws = shell.endpoints ?? [];
    for (let i = 0; i < raws.length; i++) {
      const raw = raws[i];
      if (isObject(raw)) {
        const first = firstAddress(raw.addresses);
        if (first !== undefined && collector.reuse(first, raw, sameSliceEntry, false)) continue;
      }
      const e = isValidSliceEndpoint(raw)
        ? (raw as z.output<typeof SliceEndpointSchema>)
        : parseOrThrow(SliceEndpointSchema, raw, what, `endpoints[${i}]`);
      collector.add(e.addresses[0]!, sliceBase(e, addressType));
    }
    return { name: meta.name, spec: collector.finish(toParsedPorts(shell.ports)) };
  }
}

const RemoveSchema = z.object({ name: z.string().min(1), namespace: z.string().nullish() });
