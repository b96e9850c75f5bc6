import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseEndpointSlice } from '../../src/endpoints/endpointslice-parser.js';
import {
  type AggregatorOptions,
  EndpointSliceAggregator,
  InvalidObjectError,
  PortSelectionError,
} from '../../src/endpoints/model.js';
import type { Endpoint, EndpointSet } from '../../src/endpoints/types.js';
import { EndpointWatchError } from '../../src/errors.js';
import { copy, defined, ep, HTTP, keys, NS, SVC, slice } from './fixtures.js';

const agg = (o: Partial<AggregatorOptions> = {}) =>
  new EndpointSliceAggregator({ namespace: NS, service: SVC, ...o });

/** Resets with these slices and returns the first snapshot. */
function setOf(slices: unknown[], o: Partial<AggregatorOptions> = {}): EndpointSet {
  const a = agg(o);
  a.reset(slices);
  return defined(a.snapshot('1'));
}

const find = (list: readonly Endpoint[], address: string, port?: number): Endpoint =>
  defined(list.find((e) => e.address === address && (port === undefined || e.port === port)));

describe('EndpointSliceAggregator: snapshot contract', () => {
  it('returns an empty set on the first call even without slices, then undefined until a change', () => {
    const a = agg();
    const first = defined(a.snapshot('5'));
    expect(first).toEqual({
      namespace: NS,
      service: SVC,
      port: undefined,
      endpoints: [],
      all: [],
      resourceVersion: '5',
      source: 'endpointslices',
    });
    expect(a.snapshot('6')).toBeUndefined();
    a.upsert(slice('web-a', [ep('10.0.0.1')]));
    const second = defined(a.snapshot('7'));
    expect(second.resourceVersion).toBe('7');
    expect(keys(second.endpoints)).toEqual(['10.0.0.1:8080']);
    expect(second.port).toEqual({ name: 'http', protocol: 'TCP', appProtocol: undefined });
  });

  it('does not count a new resourceVersion alone as a change', () => {
    const a = agg();
    a.reset([slice('web-a', [ep('10.0.0.1')])]);
    defined(a.snapshot('1'));
    a.upsert(slice('web-a', [ep('10.0.0.1')], { resourceVersion: '2' }));
    expect(a.snapshot('2')).toBeUndefined();
  });

  it('freezes the set, its arrays, endpoints and nested objects', () => {
    const s = setOf([slice('web-a', [ep('10.0.0.1', { pod: 'p1', forZones: ['z1'], forNodes: ['n1'] })])]);
    const e = find(s.all, '10.0.0.1');
    for (const o of [
      s,
      s.endpoints,
      s.all,
      s.port,
      e,
      e.targetRef,
      e.hints,
      e.hints?.forZones,
      e.hints?.forNodes,
    ]) {
      expect(Object.isFrozen(o)).toBe(true);
    }
  });

  it('builds each list once, on first read, and never lets later changes leak into an older set', () => {
    const a = agg();
    a.reset([slice('web-a', [ep('10.0.0.1'), ep('10.0.0.2')]), slice('web-b', [ep('10.0.0.3')])]);
    const first = defined(a.snapshot('1'));
    a.upsert(slice('web-a', [ep('10.0.0.1', { ready: false })]));
    a.remove(slice('web-b', []));
    const second = defined(a.snapshot('2'));
    // `first` is read only now, after the changes.
    expect(keys(first.all)).toEqual(['10.0.0.1:8080', '10.0.0.2:8080', '10.0.0.3:8080']);
    expect(first.endpoints).toBe(first.all);
    expect(first.all).toBe(first.all);
    expect(keys(second.all)).toEqual(['10.0.0.1:8080']);
    expect(second.endpoints).toEqual([]);
    expect(second.endpoints).toBe(second.endpoints);
    expect({ ...first }.all).toBe(first.all);
    expect(JSON.parse(JSON.stringify(second))).toMatchObject({
      all: [{ address: '10.0.0.1' }],
      endpoints: [],
    });
    expect(inspect(first)).toContain("address: '10.0.0.3'");
  });

  it('maps every endpoint field', () => {
    const s = setOf([
      slice('web-a', [
        ep('10.0.0.1', {
          nodeName: 'n1',
          zone: 'z1',
          hostname: 'h1',
          pod: 'p1',
          forZones: ['z1', 'z2'],
          forNodes: ['n1'],
        }),
      ]),
    ]);
    expect(s.all).toEqual([
      {
        address: '10.0.0.1',
        port: 8080,
        addressType: 'IPv4',
        ready: true,
        serving: true,
        terminating: false,
        nodeName: 'n1',
        zone: 'z1',
        hostname: 'h1',
        hints: { forZones: ['z1', 'z2'], forNodes: ['n1'] },
        targetRef: { kind: 'Pod', namespace: NS, name: 'p1', uid: 'uid-p1' },
      },
    ]);
  });

  it('uses only the first address of an endpoint', () => {
    const s = setOf([slice('web-a', [{ addresses: ['10.0.0.1', '10.0.0.2'] }])]);
    expect(keys(s.all)).toEqual(['10.0.0.1:8080']);
  });

  it('treats empty hint lists as no hints', () => {
    const s = setOf([slice('web-a', [{ addresses: ['10.0.0.1'], hints: { forZones: [] } }])]);
    expect(find(s.all, '10.0.0.1').hints).toBeUndefined();
  });

  it('accepts null endpoints and null ports (as the apiserver serializes empty slices), or none at all', () => {
    const s = setOf([slice('web-a', null, { ports: null })]);
    expect(s.all).toEqual([]);
    expect(s.port).toBeUndefined();
    const bare = { metadata: { name: 'web-b' }, addressType: 'IPv4' };
    expect(setOf([bare])).toMatchObject({ all: [], port: undefined });
  });
});

