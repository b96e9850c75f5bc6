/**
 * The incremental core both aggregators share: port groups (slices / v1 subsets) of parsed records,
 * the address+port dedupe index with kube-proxy's preference rule, ready counts, per-group output
 * chunks; it uses ports.ts to select the port and endpoint-set.ts to build the set.
 *
 * Cost model: replacing one group costs O(size of that group): unchanged records (recognized by
 * identity, as the parsers share them between versions) keep their entry, and so their frozen
 * Endpoint, and are not touched in the index. Per-entry state is column-wise (entry-columns.ts) and
 * the dedupe index an open-addressing table (address-table.ts): an entry allocates no object of
 * its own, and a group that follows its records' port uses the records themselves as its Endpoints
 * (and its records array as its chunk while every entry wins). `snapshot()` rebuilds only the chunks of groups that
 * changed and hands the list of chunks to the set, which concatenates it on first read (O(n)
 * pointer copies, once per set that is read). Only a change of the automatically selected port
 * name (or a bulk reset that changes it) re-indexes everything.
 *
 * Diffs (`EndpointSet.changes`): every promotion or demotion of a winner notes, on the first touch
 * of its address:port since the last emitted set, what that set routed to there; `snapshot()` then
 * compares each noted address:port with its current winner. O(changed), whatever the set's size.
 */
import { AddressTable, keyHash } from './address-table.js';
import { type EndpointRecord, endpointFor, type RecordGroup } from './endpoint-record.js';
import { type EndpointsList, makeChanges, makeEndpointSet, sameMembers } from './endpoint-set.js';
import { EntryColumns, INDEXED, NO_ENTRY, WINNER } from './entry-columns.js';
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

const NO_ENDPOINTS: Endpoint[] = [];
const NO_IDS = new Int32Array(0);

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

/**
 * What a new version of a group changed: the entries it no longer has (ids, still indexed), and the
 * positions of records it did not have (their `ids` are NO_ENTRY until `fill` gives them entries,
 * once the removed ones are released, so that a one-for-one change reuses the freed id).
 */
interface GroupDiff {
  readonly removed: readonly number[];
  readonly added: readonly number[];
}

const UNCHANGED: GroupDiff = Object.freeze({ removed: [], added: [] });

/** Persistent per-name record of a group. */
class Group {
  readonly name: string;
  /** This group's number: what its entries' `group` column holds. */
  readonly number: number;
  ports: readonly ParsedPort[] = [];
  records: readonly EndpointRecord[] = [];
  /** Entry id per position, parallel to `records`. Mutated in place: nothing outside the group holds it. */
  ids: Int32Array = NO_IDS;
  matched: ParsedPort | undefined = undefined;
  /** Position in the engine's sorted group list. */
  pos = -1;
  /** The chunk is out of date (and the group is queued in the engine's `touched` list). */
  stale = true;
  /** This group's winners in entry order; a new array at each change, as sets keep the old one. */
  chunk: readonly Endpoint[] = NO_ENDPOINTS;

