/**
 * The incremental core both aggregators share: port groups (slices / v1 subsets) of parsed records,
 * the address+port dedupe index with kube-proxy's preference rule, ready counts, per-group output
 * chunks; it uses ports.ts to select the port and endpoint-set.ts to build the set.
 *
 * Cost model: replacing one group costs O(size of that group): unchanged records (recognized by
 * identity, as the parsers share them between versions) keep their entry, and so their frozen
 * Endpoint, and are not touched in the index. `snapshot()` rebuilds only the chunks of groups that
 * changed and hands the list of chunks to the set, which concatenates it on first read (O(n)
 * pointer copies, once per set that is read). Only a change of the automatically selected port
 * name (or a bulk reset that changes it) re-indexes everything.
 *
 * Diffs (`EndpointSet.changes`): every promotion or demotion of a winner notes, on the first touch
 * of its address:port since the last emitted set, what that set routed to there; `snapshot()` then
 * compares each noted address:port with its current winner. O(changed), whatever the set's size.
 */
import type { EndpointRecord, RecordGroup } from './endpoint-record.js';
import { type EndpointsList, makeChanges, makeEndpointSet, sameMembers } from './endpoint-set.js';
import { PortSelectionError } from './errors.js';
import {
  countPortNames,
  describePorts,
  fixedSelector,
  matchPort,
  type ParsedPort,
  type PortSelector,
  samePorts,
  sameSelector,
  selectorFromNames,
  toPortRef,
} from './ports.js';
import type { Endpoint, EndpointChange, EndpointChanges, EndpointSet, ServicePortRef } from './types.js';

let epochCounter = 0;

/**
 * This index's state for one record of a group: the frozen Endpoint for the group's port and the
 * record's place in the dedupe index. Records are shared by every per-port index of a Service, so
 * this state lives beside them, never on them.
 */
class Entry {
  readonly record: EndpointRecord;
  readonly group: Group;
  /** Commit generation that last carried this entry over (one entry is never used twice). */
  epoch = 0;
  /** Frozen Endpoint for the port of `endpoint.port`; rebuilt only when the group's port number changes. */
  endpoint: Endpoint | undefined = undefined;
  /** In the dedupe index, under endpoint.port and endpoint.address. */
  indexed = false;
  winner = false;

  constructor(record: EndpointRecord, group: Group) {
    this.record = record;
    this.group = group;
  }

  get ready(): boolean {
    return this.record.endpoint.ready;
  }
}

const NO_ENDPOINTS: Endpoint[] = [];

/** An address:port whose winner changed since the last emitted set, and what that set routed to there. */
interface Pending {
  readonly port: number;
  readonly address: string;
  /** The Endpoint the last set's `endpoints` held for this address:port, if any. */
  readonly before: Endpoint | undefined;
}

/** Whether an endpoint is in `EndpointSet.endpoints`: ready, or in the fallback list when none is. */
function routable(e: Endpoint, fallback: boolean): boolean {
  return fallback ? e.serving && e.terminating : e.ready;
}
const isWinner = (e: Entry) => e.winner;
const endpointOf = (e: Entry) => e.endpoint!;

/** What a new version of a group changed: entries it no longer has, entries it did not have. */
interface GroupDiff {
  readonly removed: readonly Entry[];
  readonly added: readonly Entry[];
}

const UNCHANGED: GroupDiff = Object.freeze({ removed: [], added: [] });

/** Persistent per-name record of a group. */
class Group {
  readonly name: string;
  ports: readonly ParsedPort[] = [];
  records: readonly EndpointRecord[] = [];
  /** Parallel to `records`. Mutated in place: nothing outside the group holds it. */
  entries: Entry[] = [];
  /** The highest record serial in `records` (or above): a newer record is not among them. */
  newestSerial = 0;
  matched: ParsedPort | undefined = undefined;
  /** Position in the engine's sorted group list. */
  pos = -1;
  /** The chunk is out of date (and the group is queued in the engine's `touched` list). */
  stale = true;
  /** This group's winners in entry order; a new array at each change, as sets keep the old one. */
  chunk: Endpoint[] = NO_ENDPOINTS;

  constructor(name: string) {
    this.name = name;
  }