describe('EndpointSliceAggregator: conditions (kube-proxy nil semantics)', () => {
  const cases: [string, Record<string, unknown>, [boolean, boolean, boolean]][] = [
    ['no conditions object', { addresses: ['10.0.0.1'] }, [true, true, false]],
    ['conditions: null', { addresses: ['10.0.0.1'], conditions: null }, [true, true, false]],
    ['conditions: {}', { addresses: ['10.0.0.1'], conditions: {} }, [true, true, false]],
    [
      'all three null',
      { addresses: ['10.0.0.1'], conditions: { ready: null, serving: null, terminating: null } },
      [true, true, false],
    ],
    ['ready false only', { addresses: ['10.0.0.1'], conditions: { ready: false } }, [false, true, false]],
    [
      'terminating true only',
      { addresses: ['10.0.0.1'], conditions: { terminating: true } },
      [true, true, true],
    ],
    [
      'explicit values',
      { addresses: ['10.0.0.1'], conditions: { ready: false, serving: false, terminating: true } },
      [false, false, true],
    ],
  ];
  for (const [name, raw, [ready, serving, terminating]] of cases) {
    it(name, () => {
      const s = setOf([slice('web-a', [raw])]);
      expect(find(s.all, '10.0.0.1')).toMatchObject({ ready, serving, terminating });
    });
  }
});

describe('EndpointSliceAggregator: ready endpoints and the terminating fallback', () => {
  it('serves only ready endpoints while at least one is ready', () => {
    const s = setOf([
      slice('web-a', [
        ep('10.0.0.1', { ready: true }),
        ep('10.0.0.2', { ready: false, serving: true, terminating: true }),
        ep('10.0.0.3', { ready: false, serving: false }),
      ]),
    ]);
    expect(keys(s.endpoints)).toEqual(['10.0.0.1:8080']);
    expect(keys(s.all)).toEqual(['10.0.0.1:8080', '10.0.0.2:8080', '10.0.0.3:8080']);
  });

  it('falls back to serving && terminating endpoints when none is ready anywhere, and back again', () => {
    const a = agg();
    a.reset([
      slice('web-a', [
        ep('10.0.0.1', { ready: false, serving: true, terminating: true }),
        ep('10.0.0.2', { ready: false, serving: false, terminating: true }),
        ep('10.0.0.3', { ready: false, serving: true, terminating: false }),
      ]),
      slice('web-b', [ep('10.0.0.4', { ready: false, serving: true, terminating: true })]),
    ]);
    expect(keys(defined(a.snapshot()).endpoints)).toEqual(['10.0.0.1:8080', '10.0.0.4:8080']);
    a.upsert(slice('web-b', [ep('10.0.0.4', { ready: true })]));
    expect(keys(defined(a.snapshot()).endpoints)).toEqual(['10.0.0.4:8080']);
    a.remove(slice('web-b', []));
    expect(keys(defined(a.snapshot()).endpoints)).toEqual(['10.0.0.1:8080']);
  });

  it('has no endpoints when nothing is ready, serving or terminating', () => {
    const s = setOf([slice('web-a', [ep('10.0.0.1', { ready: false, serving: false })])]);
    expect(s.endpoints).toEqual([]);
    expect(keys(s.all)).toEqual(['10.0.0.1:8080']);
  });
});

