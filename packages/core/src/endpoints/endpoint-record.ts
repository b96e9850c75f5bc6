/**
 * The port-independent, parsed form of one raw endpoint entry (a slice endpoint, a v1 address) and
 * the collector that carries unchanged entries over from one version of an object to the next.
 * Records are immutable and shared: by every version of the object they did not change in, and by
 * every per-port aggregator that follows the same Service.
 */
import {
  type AddressType,
  type EndpointBase,
  makeEndpoint,
  type RawObject,
  sameBase,
} from './endpoint-fields.js';
import type { ParsedPort } from './ports.js';
import type { Endpoint, EndpointHints, EndpointTargetRef } from './types.js';

let serials = 0;

/**
 * One parsed entry, held as the frozen Endpoint for its group's first port: what a one-port
 * Service's sets hold, so that the record and its sets share one object instead of each keeping a
 * copy of every field. The port-independent fields read through to it.
 */
export class EndpointRecord implements EndpointBase {
  /**
   * Creation order: a record newer than every record of a group's previous version cannot be one of
   * them, so an index recognizes a changed entry without searching for it.
   */
  readonly serial = ++serials;
  /** Lookup key inside its group: the raw first address / ip, as written in the object. */
  readonly lookup: string;
  /** The entry as an Endpoint of the port its group listed first (0 when it lists none). */
  readonly endpoint: Endpoint;

  constructor(lookup: string, endpoint: Endpoint) {
    this.lookup = lookup;
    this.endpoint = endpoint;
    Object.freeze(this);
  }

  get address(): string {
    return this.endpoint.address;
  }
  get addressType(): AddressType {
    return this.endpoint.addressType;
  }
  get ready(): boolean {
    return this.endpoint.ready;
  }
  get serving(): boolean {
    return this.endpoint.serving;
  }
  get terminating(): boolean {
    return this.endpoint.terminating;
  }
  get nodeName(): string | undefined {
    return this.endpoint.nodeName;
  }
  get zone(): string | undefined {
    return this.endpoint.zone;
  }
  get hostname(): string | undefined {
    return this.endpoint.hostname;
  }
  get hints(): EndpointHints | undefined {
    return this.endpoint.hints;
  }
  get targetRef(): EndpointTargetRef | undefined {
    return this.endpoint.targetRef;
  }

  /** The entry as an Endpoint of this port: its own when the port is the one it was made for. */
  endpointFor(port: number): Endpoint {
    return this.endpoint.port === port ? this.endpoint : makeEndpoint(this, port);
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
  /** The port a new record's Endpoint is made for: the group's first (0 when it lists none). */
  readonly port: number;
  /** Records handed out so far: the position of the next one. */
  #taken = 0;
  #byLookup: Map<string, number> | undefined;
  /** Previous positions already reused; tracked from the first lookup off the positional path. */
  #claimed: Uint8Array | undefined;
  /** Until then: the positions that got a new record (every other position reused its previous one). */
  readonly #fresh: number[] = [];

  constructor(previous: readonly EndpointRecord[] | undefined, ports: readonly ParsedPort[]) {
    this.#previous = previous ?? [];
    this.port = ports[0]?.port ?? 0;
  }

  /** Whether there is a previous version to reuse records from (else `reuse` always answers undefined). */
  get canReuse(): boolean {
    return this.#previous.length > 0;
  }

  /** Fast path: the previous record, when `same` says the relevant raw fields are unchanged. */
  reuse(lookup: string, raw: RawObject, same: SameRaw, flag: boolean): EndpointRecord | undefined {
    const at = this.#find(lookup);
    if (at === -1 || !same(this.#previous[at]!, raw, flag)) return undefined;
    return this.#claim(at);
  }

  /**
   * Slow path, after validation, with the entry as an Endpoint of `port`: still the previous record
   * when the parsed content is the same.
   */
  add(lookup: string, endpoint: Endpoint): EndpointRecord {
    const at = this.#find(lookup);
    if (at !== -1 && sameBase(this.#previous[at]!, endpoint)) return this.#claim(at);
    // Without previous records no lookup map is ever started, which is all `#fresh` is for.
    if (this.#claimed === undefined && this.#previous.length > 0) this.#fresh.push(this.#taken);
    this.#taken++;
    return new EndpointRecord(lookup, endpoint);
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
