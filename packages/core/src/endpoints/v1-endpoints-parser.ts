import { z } from 'zod';
import {
  type AddressType,
  arrayOrNil,
  canonicalAddress,
  type EndpointBase,
  isObject,
  makeEndpoint,
  makeTargetRef,
  type ObjectRef,
  parseOrThrow,
  type RawObject,
  requireObject,
  TargetRefSchema,
  targetRefMatches,
} from './endpoint-fields.js';
import { type EndpointRecord, RecordCollector, type RecordGroup } from './endpoint-record.js';
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

type V1Shell = z.output<typeof V1ShellSchema>;

const V1AddressSchema = z.object({
  ip: z.string().min(1),
  hostname: z.string().nullish(),
  nodeName: z.string().nullish(),
  targetRef: TargetRefSchema.nullish(),
});

/** One subset: its ports and its addresses, the ready ones first. */
export interface ParsedSubset extends RecordGroup {
  /** Stable name of the subset across versions (see `subsetName`). */
  readonly name: string;
}

/**
 * The port-independent content of one core/v1 Endpoints object, validated, API defaults applied.
 * It is a `KubeObject` (it has `metadata`), so a store can hold it in place of the raw object.
 */
export class ParsedV1Endpoints {
  readonly [key: string]: unknown;
  readonly metadata: {
    readonly name: string;
    readonly namespace: string | undefined;
    readonly resourceVersion: string | undefined;
  };
  readonly subsets: readonly ParsedSubset[];

  constructor(shell: V1Shell, resourceVersion: unknown, subsets: readonly ParsedSubset[]) {
    this.metadata = Object.freeze({
      name: shell.metadata.name,
      namespace: shell.metadata.namespace ?? undefined,
      resourceVersion: typeof resourceVersion === 'string' ? resourceVersion : undefined,
    });
    this.subsets = Object.freeze(subsets);
    Object.freeze(this);
  }
}

/** `ready` says which list the address is in (the raw address object cannot tell). */
function sameV1Address(b: EndpointRecord, raw: RawObject, ready: boolean): boolean {
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
 * reordered; a repeated list (hand-written objects) gets a `#n` suffix. Names are checked against
 * every name given, not only against the lists seen: a name or protocol may contain ',', ':' or
 * '#', and the group of one subset must never replace another's.
 */
function subsetName(ports: readonly ParsedPort[], taken: Set<string>): string {
  const base = ports
    .map((p) => `${p.name}:${p.port ?? '*'}/${p.protocol}`)
    .sort()
    .join(',');
  let name = base;
  for (let n = 2; taken.has(name); n++) name = `${base}#${n}`;
  taken.add(name);
  return name;
}

function collect(
  collector: RecordCollector,
  raws: readonly unknown[] | null | undefined,
  ready: boolean,
  what: ObjectRef,
  path: string,
): EndpointRecord[] {
  if (raws == null) return [];
  return raws.map((raw, i) => {
    if (isObject(raw)) {
      const ip = raw.ip;
      const kept =
        typeof ip === 'string' && ip !== '' ? collector.reuse(ip, raw, sameV1Address, ready) : undefined;
      if (kept !== undefined) return kept;
    }
    const a = parseOrThrow(V1AddressSchema, raw, what, `${path}[${i}]`);
    return collector.add(makeEndpoint(v1Base(a, ready), collector.port));
  });
}

/**
 * Validates and parses a raw v1 Endpoints object. Subsets are matched with the previous version's
 * by their port list, and unchanged addresses keep their record without validation (see
 * `parseEndpointSlice`). `addresses` are ready (ready = serving = true), `notReadyAddresses` are not
 * (ready = serving = false); terminating is always false; address types are inferred (IPv6 if the ip
 * contains ':').
 * @throws InvalidObjectError naming the object and the first field that is wrong.
 */
export function parseV1Endpoints(raw: unknown, previous: ParsedV1Endpoints | undefined): ParsedV1Endpoints {
  const what: ObjectRef = { kind: 'Endpoints', value: raw };
  const object = requireObject(what);
  const shell = parseOrThrow(V1ShellSchema, object, what);
  const before = new Map(previous?.subsets.map((s) => [s.name, s.records]));
  const taken = new Set<string>();
  const subsets: ParsedSubset[] = [];
  const raws = shell.subsets ?? [];
  for (let s = 0; s < raws.length; s++) {
    const subset = raws[s]!;
    const ports = toParsedPorts(subset.ports);
    const name = subsetName(ports, taken);
    const collector = new RecordCollector(before.get(name), ports);
    const ready = collect(collector, subset.addresses, true, what, `subsets[${s}].addresses`);
    const notReady = collect(
      collector,
      subset.notReadyAddresses,
      false,
      what,
      `subsets[${s}].notReadyAddresses`,
    );
    subsets.push({ name, ports, records: ready.concat(notReady) });
  }
  return new ParsedV1Endpoints(shell, (object.metadata as RawObject).resourceVersion, subsets);
}
