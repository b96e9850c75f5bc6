import { z } from 'zod';
import { AggregatorBase, type AggregatorOptions } from './aggregator-base.js';
import { isObject, type ObjectRef, parseOrThrow, requireObject } from './endpoint-fields.js';
import type { RecordGroup } from './endpoint-record.js';
import { ParsedEndpointSlice, parseEndpointSlice } from './endpointslice-parser.js';
import { InvalidObjectError } from './errors.js';

export { SERVICE_NAME_LABEL } from './endpointslice-parser.js';

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
 * Input: raw slices, or slices already parsed by `parseEndpointSlice` (what `watchEndpoints` stores,
 * shared by the aggregators of every port). Either way an upsert costs O(endpoints in that slice):
 * unchanged endpoints keep their record (see endpointslice-parser.ts) and their entry in the dedupe
 * index, which is maintained incrementally with the ready count.
 *
 * Slices labelled for another Service are ignored (an upsert of such a slice removes a slice of that
 * name: its label changed); slices of another namespace are ignored entirely. Every method is atomic:
 * on InvalidObjectError nothing changed. Validation covers the fields the aggregator reads; other
 * fields are ignored.
 */
export class EndpointSliceAggregator extends AggregatorBase {
  /** The last parsed version of each slice given raw, so that its next version reuses its records. */
  readonly #parsed = new Map<string, ParsedEndpointSlice>();

  constructor(options: AggregatorOptions) {
    super(options, 'endpointslices');
  }

  /** Replaces the whole state with these slices (initial list, relist after 410). */
  reset(slices: readonly unknown[]): void {
    if (!Array.isArray(slices)) {
      throw new InvalidObjectError('EndpointSlice list', '(root)', 'expected an array of EndpointSlices');
    }
    const parsed = slices.map((slice: unknown, i) => this.#parse(slice, i));
    const groups = new Map<string, RecordGroup>();
    this.#parsed.clear();
    for (let i = 0; i < parsed.length; i++) {
      const slice = parsed[i]!;
      if (!this.#inNamespace(slice)) continue;
      if (slice !== slices[i]) this.#parsed.set(slice.metadata.name, slice);
      if (this.#selects(slice)) groups.set(slice.metadata.name, slice);
      else groups.delete(slice.metadata.name);
    }
    this.index.replaceAll(groups);
  }

  /** ADDED / MODIFIED slice. */
  upsert(slice: unknown): void {
    const parsed = this.#parse(slice, undefined);
    if (!this.#inNamespace(parsed)) return;
    const name = parsed.metadata.name;
    // Already-parsed input (watchEndpoints' store) needs no memory here: the store keeps it.
    if (parsed !== slice) this.#parsed.set(name, parsed);
    this.index.apply(name, this.#selects(parsed) ? parsed : undefined);
  }

  /** DELETED slice, by metadata.name; an unknown name is a no-op. */
  remove(slice: unknown): void {
    const ref: ObjectRef = { kind: 'EndpointSlice', value: slice };
    const meta = parseOrThrow(RemoveSchema, requireObject(ref).metadata, ref, 'metadata');
    if (meta.namespace != null && meta.namespace !== this.options.namespace) return;
    this.#parsed.delete(meta.name);
    this.index.apply(meta.name, undefined);
  }

  #parse(slice: unknown, position: number | undefined): ParsedEndpointSlice {
    if (slice instanceof ParsedEndpointSlice) return slice;
    return parseEndpointSlice(slice, this.#parsed.get(rawName(slice) ?? ''), position);
  }

  #inNamespace(slice: ParsedEndpointSlice): boolean {
    const namespace = slice.metadata.namespace;
    return namespace === undefined || namespace === this.options.namespace;
  }

  /** A slice of this Service (an unlabelled slice counts as one) and of a followed address type. */
  #selects(slice: ParsedEndpointSlice): boolean {
    const owner = slice.serviceName;
    return (
      (owner === undefined || owner === this.options.service) &&
      (this.types === undefined || this.types.has(slice.addressType))
    );
  }
}

function rawName(object: unknown): string | undefined {
  if (!isObject(object) || !isObject(object.metadata)) return undefined;
  const name = object.metadata.name;
  return typeof name === 'string' ? name : undefined;
}

const RemoveSchema = z.object({ name: z.string().min(1), namespace: z.string().nullish() });