  /** Takes the new version's records, carrying over the entry of every record it already had. */
  replace(group: RecordGroup): GroupDiff {
    const records = group.records;
    const oldRecords = this.records;
    this.ports = group.ports;
    this.records = records;
    if (records.length === oldRecords.length) {
      // The usual update: some entries changed in place, nothing moved. A differing record newer
      // than every old one is a changed entry; an older one moved here from elsewhere.
      const newest = this.newestSerial;
      const changed: number[] = [];
      let moved = false;
      for (let i = 0; i < records.length; i++) {
        const r = records[i]!;
        if (r === oldRecords[i]) continue;
        if (r.serial <= newest) {
          moved = true;
          break;
        }
        changed.push(i);
      }
      if (!moved) return changed.length === 0 ? UNCHANGED : this.replaceAt(changed);
    }
    return this.regroup(oldRecords, records);
  }

  /** New entries at these positions (their records changed in place). */
  private replaceAt(positions: readonly number[]): GroupDiff {
    const entries = this.entries;
    const removed: Entry[] = [];
    const added: Entry[] = [];
    for (const i of positions) {
      const r = this.records[i]!;
      removed.push(entries[i]!);
      const e = new Entry(r, this);
      entries[i] = e;
      added.push(e);
      if (r.serial > this.newestSerial) this.newestSerial = r.serial;
    }
    return { removed, added };
  }

  /** General case (entries added, removed or moved): entries are found by record. */
  private regroup(oldRecords: readonly EndpointRecord[], records: readonly EndpointRecord[]): GroupDiff {
    const epoch = ++epochCounter;
    const oldEntries = this.entries;
    const byRecord = oldRecords.length === 0 ? undefined : new Map<EndpointRecord, Entry>();
    for (let j = 0; j < oldRecords.length; j++) byRecord!.set(oldRecords[j]!, oldEntries[j]!);
    const added: Entry[] = [];
    const entries: Entry[] = [];
    let newest = 0;
    for (const r of records) {
      if (r.serial > newest) newest = r.serial;
      let e = byRecord?.get(r);
      if (e === undefined || e.epoch === epoch) {
        e = new Entry(r, this);
        added.push(e);
      }
      e.epoch = epoch;
      entries.push(e);
    }
    this.entries = entries;
    this.newestSerial = newest;
    return { removed: oldEntries.filter((e) => e.epoch !== epoch), added };
  }

  /** Rebuilds the chunk as a new array: chunks handed out to a set are never mutated. */
  rebuildChunk(): void {
    const entries = this.entries;
    let everyOneWins = true;
    for (const e of entries) {
      if (!e.winner) {
        everyOneWins = false;
        break;
      }
    }
    // `map` sizes the array exactly (the usual case: no copy of an address in another group).
    this.chunk = (everyOneWins ? entries : entries.filter(isWinner)).map(endpointOf);
    this.stale = false;
  }
}

/** kube-proxy's preference between two copies of one address+port: non-terminating, then ready, then group name. */
function better(a: Entry, b: Entry): boolean {
  const ra = a.record;
  const rb = b.record;
  if (ra.terminating !== rb.terminating) return !ra.terminating;
  if (ra.ready !== rb.ready) return ra.ready;
  const ga = a.group.name;
  const gb = b.group.name;
  if (ga !== gb) return ga < gb;
  // Two copies inside one group (not expected from controllers): order by content, deterministically.
  return JSON.stringify(a.endpoint) < JSON.stringify(b.endpoint);
}

/** The part of the aggregator options the index needs. */
export interface EndpointIndexOptions {
  readonly namespace: string;
  readonly service: string;
  readonly port?: string | number | undefined;
}

export class EndpointIndex {
  private readonly opts: EndpointIndexOptions;
  private readonly source: EndpointSet['source'];
  private readonly groups = new Map<string, Group>();
  private sorted: Group[] | undefined = undefined;
  /** Dedupe index: port -> address -> the copies (usually one) of that address:port. */
  private readonly keys = new Map<number, Map<string, Entry | Entry[]>>();
  /** Port name -> number of groups declaring it (drives the automatic selection). */
  private readonly declared = new Map<string, number>();
  private readonly fixed: PortSelector | undefined;
  private selector: PortSelector;
  private allCount = 0;
  private readyCount = 0;
  private batch = false;
  /** The winners changed since the last emitted set. */
  private dirty = false;
  /** Everything was re-indexed: compare with the last emitted set before emitting. */
  private verify = false;
  private last: EndpointSet | undefined = undefined;
  /** Groups whose chunks are stale, in no order. */
  private touched: Group[] = [];
  /** Per sorted group, its current chunk; copied on write because sets keep it. */
  private partsFor: readonly Group[] | undefined = undefined;
  private parts: Endpoint[][] = [];
  /** Address:ports touched since the last emitted set (keyed `port address`), while `tracking`. */
  private readonly pending = new Map<string, Pending>();
  /** The state is the last emitted set's plus what `pending` noted (false before the first set and after a re-index). */
  private tracking = false;
  /** The last emitted set routed to the serving-and-terminating fallback. */
  private lastFallback = false;

