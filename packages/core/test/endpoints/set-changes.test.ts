import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PortSelectionError } from '../../src/endpoints/errors.js';
import { changesSince, type Endpoint, type EndpointSet } from '../../src/endpoints/index.js';
import { EndpointSliceAggregator, V1EndpointsAggregator } from '../../src/endpoints/model.js';
import { defined, ep, NS, SVC, slice } from './fixtures.js';
import { NAMES, Observer, type Op, opArb, options, portOption, run } from './slice-model.js';

const key = (e: Endpoint) => `${e.address}|${e.port}`;

/** `previous.endpoints` with `next.changes` applied, by address:port (checks each step's precondition). */
function applied(previous: EndpointSet, next: EndpointSet): Map<string, Endpoint> {
  const changes = defined(changesSince(previous, next));
  const out = new Map(previous.endpoints.map((e) => [key(e), e]));
  for (const e of changes.removed) {
    expect(out.get(key(e))).toBe(e);
    out.delete(key(e));
  }
  for (const { before, after } of changes.changed) {
    expect(key(before)).toBe(key(after));
    expect(before).not.toBe(after);
    expect(out.get(key(before))).toBe(before);
    out.set(key(after), after);
  }
  for (const e of changes.added) {
    expect(out.has(key(e))).toBe(false);
    out.set(key(e), e);
  }
  return out;
}

const aggregator = () => new EndpointSliceAggregator({ namespace: NS, service: SVC });

