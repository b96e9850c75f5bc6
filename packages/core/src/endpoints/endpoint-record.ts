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
 * Hands out the records of one group of a new object version, in order, reusing the previous
 * version's record for each raw entry that is unchanged, so an update costs a cheap field
 * comparison per entry and allocates only for what changed. A previous record is reused at most
 * once per version.
 */
export class RecordCollector {
  readonly #previous: readonly EndpointRecord[];
  /** Records handed out so far: the position of the next one. */
  #taken = 0;
  #byLookup: Map<string, number> | undefined;
  /** Previous positions already reused; tracked from the first lookup off the positional path. */
  #claimed: Uint8Array | undefined;
  /** Until then: the positions that got a new record (every other position reused its previous one). */
  readonly #fresh: number[] = [];

  constructor(previous: readonly EndpointRecord[] | undefined) {
    this.#previous = previous ?? [];
  }

  /** Fast path: the previous record, when `same` says the relevant raw fields are unchanged. */
  reuse(lookup: string, raw: RawObject, same: SameRaw, flag: boolean): EndpointRecord | undefined {
    const at = this.#find(lookup);
    if (at === -1 || !same(this.#previous[at]!, raw, flag)) return undefined;
    return this.#claim(at);
  }

  /** Slow path, after validation: still the previous record when the parsed content is the same. */
  add(lookup: string, base: EndpointBase): EndpointRecord {
    const at = this.#find(lookup);
    if (at !== -1 && sameBase(this.#previous[at]!, base)) return this.#claim(at);
    if (this.#claimed === undefined) this.#fresh.push(this.#taken);
    this.#taken++;
    return new EndpointRecord(lookup, base);
  }

  /** Position of an unclaimed previous record with this lookup, or -1. */
  #find(lookup: string): number {
    const previous = this.#previous;
    if (previous.length === 0) return -1;
    // Controllers keep entry order stable, so the same position is the first guess. Until the
    // first lookup by map, every reuse was positional, at a position below this one.
    let at = this.#taken;
    if (previous[at]?.lookup !== lookup) {
      if (this.#byLookup === undefined) this.#startLookups();
      at = this.#byLookup!.get(lookup) ?? -1;
    }
    return at !== -1 && this.#claimed?.[at] !== 1 ? at : -1;
  }

  #startLookups(): void {
    const previous = this.#previous;
    this.#byLookup = new Map();
    for (let i = previous.length - 1; i >= 0; i--) this.#byLookup.set(previous[i]!.lookup, i);
    const claimed = new Uint8Array(previous.length);
    claimed.fill(1, 0, Math.min(this.#taken, previous.length));
    for (const position of this.#fresh) if (position < previous.length) claimed[position] = 0;
    this.#claimed = claimed;
  }

  #claim(at: number): EndpointRecord {
    if (this.#claimed !== undefined) this.#claimed[at] = 1;
    this.#taken++;
    return this.#previous[at]!;
  }
}