  constructor(opts: EndpointIndexOptions, source: EndpointSet['source']) {
    this.opts = opts;
    this.source = source;
    this.fixed = fixedSelector(opts.port);
    this.selector = this.fixed ?? selectorFromNames(this.declared);
  }

  /** Replaces (group) or removes (undefined) one group. */
  apply(name: string, group: RecordGroup | undefined): void {
    const g = this.groups.get(name);
    if (group === undefined) {
      if (g === undefined) return;
      this.groups.delete(name);
      this.sorted = undefined;
      countPortNames(this.declared, g.ports, -1);
      if (!this.reselect()) for (const e of g.entries) this.unindex(e);
      return;
    }
    let grp = g;
    if (grp === undefined) {
      grp = new Group(name);
      this.groups.set(name, grp);
      this.sorted = undefined;
    }
    const portsChanged = g === undefined || !samePorts(g.ports, group.ports);
    if (portsChanged) {
      countPortNames(this.declared, grp.ports, -1);
      countPortNames(this.declared, group.ports, 1);
    }
    const oldPort = grp.matched?.port;
    const diff = grp.replace(group);
    if (diff === UNCHANGED && !portsChanged) return;
    const { removed, added } = diff;
    this.touch(grp);
    if (portsChanged) {
      if (this.reselect()) return;
      grp.matched = matchPort(group.ports, this.selector);
    }
    const port = grp.matched?.port;
    for (const e of removed) this.unindex(e);
    if (port !== oldPort) {
      // Another port number: every entry moves to other keys.
      for (const e of grp.entries) this.unindex(e);
      if (port !== undefined) for (const e of grp.entries) this.index(e, port);
      return;
    }
    if (port !== undefined) for (const e of added) this.index(e, port);
  }

  /** Replaces all groups at once (initial list, relist, a new v1 Endpoints version). */
  replaceAll(groups: ReadonlyMap<string, RecordGroup>): void {
    const declared = new Map<string, number>();
    for (const group of groups.values()) countPortNames(declared, group.ports, 1);
    const selector = this.fixed ?? selectorFromNames(declared);
    if (sameSelector(selector, this.selector)) {
      // Incremental: unchanged groups cost one pass over their records, nothing else.
      this.batch = true;
      try {
        for (const name of [...this.groups.keys()]) if (!groups.has(name)) this.apply(name, undefined);
        for (const [name, group] of groups) this.apply(name, group);
      } finally {
        this.batch = false;
      }
      return;
    }
    for (const name of [...this.groups.keys()]) if (!groups.has(name)) this.groups.delete(name);
    for (const [name, group] of groups) {
      let g = this.groups.get(name);
      if (g === undefined) {
        g = new Group(name);
        this.groups.set(name, g);
      }
      g.replace(group);
    }
    this.sorted = undefined;
    this.declared.clear();
    for (const [name, n] of declared) this.declared.set(name, n);
    this.selector = selector;
    this.reindexAll();
  }

  /** After a change of the declared port names: switches the automatic selection if needed. */
  private reselect(): boolean {
    if (this.fixed !== undefined || this.batch) return false;
    const next = selectorFromNames(this.declared);
    if (sameSelector(next, this.selector)) return false;
    this.selector = next;
    this.reindexAll();
    return true;
  }

  private reindexAll(): void {
    const dirty = this.dirty;
    this.tracking = false;
    this.pending.clear();
    this.keys.clear();
    this.allCount = 0;
    this.readyCount = 0;
    for (const g of this.groups.values()) {
      g.matched = matchPort(g.ports, this.selector);
      g.stale = true;
      for (const e of g.entries) {
        e.indexed = false;
        e.winner = false;
      }
    }
    for (const g of this.groups.values()) {
      const port = g.matched?.port;
      if (port !== undefined) for (const e of g.entries) this.index(e, port);
    }
    this.dirty = dirty;
    this.verify = true;
    this.partsFor = undefined;
  }

