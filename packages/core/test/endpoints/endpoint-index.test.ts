import { describe, expect, it } from 'vitest';
import { EndpointIndex } from '../../src/endpoints/endpoint-index.js';
import { EndpointSliceAggregator, parseEndpointSlice } from '../../src/endpoints/model.js';
import type { Endpoint } from '../../src/endpoints/types.js';
import { defined, ep, keys, NS, SVC, slice } from './fixtures.js';

const agg = () => new EndpointSliceAggregator({ namespace: NS, service: SVC });
const find = (list: readonly Endpoint[], address: string): Endpoint =>
  defined(list.find((e) => e.address === address));

describe('EndpointIndex incremental paths', () => {
  it('keeps the Endpoint of an unchanged record that moves to a position whose record changed', () => {
    // A position whose record changed gets a new entry: a record that moved there (also one that was
    // itself created by an in-place update) must keep its Endpoint, the same object.
    const a = agg();
    a.reset([slice('web-a', [ep('10.0.0.1'), ep('10.0.0.2')])]);
    defined(a.snapshot());
    a.upsert(slice('web-a', [ep('10.0.0.1'), ep('10.0.0.2', { nodeName: 'n1' })]));
    const before = defined(a.snapshot());
    a.upsert(slice('web-a', [ep('10.0.0.2', { nodeName: 'n1' }), ep('10.0.0.3')]));
    const after = defined(a.snapshot());
    expect(keys(after.all)).toEqual(['10.0.0.2:8080', '10.0.0.3:8080']);
    expect(find(after.all, '10.0.0.2')).toBe(find(before.all, '10.0.0.2'));
  });

  it('drops the winners of a group whose port no longer matches after a re-selection', () => {
    // The re-index path (selected port changes) must forget old winners, also of unchanged entries.
    const a = agg();
    a.reset([slice('web-a', [ep('10.0.0.1')])]);
    defined(a.snapshot());
    a.upsert(slice('web-a', [ep('10.0.0.1')], { ports: null }));
    const s = defined(a.snapshot());
    expect(s.port).toBeUndefined();
    expect(s.all).toEqual([]);
    expect(s.endpoints).toEqual([]);
    a.upsert(slice('web-a', [ep('10.0.0.1')]));
    expect(keys(defined(a.snapshot()).all)).toEqual(['10.0.0.1:8080']);
  });

  it('gives a record listed twice in one group two entries (one entry is never used twice)', () => {
    const [r1, r2] = parseEndpointSlice(slice('s', [ep('10.0.0.1'), ep('10.0.0.2')]), undefined).records;
    const index = new EndpointIndex({ namespace: NS, service: SVC, port: 'http' }, 'endpointslices');
    const ports = [{ name: 'http', port: 80, protocol: 'TCP', appProtocol: undefined }];
    index.apply('g', { ports, records: [defined(r1)] });
    defined(index.snapshot(undefined));
    index.apply('g', { ports, records: [defined(r1), defined(r1)] });
    index.apply('h', { ports, records: [defined(r2)] });
    expect(keys(defined(index.snapshot(undefined)).all)).toEqual(['10.0.0.1:80', '10.0.0.2:80']);
  });
});
