import { describe, expect, it } from 'vitest';
import {
  type AggregatorOptions,
  InvalidObjectError,
  PortSelectionError,
  V1EndpointsAggregator,
} from '../../src/endpoints/model.js';
import type { Endpoint } from '../../src/endpoints/types.js';
import { copy, defined, keys, NS, SVC } from './fixtures.js';

const agg = (o: Partial<AggregatorOptions> = {}) =>
  new V1EndpointsAggregator({ namespace: NS, service: SVC, ...o });

interface Subset {
  addresses?: unknown[] | null;
  notReadyAddresses?: unknown[] | null;
  ports?: unknown[] | null;
}

function endpoints(subsets: Subset[] | null, name = SVC, namespace = NS): Record<string, unknown> {
  return {
    kind: 'Endpoints',
    apiVersion: 'v1',
    metadata: { name, namespace, resourceVersion: '3' },
    subsets,
  };
}

const addr = (ip: string, pod?: string, nodeName?: string) => ({
  ip,
  ...(nodeName === undefined ? {} : { nodeName }),
  ...(pod === undefined ? {} : { targetRef: { kind: 'Pod', namespace: NS, name: pod, uid: `uid-${pod}` } }),
});
const HTTP = { name: 'http', port: 8080, protocol: 'TCP' };

const find = (list: readonly Endpoint[], address: string): Endpoint =>
  defined(list.find((e) => e.address === address));

