import { z } from 'zod';
import { AggregatorBase, type AggregatorOptions } from './aggregator-base.js';
import {
  type AddressType,
  arrayOrNil,
  canonicalAddress,
  type EndpointBase,
  isObject,
  makeTargetRef,
  type ObjectRef,
  parseOrThrow,
  type RawObject,
  requireObject,
  TargetRefSchema,
  targetRefMatches,
} from './endpoint-fields.js';
import { type Entry, EntryCollector, type GroupSpec } from './endpoint-index.js';
import { type ParsedPort, toParsedPorts, V1PortSchema } from './ports.js';

const V1ShellSchema = z.object({
  metadata: z.object({ name: z.string().min(1), namespace: z.string().nullish() }),
  subsets: z
    .array(
      z.object({
        addresses: arrayOrNil,
        notReadyAddresses: arrayOrNil,
        ports: z.array(V1PortSchema).nullish(),
      }),
    )
    .nullish(),
});

const V1AddressSchema = z.object({
  ip: z.string().min(1),
  hostname: z.string().nullish(),
  nodeName: z.string().nullish(),
  targetRef: TargetRefSchema.nullish(),
});

/** `ready` says which list the address is in (the raw address object cannot tell). */
function sameV1Address(b: Entry, raw: RawObject, ready: boolean): boolean {
  return (
    b.ready === ready &&
    (raw.hostname ?? undefined) === b.hostname &&
    (raw.nodeName ?? undefined) === b.nodeName &&
    targetRefMatches(raw.targetRef, b.targetRef)
  );
}

function v1Base(e: z.output<typeof V1AddressSchema>, ready: boolean): EndpointBase {
  const addressType: AddressType = e.ip.includes(':') ? 'IPv6' : 'IPv4';
  return {
    address: canonicalAddress(addressType, e.ip),
    addressType,
    ready,
    // v1 Endpoints cannot express serving/terminating: not-ready addresses are neither.
    serving: ready,
    terminating: false,
    nodeName: e.nodeName ?? undefined,
    zone: undefined,
    hostname: e.hostname ?? undefined,
    hints: undefined,
    targetRef: makeTargetRef(e.targetRef),
  };
}

/**
 * Stable group name for a subset: its port list. The Endpoints controller packs addresses with the same
 * ports into one subset, so this identifies "the same subset" across versions even when subsets are
 * reordered; a repeated list (hand-written objects) gets a `#n` suffix.
 */
function subsetName(ports: readonly ParsedPort[], seen: Map<string, number>): string {
  const base = ports
    .map((p) => `${p.name}:${p.port ?? '*'}/${p.protocol}`)
    .sort()
    .join(',');
  const n = (seen.get(base) ?? 0) + 1;
  seen.set(base, n);
  return n === 1 ? base : `${base}#${n}`;
}

/**
 * The endpoints of one Service port from the legacy core/v1 `Endpoints` object (named like the
 * Service). `subsets[].addresses` are ready (ready = serving = true), `notReadyAddresses` are not
 * (ready = serving = false); terminating is always false because v1 cannot express serving or
 * terminating. Address types are inferred (IPv6 if the ip contains ':'). Ports are matched per subset
 * like slices (see AggregatorOptions.port), and the same dedupe, preference and structural sharing
 * apply (subsets play the part of slices, named by their port list). An object with another name or
 * namespace is ignored. Every method is atomic: on InvalidObjectError nothing changed.
 * Each `set()` reads the whole object (v1 has no smaller unit), reusing unchanged addresses without
 * zod. The Endpoints controller truncates objects at 1000 addresses (annotation
 * `endpoints.kubernetes.io/over-capacity: truncated`): prefer EndpointSlices where they exist.
 */
export class V1EndpointsAggregator extends AggregatorBase {
  constructor(options: AggregatorOptions) {
    super(options, 'endpoints');
  }

  /** The Endpoints object was listed, ADDED or MODIFIED. */
  set(obj: unknown): void {
    const what: ObjectRef = { kind: 'Endpoints', value: obj };
    const shell = parseOrThrow(V1ShellSchema, requireObject(what), what);
    const meta = shell.metadata;
    if (
      meta.name !== this.options.service ||
      (meta.namespace != null && meta.namespace !== this.options.namespace)
    ) {
      return;
    }
    const specs = new Map<string, GroupSpec>();
    const seen = new Map<string, number>();
    const subsets = shell.subsets ?? [];
    for (let s = 0; s < subsets.length; s++) {
      const subset = subsets[s]!;
      const ports = toParsedPorts(subset.ports);
      const name = subsetName(ports, seen);
      const collector = new EntryCollector(this.index.group(name));
      this.#collect(collector, subset.addresses, true, what, `subsets[${s}].addresses`);
      this.#collect(collector, subset.notReadyAddresses, false, what, `subsets[${s}].notReadyAddresses`);
      specs.set(name, collector.finish(ports));
    }
    this.index.replaceAll(specs);
  }

  /** The Endpoints object was DELETED. */
  clear(): void {
    this.index.replaceAll(new Map());
  }

  #collect(
    collector: EntryCollector,
    raws: readonly unknown[] | null | undefined,
    ready: boolean,
    what: ObjectRef,
    path: string,
  ): void {
    if (raws == null) return;
    const types = this.types;
    for (let i = 0; i < raws.length; i++) {
      const raw = raws[i];
      if (isObject(raw)) {
        const ip = raw.ip;
        if (typeof ip === 'string' && ip !== '' && collector.reuse(ip, raw, sameV1Address, ready)) continue;
      }
      const a = parseOrThrow(V1AddressSchema, raw, what, `${path}[${i}]`);
      const base = v1Base(a, ready);
      if (types !== undefined && !types.has(base.addressType)) continue;
      collector.add(a.ip, base);
    }
  }
}
