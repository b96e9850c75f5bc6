/**
 * The incremental core both aggregators share: port groups (slices / v1 subsets) of parsed entries,
 * the address+port dedupe index with kube-proxy's preference rule, ready counts, per-group output
 * chunks; it uses ports.ts to select the port and endpoint-set.ts to build the set.
 *
 * Cost model: replacing one group costs O(size of that group) — unchanged entries keep their Entry
 * (and so their frozen Endpoint) and are not touched in the index. `snapshot()` rebuilds only the
 * chunks of groups that changed and hands the list of chunks to the set, which concatenates it on
 * first read (O(n) pointer copies, once per set that is read). Only a change of the automatically
 * selected port name (or a bulk reset that changes it) re-indexes everything.
 */
import {
  type AddressType,
  type EndpointBase,
  makeEndpoint,
  type RawObject,
  sameBase,
} from './endpoint-fields.js';
import { makeEndpointSet, sameMembers } from './endpoint-set.js';
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
import type { Endpoint, EndpointHints, EndpointSet, EndpointTargetRef, ServicePortRef } from './types.js';

let epochCounter = 0;

/**
 * One raw entry of a group (a slice endpoint, a v1 address): its parsed fields (the entry is its own
 * EndpointBase, so the cheap comparison of the next version reads one object) and its place in the
 * dedupe index.
 */
export class Entry implements EndpointBase {
  /** Lookup key inside the group: the raw first address / ip. */
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
  /** Parse generation that last claimed this entry (prevents one entry from being reused twice). */
  epoch = 0;
  /** Frozen Endpoint for the port of `endpoint.port`; rebuilt only when the group's port number changes. */
  endpoint: Endpoint | undefined = undefined;
  /** In the dedupe index, under endpoint.port and endpoint.address. */
  indexed = false;
  winner = false;
  group: Group | undefined = undefined;
  /** Lazily computed final tie-break between two copies in the same group. */
  tie: string | undefined = undefined;

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
  }
}

/** Cheap check that a new raw entry says the same as an existing (parsed) Entry. */
export type SameRaw = (previous: Entry, raw: RawObject, flag: boolean) => boolean;

/** A group as parsed from a new object version, ready to be committed (see EntryCollector). */
export interface GroupSpec {
  readonly ports: readonly ParsedPort[];
  readonly entries: readonly Entry[];
  readonly epoch: number;
}

/** Persistent per-name record of a group. */
export class Group {
  readonly name: string;
  ports: readonly ParsedPort[] = [];
  entries: readonly Entry[] = [];
  matched: ParsedPort | undefined = undefined;
  private byLookup: Map<string, Entry> | undefined = undefined;
  /** Position in the engine's sorted group list. */
  pos = -1;
  /** The chunks below are out of date (and the group is queued in the engine's `touched` list). */
  stale = true;
  /** Output chunks: this group's winners in entry order, all / ready / serving and terminating. */
  all: Endpoint[] = [];
  ready: Endpoint[] = [];
  fallback: Endpoint[] = [];

  constructor(name: string) {
    this.name = name;
  }

  /** Built on the first lookup that the positional fast path misses, dropped when entries change. */
  lookupMap(): Map<string, Entry> {
    let m = this.byLookup;
    if (m === undefined) {
      m = new Map();
      for (const e of this.entries) if (!m.has(e.lookup)) m.set(e.lookup, e);
      this.byLookup = m;
    }
    return m;
  }

  replace(spec: GroupSpec): void {
    this.ports = spec.ports;
    this.entries = spec.entries;
    this.byLookup = undefined;
  }

  /** Rebuilds the chunks as new arrays: chunks handed out to a set are never mutated. */
  chunks(): void {
    const all: Endpoint[] = [];
    const ready: Endpoint[] = [];
    const fallback: Endpoint[] = [];
    for (const e of this.entries) {
      if (!e.winner) continue;
      // Conditions are read from the entry, which the upsert just compared (warm in cache); the
      // Endpoint object itself is not dereferenced.
      const ep = e.endpoint!;
      all.push(ep);
      if (e.ready) ready.push(ep);
      if (e.serving && e.terminating) fallback.push(ep);
    }
    this.all = all;
    this.ready = ready.length === all.length ? all : ready;
    this.fallback = fallback;
    this.stale = false;
  }
}

