import { type EndpointSet, EndpointSliceAggregator } from '@endpoint-watch/core';
import { BehaviorSubject, Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { type Balancer, createBalancer, EndpointResources } from '../src/index.js';
import { ep, set } from './support.js';

/** A slice of these addresses, port 8080. */
function slice(addresses: readonly string[]) {
  return {
    metadata: { name: 'a', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    endpoints: addresses.map((address) => ({ addresses: [address] })),
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  };
}

describe('EndpointResources', () => {
  it("retires what is held for an endpoint when it leaves, from createBalancer's left$ (diffs and whole sets)", () => {
    const aggregator = new EndpointSliceAggregator({ namespace: 'default', service: 'web' });
    const sets = new Subject<EndpointSet>();
    const balancer = createBalancer(sets);
    const left: string[][] = [];
    balancer.left$?.subscribe((keys) => left.push([...keys]));
    const retired: string[] = [];
    const resources = new EndpointResources<string>(balancer, (r) => retired.push(r));
    aggregator.reset([slice(['10.0.0.1', '10.0.0.2', '10.0.0.3'])]);
    sets.next(aggregator.snapshot()!);
    expect(resources.has('10.0.0.1:8080')).toBe(true);
    expect(resources.has('10.0.0.9:8080')).toBe(false);
    resources.add('a1', '10.0.0.1:8080', 'pool-1a');
    resources.add('b1', '10.0.0.1:8080', 'pool-1b');
    resources.add('a2', '10.0.0.2:8080', 'pool-2');
    aggregator.upsert(slice(['10.0.0.2', '10.0.0.3']));
    const next = aggregator.snapshot()!;
    expect(next.changes?.removed).toHaveLength(1);
    sets.next(next);
    expect(left).toEqual([['10.0.0.1:8080']]);
    expect(retired.sort()).toEqual(['pool-1a', 'pool-1b']);
    expect(resources.get('a1')).toBeUndefined();
    expect(resources.get('a2')).toBe('pool-2');
    // A set read whole (no diff) reports what left too.
    sets.next({ ...next, endpoints: [], all: [] });
    expect(left.at(-1)?.sort()).toEqual(['10.0.0.2:8080', '10.0.0.3:8080']);
    expect(retired).toContain('pool-2');
    expect(resources.takeAll()).toEqual([]);
    balancer.close();
  });

  it('falls back to stats$ for a balancer without left$', () => {
    const sets = new BehaviorSubject(set([ep(1), ep(2)]));
    const inner = createBalancer(sets);
    const plain: Balancer = {
      pick: (key, options) => inner.pick(key, options),
      waitForPick: (key, options) => inner.waitForPick(key, options),
      get endpoints() {
        return inner.endpoints;
      },
      stats: () => inner.stats(),
      stats$: inner.stats$,
      close: () => inner.close(),
    };
    const retired: string[] = [];
    const resources = new EndpointResources<string>(plain, (r) => retired.push(r));
    expect(resources.has('10.0.0.1:8080')).toBe(true);
    resources.add('x', '10.0.0.1:8080', 'pool-1');
    resources.add('y', '10.0.0.2:8080', 'pool-2');
    sets.next(set([ep(2)]));
    expect(retired).toEqual(['pool-1']);
    expect(resources.has('10.0.0.1:8080')).toBe(false);
    expect(resources.takeAll()).toEqual(['pool-2']);
    sets.next(set([]));
    expect(retired).toEqual(['pool-1']);
    plain.close();
  });
});