describe('EndpointSet.changes', () => {
  it('is undefined on the first set, then holds what changed in `endpoints` by address:port', () => {
    const agg = aggregator();
    agg.reset([slice('a', [ep('10.0.0.1'), ep('10.0.0.2'), ep('10.0.0.3', { ready: false })])]);
    const first = defined(agg.snapshot('1'));
    expect(first.changes).toBeUndefined();
    expect(changesSince(undefined, first)).toBeUndefined();

    agg.upsert(slice('a', [ep('10.0.0.1', { zone: 'z1' }), ep('10.0.0.3'), ep('10.0.0.4')]));
    const second = defined(agg.snapshot('2'));
    const changes = defined(changesSince(first, second));
    expect(changes.removed).toEqual([first.endpoints[1]]);
    expect(changes.added.map(key).sort()).toEqual(['10.0.0.3|8080', '10.0.0.4|8080']);
    expect(changes.changed).toHaveLength(1);
    expect(changes.changed[0]!.before).toBe(first.endpoints[0]);
    expect(changes.changed[0]!.after.zone).toBe('z1');
    expect(Object.isFrozen(changes) && Object.isFrozen(changes.added)).toBe(true);
  });

  it('is not enumerable: sets of equal content stay equal, JSON and spreads leave it out', () => {
    const agg = aggregator();
    agg.reset([slice('a', [ep('10.0.0.1')])]);
    const first = defined(agg.snapshot());
    agg.upsert(slice('a', [ep('10.0.0.1'), ep('10.0.0.2')]));
    const second = defined(agg.snapshot());
    expect(second.changes?.added).toHaveLength(1);
    expect(Object.keys(second)).not.toContain('changes');
    expect(JSON.stringify(second)).not.toContain('changes');
    const other = aggregator();
    other.reset([slice('a', [ep('10.0.0.1'), ep('10.0.0.2')])]);
    expect(defined(other.snapshot())).toEqual(second);
    expect(first.changes).toBeUndefined();
  });

  it('a relist that changes one endpoint gives a one-endpoint diff', () => {
    const agg = aggregator();
    const eps = (n: number) => Array.from({ length: n }, (_, i) => ep(`10.0.${i >> 8}.${i & 255}`));
    agg.reset([slice('a', eps(300)), slice('b', [ep('10.1.0.1')])]);
    const first = defined(agg.snapshot());
    agg.reset([slice('a', eps(300)), slice('b', [ep('10.1.0.1', { ready: false })])]);
    const second = defined(agg.snapshot());
    expect(changesSince(first, second)).toEqual({ added: [], removed: [first.endpoints[300]], changed: [] });
  });

  it('a v1 Endpoints update gives the diff of its addresses', () => {
    const agg = new V1EndpointsAggregator({ namespace: NS, service: SVC });
    const v1 = (ips: string[]) => ({
      kind: 'Endpoints',
      apiVersion: 'v1',
      metadata: { name: SVC, namespace: NS, resourceVersion: '1' },
      subsets: [
        { addresses: ips.map((ip) => ({ ip })), ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
      ],
    });
    agg.set(v1(['10.0.0.1', '10.0.0.2']));
    const first = defined(agg.snapshot());
    agg.set(v1(['10.0.0.1', '10.0.0.3']));
    const second = defined(agg.snapshot());
    const changes = defined(changesSince(first, second));
    expect(changes.added.map((e) => e.address)).toEqual(['10.0.0.3']);
    expect(changes.removed.map((e) => e.address)).toEqual(['10.0.0.2']);
  });

  it('is undefined when `endpoints` switches to the terminating fallback, and after a port re-selection', () => {
    const agg = aggregator();
    agg.reset([
      slice('a', [ep('10.0.0.1'), ep('10.0.0.2', { ready: false, serving: true, terminating: true })]),
    ]);
    defined(agg.snapshot());
    agg.upsert(slice('a', [ep('10.0.0.2', { ready: false, serving: true, terminating: true })]));
    const fallback = defined(agg.snapshot());
    expect(fallback.endpoints.map((e) => e.address)).toEqual(['10.0.0.2']);
    expect(fallback.changes).toBeUndefined();
    // Back to ready endpoints: again a switch.
    agg.upsert(slice('a', [ep('10.0.0.3')]));
    expect(defined(agg.snapshot()).changes).toBeUndefined();
    // A new port name replaces the automatically selected one: everything is re-indexed.
    agg.upsert(slice('a', [ep('10.0.0.3')], { ports: [{ name: 'grpc', port: 9090, protocol: 'TCP' }] }));
    const regrouped = defined(agg.snapshot());
    expect(regrouped.changes).toBeUndefined();
    agg.upsert(
      slice('a', [ep('10.0.0.3'), ep('10.0.0.4')], {
        ports: [{ name: 'grpc', port: 9090, protocol: 'TCP' }],
      }),
    );
    expect(changesSince(regrouped, defined(agg.snapshot()))?.added.map((e) => e.address)).toEqual([
      '10.0.0.4',
    ]);
  });

  it('changesSince refuses a diff that does not start at the given set (a replayed set, a skipped one)', () => {
    const agg = aggregator();
    agg.reset([slice('a', [ep('10.0.0.1')])]);
    const first = defined(agg.snapshot());
    agg.upsert(slice('a', [ep('10.0.0.1'), ep('10.0.0.2')]));
    const second = defined(agg.snapshot());
    agg.upsert(slice('a', [ep('10.0.0.2')]));
    const third = defined(agg.snapshot());
    expect(third.changes).toBeDefined();
    expect(changesSince(first, third)).toBeUndefined();
    expect(changesSince(second, third)).toBe(third.changes);
    // A hand-made set never matches.
    expect(changesSince({ ...second }, third)).toBeUndefined();
  });

  it('applying every diff to the previous set gives the next set, over any history (property)', () => {
    let diffs = 0;
    fc.assert(
      fc.property(portOption, fc.array(opArb, { maxLength: 40 }), (port, history: Op[]) => {
        const o = new Observer(new EndpointSliceAggregator(options(port)));
        let previous: EndpointSet | undefined;
        const check = () => {
          let next: EndpointSet | undefined;
          try {
            next = o.agg.snapshot();
          } catch (error) {
            if (error instanceof PortSelectionError) return;
            throw error;
          }
          if (next === undefined) return;
          if (previous !== undefined && next.changes !== undefined) {
            const got = applied(previous, next);
            expect([...got.keys()].sort()).toEqual(next.endpoints.map(key).sort());
            for (const e of next.endpoints) expect(got.get(key(e))).toBe(e);
            diffs++;
          }
          previous = next;
        };
        for (const op of history) {
          if (op.op === 'snapshot') check();
          else run(o, op);
        }
        check();
      }),
      { numRuns: 500 },
    );
    expect(diffs).toBeGreaterThan(100);
  });

  it('a one-endpoint change among many slices costs a one-endpoint diff', () => {
    const agg = aggregator();
    const names = NAMES.slice();
    agg.reset(
      names.map((n, s) =>
        slice(
          n,
          Array.from({ length: 50 }, (_, i) => ep(`10.${s}.0.${i}`)),
        ),
      ),
    );
    let previous = defined(agg.snapshot());
    for (let i = 0; i < 20; i++) {
      const flipped = Array.from({ length: 50 }, (_, j) =>
        ep(`10.2.0.${j}`, j === i ? { ready: false } : {}),
      );
      agg.upsert(slice('c', flipped));
      const next = defined(agg.snapshot());
      const changes = defined(changesSince(previous, next));
      expect(changes.removed.length + changes.added.length + changes.changed.length).toBe(i === 0 ? 1 : 2);
      previous = next;
    }
  });
});