  private index(e: Entry, port: number): void {
    let ep = e.endpoint;
    if (ep === undefined || ep.port !== port) ep = e.endpoint = e.record.endpointFor(port);
    e.indexed = true;
    // Two levels keyed by the number and the address string itself: no concatenated key to build and hash.
    let byAddress = this.keys.get(port);
    if (byAddress === undefined) {
      byAddress = new Map();
      this.keys.set(port, byAddress);
    }
    const address = ep.address;
    const slot = byAddress.get(address);
    if (slot === undefined) {
      byAddress.set(address, e);
      this.promote(e);
    } else if (Array.isArray(slot)) {
      const w = slot.find((x) => x.winner)!;
      slot.push(e);
      if (better(e, w)) {
        this.demote(w);
        this.promote(e);
      }
    } else {
      byAddress.set(address, [slot, e]);
      if (better(e, slot)) {
        this.demote(slot);
        this.promote(e);
      }
    }
  }

  private unindex(e: Entry): void {
    if (!e.indexed) return;
    e.indexed = false;
    const { address, port } = e.endpoint!;
    const byAddress = this.keys.get(port)!;
    const slot = byAddress.get(address)!;
    if (!Array.isArray(slot)) {
      byAddress.delete(address);
      if (byAddress.size === 0) this.keys.delete(port);
      this.demote(e);
      return;
    }
    slot.splice(slot.indexOf(e), 1);
    if (slot.length === 1) byAddress.set(address, slot[0]!);
    if (!e.winner) return;
    this.demote(e);
    let best = slot[0]!;
    for (let i = 1; i < slot.length; i++) if (better(slot[i]!, best)) best = slot[i]!;
    this.promote(best);
  }

  private promote(e: Entry): void {
    // Any previous winner of this address:port was demoted first (and noted there).
    if (this.tracking) this.note(e.endpoint!, undefined);
    e.winner = true;
    this.touch(e.group);
    this.allCount++;
    if (e.ready) this.readyCount++;
    this.dirty = true;
  }

  private demote(e: Entry): void {
    if (this.tracking) {
      const ep = e.endpoint!;
      this.note(ep, routable(ep, this.lastFallback) ? ep : undefined);
    }
    e.winner = false;
    this.touch(e.group);
    this.allCount--;
    if (e.ready) this.readyCount--;
    this.dirty = true;
  }

  /** On the first touch of an address:port since the last set: what that set routed to there. */
  private note(ep: Endpoint, before: Endpoint | undefined): void {
    const key = `${ep.port} ${ep.address}`;
    if (!this.pending.has(key)) this.pending.set(key, { port: ep.port, address: ep.address, before });
  }

  /** The current winner of an address:port, if any. */
  private winnerAt(port: number, address: string): Entry | undefined {
    const slot = this.keys.get(port)?.get(address);
    if (slot === undefined) return undefined;
    return Array.isArray(slot) ? slot.find(isWinner) : slot;
  }

  /** The diff from `base` (the last emitted set) over the noted address:ports. */
  private diff(base: EndpointSet, fallback: boolean): EndpointChanges {
    const added: Endpoint[] = [];
    const removed: Endpoint[] = [];
    const changed: EndpointChange[] = [];
    for (const p of this.pending.values()) {
      const ep = this.winnerAt(p.port, p.address)?.endpoint;
      const after = ep !== undefined && routable(ep, fallback) ? ep : undefined;
      const before = p.before;
      if (before === after) continue;
      if (before === undefined) added.push(after!);
      else if (after === undefined) removed.push(before);
      else changed.push(Object.freeze({ before, after }));
    }
    return makeChanges(base, added, removed, changed);
  }

  private touch(g: Group): void {
    if (g.stale) return;
    g.stale = true;
    if (this.touched.length > this.groups.size + 64) {
      // Many groups came and went without a snapshot: forget the list, the next one rebuilds all parts.
      this.touched = [];
      this.partsFor = undefined;
    }
    this.touched.push(g);
  }

