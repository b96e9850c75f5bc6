import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PortSelectionError } from '../../src/endpoints/errors.js';
import {
  EndpointSliceAggregator,
  ParsedEndpointSlice,
  parseEndpointSlice,
} from '../../src/endpoints/model.js';
import { ServiceDemux } from '../../src/endpoints/service-demux.js';
import type { WatcherEvent } from '../../src/watch/list-watch-machine.js';
import { ObjectStore, objectKey, type StoreChange } from '../../src/watch/object-store.js';
import type { KubeObject } from '../../src/watch/watch-event.js';
import { canonical, ep, NS, slice } from './fixtures.js';
import { NAMES, raw, type SliceModel, sliceArb } from './slice-model.js';

const SERVICES = ['s1', 's2', 's3'] as const;
const serviceOf = (object: KubeObject) =>
  object instanceof ParsedEndpointSlice ? object.serviceName : undefined;
const parsed = (name: string, service: string | null, ip = '10.0.0.1') =>
  parseEndpointSlice(slice(name, [ep(ip)], { service }), undefined);
const names = (change: StoreChange | undefined) =>
  change === undefined
    ? undefined
    : change.kind === 'replace'
      ? { replace: change.objects.map((o) => o.metadata?.name) }
      : {
          upserts: change.upserts.map((o) => o.metadata?.name),
          deletes: change.deletes.map((o) => o.metadata?.name),
        };

describe('ServiceDemux', () => {
  it('routes a delta only to the Services it touches', () => {
    const demux = new ServiceDemux(serviceOf);
    expect(demux.current('s1')).toBeUndefined();
    demux.apply({ kind: 'replace', objects: [parsed('a', 's1'), parsed('b', 's2')], resourceVersion: '1' });
    expect(names(demux.current('s1'))).toEqual({ replace: ['a'] });
    expect(names(demux.current('s3'))).toEqual({ replace: [] });
    const result = demux.apply({
      kind: 'delta',
      upserts: [parsed('b', 's2', '10.0.0.2')],
      deletes: [],
      resourceVersion: '2',
    });
    expect(result.kind === 'delta' && [...result.changes.keys()]).toEqual(['s2']);
  });

  it('moves a relabelled slice: a delete for the old Service, an upsert for the new one', () => {
    const demux = new ServiceDemux(serviceOf);
    demux.apply({ kind: 'replace', objects: [parsed('a', 's1')], resourceVersion: '1' });
    const moved = demux.apply({
      kind: 'delta',
      upserts: [parsed('a', 's2')],
      deletes: [],
      resourceVersion: '2',
    });
    expect(
      moved.kind === 'delta' && Object.fromEntries([...moved.changes].map(([s, c]) => [s, names(c)])),
    ).toEqual({
      s1: { upserts: [], deletes: ['a'] },
      s2: { upserts: ['a'], deletes: [] },
    });
    const unlabelled = demux.apply({
      kind: 'delta',
      upserts: [parsed('a', null)],
      deletes: [],
      resourceVersion: '3',
    });
    expect(unlabelled.kind === 'delta' && [...unlabelled.changes.keys()]).toEqual(['s2']);
    expect(demux.serviceCount).toBe(0);
    // A slice of no Service is nobody's: deleting it touches no Service.
    const gone = demux.apply({
      kind: 'delta',
      upserts: [],
      deletes: [parsed('a', null)],
      resourceVersion: '4',
    });
    expect(gone.kind === 'delta' && gone.changes.size).toBe(0);
  });

  it('keeps no entry for a Service whose last slice went', () => {
    const demux = new ServiceDemux(serviceOf);
    demux.apply({ kind: 'replace', objects: [parsed('a', 's1'), parsed('b', 's2')], resourceVersion: '1' });
    expect(demux.serviceCount).toBe(2);
    demux.apply({ kind: 'delta', upserts: [], deletes: [parsed('a', 's1')], resourceVersion: '2' });
    expect(demux.serviceCount).toBe(1);
    demux.apply({ kind: 'replace', objects: [], resourceVersion: '3' });
    expect(demux.serviceCount).toBe(0);
  });
});

/** One namespace event: a slice of some Service (or of none) written, a slice deleted, or a relist. */
type NamespaceOp =
  | { readonly op: 'apply'; readonly slice: SliceModel; readonly service: string | null }
  | { readonly op: 'delete'; readonly name: string }
  | { readonly op: 'relist'; readonly slices: ReadonlyArray<{ slice: SliceModel; service: string | null }> };

const ownerArb = fc.constantFrom<string | null>(...SERVICES, null);
const ownedSliceArb = fc.record({ slice: sliceArb, service: ownerArb });
const namespaceOpArb: fc.Arbitrary<NamespaceOp> = fc.oneof(
  { weight: 6, arbitrary: ownedSliceArb.map((s) => ({ op: 'apply' as const, ...s })) },
  { weight: 2, arbitrary: fc.constantFrom(...NAMES).map((name) => ({ op: 'delete' as const, name })) },
  {
    weight: 1,
    arbitrary: fc
      .uniqueArray(ownedSliceArb, { selector: (s) => s.slice.name, maxLength: NAMES.length })
      .map((slices) => ({ op: 'relist' as const, slices })),
  },
);
/** Batches as the watch delivers them: several events may arrive (and be netted) together. */
const historyArb = fc.array(fc.array(namespaceOpArb, { minLength: 1, maxLength: 4 }), { maxLength: 12 });