describe('EndpointSliceAggregator: union and dedupe across slices', () => {
  it('unions slices and removes a deleted slice', () => {
    const a = agg();
    a.reset([slice('web-a', [ep('10.0.0.1')]), slice('web-b', [ep('10.0.0.2')])]);
    expect(keys(defined(a.snapshot()).all)).toEqual(['10.0.0.1:8080', '10.0.0.2:8080']);
    a.remove(slice('web-a', []));
    expect(keys(defined(a.snapshot()).all)).toEqual(['10.0.0.2:8080']);
    a.remove(slice('web-zzz', []));
    expect(a.snapshot()).toBeUndefined();
  });

  for (const order of [
    ['web-a', 'web-b'],
    ['web-b', 'web-a'],
  ]) {
    it(`prefers the non-terminating copy whatever the slice names and arrival order (${order.join(', ')})`, () => {
      const copies: Record<string, Record<string, unknown>> = {
        // the terminating copy even claims to be ready: not terminating still comes first
        'web-a': slice('web-a', [
          ep('10.0.0.1', { ready: true, serving: true, terminating: true, pod: 'old' }),
        ]),
        'web-b': slice('web-b', [
          ep('10.0.0.1', { ready: false, serving: false, terminating: false, pod: 'new' }),
        ]),
      };
      const a = agg();
      for (const name of order) a.upsert(copies[name]);
      const s = defined(a.snapshot());
      expect(s.all).toHaveLength(1);
      expect(s.all[0]?.targetRef?.name).toBe('new');
    });
  }

  it('prefers the ready copy among non-terminating ones, then the first slice name', () => {
    const a = agg();
    a.upsert(slice('web-a', [ep('10.0.0.1', { ready: false, nodeName: 'from-a' })]));
    a.upsert(slice('web-b', [ep('10.0.0.1', { ready: true, nodeName: 'from-b' })]));
    a.upsert(slice('web-c', [ep('10.0.0.1', { ready: true, nodeName: 'from-c' })]));
    let s = defined(a.snapshot());
    expect(s.all.map((e) => e.nodeName)).toEqual(['from-b']);
    expect(keys(s.endpoints)).toEqual(['10.0.0.1:8080']);
    // The winner goes away: the next best copy takes over.
    a.remove(slice('web-b', []));
    s = defined(a.snapshot());
    expect(s.all.map((e) => e.nodeName)).toEqual(['from-c']);
    a.remove(slice('web-c', []));
    s = defined(a.snapshot());
    expect(s.all.map((e) => e.nodeName)).toEqual(['from-a']);
    expect(s.endpoints).toEqual([]);
  });

  it('resolves copies inside one slice deterministically, whatever their order', () => {
    const x = ep('10.0.0.1', { nodeName: 'x' });
    const y = ep('10.0.0.1', { nodeName: 'y' });
    const one = setOf([slice('web-a', [x, y])]);
    const other = setOf([slice('web-a', [y, x])]);
    expect(one.all).toHaveLength(1);
    expect(other.all).toEqual(one.all);
  });

  it('keeps the same address on different ports apart', () => {
    const s = setOf([
      slice('web-a', [ep('10.0.0.1')], { ports: [{ name: 'http', port: 8080 }] }),
      slice('web-b', [ep('10.0.0.1')], { ports: [{ name: 'http', port: 8081 }] }),
    ]);
    expect(keys(s.all)).toEqual(['10.0.0.1:8080', '10.0.0.1:8081']);
  });

  it('ignores slices of another namespace, and of another service (whose upsert drops that name)', () => {
    const a = agg();
    a.reset([
      slice('web-a', [ep('10.0.0.1')]),
      slice('api-a', [ep('10.0.0.2')], { service: 'api' }),
      slice('web-other-ns', [ep('10.0.0.3')], { namespace: 'other' }),
      slice('web-unlabelled', [ep('10.0.0.4')], { service: null }),
    ]);
    expect(keys(defined(a.snapshot()).all)).toEqual(['10.0.0.1:8080', '10.0.0.4:8080']);
    a.upsert(slice('web-a', [ep('10.0.0.9')], { namespace: 'other' }));
    expect(a.snapshot()).toBeUndefined();
    a.upsert(slice('web-a', [ep('10.0.0.1')], { service: 'api' }));
    expect(keys(defined(a.snapshot()).all)).toEqual(['10.0.0.4:8080']);
    a.remove(slice('web-unlabelled', [], { namespace: 'other' }));
    expect(a.snapshot()).toBeUndefined();
  });
});