  constructor(name: string, number: number) {
    this.name = name;
    this.number = number;
  }
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
  /** Groups by number (a removed group's number is reused). */
  private readonly byNumber: (Group | undefined)[] = [];
  private readonly freeNumbers: number[] = [];
  private sorted: Group[] | undefined = undefined;
  private readonly entries = new EntryColumns();
  /** Dedupe index: port + address -> the first of the copies (usually one) of that address:port. */
  private readonly keys = new AddressTable(this.entries);
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
      const reindexed = this.reselect();
      for (const id of g.ids) {
        if (!reindexed) this.unindex(id);
        this.entries.release(id);
      }
      this.dropGroup(g);
      return;
    }
    let grp = g;
    if (grp === undefined) {
      grp = this.newGroup(name);
      this.sorted = undefined;
    }
    const portsChanged = g === undefined || !samePorts(g.ports, group.ports);
    if (portsChanged) {
      countPortNames(this.declared, grp.ports, -1);
      countPortNames(this.declared, group.ports, 1);
    }
    const oldPort = grp.matched?.port;
    const diff = this.replace(grp, group);
    if (diff === UNCHANGED && !portsChanged) return;
    const { removed, added } = diff;
    this.touch(grp);
    // Removed entries leave the table while it still knows them (a re-index below forgets it).
    for (const id of removed) {
      this.unindex(id);
      this.entries.release(id);
    }
    this.fill(grp, added);
    if (portsChanged) {
      if (this.reselect()) return;
      grp.matched = matchPort(group.ports, this.selector);
    }
    const port = grp.matched?.port;
    if (port !== oldPort) {
      // Another port number: every entry moves to other keys.
      for (const id of grp.ids) this.unindex(id);
      if (port !== undefined) this.indexGroup(grp, port);
      return;
    }
    if (port !== undefined) {
      const endpoints = this.entries.endpoint;
      const ids = grp.ids;
      for (const i of added) {
        const id = ids[i]!;
        endpoints[id] = endpointFor(endpoints[id]!, port);
        this.index(id);
      }
    }
  }

  /** Replaces all groups at once (initial list, relist, a new v1 Endpoints version). */
  replaceAll(groups: ReadonlyMap<string, RecordGroup>): void {
    const declared = new Map<string, number>();
    let records = 0;
    for (const group of groups.values()) {
      countPortNames(declared, group.ports, 1);
      records += group.records.length;
    }
    const selector = this.fixed ?? selectorFromNames(declared);
    if (sameSelector(selector, this.selector)) {
      // Incremental: unchanged groups cost one pass over their records, nothing else. A first
      // list (a fixed port) sizes the columns and the table once, exactly.
      if (this.groups.size === 0) {
        this.entries.reserve(records);
        this.keys.reserve(records);
      }
      this.batch = true;
      try {
        for (const name of [...this.groups.keys()]) if (!groups.has(name)) this.apply(name, undefined);
        for (const [name, group] of groups) this.apply(name, group);
      } finally {
        this.batch = false;
      }
      return;
    }
    for (const [name, g] of [...this.groups]) {
      if (groups.has(name)) continue;
      this.groups.delete(name);
      for (const id of g.ids) this.entries.release(id);
      this.dropGroup(g);
    }
    this.entries.reserve(records);
    for (const [name, group] of groups) {
      const g = this.groups.get(name) ?? this.newGroup(name);
      const { removed, added } = this.replace(g, group);
      for (const id of removed) this.entries.release(id);
      this.fill(g, added);
    }
    this.sorted = undefined;
    this.declared.clear();
    for (const [name, n] of declared) this.declared.set(name, n);
    this.selector = selector;
    this.reindexAll();
  }

  private newGroup(name: string): Group {
    const number = this.freeNumbers.pop() ?? this.byNumber.length;
    const g = new Group(name, number);
    this.byNumber[number] = g;
    this.groups.set(name, g);
    return g;
  }

  private dropGroup(g: Group): void {
    this.byNumber[g.number] = undefined;
    this.freeNumbers.push(g.number);
    g.ids = NO_IDS;
  }

  /**
   * Takes the new version's records, carrying over the entry of every record it already had (see
   * GroupDiff for what is left to the caller).
   */
  private replace(g: Group, group: RecordGroup): GroupDiff {
    const records = group.records;
    const old = g.records;
    g.ports = group.ports;
    g.records = records;
    if (records === old) return UNCHANGED;
    if (records.length === old.length) {
      // The usual update: some entries changed in place, nothing moved. A position whose record
      // differs gets a new entry, unless its record is an old one that moved (a reorder is no
      // change): then entries are matched by record. A moved record comes from a position that
      // differs too, so only those are looked at.
      const changed: number[] = [];
      for (let i = 0; i < records.length; i++) if (records[i] !== old[i]) changed.push(i);
      if (changed.length === 0) return UNCHANGED;
      const left = changed.length === 1 ? undefined : new Set(changed.map((i) => old[i]));
      if (left === undefined || !changed.some((i) => left.has(records[i]!)))
        return this.replaceAt(g, changed);
    }
    return this.regroup(g, old, records);
  }

  /** These positions' records changed in place. */
  private replaceAt(g: Group, positions: readonly number[]): GroupDiff {
    const ids = g.ids;
    const removed: number[] = [];
    for (const i of positions) {
      removed.push(ids[i]!);
      ids[i] = NO_ENTRY;
    }
    return { removed, added: positions };
  }

  /** General case (entries added, removed or moved): entries are found by record. */
  private regroup(g: Group, old: readonly EndpointRecord[], records: readonly EndpointRecord[]): GroupDiff {
    const oldIds = g.ids;
    // A record listed twice gets two entries: only its first old position is carried over by record.
    const byRecord = old.length === 0 ? undefined : new Map<EndpointRecord, number>();
    for (let j = old.length - 1; j >= 0; j--) byRecord!.set(old[j]!, j);
    const kept = new Uint8Array(old.length);
    const added: number[] = [];
    const ids = new Int32Array(records.length);
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      const j = byRecord?.get(r);
      if (j !== undefined) {
        byRecord!.delete(r);
        kept[j] = 1;
        ids[i] = oldIds[j]!;
      } else {
        ids[i] = NO_ENTRY;
        added.push(i);
      }
    }
    const removed: number[] = [];
    for (let j = 0; j < old.length; j++) if (kept[j] === 0) removed.push(oldIds[j]!);
    g.ids = ids;
    return { removed, added };
  }

  /** New entries, holding their records, at these positions. */
  private fill(g: Group, positions: readonly number[]): void {
    const ids = g.ids;
    const records = g.records;
    for (const i of positions) ids[i] = this.entries.alloc(g.number, records[i]!);
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
    this.keys.clear(this.entries.live);
    this.allCount = 0;
    this.readyCount = 0;
    const flags = this.entries.flags;
    for (const g of this.groups.values()) {
      g.matched = matchPort(g.ports, this.selector);
      g.stale = true;
      for (const id of g.ids) flags[id] = 0;
    }
    for (const g of this.groups.values()) {
      const port = g.matched?.port;
      if (port !== undefined) this.indexGroup(g, port);
    }
    this.dirty = dirty;
    this.verify = true;
    this.partsFor = undefined;
  }

  /** Gives every entry of the group its Endpoint for `port` (from its record), and indexes it. */
  private indexGroup(g: Group, port: number): void {
    const endpoints = this.entries.endpoint;
    const ids = g.ids;
    const records = g.records;
    this.keys.reserve(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      endpoints[id] = endpointFor(records[i]!, port);
      this.index(id);
    }
  }

  /** Adds the entry, bound to its group's port, to the dedupe table. */
  private index(id: number): void {
    const entries = this.entries;
    const ep = entries.endpoint[id]!;
    const hash = keyHash(ep.port, ep.address);
    entries.hash[id] = hash;
    entries.flags[id] = INDEXED;
    const first = this.keys.find(ep.port, ep.address, hash);
    if (first === -1) {
      entries.next[id] = NO_ENTRY;
      this.keys.insert(id);
      this.promote(id);
      return;
    }
    // Another copy of this address:port: hangs off the first one.
    const winner = this.winnerFrom(first);
    entries.next[id] = entries.next[first]!;
    entries.next[first] = id;
    if (winner === NO_ENTRY) {
      this.promote(id);
    } else if (this.better(id, winner)) {
      this.demote(winner);
      this.promote(id);
    }
  }

  private unindex(id: number): void {
    const entries = this.entries;
    const flags = entries.flags[id]!;
    if ((flags & INDEXED) === 0) return;
    const ep = entries.endpoint[id]!;
    const first = this.keys.find(ep.port, ep.address, entries.hash[id]!);
    const next = entries.next;
    if (first === id && next[id] === NO_ENTRY) {
      this.keys.remove(id);
      this.demote(id);
      entries.flags[id] = 0;
      return;
    }
    // Unlink it from its copies.
    let head = first;
    if (first === id) {
      head = next[id]!;
      this.keys.replace(id, head);
    } else {
      let at = first;
      while (next[at] !== id) at = next[at]!;
      next[at] = next[id]!;
    }
    next[id] = NO_ENTRY;
    if ((flags & WINNER) !== 0) {
      this.demote(id);
      let best = head;
      for (let at = next[head]!; at !== NO_ENTRY; at = next[at]!) if (this.better(at, best)) best = at;
      this.promote(best);
    }
    entries.flags[id] = 0;
  }

  /** The winner among the copies starting at `first` (there is one; NO_ENTRY would be a bug). */
  private winnerFrom(first: number): number {
    const { flags, next } = this.entries;
    let at = first;
    while (at !== NO_ENTRY && (flags[at]! & WINNER) === 0) at = next[at]!;
    return at;
  }

  /** kube-proxy's preference between two copies of one address+port: non-terminating, then ready, then group name. */
  private better(a: number, b: number): boolean {
    const entries = this.entries;
    const ea = entries.endpoint[a]!;
    const eb = entries.endpoint[b]!;
    if (ea.terminating !== eb.terminating) return !ea.terminating;
    if (ea.ready !== eb.ready) return ea.ready;
    const ga = this.byNumber[entries.group[a]!]!.name;
    const gb = this.byNumber[entries.group[b]!]!.name;
    if (ga !== gb) return ga < gb;
    // Two copies inside one group (not expected from controllers): order by content, deterministically.
    return JSON.stringify(ea) < JSON.stringify(eb);
  }

  private promote(id: number): void {
    const entries = this.entries;
    const ep = entries.endpoint[id]!;
    // Any previous winner of this address:port was demoted first (and noted there).
    if (this.tracking) this.note(ep, undefined);
    entries.flags[id] = entries.flags[id]! | WINNER;
    this.touch(this.byNumber[entries.group[id]!]!);
    this.allCount++;
    if (ep.ready) this.readyCount++;
    this.dirty = true;
  }

  private demote(id: number): void {
    const entries = this.entries;
    const ep = entries.endpoint[id]!;
    if (this.tracking) this.note(ep, routable(ep, this.lastFallback) ? ep : undefined);
    entries.flags[id] = entries.flags[id]! & ~WINNER;
    this.touch(this.byNumber[entries.group[id]!]!);
    this.allCount--;
    if (ep.ready) this.readyCount--;
    this.dirty = true;
  }

  /** On the first touch of an address:port since the last set: what that set routed to there. */
  private note(ep: Endpoint, before: Endpoint | undefined): void {
    const key = `${ep.port} ${ep.address}`;
    if (!this.pending.has(key)) this.pending.set(key, { port: ep.port, address: ep.address, before });
  }

  /** The current winner of an address:port, if any. */
  private winnerAt(port: number, address: string): Endpoint | undefined {
    const first = this.keys.find(port, address, keyHash(port, address));
    const winner = first === -1 ? NO_ENTRY : this.winnerFrom(first);
    return winner === NO_ENTRY ? undefined : this.entries.endpoint[winner];
  }

  /** The diff from `base` (the last emitted set) over the noted address:ports. */
  private diff(base: EndpointSet, fallback: boolean): EndpointChanges {
    const added: Endpoint[] = [];
    const removed: Endpoint[] = [];
    const changed: EndpointChange[] = [];
    for (const p of this.pending.values()) {
      const ep = this.winnerAt(p.port, p.address);
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

  /**
   * Rebuilds a group's chunk as a new array (chunks handed out to a set are never mutated): its
   * records array itself when every entry wins with its record as Endpoint (the usual case).
   */
  private rebuildChunk(g: Group): void {
    const { endpoint, flags } = this.entries;
    const ids = g.ids;
    const records = g.records;
    let own = true;
    let winners = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if ((flags[id]! & WINNER) === 0) continue;
      winners++;
      if (endpoint[id] !== records[i]) own = false;
    }
    if (winners === ids.length && own) {
      g.chunk = records;
    } else {
      const chunk = new Array<Endpoint>(winners);
      let at = 0;
      for (const id of ids) if ((flags[id]! & WINNER) !== 0) chunk[at++] = endpoint[id]!;
      g.chunk = chunk;
    }
    g.stale = false;
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
        if (g.stale) this.rebuildChunk(g);
        parts.push(g.chunk as Endpoint[]);
      }
      this.parts = parts;
      this.partsFor = sorted;
    } else if (this.touched.length > 0) {
      const parts = this.parts.slice();
      // Same sorted list: no group was added or removed since, so every touched group is in it.
      for (const g of this.touched) {
        this.rebuildChunk(g);
        parts[g.pos] = g.chunk as Endpoint[];
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