/**
 * Collects the entries of one group of a new object version, reusing the previous version's Entry
 * for each raw entry that is unchanged. Pure with respect to the index: nothing is committed until
 * the spec is applied, so a validation error midway leaves the aggregator untouched.
 */
export class EntryCollector {
  readonly entries: Entry[] = [];
  readonly epoch = ++epochCounter;
  private readonly previousGroup: Group | undefined;

  constructor(previousGroup: Group | undefined) {
    this.previousGroup = previousGroup;
  }

  private previous(lookup: string): Entry | undefined {
    const g = this.previousGroup;
    if (g === undefined) return undefined;
    // Controllers keep entry order stable, so the same position is the first guess.
    const p = g.entries[this.entries.length];
    const e = p !== undefined && p.lookup === lookup ? p : g.lookupMap().get(lookup);
    return e !== undefined && e.epoch !== this.epoch ? e : undefined;
  }

  /** Fast path: reuses the previous Entry when `same` says the relevant raw fields are unchanged. */
  reuse(lookup: string, raw: RawObject, same: SameRaw, flag: boolean): boolean {
    const e = this.previous(lookup);
    if (e === undefined || !same(e, raw, flag)) return false;
    e.epoch = this.epoch;
    this.entries.push(e);
    return true;
  }

  /** Slow path, after zod: still reuses the previous Entry when the parsed content is the same. */
  add(lookup: string, base: EndpointBase): void {
    const e = this.previous(lookup);
    if (e !== undefined && sameBase(e, base)) {
      e.epoch = this.epoch;
      this.entries.push(e);
      return;
    }
    const n = new Entry(lookup, base);
    n.epoch = this.epoch;
    this.entries.push(n);
  }

  finish(ports: readonly ParsedPort[]): GroupSpec {
    return { ports, entries: this.entries, epoch: this.epoch };
  }
}