describe('EndpointSliceAggregator: ports', () => {
  const two = [
    { name: 'http', port: 8080, protocol: 'TCP' },
    { name: 'metrics', port: 9090, protocol: 'TCP' },
  ];

  it('matches named ports per slice, also when they map to different numbers', () => {
    const slices = [
      slice('web-a', [ep('10.0.0.1')], { ports: [{ name: 'http', port: 8080 }] }),
      slice('web-b', [ep('10.0.0.2')], { ports: [{ name: 'http', port: 9000 }] }),
    ];
    for (const port of [undefined, 'http'] as const) {
      const s = setOf(slices, port === undefined ? {} : { port });
      expect(keys(s.all)).toEqual(['10.0.0.1:8080', '10.0.0.2:9000']);
      expect(s.port).toEqual({ name: 'http', protocol: 'TCP', appProtocol: undefined });
    }
    expect(keys(setOf(slices, { port: 9000 }).all)).toEqual(['10.0.0.2:9000']);
  });

  it('selects by name or by number among several ports', () => {
    const slices = [slice('web-a', [ep('10.0.0.1')], { ports: two })];
    expect(keys(setOf(slices, { port: 'metrics' }).all)).toEqual(['10.0.0.1:9090']);
    expect(setOf(slices, { port: 'metrics' }).port?.name).toBe('metrics');
    expect(keys(setOf(slices, { port: 8080 }).all)).toEqual(['10.0.0.1:8080']);
    expect(setOf(slices, { port: 8080 }).port?.name).toBe('http');
  });

  it('throws PortSelectionError naming the declared ports for a port no slice carries (a typo, a Service port number)', () => {
    const slices = [slice('web-a', [ep('10.0.0.1')], { ports: two })];
    expect(() => setOf(slices, { port: 'grpc' })).toThrow(
      /has no port named "grpc"; its EndpointSlices declare: http \(8080\/TCP\), metrics \(9090\/TCP\)/,
    );
    expect(() => setOf(slices, { port: 80 })).toThrow(
      /has no port 80 \(a number is a Service port when the Service can be read, .* else a target port/,
    );
    // Slices that declare no port (a Service without endpoints) still give an empty set.
    expect(setOf([slice('web-a', [], { ports: [] })], { port: 'grpc' })).toMatchObject({
      port: undefined,
      all: [],
    });
  });

  it('throws PortSelectionError naming the ports when no port is chosen and several exist', () => {
    const a = agg();
    a.reset([slice('web-a', [ep('10.0.0.1')], { ports: two }), slice('web-b', [ep('10.0.0.2')])]);
    let error: unknown;
    try {
      a.snapshot();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PortSelectionError);
    expect(error).toBeInstanceOf(EndpointWatchError);
    const pse = error as PortSelectionError;
    expect(pse.code).toBe('ERR_PORT_SELECTION');
    expect(pse.message).toContain('http (8080/TCP), metrics (9090/TCP)');
    expect(pse.available).toEqual(['http (8080/TCP)', 'metrics (9090/TCP)']);
    // Still ambiguous on the next call, and resolved once the second name is gone.
    expect(() => a.snapshot()).toThrow(PortSelectionError);
    a.upsert(slice('web-a', [ep('10.0.0.1')]));
    expect(keys(defined(a.snapshot()).all)).toEqual(['10.0.0.1:8080', '10.0.0.2:8080']);
  });

  it('lists every number of a name that maps to several', () => {
    const a = agg();
    a.reset([
      slice('web-a', [ep('10.0.0.1')], { ports: [{ name: 'http', port: 8080 }] }),
      slice('web-b', [ep('10.0.0.2')], {
        ports: [
          { name: 'http', port: 8081 },
          { name: 'admin', port: 9000 },
        ],
      }),
    ]);
    expect(() => a.snapshot()).toThrow('admin (9000/TCP), http (8080/TCP, 8081/TCP)');
  });

  it('throws when a port number matches several named ports', () => {
    const dns = () => [
      slice('dns-a', [ep('10.0.0.1')], {
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP' },
          { name: 'dns-tcp', port: 53, protocol: 'TCP' },
        ],
      }),
    ];
    const a = agg({ port: 53 });
    a.reset(dns());
    expect(() => a.snapshot()).toThrow(/port 53 .*dns \(53\/UDP\), dns-tcp \(53\/TCP\)/);
    expect(setOf(dns(), { port: 'dns-tcp' }).port).toEqual({
      name: 'dns-tcp',
      protocol: 'TCP',
      appProtocol: undefined,
    });
  });

  it('selects a single unnamed port and applies the protocol default', () => {
    const s = setOf([slice('web-a', [ep('10.0.0.1')], { ports: [{ port: 80 }] })]);
    expect(s.port).toEqual({ name: '', protocol: 'TCP', appProtocol: undefined });
    expect(keys(s.all)).toEqual(['10.0.0.1:80']);
  });

  it('yields no endpoints for a port without number ("all ports")', () => {
    const s = setOf([slice('web-a', [ep('10.0.0.1')], { ports: [{ name: 'http', port: null }] })]);
    expect(s.port?.name).toBe('http');
    expect(s.all).toEqual([]);
  });

  it('carries appProtocol and re-emits when only the port reference changes', () => {
    const a = agg();
    a.reset([slice('web-a', [ep('10.0.0.1')])]);
    const before = defined(a.snapshot());
    a.upsert(slice('web-a', [ep('10.0.0.1')], { ports: [{ ...HTTP, appProtocol: 'kubernetes.io/h2c' }] }));
    const after = defined(a.snapshot());
    expect(after.port?.appProtocol).toBe('kubernetes.io/h2c');
    expect(after.all[0]).toBe(before.all[0]);
  });

  it('follows a port rename and new content that arrive in one relist', () => {
    const a = agg();
    a.reset([slice('web-a', [ep('10.0.0.1')]), slice('web-b', [ep('10.0.0.2')])]);
    defined(a.snapshot());
    const web = [{ name: 'web', port: 8080 }];
    a.reset([
      slice('web-a', [ep('10.0.0.3')], { ports: web }),
      slice('web-b', [ep('10.0.0.4')], { ports: web }),
    ]);
    const s = defined(a.snapshot());
    expect(s.port?.name).toBe('web');
    expect(keys(s.all)).toEqual(['10.0.0.3:8080', '10.0.0.4:8080']);
  });

  it('rebuilds endpoints with the new number when a slice port number changes', () => {
    const a = agg();
    a.reset([slice('web-a', [ep('10.0.0.1')]), slice('web-b', [ep('10.0.0.2')])]);
    defined(a.snapshot());
    a.upsert(slice('web-a', [ep('10.0.0.1')], { ports: [{ name: 'http', port: 9999 }] }));
    expect(keys(defined(a.snapshot()).all)).toEqual(['10.0.0.1:9999', '10.0.0.2:8080']);
  });

  it('follows a renamed single port', () => {
    const a = agg();
    a.reset([slice('web-a', [ep('10.0.0.1')])]);
    defined(a.snapshot());
    a.upsert(slice('web-a', [ep('10.0.0.1')], { ports: [{ name: 'web', port: 8080 }] }));
    const s = defined(a.snapshot());
    expect(s.port?.name).toBe('web');
    expect(keys(s.all)).toEqual(['10.0.0.1:8080']);
  });
});