describe('V1EndpointsAggregator', () => {
  it('maps addresses to ready endpoints and notReadyAddresses to not ready, not serving ones', () => {
    const a = agg();
    a.set(
      endpoints([
        { addresses: [addr('10.0.0.1', 'p1', 'n1')], notReadyAddresses: [addr('10.0.0.2')], ports: [HTTP] },
      ]),
    );
    const s = defined(a.snapshot('3'));
    expect(s.source).toBe('endpoints');
    expect(s.resourceVersion).toBe('3');
    expect(s.port).toEqual({ name: 'http', protocol: 'TCP', appProtocol: undefined });
    expect(keys(s.endpoints)).toEqual(['10.0.0.1:8080']);
    expect(find(s.all, '10.0.0.1')).toEqual({
      address: '10.0.0.1',
      port: 8080,
      addressType: 'IPv4',
      ready: true,
      serving: true,
      terminating: false,
      nodeName: 'n1',
      zone: undefined,
      hostname: undefined,
      hints: undefined,
      targetRef: { kind: 'Pod', namespace: NS, name: 'p1', uid: 'uid-p1' },
    });
    expect(find(s.all, '10.0.0.2')).toMatchObject({ ready: false, serving: false, terminating: false });
    expect(Object.isFrozen(s.all[0])).toBe(true);
  });

  it('has no fallback: with only not-ready addresses, endpoints is empty', () => {
    const a = agg();
    a.set(endpoints([{ notReadyAddresses: [addr('10.0.0.2')], ports: [HTTP] }]));
    const s = defined(a.snapshot());
    expect(s.endpoints).toEqual([]);
    expect(keys(s.all)).toEqual(['10.0.0.2:8080']);
  });

  it('matches ports per subset, by name or by number', () => {
    const obj = endpoints([
      { addresses: [addr('10.0.0.1')], ports: [{ name: 'http', port: 8080 }] },
      { addresses: [addr('10.0.0.2')], ports: [{ name: 'http', port: 9000 }] },
    ]);
    const byName = agg({ port: 'http' });
    byName.set(obj);
    expect(keys(defined(byName.snapshot()).all)).toEqual(['10.0.0.1:8080', '10.0.0.2:9000']);
    const byNumber = agg({ port: 9000 });
    byNumber.set(obj);
    expect(keys(defined(byNumber.snapshot()).all)).toEqual(['10.0.0.2:9000']);
  });

  it('throws PortSelectionError when several port names exist and none is chosen', () => {
    const a = agg();
    a.set(endpoints([{ addresses: [addr('10.0.0.1')], ports: [HTTP, { name: 'metrics', port: 9090 }] }]));
    expect(() => a.snapshot()).toThrow(PortSelectionError);
    expect(() => a.snapshot()).toThrow('http (8080/TCP), metrics (9090/TCP)');
  });

  it('dedupes an address that appears in two subsets, preferring the ready copy', () => {
    const a = agg();
    a.set(
      endpoints([
        { notReadyAddresses: [addr('10.0.0.1', 'not-ready')], ports: [HTTP] },
        { addresses: [addr('10.0.0.1', 'ready')], ports: [{ ...HTTP, appProtocol: 'http' }] },
      ]),
    );
    const s = defined(a.snapshot());
    expect(s.all).toHaveLength(1);
    expect(s.all[0]?.targetRef?.name).toBe('ready');
  });

  it('keeps every subset when a port list reads like the numbered name of a repeated one', () => {
    const a = agg({ port: 'http' });
    a.set(
      endpoints([
        { addresses: [addr('10.0.0.1')], ports: [{ name: 'http', port: 80 }] },
        { addresses: [addr('10.0.0.2')], ports: [{ name: 'http', port: 80 }] },
        // Its port list reads 'http:80/TCP#2', the name the second subset gets as a repeat.
        { addresses: [addr('10.0.0.3')], ports: [{ name: 'http', port: 80, protocol: 'TCP#2' }] },
      ]),
    );
    expect(keys(defined(a.snapshot()).all)).toEqual(['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80']);
  });

  it('infers IPv6 and canonicalizes it; addressTypes restricts', () => {
    const obj = endpoints([{ addresses: [addr('10.0.0.1'), addr('FD00:0::1')], ports: [HTTP] }]);
    const a = agg();
    a.set(obj);
    const s = defined(a.snapshot());
    expect(find(s.all, 'fd00::1').addressType).toBe('IPv6');
    const v4 = agg({ addressTypes: ['IPv4'] });
    v4.set(obj);
    expect(keys(defined(v4.snapshot()).all)).toEqual(['10.0.0.1:8080']);
  });

  it('shares unchanged endpoints across versions, even when subsets are reordered, and skips no-op updates', () => {
    const a = agg();
    const v1 = endpoints([
      { addresses: [addr('10.0.0.1', 'p1'), addr('10.0.0.2', 'p2')], ports: [HTTP] },
      { addresses: [addr('10.0.0.3', 'p3')], ports: [{ name: 'http', port: 9000 }] },
    ]);
    a.set(v1);
    const before = defined(a.snapshot('1'));
    a.set(copy(v1));
    expect(a.snapshot('2')).toBeUndefined();
    // Reordered subsets, p2 moves to notReadyAddresses.
    a.set(
      endpoints([
        { addresses: [addr('10.0.0.3', 'p3')], ports: [{ name: 'http', port: 9000 }] },
        { addresses: [addr('10.0.0.1', 'p1')], notReadyAddresses: [addr('10.0.0.2', 'p2')], ports: [HTTP] },
      ]),
    );
    const after = defined(a.snapshot('3'));
    expect(find(after.all, '10.0.0.1')).toBe(find(before.all, '10.0.0.1'));
    expect(find(after.all, '10.0.0.3')).toBe(find(before.all, '10.0.0.3'));
    expect(find(after.all, '10.0.0.2').ready).toBe(false);
    expect(keys(after.endpoints)).toEqual(['10.0.0.1:8080', '10.0.0.3:9000']);
  });

  it('clear() empties the set; null subsets are an empty object', () => {
    const a = agg();
    a.set(endpoints([{ addresses: [addr('10.0.0.1')], ports: [HTTP] }]));
    defined(a.snapshot());
    a.clear();
    expect(defined(a.snapshot())).toMatchObject({ all: [], endpoints: [], port: undefined });
    a.set(endpoints(null));
    expect(a.snapshot()).toBeUndefined();
  });

  it('ignores an Endpoints object of another name or namespace', () => {
    const a = agg();
    a.set(endpoints([{ addresses: [addr('10.0.0.1')], ports: [HTTP] }]));
    defined(a.snapshot());
    a.set(endpoints([{ addresses: [addr('10.0.0.9')], ports: [HTTP] }], 'other'));
    a.set(endpoints([{ addresses: [addr('10.0.0.9')], ports: [HTTP] }], SVC, 'other-ns'));
    expect(a.snapshot()).toBeUndefined();
  });

  it('rejects invalid objects atomically, naming the field', () => {
    const a = agg();
    a.set(endpoints([{ addresses: [addr('10.0.0.1')], ports: [HTTP] }]));
    const before = defined(a.snapshot());
    const bad: [unknown, string][] = [
      [42, '(root)'],
      [
        endpoints([{ addresses: [addr('10.0.0.5'), { hostname: 'x' }], ports: [HTTP] }]),
        'subsets[0].addresses[1].ip',
      ],
      [endpoints([{ addresses: [addr('10.0.0.5')], ports: [{ name: 'http' }] }]), 'subsets[0].ports[0].port'],
      // Numbers no connection can use (the API refuses them too).
      ...[0, -1, 65_536].map((port): [unknown, string] => [
        endpoints([{ addresses: [addr('10.0.0.5')], ports: [{ name: 'http', port }] }]),
        'subsets[0].ports[0].port',
      ]),
      [endpoints([{ notReadyAddresses: {} as unknown[], ports: [HTTP] }]), 'subsets[0].notReadyAddresses'],
      // Unchanged except for a field of the wrong type: must not pass the cheap comparison.
      [
        endpoints([{ addresses: [{ ip: '10.0.0.1', nodeName: 3 }], ports: [HTTP] }]),
        'subsets[0].addresses[0].nodeName',
      ],
      [
        endpoints([{ addresses: [{ ip: '10.0.0.1', targetRef: [] }], ports: [HTTP] }]),
        'subsets[0].addresses[0].targetRef',
      ],
    ];
    for (const [obj, field] of bad) {
      let error: unknown;
      try {
        a.set(obj);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidObjectError);
      expect((error as InvalidObjectError).field).toBe(field);
      expect((error as InvalidObjectError).code).toBe('ERR_INVALID_OBJECT');
    }
    expect(a.snapshot()).toBeUndefined();
    a.set(endpoints([{ addresses: [addr('10.0.0.1'), addr('10.0.0.2')], ports: [HTTP] }]));
    const after = defined(a.snapshot());
    expect(find(after.all, '10.0.0.1')).toBe(find(before.all, '10.0.0.1'));
  });
});