const rawOf = (s: SliceModel, service: string | null) => ({
  ...raw(s),
  metadata: {
    ...(raw(s).metadata as Record<string, unknown>),
    labels: service === null ? {} : { 'kubernetes.io/service-name': service },
  },
});

/** A store that parses as `watchEndpoints` does, sharing unchanged records with the stored version. */
class ParsingStore {
  readonly store = new ObjectStore();
  parse(object: Record<string, unknown>): KubeObject {
    const previous = this.store.get(objectKey(object as KubeObject));
    return parseEndpointSlice(object, previous instanceof ParsedEndpointSlice ? previous : undefined);
  }
}

/** Folds one Service's changes into sets; returns the content of each new set, undefined when none. */
class ServiceSets {
  readonly #aggregator: EndpointSliceAggregator;
  constructor(service: string, port: string | number) {
    this.#aggregator = new EndpointSliceAggregator({ namespace: NS, service, port });
  }
  /** A stream ends at its first error (as `watchEndpoints` does): nothing after it is compared. */
  #ended = false;
  fold(change: StoreChange | undefined): unknown {
    if (change === undefined || this.#ended) return undefined;
    if (change.kind === 'replace') this.#aggregator.reset(change.objects);
    else {
      for (const object of change.deletes) this.#aggregator.remove(object);
      for (const object of change.upserts) this.#aggregator.upsert(object);
    }
    try {
      const set = this.#aggregator.snapshot(change.resourceVersion);
      return set && canonical(set);
    } catch (error) {
      // A port the slices do not carry: both paths must say so at the same moment.
      if (error instanceof PortSelectionError) {
        this.#ended = true;
        return { error: error.message };
      }
      throw error;
    }
  }
}

describe('ServiceDemux properties', () => {
  it('gives each Service the sets its own label-selected watch gives, emitting exactly when it would', () => {
    fc.assert(
      fc.property(fc.constantFrom<string | number>('http', 80), historyArb, (port, history) => {
        // The namespace watch: one store, split by the demux.
        const namespace = new ParsingStore();
        const demux = new ServiceDemux(serviceOf);
        const viaNamespace = new Map(SERVICES.map((s) => [s, new ServiceSets(s, port)]));
        // The reference: what the apiserver sends a watch with `kubernetes.io/service-name=S`.
        const own = new Map(SERVICES.map((s) => [s, new ParsingStore()]));
        const matching = new Map(SERVICES.map((s) => [s, new Set<string>()]));
        const viaOwn = new Map(SERVICES.map((s) => [s, new ServiceSets(s, port)]));

        let rv = 0;
        const run = (batch: readonly NamespaceOp[]) => {
          const resourceVersion = String(++rv);
          const nsEvents: WatcherEvent[] = [];
          const ownEvents = new Map<string, WatcherEvent[]>(SERVICES.map((s) => [s, []]));
          for (const op of batch) {
            if (op.op === 'relist') {
              nsEvents.push({ type: 'init' });
              for (const { slice: s, service } of op.slices) {
                nsEvents.push({ type: 'initApply', object: namespace.parse(rawOf(s, service)) });
              }
              nsEvents.push({ type: 'initDone', resourceVersion });
              for (const service of SERVICES) {
                const mine = op.slices.filter((s) => s.service === service);
                matching.set(service, new Set(mine.map((s) => s.slice.name)));
                ownEvents.get(service)!.push(
                  { type: 'init' },
                  ...mine.map(({ slice: s }) => ({
                    type: 'initApply' as const,
                    object: own.get(service)!.parse(rawOf(s, service)),
                  })),
                  { type: 'initDone', resourceVersion },
                );
              }
              continue;
            }
            const name = op.op === 'apply' ? op.slice.name : op.name;
            const object =
              op.op === 'apply'
                ? rawOf(op.slice, op.service)
                : (slice(name, [], { service: null }) as Record<string, unknown>);
            nsEvents.push({
              type: op.op === 'apply' ? 'apply' : 'delete',
              object: namespace.parse(object),
              resourceVersion,
            });
            for (const service of SERVICES) {
              const names = matching.get(service)!;
              const events = ownEvents.get(service)!;
              if (op.op === 'apply' && op.service === service) {
                names.add(name);
                events.push({ type: 'apply', object: own.get(service)!.parse(object), resourceVersion });
              } else if (names.has(name)) {
                // Deleted, or no longer selected (relabelled): the apiserver sends DELETED.
                names.delete(name);
                events.push({ type: 'delete', object: own.get(service)!.parse(object), resourceVersion });
              }
            }
          }
          const nsChange = namespace.store.apply(nsEvents);
          const demuxed = nsChange && demux.apply(nsChange);
          for (const service of SERVICES) {
            const change =
              demuxed === undefined
                ? undefined
                : demuxed.kind === 'replace'
                  ? demux.current(service)
                  : demuxed.changes.get(service);
            // No work for a Service the batch did not touch: its own watch would have received nothing.
            if (demuxed?.kind === 'delta' && demuxed.changes.has(service)) {
              expect(ownEvents.get(service)!.length).toBeGreaterThan(0);
            }
            const ownChange = own.get(service)!.store.apply(ownEvents.get(service)!);
            expect(viaNamespace.get(service)!.fold(change)).toEqual(viaOwn.get(service)!.fold(ownChange));
          }
        };
        run([{ op: 'relist', slices: [] }]);
        for (const batch of history) run(batch);
      }),
      { numRuns: 500 },
    );
  });
});
