/**
 * The port-independent, parsed form of one raw endpoint entry (a slice endpoint, a v1 address) and
 * the collector that carries unchanged entries over from one version of an object to the next.
 * Records are immutable and shared: by every version of the object they did not change in, and by
 * every per-port aggregator that follows the same Service.
 */
import { type AddressType, type EndpointBase, type RawObject, sameBase } from './endpoint-fields.js';
import type { ParsedPort } from './ports.js';
import type { EndpointHints, EndpointTargetRef } from './types.js';

let serials = 0;

export class EndpointRecord implements EndpointBase {
  /**
   * Creation order: a record newer than every record of a group's previous version cannot be one of
   * them, so an index recognizes a changed entry without searching for it.
   */
  readonly serial = ++serials;
  /** Lookup key inside its group: the raw first address / ip, as written in the object. */
  readonly lookup: string;
  readonly address: string;
  readonly addressType: AddressType;
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
  readonly nodeName: string | undefined;
  readonly zone: string | undefined;
  readonly hostname: string | undefined;
  readonly hints: EndpointHints | undefined;
  readonly targetRef: EndpointTargetRef | undefined;

  constructor(lookup: string, b: EndpointBase) {
    this.lookup = lookup;
    this.address = b.address;
    this.addressType = b.addressType;
    this.ready = b.ready;
    this.serving = b.serving;
    this.terminating = b.terminating;
    this.nodeName = b.nodeName;
    this.zone = b.zone;
    this.hostname = b.hostname;
    this.hints = b.hints;
    this.targetRef = b.targetRef;
    Object.freeze(this);
  }
}

/** A unit that carries one port list: an EndpointSlice, or one subset of a v1 Endpoints object. */
export interface RecordGroup {
  readonly ports: readonly ParsedPort[];
  readonly records: readonly EndpointRecord[];
}

/** Cheap check that a raw entry says the same as a parsed record (`flag`: which list it came from, for v1). */
export type SameRaw = (previous: EndpointRecord, raw: RawObject, flag: boolean) => boolean;

/**
 * Collects the records of one group of a new object version, reusing the previous version's record
 * for each raw entry that is unchanged, so an update costs a cheap field comparison per entry and
 * allocates only for what changed. A previous record is reused at most once per version.
 */
export class RecordCollector {
  readonly records: EndpointRecord[] = [];
  readonly #previous: readonly EndpointRecord[];
  #byLookup: Map<string, number> | undefined;
  /** Previous positions already reused; tracked from the first lookup off the positional path. */
  #claimed: Uint8Array | undefined;

  constructor(previous: readonly EndpointRecord[] | undefined) {
    this.#previous = previous ?? [];
  }

  /** Fast path: reuses the previous record when `same` says the relevant raw fields are unchanged. */
  reuse(lookup: string, raw: RawObject, same: SameRaw, flag: boolean): boolean {
    const at = this.#find(lookup);
    if (at === -1 || !same(this.#previous[at]!, raw, flag)) return false;
    this.#claim(at);
    return true;
  }

  /** Slow path, after validation: still reuses the previous record when the parsed content is the same. */
  add(lookup: string, base: EndpointBase): void {
    const at = this.#find(lookup);
    if (at !== -1 && sameBase(this.#previous[at]!, base)) this.#claim(at);
    else this.records.push(new EndpointRecord(lookup, base));
  }

  /** Position of an unclaimed previous record with this lookup, or -1. */
  #find(lookup: string): number {
    const previous = this.#previous;
    // Controllers keep entry order stable, so the same position is the first guess.
    // Until the first lookup by map, every reuse was positional, at a position below this one.
    let at = this.records.length;
    if (previous[at]?.lookup !== lookup) {
      if (this.#byLookup === undefined) this.#startLookups();
      at = this.#byLookup!.get(lookup) ?? -1;
    }
    return at !== -1 && this.#claimed?.[at] !== 1 ? at : -1;
  }

  #startLookups(): void {
    const previous = this.#previous;
    const records = this.records;
    this.#byLookup = new Map();
    for (let i = previous.length - 1; i >= 0; i--) this.#byLookup.set(previous[i]!.lookup, i);
    // A positional reuse put previous[i] at records[i].
    this.#claimed = new Uint8Array(previous.length);
    for (let i = 0; i < records.length; i++) if (records[i] === previous[i]) this.#claimed[i] = 1;
  }

  #claim(at: number): void {
    if (this.#claimed !== undefined) this.#claimed[at] = 1;
    this.records.push(this.#previous[at]!);
  }
}
