import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SliceEndpointSchema, SliceShellSchema } from '../../src/endpoints/endpointslice-parser.js';
import { isValidSliceEndpoint, isValidSliceShell } from '../../src/endpoints/slice-guards.js';
import { expectSchemaTwin, looseValue as loose, mapKey, mostly } from '../support/json-arbitraries.js';

const nameList = fc.oneof(
  loose,
  fc.array(fc.oneof(fc.record({ name: fc.oneof(fc.string({ maxLength: 3 }), loose) }), loose), {
    maxLength: 3,
  }),
);
const optionalRecord = <T>(arb: fc.Arbitrary<T>) => fc.oneof(loose, arb);
/** Arrays of exactly the API's bound, and of one more: the twins must draw the line at the same place. */
const atLimit = <T>(limit: number, item: T) =>
  fc.constantFrom(limit, limit + 1).map((n) => Array.from({ length: n }, () => item));
const endpointLike = fc.record(
  {
    addresses: fc.oneof(
      loose,
      fc.array(fc.oneof(fc.string({ maxLength: 6 }), loose), { maxLength: 3 }),
      atLimit(100, '10.0.0.1'),
    ),
    conditions: optionalRecord(
      fc.record({ ready: loose, serving: loose, terminating: loose }, { requiredKeys: [] }),
    ),
    hostname: loose,
    nodeName: loose,
    zone: loose,
    hints: optionalRecord(fc.record({ forZones: nameList, forNodes: nameList }, { requiredKeys: [] })),
    targetRef: optionalRecord(
      fc.record({ kind: loose, namespace: loose, name: loose, uid: loose }, { requiredKeys: [] }),
    ),
    extra: loose,
  },
  { requiredKeys: [] },
);

describe('isValidSliceEndpoint', () => {
  it('agrees with the zod schema on any endpoint-like value', () => {
    expectSchemaTwin(isValidSliceEndpoint, SliceEndpointSchema, endpointLike);
  });

  it('accepts a realistic entry and rejects one without addresses', () => {
    const entry = {
      addresses: ['10.0.0.1'],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: 'node-1',
      zone: 'zone-a',
      targetRef: { kind: 'Pod', namespace: 'default', name: 'web-1', uid: 'u' },
      hints: { forZones: [{ name: 'zone-a' }] },
    };
    expect(isValidSliceEndpoint(entry)).toBe(true);
    expect(isValidSliceEndpoint({ ...entry, addresses: [] })).toBe(false);
    expect(isValidSliceEndpoint({ ...entry, conditions: { ready: 'yes' } })).toBe(false);
  });
});

const portLike = mostly(
  fc.record(
    {
      name: mostly(fc.constantFrom('http', '')),
      port: fc.oneof(mostly(fc.constant(80)), fc.constantFrom(1.5, 2 ** 53, -1, Number.NaN)),
      protocol: mostly(fc.constant('TCP')),
      appProtocol: mostly(fc.constant('http')),
    },
    { requiredKeys: [] },
  ),
);
const shellLike = fc.record(
  {
    metadata: mostly(
      fc.record(
        {
          name: fc.oneof(fc.constantFrom('web-abc', ''), loose),
          namespace: mostly(fc.constant('default')),
          labels: mostly(fc.dictionary(mapKey, mostly(fc.string({ maxLength: 3 })), { maxKeys: 3 })),
          resourceVersion: loose,
        },
        { requiredKeys: ['name'] },
      ),
    ),
    addressType: fc.oneof(fc.constantFrom('IPv4', 'IPv6', 'FQDN', 'ipv4'), loose),
    endpoints: mostly(fc.oneof(fc.array(loose, { maxLength: 2 }), atLimit(1000, null))),
    ports: mostly(fc.oneof(fc.array(portLike, { maxLength: 3 }), atLimit(100, { port: 80 }))),
    kind: loose,
  },
  { requiredKeys: ['metadata', 'addressType'] },
);

describe('isValidSliceShell', () => {
  it('agrees with the zod schema on any slice-like value', () => {
    expectSchemaTwin(isValidSliceShell, SliceShellSchema, shellLike);
  });
});
