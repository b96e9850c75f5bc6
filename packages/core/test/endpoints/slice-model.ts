/**
 * A model of EndpointSlice collections and of what the aggregator must make of them: arbitraries for
 * slices over a small universe, the raw objects they stand for, the union computed directly from the
 * API semantics, and histories of aggregator operations.
 */
import fc from 'fast-check';
import { type EndpointSliceAggregator, PortSelectionError } from '../../src/endpoints/model.js';
import type { EndpointSet } from '../../src/endpoints/types.js';
import { canonical, ep, NS, type RawPort, SVC, slice } from './fixtures.js';

// A small universe so that slices overlap (same address in several slices), port names collide and
// conditions take every nil/true/false combination.
export const NAMES = ['a', 'b', 'c', 'd', 'e'] as const;
const IPS = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6'];

export interface EpModel {
  readonly ip: string;
  readonly ready: boolean | null | undefined;
  readonly serving: boolean | null | undefined;
  readonly terminating: boolean | null | undefined;
  readonly nodeName: string | undefined;
}
export interface SliceModel {
  readonly name: string;
  readonly endpoints: readonly EpModel[];
  readonly ports: readonly RawPort[] | null;
}

const cond = fc.constantFrom(true, false, null, undefined);
const epArb: fc.Arbitrary<EpModel> = fc.record({
  ip: fc.constantFrom(...IPS),
  ready: cond,
  serving: cond,
  terminating: cond,
  nodeName: fc.constantFrom('n1', 'n2', undefined),
});
const portsArb: fc.Arbitrary<readonly RawPort[] | null> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom<readonly RawPort[]>(
      [{ name: 'http', port: 80 }],
      [{ name: 'http', port: 81 }],
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom<readonly RawPort[]>([{ name: 'http', port: null }], []) },
  { weight: 1, arbitrary: fc.constant(null) },
  {
    weight: 1,
    arbitrary: fc.constant<readonly RawPort[]>([
      { name: 'http', port: 80 },
      { name: 'metrics', port: 90 },
    ]),
  },
);
export const sliceArb: fc.Arbitrary<SliceModel> = fc.record({
  name: fc.constantFrom(...NAMES),
  // Addresses are unique inside one slice (the API says so); duplicates across slices are the point.
  endpoints: fc.uniqueArray(epArb, { selector: (e) => e.ip, maxLength: 4 }),
  ports: portsArb,
});
export const collectionArb = fc.uniqueArray(sliceArb, { selector: (s) => s.name, maxLength: NAMES.length });

export function raw(s: SliceModel): Record<string, unknown> {
  const endpoints = s.endpoints.map((e) => {
    const o: Parameters<typeof ep>[1] = {};
    if (e.ready !== undefined) o.ready = e.ready;
    if (e.serving !== undefined) o.serving = e.serving;
    if (e.terminating !== undefined) o.terminating = e.terminating;
    if (e.nodeName !== undefined) o.nodeName = e.nodeName;
    return ep(e.ip, o);
  });
  return slice(s.name, endpoints, { ports: s.ports === null ? null : [...s.ports] });
}

export type Outcome = { readonly error: 'port' } | { readonly set: unknown };

/** The union computed the obvious way, from the API semantics, for comparison. */
export function reference(slices: readonly SliceModel[], port: string | number | undefined): Outcome {
  const sorted = [...slices].sort((x, y) => (x.name < y.name ? -1 : 1));
  const allPorts = sorted.flatMap((s) => s.ports ?? []);
  const names = new Set(allPorts.map((p) => p.name ?? ''));
  let matches: (p: RawPort) => boolean;
  if (port === undefined) {
    if (names.size > 1) return { error: 'port' };
    const only = [...names][0];
    matches = (p) => only !== undefined && (p.name ?? '') === only;
  } else if (typeof port === 'number') {
    if (new Set(allPorts.filter((p) => p.port === port).map((p) => p.name ?? '')).size > 1)
      return { error: 'port' };
    matches = (p) => p.port === port;
  } else {
    matches = (p) => (p.name ?? '') === port;
  }
  // A port asked for that none of the declared ports is: an error, not an empty set forever.
  if (port !== undefined && allPorts.length > 0 && !allPorts.some(matches)) return { error: 'port' };
  let portRef: unknown;
  const best = new Map<string, { ep: Record<string, unknown>; slice: string }>();
  for (const s of sorted) {
    const p = (s.ports ?? []).find(matches);
    if (p === undefined) continue;
    portRef ??= { name: p.name ?? '', protocol: p.protocol ?? 'TCP' };
    if (p.port == null) continue;
    for (const e of s.endpoints) {
      const candidate = {
        address: e.ip,
        port: p.port,
        addressType: 'IPv4',
        ready: e.ready ?? true,
        serving: e.serving ?? true,
        terminating: e.terminating ?? false,
        ...(e.nodeName === undefined ? {} : { nodeName: e.nodeName }),
      };
      const key = `${e.ip}|${p.port}`;
      const current = best.get(key);
      const rank = (c: typeof candidate) => (c.terminating ? 2 : 0) + (c.ready ? 0 : 1);
      // Slices are visited in name order, so on equal rank the first slice keeps its copy.
      if (current === undefined || rank(candidate) < rank(current.ep as typeof candidate)) {
        best.set(key, { ep: candidate, slice: s.name });
      }
    }
  }
  const all = [...best.entries()].sort(([x], [y]) => (x < y ? -1 : 1)).map(([, v]) => v.ep);
  const ready = all.filter((e) => e.ready);
  const endpoints = ready.length > 0 ? ready : all.filter((e) => e.serving && e.terminating);
  return { set: { port: portRef, endpoints, all } };
}

/** Tracks the latest emitted set, as a subscriber would see it. */
export class Observer {
  latest: EndpointSet | undefined;
  constructor(readonly agg: EndpointSliceAggregator) {}
  poll(): Outcome {
    try {
      this.latest = this.agg.snapshot() ?? this.latest;
    } catch (error) {
      if (error instanceof PortSelectionError) return { error: 'port' };
      throw error;
    }
    return { set: canonical(this.latest!) };
  }
}

export type Op =
  | { readonly op: 'upsert'; readonly slice: SliceModel }
  | { readonly op: 'remove'; readonly name: string }
  | { readonly op: 'reset'; readonly slices: readonly SliceModel[] }
  | { readonly op: 'snapshot' };

export const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: sliceArb.map((s) => ({ op: 'upsert' as const, slice: s })) },
  { weight: 2, arbitrary: fc.constantFrom(...NAMES).map((name) => ({ op: 'remove' as const, name })) },
  { weight: 1, arbitrary: collectionArb.map((slices) => ({ op: 'reset' as const, slices })) },
  { weight: 3, arbitrary: fc.constant({ op: 'snapshot' as const }) },
);

export function run(o: Observer, op: Op): void {
  switch (op.op) {
    case 'upsert':
      o.agg.upsert(raw(op.slice));
      break;
    case 'remove':
      o.agg.remove(slice(op.name, []));
      break;
    case 'reset':
      o.agg.reset(op.slices.map(raw));
      break;
    case 'snapshot':
      o.poll();
      break;
  }
}

export const portOption = fc.constantFrom<string | number | undefined>(undefined, 'http', 80);
export const options = (port: string | number | undefined) => ({
  namespace: NS,
  service: SVC,
  ...(port === undefined ? {} : { port }),
});
