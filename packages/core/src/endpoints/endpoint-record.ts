/**
 * The parsed form of one raw endpoint entry (a slice endpoint, a v1 address) and the collector that
 * carries unchanged entries over from one version of an object to the next.
 *
 * A record is the frozen public `Endpoint` of its group's first port, nothing more: a one-port
 * Service's sets hold the very objects the parser made, and an entry costs one object (plus its
 * targetRef) instead of a record, its Endpoint and the index's state for it. Records are immutable
 * and shared: by every version of the object they did not change in, and by every per-port index
 * that follows the same Service (another port gets Endpoints of its own, made by the index).
 */
import {
  type AddressType,
  canonicalAddress,
  makeEndpoint,
  type RawObject,
  sameBase,
} from './endpoint-fields.js';
import type { ParsedPort } from './ports.js';
import type { Endpoint } from './types.js';

/**
 * One parsed entry: the Endpoint of its group's first port (0 when the group lists none). Its
 * port-independent fields are the entry's; the index makes the Endpoint of another port from it.
 */
export type EndpointRecord = Endpoint;

/**
 * A unit that carries one port list: an EndpointSlice, or one subset of a v1 Endpoints object. The
 * `records` array is never mutated once handed over (sets may hold it as it is).
 */
export interface RecordGroup {
  readonly ports: readonly ParsedPort[];
  readonly records: readonly EndpointRecord[];
}

/** The entry as an Endpoint of `port`: the record itself when it was made for that port. */
export function endpointFor(record: EndpointRecord, port: number): Endpoint {
  return record.port === port ? record : makeEndpoint(record, port);
}

/** Cheap check that a raw entry says the same as a parsed record (`flag`: which list it came from, for v1). */
export type SameRaw = (previous: EndpointRecord, raw: RawObject, flag: boolean) => boolean;

/**
 * Hands out the records of one group of a new object version, in order, reusing the previous
 * version's record for each raw entry that is unchanged, so an update costs a cheap field
 * comparison per entry and allocates only for what changed. A previous record is reused at most
 * once per version. Previous records are looked up by their (canonical) address.
 */
export class RecordCollector {
  readonly #previous: readonly EndpointRecord[];
  readonly #addressType: AddressType | undefined;
  /** The port a new record is made for: the group's first (0 when it lists none). */
  readonly port: number;
  /** Records handed out so far: the position of the next one. */
  #taken = 0;
  #byAddress: Map<string, number> | undefined;
  /** Previous positions already reused; tracked from the first lookup off the positional path. */
  #claimed: Uint8Array | undefined;
  /** Until then: the positions that got a new record (every other position reused its previous one). */
  readonly #fresh: number[] = [];

  /**
   * `addressType`: the type of every record of the group (addresses are canonical per type), used
   * to read a raw address the way the records were read; undefined for v1 (inferred per address).
   */
  constructor(
    previous: readonly EndpointRecord[] | undefined,
    ports: readonly ParsedPort[],
    addressType?: AddressType,
  ) {
    this.port = ports[0]?.port ?? 0;
    // Records are Endpoints of their group's first port: after a change of that port none is reusable.
    this.#previous = previous !== undefined && previous[0]?.port === this.port ? previous : [];
    this.#addressType = addressType;
  }

  /** Whether there is a previous version to reuse records from (else `reuse` always answers undefined). */
  get canReuse(): boolean {
    return this.#previous.length > 0;
  }

  /**
   * Fast path: the previous record, when `same` says the relevant raw fields are unchanged. `first`
   * is the raw first address (ip), as written in the object.
   */
  reuse(first: string, raw: RawObject, same: SameRaw, flag: boolean): EndpointRecord | undefined {
    let at = this.#find(first);
    if (at === -1 && this.#previous.length > 0) {
      // Written in another form than the canonical one the records hold ('010.0.0.1', IPv6 text).
      // v1 addresses have no type of their own: inferred as the v1 parser does.
      const type = this.#addressType ?? (first.includes(':') ? 'IPv6' : 'IPv4');
      const canonical = canonicalAddress(type, first);
      if (canonical !== first) at = this.#find(canonical);
    }
    if (at === -1 || !same(this.#previous[at]!, raw, flag)) return undefined;
    return this.#claim(at);
  }

  /** Slow path, after validation: still the previous record when the parsed content is the same. */
  add(endpoint: Endpoint): EndpointRecord {
    const at = this.#find(endpoint.address);
    if (at !== -1 && sameBase(this.#previous[at]!, endpoint)) return this.#claim(at);
    // Without previous records no lookup map is ever started, which is all `#fresh` is for.
    if (this.#claimed === undefined && this.#previous.length > 0) this.#fresh.push(this.#taken);
    this.#taken++;
    return endpoint;
  }

  /** Position of an unclaimed previous record with this (canonical) address, or -1. */
  #find(address: string): number {
    const previous = this.#previous;
    if (previous.length === 0) return -1;
    // Controllers keep entry order stable, so the same position is the first guess. Until the
    // first lookup by map, every reuse was positional, at a position below this one.
    let at = this.#taken;
    if (previous[at]?.address !== address) {
      if (this.#byAddress === undefined) this.#startLookups();
      at = this.#byAddress!.get(address) ?? -1;
    }
    return at !== -1 && this.#claimed?.[at] !== 1 ? at : -1;
  }

  #startLookups(): void {
    const previous = this.#previous;
    this.#byAddress = new Map();
    for (let i = previous.length - 1; i >= 0; i--) this.#byAddress.set(previous[i]!.address, i);
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