  private sortedGroups(): Group[] {
    if (this.sorted === undefined) {
      const sorted = [...this.groups.values()].sort((a, b) =>
        a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
      );
      for (let i = 0; i < sorted.length; i++) sorted[i]!.pos = i;
      this.sorted = sorted;
    }
    return this.sorted;
  }

  /** Brings the per-group chunk list up to date: O(changed groups), or O(groups) after a regrouping. */
  private updateParts(sorted: Group[]): void {
    if (this.partsFor !== sorted) {
      const parts: Endpoint[][] = [];
      for (const g of sorted) {
        if (g.stale) g.rebuildChunk();
        parts.push(g.chunk);
      }
      this.parts = parts;
      this.partsFor = sorted;
    } else if (this.touched.length > 0) {
      const parts = this.parts.slice();
      // Same sorted list: no group was added or removed since, so every touched group is in it.
      for (const g of this.touched) {
        g.rebuildChunk();
        parts[g.pos] = g.chunk;
      }
      this.parts = parts;
    }
    for (const g of this.touched) g.stale = false;
    this.touched = [];
  }

  private describe(): string {
    return `Service ${this.opts.namespace}/${this.opts.service}`;
  }

  /** The set's port; throws PortSelectionError when the choice is ambiguous. */
  private portRef(sorted: readonly Group[]): ServicePortRef | undefined {
    const sel = this.selector;
    if (this.fixed === undefined && this.declared.size > 1) {
      const available = describePorts(sorted.map((g) => g.ports));
      throw new PortSelectionError(
        `${this.describe()} has several ports; choose one with the port option`,
        available,
      );
    }
    if (sel.kind === 'number') {
      const names = new Set<string>();
      for (const g of sorted) for (const p of g.ports) if (p.port === sel.port) names.add(p.name);
      if (names.size > 1) {
        const available = describePorts(
          sorted.map((g) => g.ports),
          (p) => p.port === sel.port,
        );
        throw new PortSelectionError(
          `${this.describe()}: port ${sel.port} matches several named ports; choose one by name`,
          available,
        );
      }
    }
    for (const g of sorted) if (g.matched !== undefined) return toPortRef(g.matched, this.last?.port);
    // A port asked for that the slices, which do declare ports, do not carry: a typo, or a Service
    // port number where the slices list target ports. An empty set would look like a Service
    // without pods forever. (Slices without ports — a Service with no endpoints — stay an empty set.)
    if (this.fixed !== undefined && this.declared.size > 0) {
      const asked =
        sel.kind === 'name'
          ? `no port named "${sel.name}"`
          : `no port ${sel.kind === 'number' ? sel.port : ''}`;
      const numberHint =
        sel.kind === 'number'
          ? ' (a number is a Service port when the Service can be read, which needs get on services, else a target port of its endpoints)'
          : '';
      throw new PortSelectionError(
        `${this.describe()} has ${asked}${numberHint}; its ${this.source === 'endpoints' ? 'Endpoints subsets' : 'EndpointSlices'} declare`,
        describePorts(sorted.map((g) => g.ports)),
      );
    }
    return undefined;
  }

  snapshot(resourceVersion: string | undefined): EndpointSet | undefined {
    const sorted = this.sortedGroups();
    const port = this.portRef(sorted);
    const last = this.last;
    if (last !== undefined && !this.dirty && !this.verify && port === last.port) return undefined;
    this.updateParts(sorted);
    const list: EndpointsList =
      this.readyCount === this.allCount ? 'all' : this.readyCount > 0 ? 'ready' : 'fallback';
    const fallback = list === 'fallback';
    const changes =
      this.tracking && last !== undefined && fallback === this.lastFallback
        ? this.diff(last, fallback)
        : undefined;
    this.pending.clear();
    this.tracking = true;
    this.lastFallback = fallback;
    const set = makeEndpointSet(
      {
        namespace: this.opts.namespace,
        service: this.opts.service,
        port,
        resourceVersion,
        source: this.source,
      },
      this.parts,
      list,
      changes,
    );
    const verify = this.verify && !this.dirty;
    this.dirty = false;
    this.verify = false;
    // After a full re-index (rare, O(n) anyway): emit only if the content really differs.
    if (
      verify &&
      last !== undefined &&
      port === last.port &&
      sameMembers(set.all, last.all) &&
      sameMembers(set.endpoints, last.endpoints)
    ) {
      return undefined;
    }
    this.last = set;
    return set;
  }
}