describe('EndpointSliceAggregator: address families', () => {
  const dual = [
    slice('web-v4', [ep('10.0.0.1'), ep('10.0.0.2')]),
    slice('web-v6', [ep('fd00::1'), ep('fd00::2')], { addressType: 'IPv6' }),
  ];

  it('includes both families of a dual-stack Service, each endpoint with its addressType', () => {
    const s = setOf(dual);
    expect(keys(s.all)).toEqual(['10.0.0.1:8080', '10.0.0.2:8080', 'fd00::1:8080', 'fd00::2:8080']);
    expect(find(s.all, 'fd00::1').addressType).toBe('IPv6');
    expect(find(s.all, '10.0.0.1').addressType).toBe('IPv4');
  });

  it('restricts to the requested address types', () => {
    expect(keys(setOf(dual, { addressTypes: ['IPv6'] }).all)).toEqual(['fd00::1:8080', 'fd00::2:8080']);
    expect(keys(setOf(dual, { addressTypes: ['IPv4'] }).all)).toEqual(['10.0.0.1:8080', '10.0.0.2:8080']);
  });

  it('canonicalizes IPv6 text and IPv4 leading zeros, and dedupes on the canonical form', () => {
    const s = setOf([
      slice('web-v6-a', [ep('FD00:0:0:0::0001')], { addressType: 'IPv6' }),
      slice('web-v6-b', [ep('fd00::1')], { addressType: 'IPv6' }),
      slice('web-v4', [ep('010.000.000.001')]),
    ]);
    expect(keys(s.all)).toEqual(['10.0.0.1:8080', 'fd00::1:8080']);
  });

  it('keeps text that is no address as given, even where part of it reads as one', () => {
    const s = setOf([
      // `new URL` reads `[::1]:80/x` as ::1; a zone id it refuses; 300 is no octet.
      slice('web-v6', [ep('::1]:80/x'), ep('fe80::1%eth0'), ep('::1')], { addressType: 'IPv6' }),
      slice('web-v4', [ep('300.01.1.1'), ep('10.0.0.1')]),
    ]);
    expect(keys(s.all)).toEqual([
      '10.0.0.1:8080',
      '300.01.1.1:8080',
      '::1:8080',
      '::1]:80/x:8080',
      'fe80::1%eth0:8080',
    ]);
  });

  it('keeps FQDN endpoints as given', () => {
    const s = setOf([slice('web-fqdn', [ep('db.example.com')], { addressType: 'FQDN' })]);
    expect(s.all[0]).toMatchObject({ address: 'db.example.com', addressType: 'FQDN' });
  });
});

