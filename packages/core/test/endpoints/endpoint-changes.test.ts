import fc from 'fast-check';
import { from, lastValueFrom, Subject, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { type EndpointChangeEvent, endpointChanges } from '../../src/endpoints/endpoint-changes.js';
import { EndpointSliceAggregator } from '../../src/endpoints/model.js';
import type { Endpoint, EndpointSet } from '../../src/endpoints/types.js';
import { defined, ep, NS, SVC, slice } from './fixtures.js';

const key = (e: Endpoint) => `${e.address}:${e.port}`;
const keys = (list: readonly Endpoint[]) => list.map(key).sort();

/** The state a consumer of the events holds: the previous `endpoints` with one event applied. */
function apply(state: Map<string, Endpoint>, event: EndpointChangeEvent): Map<string, Endpoint> {
  const next = new Map(state);
  for (const e of event.removed) {
    expect(next.has(key(e))).toBe(true);
    next.delete(key(e));
  }
  for (const { before, after } of event.changed) {
    expect(next.get(key(before))).toEqual(before);
    next.set(key(after), after);
  }
  for (const e of event.added) {
    expect(next.has(key(e))).toBe(false);
    next.set(key(e), e);
  }
  return next;
}

const events = (sets: EndpointSet[]) => lastValueFrom(from(sets).pipe(endpointChanges(), toArray()));

describe('endpointChanges', () => {
  it('starts with an initial event holding every endpoint (also when there is none)', async () => {
    const agg = new EndpointSliceAggregator({ namespace: NS, service: SVC });
    const empty = defined(agg.snapshot('1'));
    const [first] = await events([empty]);
    expect(first).toMatchObject({ initial: true, added: [], removed: [], changed: [], set: empty });
  });

  it('reports additions, removals, condition changes, and nothing for a change outside `endpoints`', async () => {
    const agg = new EndpointSliceAggregator({ namespace: NS, service: SVC });
    agg.upsert(slice('a', [ep('10.0.0.1'), ep('10.0.0.2')]));
    const s1 = defined(agg.snapshot('1'));
    agg.upsert(slice('a', [ep('10.0.0.1', { zone: 'z9' }), ep('10.0.0.3')]));
    const s2 = defined(agg.snapshot('2'));
    agg.upsert(
      slice('a', [ep('10.0.0.1', { zone: 'z9' }), ep('10.0.0.3'), ep('10.0.0.4', { ready: false })]),
    );
    const s3 = defined(agg.snapshot('3')); // only `all` changed: no event
    const out = await events([s1, s2, s3]);
    expect(out).toHaveLength(2);
    const second = defined(out[1]);
    expect(second.initial).toBe(false);
    expect(keys(second.added)).toEqual(['10.0.0.3:8080']);
    expect(keys(second.removed)).toEqual(['10.0.0.2:8080']);
    expect(second.changed.map((c) => [c.before.zone, c.after.zone])).toEqual([[undefined, 'z9']]);
  });

  it('compares whole sets when a set carries no diff from the previous one (hand-made sets)', async () => {
    const set = (addresses: string[]): EndpointSet => {
      const endpoints = addresses.map(
        (address): Endpoint => ({
          address,
          port: 80,
          addressType: 'IPv4',
          ready: true,
          serving: true,
          terminating: false,
        }),
      );
      return {
        namespace: NS,
        service: SVC,
        port: undefined,
        endpoints,
        all: endpoints,
        resourceVersion: '1',
        source: 'endpointslices',
      };
    };
    const out = await events([
      set(['10.0.0.1', '10.0.0.2']),
      set(['10.0.0.2', '10.0.0.3']),
      set(['10.0.0.3', '10.0.0.2']),
    ]);
    expect(out).toHaveLength(2); // the third set differs only in order
    expect(keys(defined(out[1]).added)).toEqual(['10.0.0.3:80']);
    expect(keys(defined(out[1]).removed)).toEqual(['10.0.0.1:80']);
  });

  it('keeps a late subscriber right: its first event is initial, whatever diff the replayed set carries', async () => {
    const agg = new EndpointSliceAggregator({ namespace: NS, service: SVC });
    agg.upsert(slice('a', [ep('10.0.0.1')]));
    defined(agg.snapshot('1'));
    agg.upsert(slice('a', [ep('10.0.0.1'), ep('10.0.0.2')]));
    const replayed = defined(agg.snapshot('2'));
    const [first] = await events([replayed]);
    expect(first?.initial).toBe(true);
    expect(keys(defined(first).added)).toEqual(['10.0.0.1:8080', '10.0.0.2:8080']);
  });

  it('folding the events gives every set’s `endpoints`, over random slice histories', () => {
    const addresses = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5'];
    const entry = fc.record({
      address: fc.constantFrom(...addresses),
      ready: fc.boolean(),
      serving: fc.boolean(),
      terminating: fc.boolean(),
      zone: fc.constantFrom('z1', 'z2'),
    });
    const step = fc.record({
      name: fc.constantFrom('a', 'b', 'c'),
      entries: fc.array(entry, { maxLength: 4 }),
      remove: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 25 }), (steps) => {
        const agg = new EndpointSliceAggregator({ namespace: NS, service: SVC });
        const source = new Subject<EndpointSet>();
        const seen: EndpointChangeEvent[] = [];
        source.pipe(endpointChanges()).subscribe((event) => seen.push(event));
        let state = new Map<string, Endpoint>();
        let rv = 0;
        for (const { name, entries, remove } of steps) {
          if (remove) agg.remove(slice(name, []));
          else
            agg.upsert(
              slice(
                name,
                entries.map(({ address, ...conditions }) => ep(address, conditions)),
              ),
            );
          const set = agg.snapshot(String(++rv));
          if (set === undefined) continue;
          source.next(set);
          for (const event of seen.splice(0)) state = apply(state, event);
          expect([...state.keys()].sort()).toEqual(keys(set.endpoints));
          for (const e of set.endpoints) expect(state.get(key(e))).toEqual(e);
        }
      }),
      { numRuns: 300 },
    );
  });
});
