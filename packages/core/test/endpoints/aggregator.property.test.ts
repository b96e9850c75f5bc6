import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EndpointSliceAggregator,
  ParsedEndpointSlice,
  PortSelectionError,
  parseEndpointSlice,
} from '../../src/endpoints/model.js';
import type { EndpointSet } from '../../src/endpoints/types.js';
import type { WatcherEvent } from '../../src/watch/list-watch-machine.js';
import { ObjectStore, objectKey } from '../../src/watch/object-store.js';
import type { KubeObject } from '../../src/watch/watch-event.js';
import { canonical, ep, NS, type RawPort, SVC, slice } from './fixtures.js';

// A small universe so that slices overlap (same address in several slices), port names collide and
// conditions take every nil/true/false combination.
const NAMES = ['a', 'b', 'c', 'd', 'e'] as const;
const IPS = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6'];

interface EpModel {
  readonly ip: string;
  readonly ready: boolean | null | undefined;
  readonly serving: boolean | null | undefined;
  readonly terminating: boolean | null | undefined;
  readonly nodeName: string | undefined;
}
interface SliceModel {
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
const sliceArb: fc.Arbitrary<SliceModel> = fc.record({
  name: fc.constantFrom(...NAMES),
  // Addresses are unique inside one slice (the API says so); duplicates across slices are the point.
  endpoints: fc.uniqueArray(epArb, { selector: (e) => e.ip, maxLength: 4 }),
  ports: portsArb,
});
const collectionArb = fc.uniqueArray(sliceArb, { selector: (s) => s.name, maxLength: NAMES.length });

function raw(s: SliceModel): Record<string, unknown> {
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

type Outcome = { readonly error: 'port' } | { readonly set: unknown };

/** The union computed the obvious way, from the API semantics, for comparison. */
function reference(slices: readonly SliceModel[], port: string | number | undefined): Outcome {
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
class Observer {
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

type Op =
  | { readonly op: 'upsert'; readonly slice: SliceModel }
  | { readonly op: 'remove'; readonly name: string }
  | { readonly op: 'reset'; readonly slices: readonly SliceModel[] }
  | { readonly op: 'snapshot' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: sliceArb.map((s) => ({ op: 'upsert' as const, slice: s })) },
  { weight: 2, arbitrary: fc.constantFrom(...NAMES).map((name) => ({ op: 'remove' as const, name })) },
  { weight: 1, arbitrary: collectionArb.map((slices) => ({ op: 'reset' as const, slices })) },
  { weight: 3, arbitrary: fc.constant({ op: 'snapshot' as const }) },
);

function run(o: Observer, op: Op): void {
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

const portOption = fc.constantFrom<string | number | undefined>(undefined, 'http', 80);
const options = (port: string | number | undefined) => ({
  namespace: NS,
  service: SVC,
  ...(port === undefined ? {} : { port }),
});

describe('EndpointSliceAggregator properties', () => {
  it('any history that ends in the same slices gives the union a direct computation gives', () => {
    fc.assert(
      fc.property(
        portOption,
        fc.array(opArb, { maxLength: 25 }),
        collectionArb,
        fc.array(fc.nat(), { minLength: NAMES.length, maxLength: NAMES.length }),
        (port, history, final, priorities) => {
          const o = new Observer(new EndpointSliceAggregator(options(port)));
          for (const op of history) run(o, op);
          // Bring every name to its final state, in a random interleaving of upserts and removes.
          const finalByName = new Map(final.map((s) => [s.name, s]));
          const order = NAMES.map((name, i) => ({ name, p: priorities[i]! })).sort((x, y) => x.p - y.p);
          for (const { name } of order) {
            const s = finalByName.get(name);
            run(o, s === undefined ? { op: 'remove', name } : { op: 'upsert', slice: s });
          }
          expect(o.poll()).toEqual(reference(final, port));
        },
      ),
      { numRuns: 400 },
    );
  });

  it('reset(X) after any history equals reset(X) on a fresh aggregator', () => {
    fc.assert(
      fc.property(portOption, fc.array(opArb, { maxLength: 25 }), collectionArb, (port, history, x) => {
        const o = new Observer(new EndpointSliceAggregator(options(port)));
        for (const op of history) run(o, op);
        o.agg.reset(x.map(raw));
        const fresh = new Observer(new EndpointSliceAggregator(options(port)));
        fresh.agg.reset(x.map(raw));
        const expected = fresh.poll();
        expect(o.poll()).toEqual(expected);
        expect(expected).toEqual(reference(x, port));
      }),
      { numRuns: 400 },
    );
  });

  it('aggregators fed by one store of parsed slices agree with aggregators fed raw slices, for every port', () => {
    // watchEndpoints' arrangement: each slice is parsed once as it arrives (sharing unchanged records
    // with the stored version), and the aggregators of all ports read the stored parsed slices.
    const ports = [undefined, 'http', 80] as const;
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 30 }), (history) => {
        const store = new ObjectStore();
        const parse = (object: KubeObject) => {
          const previous = store.get(objectKey(object));
          return parseEndpointSlice(object, previous instanceof ParsedEndpointSlice ? previous : undefined);
        };
        const shared = ports.map((port) => new Observer(new EndpointSliceAggregator(options(port))));
        const direct = ports.map((port) => new Observer(new EndpointSliceAggregator(options(port))));
        let rv = 0;
        const feed = (events: WatcherEvent[]) => {
          const change = store.apply(events);
          if (change === undefined) return;
          const objects = change.kind === 'replace' ? change.objects : change.upserts;
          expect(objects.every((o) => o instanceof ParsedEndpointSlice)).toBe(true);
          for (const o of shared) {
            if (change.kind === 'replace') o.agg.reset(change.objects);
            else {
              for (const object of change.deletes) o.agg.remove(object);
              for (const object of change.upserts) o.agg.upsert(object);
            }
          }
        };
        feed([{ type: 'init' }, { type: 'initDone', resourceVersion: '0' }]);
        for (const op of history) {
          const resourceVersion = String(++rv);
          if (op.op === 'upsert') feed([{ type: 'apply', object: parse(raw(op.slice)), resourceVersion }]);
          else if (op.op === 'remove') {
            feed([{ type: 'delete', object: parse(slice(op.name, [])), resourceVersion }]);
          } else if (op.op === 'reset') {
            feed([
              { type: 'init' },
              ...op.slices.map((s) => ({ type: 'initApply' as const, object: parse(raw(s)) })),
              { type: 'initDone', resourceVersion },
            ]);
          }
          for (const o of direct) run(o, op);
          if (op.op === 'snapshot') {
            for (let i = 0; i < ports.length; i++) expect(shared[i]!.poll()).toEqual(direct[i]!.poll());
          }
        }
        for (let i = 0; i < ports.length; i++) expect(shared[i]!.poll()).toEqual(direct[i]!.poll());
      }),
      { numRuns: 300 },
    );
  });
});