describe('EndpointSliceAggregator: invalid input is rejected atomically', () => {
  const good = () => [slice('web-a', [ep('10.0.0.1'), ep('10.0.0.2')]), slice('web-b', [ep('10.0.0.3')])];

  function expectInvalid(run: () => void, object: string, field: string): InvalidObjectError {
    let error: unknown;
    try {
      run();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidObjectError);
    const ioe = error as InvalidObjectError;
    expect(ioe.code).toBe('ERR_INVALID_OBJECT');
    expect(ioe.object).toBe(object);
    expect(ioe.field).toBe(field);
    expect(ioe.message).toContain(object);
    expect(ioe.message).toContain(field);
    return ioe;
  }

  const badSlices: [string, unknown, string, string][] = [
    ['not an object', 'nope', 'EndpointSlice #1 of the list', '(root)'],
    ['an array', [], 'EndpointSlice #1 of the list', '(root)'],
    [
      'no metadata.name',
      { ...slice('x', []), metadata: { namespace: NS } },
      'EndpointSlice #1 of the list',
      'metadata.name',
    ],
    ['bad addressType', slice('web-x', [], { addressType: 'IPv5' }), 'EndpointSlice "web-x"', 'addressType'],
    [
      'endpoints not an array',
      { ...slice('web-x', []), endpoints: {} },
      'EndpointSlice "web-x"',
      'endpoints',
    ],
    [
      'entry without addresses',
      slice('web-x', [ep('10.0.0.9'), { conditions: {} }]),
      'EndpointSlice "web-x"',
      'endpoints[1].addresses',
    ],
    [
      'empty addresses',
      slice('web-x', [{ addresses: [] }]),
      'EndpointSlice "web-x"',
      'endpoints[0].addresses',
    ],
    ['entry not an object', slice('web-x', [42]), 'EndpointSlice "web-x"', 'endpoints[0]'],
    [
      'ready not a boolean',
      slice('web-x', [{ addresses: ['10.0.0.9'], conditions: { ready: 'yes' } }]),
      'EndpointSlice "web-x"',
      'endpoints[0].conditions.ready',
    ],
    [
      'nodeName not a string',
      slice('web-x', [{ addresses: ['10.0.0.9'], nodeName: 7 }]),
      'EndpointSlice "web-x"',
      'endpoints[0].nodeName',
    ],
    [
      'hint without name',
      slice('web-x', [{ addresses: ['10.0.0.9'], hints: { forZones: [{}] } }]),
      'EndpointSlice "web-x"',
      'endpoints[0].hints.forZones[0].name',
    ],
    [
      'port not an integer',
      slice('web-x', [], { ports: [{ name: 'http', port: 'eighty' as unknown as number }] }),
      'EndpointSlice "web-x"',
      'ports[0].port',
    ],
  ];

  for (const [name, bad, object, field] of badSlices) {
    it(`reset: ${name}`, () => {
      const a = agg();
      a.reset(good());
      const before = defined(a.snapshot());
      expectInvalid(() => a.reset([slice('web-c', [ep('10.0.0.7')]), bad]), object, field);
      expect(a.snapshot()).toBeUndefined();
      // The state is the old one: a no-op reset to it emits nothing.
      a.reset(good());
      expect(a.snapshot()).toBeUndefined();
      expect(keys(before.all)).toEqual(['10.0.0.1:8080', '10.0.0.2:8080', '10.0.0.3:8080']);
    });
  }

  it('upsert: an invalid entry after changed ones leaves the slice untouched', () => {
    const a = agg();
    a.reset(good());
    const before = defined(a.snapshot());
    expectInvalid(
      () => a.upsert(slice('web-a', [ep('10.0.0.1', { ready: false }), ep('10.0.0.5'), { addresses: 'x' }])),
      'EndpointSlice "web-a"',
      'endpoints[2].addresses',
    );
    expect(a.snapshot()).toBeUndefined();
    a.upsert(slice('web-b', [ep('10.0.0.3'), ep('10.0.0.4')]));
    const after = defined(a.snapshot());
    expect(keys(after.endpoints)).toEqual([
      '10.0.0.1:8080',
      '10.0.0.2:8080',
      '10.0.0.3:8080',
      '10.0.0.4:8080',
    ]);
    expect(find(after.all, '10.0.0.1')).toBe(find(before.all, '10.0.0.1'));
  });

  // An entry equal to the previous one except for a field of the wrong type must not slip through the
  // cheap comparison that lets unchanged entries skip zod.
  const sneaky: [string, Record<string, unknown>, string][] = [
    ['conditions as an array', { addresses: ['10.0.0.1'], conditions: [] }, 'endpoints[0].conditions'],
    ['conditions as a string', { addresses: ['10.0.0.1'], conditions: 'ready' }, 'endpoints[0].conditions'],
    ['targetRef as a string', { addresses: ['10.0.0.1'], targetRef: 'pod' }, 'endpoints[0].targetRef'],
    ['hints as a number', { addresses: ['10.0.0.1'], hints: 1 }, 'endpoints[0].hints'],
    [
      'forZones as an object',
      { addresses: ['10.0.0.1'], hints: { forZones: {} } },
      'endpoints[0].hints.forZones',
    ],
    ['extra address of another type', { addresses: ['10.0.0.1', 5] }, 'endpoints[0].addresses[1]'],
  ];
  for (const [name, raw, field] of sneaky) {
    it(`upsert: rejects an otherwise unchanged entry with ${name}`, () => {
      const a = agg();
      a.reset([slice('web-a', [{ addresses: ['10.0.0.1'] }])]);
      defined(a.snapshot());
      expectInvalid(() => a.upsert(slice('web-a', [raw])), 'EndpointSlice "web-a"', field);
    });
  }

  it('remove: requires an object with metadata.name', () => {
    const a = agg();
    a.reset(good());
    defined(a.snapshot());
    expectInvalid(() => a.remove(null), 'EndpointSlice', '(root)');
    expectInvalid(() => a.remove({ metadata: {} }), 'EndpointSlice', 'metadata.name');
    expect(a.snapshot()).toBeUndefined();
  });

  it('reset: requires an array', () => {
    expectInvalid(() => agg().reset({} as unknown as unknown[]), 'EndpointSlice list', '(root)');
  });

  it('keeps messages short for huge objects', () => {
    const long = 'x'.repeat(10_000);
    const bad = slice(long, [{ addresses: [long], conditions: { ready: long } }]);
    let message = '';
    try {
      agg().upsert(bad);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('conditions.ready');
    expect(message.length).toBeLessThan(400);
  });
});

describe('EndpointSliceAggregator: change detection and structural sharing', () => {
  const hundred = (s: number, changed?: number) =>
    Array.from({ length: 100 }, (_, i) =>
      ep(`10.0.${s}.${i}`, {
        ready: i !== changed,
        nodeName: `node-${i % 7}`,
        zone: 'z1',
        pod: `p-${s}-${i}`,
      }),
    );

  it('does not re-emit when only irrelevant fields change', () => {
    const a = agg();
    a.reset([slice('web-a', hundred(0))]);
    defined(a.snapshot('1'));
    const modified = slice('web-a', hundred(0), { resourceVersion: '99', annotations: { touched: 'yes' } });
    const endpoints = modified.endpoints as Record<string, unknown>[];
    endpoints[3]!.deprecatedTopology = { 'kubernetes.io/hostname': 'node-3' };
    (endpoints[4]!.targetRef as Record<string, unknown>).resourceVersion = '12345';
    endpoints[5]!.conditions = { ready: null, serving: null, terminating: null }; // nil == defaults
    endpoints[6]!.hints = { forZones: [] }; // empty == none
    endpoints[7]!.hostname = null;
    (modified.metadata as Record<string, unknown>).managedFields = [];
    a.upsert(modified);
    expect(a.snapshot('99')).toBeUndefined();
  });

  it('shares unchanged endpoint objects across a MODIFIED slice and across slices', () => {
    const a = agg();
    a.reset([slice('web-a', hundred(0)), slice('web-b', hundred(1))]);
    const before = defined(a.snapshot('1'));
    a.upsert(copy(slice('web-a', hundred(0, 42), { resourceVersion: '2' })));
    const after = defined(a.snapshot('2'));
    expect(after.all).toHaveLength(200);
    const prev = new Map(before.all.map((e) => [e.address, e]));
    let shared = 0;
    for (const e of after.all) {
      if (e.address === '10.0.0.42') {
        expect(e).not.toBe(prev.get(e.address));
        expect(e.ready).toBe(false);
      } else {
        expect(e).toBe(prev.get(e.address));
        shared++;
      }
    }
    expect(shared).toBe(199);
    expect(keys(after.endpoints)).toHaveLength(199);
  });

  it('keeps identity when entries are reordered inside a slice, and after a relist', () => {
    const a = agg();
    a.reset([slice('web-a', hundred(0))]);
    const before = defined(a.snapshot());
    a.upsert(copy(slice('web-a', [...hundred(0)].reverse())));
    expect(a.snapshot()).toBeUndefined();
    a.reset(copy([slice('web-a', hundred(0))]));
    expect(a.snapshot()).toBeUndefined();
    a.upsert(copy(slice('web-a', hundred(0, 1))));
    const after = defined(a.snapshot());
    expect(find(after.all, '10.0.0.50')).toBe(find(before.all, '10.0.0.50'));
  });

  it('emits when an endpoint moves to another slice with new content, not when its copy lingers', () => {
    const a = agg();
    a.reset([slice('web-a', [ep('10.0.0.1', { nodeName: 'n1' })]), slice('web-b', [])]);
    defined(a.snapshot());
    a.upsert(slice('web-b', [ep('10.0.0.1', { nodeName: 'n1' })])); // same content: the copy from web-a still wins
    expect(a.snapshot()).toBeUndefined();
    a.upsert(slice('web-a', []));
    const s = defined(a.snapshot()); // the web-b copy took over: same content, another object
    expect(s.all).toEqual([expect.objectContaining({ address: '10.0.0.1', nodeName: 'n1' })]);
  });

  it('orders the lists by slice name, then by position in the slice', () => {
    const a = agg();
    a.reset([
      slice('web-b', [ep('10.0.0.3'), ep('10.0.0.4')]),
      slice('web-a', [ep('10.0.0.2'), ep('10.0.0.1')]),
    ]);
    const order = (set: EndpointSet) => set.all.map((e) => e.address);
    expect(order(defined(a.snapshot()))).toEqual(['10.0.0.2', '10.0.0.1', '10.0.0.3', '10.0.0.4']);
    // A reorder alone is no change; the next change shows the new order.
    a.upsert(slice('web-a', [ep('10.0.0.1'), ep('10.0.0.2')]));
    expect(a.snapshot()).toBeUndefined();
    a.upsert(slice('web-b', [ep('10.0.0.3')]));
    expect(order(defined(a.snapshot()))).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3']);
  });

  it('emits when only the pod behind an address changes (new targetRef uid)', () => {
    const a = agg();
    a.reset([
      slice('web-a', [{ addresses: ['10.0.0.1'], targetRef: { kind: 'Pod', name: 'db-0', uid: 'u1' } }]),
    ]);
    defined(a.snapshot());
    a.upsert(
      slice('web-a', [{ addresses: ['10.0.0.1'], targetRef: { kind: 'Pod', name: 'db-0', uid: 'u2' } }]),
    );
    expect(defined(a.snapshot()).all[0]?.targetRef?.uid).toBe('u2');
  });

  it('lists an address repeated inside one slice once, also when an existing entry is repeated', () => {
    const a = agg();
    a.reset([slice('web-a', [ep('10.0.0.1', { nodeName: 'n1' })])]);
    defined(a.snapshot());
    a.upsert(
      slice('web-a', [
        ep('10.0.0.1', { nodeName: 'n1' }),
        ep('10.0.0.1', { nodeName: 'n1' }),
        ep('10.0.0.2'),
      ]),
    );
    expect(keys(defined(a.snapshot()).all)).toEqual(['10.0.0.1:8080', '10.0.0.2:8080']);
    a.upsert(slice('web-a', [ep('10.0.0.2')]));
    expect(keys(defined(a.snapshot()).all)).toEqual(['10.0.0.2:8080']);
  });

  it('re-emits changed content once a port ambiguity is resolved', () => {
    const a = agg();
    a.reset([slice('web-a', [ep('10.0.0.1')])]);
    defined(a.snapshot());
    a.upsert(
      slice('web-a', [ep('10.0.0.1', { ready: false })], { ports: [HTTP, { name: 'metrics', port: 9090 }] }),
    );
    a.upsert(slice('web-a', [ep('10.0.0.1', { ready: false })]));
    const s = defined(a.snapshot());
    expect(s.all[0]?.ready).toBe(false);
    expect(s.endpoints).toEqual([]);
  });

  it('emits on a condition change and on a removed endpoint', () => {
    const a = agg();
    a.reset([slice('web-a', [ep('10.0.0.1'), ep('10.0.0.2')])]);
    defined(a.snapshot());
    a.upsert(slice('web-a', [ep('10.0.0.1'), ep('10.0.0.2', { serving: false })]));
    expect(find(defined(a.snapshot()).all, '10.0.0.2').serving).toBe(false);
    a.upsert(slice('web-a', [ep('10.0.0.1')]));
    expect(keys(defined(a.snapshot()).all)).toEqual(['10.0.0.1:8080']);
  });
});

describe('EndpointSliceAggregator: one object per endpoint', () => {
  const METRICS = { name: 'metrics', port: 9090, protocol: 'TCP' };
  const twoPorts = () =>
    parseEndpointSlice(
      slice('s1', [ep('10.0.0.1'), ep('10.0.0.2', { ready: false })], { ports: [HTTP, METRICS] }),
      undefined,
    );

  it("the sets of the slice's first port hold the parsed records' own Endpoints (no copy)", () => {
    const parsed = twoPorts();
    const set = setOf([parsed], { port: 'http' });
    expect(set.all).toHaveLength(2);
    set.all.forEach((e, i) => {
      expect(e).toBe(parsed.records[i]);
    });
  });

  it('another port gets Endpoints of its own, equal but for the port', () => {
    const parsed = twoPorts();
    const set = setOf([parsed], { port: 'metrics' });
    set.all.forEach((e, i) => {
      const own = parsed.records[i]!;
      expect(e).not.toBe(own);
      expect(e).toStrictEqual({ ...own, port: 9090 });
    });
  });
});
