import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EndpointSliceAggregator,
  ParsedEndpointSlice,
  parseEndpointSlice,
} from '../../src/endpoints/model.js';
import type { WatcherEvent } from '../../src/watch/list-watch-machine.js';
import { ObjectStore, objectKey } from '../../src/watch/object-store.js';
import type { KubeObject } from '../../src/watch/watch-event.js';
import { slice } from './fixtures.js';
import {
  collectionArb,
  NAMES,
  Observer,
  opArb,
  options,
  portOption,
  raw,
  reference,
  run,
} from './slice-model.js';

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