/** kube-proxy's preference between two copies of one address+port: non-terminating, then ready, then group name. */
function better(a: Entry, b: Entry): boolean {
  if (a.terminating !== b.terminating) return !a.terminating;
  if (a.ready !== b.ready) return a.ready;
  const ga = a.group!.name;
  const gb = b.group!.name;
  if (ga !== gb) return ga < gb;
  // Two copies inside one group (not expected from controllers): order by content, deterministically.
  a.tie ??= JSON.stringify(a.endpoint);
  b.tie ??= JSON.stringify(b.endpoint);
  return a.tie < b.tie;
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
  /** Per sorted group, its current chunks; copied on write because sets keep them. */
  private partsFor: readonly Group[] | undefined = undefined;
  private allParts: Endpoint[][] = [];
  private readyParts: Endpoint[][] = [];
  private fallbackParts: Endpoint[][] = [];

  constructor(opts: EndpointIndexOptions, source: EndpointSet['source']) {
    this.opts = opts;
    this.source = source;
    this.fixed = fixedSelector(opts.port);
    this.selector = this.fixed ?? selectorFromNames(this.declared);
  }

  group(name: string): Group | undefined {
    return this.groups.get(name);
  }

  /** Replaces (spec) or removes (undefined) one group. */
  apply(name: string, spec: GroupSpec | undefined): void {
    const g = this.groups.get(name);
    if (spec === undefined) {
      if (g === undefined) return;
      this.groups.delete(name);
      this.sorted = undefined;
      countPortNames(this.declared, g.ports, -1);
      if (!this.reselect()) for (const e of g.entries) this.unindex(e);
      return;
    }
    if (g !== undefined && samePorts(g.ports, spec.ports) && sameEntries(g.entries, spec.entries)) return;
    let grp = g;
    if (grp === undefined) {
      grp = new Group(name);
      this.groups.set(name, grp);
      this.sorted = undefined;
    } else {
      countPortNames(this.declared, grp.ports, -1);
    }
    countPortNames(this.declared, spec.ports, 1);
    const oldEntries = grp.entries;
    const oldPort = grp.matched?.port;
    grp.replace(spec);
    this.touch(grp);
    if (this.reselect()) return;
    grp.matched = matchPort(spec.ports, this.selector);
    const port = grp.matched?.port;
    const keep = port === oldPort;
    for (const e of oldEntries) if (!keep || e.epoch !== spec.epoch) this.unindex(e);
    if (port === undefined) return;
    for (const e of spec.entries) if (!e.indexed) this.index(e, grp, port);
  }

  /** Replaces all groups at once (initial list, relist, a new v1 Endpoints version). */
  replaceAll(specs: ReadonlyMap<string, GroupSpec>): void {
    const declared = new Map<string, number>();
    for (const spec of specs.values()) countPortNames(declared, spec.ports, 1);
    const selector = this.fixed ?? selectorFromNames(declared);
    if (sameSelector(selector, this.selector)) {
      // Incremental: unchanged groups cost one pass over their entries, nothing else.
      this.batch = true;
      try {
        for (const name of [...this.groups.keys()]) if (!specs.has(name)) this.apply(name, undefined);
        for (const [name, spec] of specs) this.apply(name, spec);
      } finally {
        this.batch = false;
      }
      return;
    }
    for (const name of [...this.groups.keys()]) if (!specs.has(name)) this.groups.delete(name);
    for (const [name, spec] of specs) {
      let g = this.groups.get(name);
      if (g === undefined) {
        g = new Group(name);
        this.groups.set(name, g);
      }
      g.replace(spec);
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
      if (port !== undefined) for (const e of g.entries) this.index(e, g, port);
    }
    this.dirty = dirty;
    this.verify = true;
    this.partsFor = undefined;
  }

  private index(e: Entry, g: Group, port: number): void {
    e.group = g;
    let ep = e.endpoint;
    if (ep === undefined || ep.port !== port) {
      ep = e.endpoint = makeEndpoint(e, port);
      e.tie = undefined;
    }
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
    e.winner = true;
    this.touch(e.group!);
    this.allCount++;
    if (e.ready) this.readyCount++;
    this.dirty = true;
  }

  private demote(e: Entry): void {
    e.winner = false;
    this.touch(e.group!);
    this.allCount--;
    if (e.ready) this.readyCount--;
    this.dirty = true;
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

  /** Brings the per-group chunk lists up to date: O(changed groups), or O(groups) after a regrouping. */
  private updateParts(sorted: Group[]): void {
    if (this.partsFor !== sorted) {
      const all: Endpoint[][] = [];
      const ready: Endpoint[][] = [];
      const fallback: Endpoint[][] = [];
      for (const g of sorted) {
        if (g.stale) g.chunks();
        all.push(g.all);
        ready.push(g.ready);
        fallback.push(g.fallback);
      }
      this.allParts = all;
      this.readyParts = ready;
      this.fallbackParts = fallback;
      this.partsFor = sorted;
    } else if (this.touched.length > 0) {
      const all = this.allParts.slice();
      const ready = this.readyParts.slice();
      const fallback = this.fallbackParts.slice();
      // Same sorted list: no group was added or removed since, so every touched group is in it.
      for (const g of this.touched) {
        g.chunks();
        all[g.pos] = g.all;
        ready[g.pos] = g.ready;
        fallback[g.pos] = g.fallback;
      }
      this.allParts = all;
      this.readyParts = ready;
      this.fallbackParts = fallback;
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
    return undefined;
  }

  snapshot(resourceVersion: string | undefined): EndpointSet | undefined {
    const sorted = this.sortedGroups();
    const port = this.portRef(sorted);
    const last = this.last;
    if (last !== undefined && !this.dirty && !this.verify && port === last.port) return undefined;
    this.updateParts(sorted);
    const endpointParts =
      this.readyCount === this.allCount
        ? undefined
        : this.readyCount > 0
          ? this.readyParts
          : this.fallbackParts;
    const set = makeEndpointSet(
      {
        namespace: this.opts.namespace,
        service: this.opts.service,
        port,
        resourceVersion,
        source: this.source,
      },
      this.allParts,
      endpointParts,
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

function sameEntries(a: readonly Entry[], b: readonly Entry[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
