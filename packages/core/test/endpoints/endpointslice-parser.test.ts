import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseEndpointSlice } from '../../src/endpoints/endpointslice-parser.js';
import { InvalidObjectError } from '../../src/endpoints/errors.js';
import { ep, slice } from './fixtures.js';

const three = () => [ep('10.0.0.1'), ep('10.0.0.2', { ready: false }), ep('10.0.0.3', { zone: 'a' })];

describe('parseEndpointSlice', () => {
  it('keeps only what the aggregators read, with API defaults applied', () => {
    const parsed = parseEndpointSlice(slice('s1', [ep('10.0.0.1', { ready: null })]), undefined);
    expect(parsed.metadata).toEqual({ name: 's1', namespace: 'default', resourceVersion: '1' });
    expect(parsed.serviceName).toBe('web');
    expect(parsed.addressType).toBe('IPv4');
    expect(parsed.ports).toEqual([{ name: 'http', port: 8080, protocol: 'TCP', appProtocol: undefined }]);
    expect(parsed.records).toHaveLength(1);
    expect(parsed.records[0]).toMatchObject({
      address: '10.0.0.1',
      ready: true,
      serving: true,
      terminating: false,
    });
    expect(Object.isFrozen(parsed) && Object.isFrozen(parsed.records[0])).toBe(true);
    expect('managedFields' in parsed.metadata).toBe(false);
  });

  it('shares the records of unchanged endpoints with the previous version, and only those', () => {
    const v1 = parseEndpointSlice(slice('s1', three()), undefined);
    const changed = three();
    changed[1] = ep('10.0.0.2', { ready: true });
    const v2 = parseEndpointSlice(slice('s1', changed, { resourceVersion: '2' }), v1);
    expect(v2.records[0]).toBe(v1.records[0]);
    expect(v2.records[1]).not.toBe(v1.records[1]);
    expect(v2.records[1]).toMatchObject({ address: '10.0.0.2', ready: true });
    expect(v2.records[2]).toBe(v1.records[2]);
    // Reordered entries are found by address.
    const v3 = parseEndpointSlice(slice('s1', [...changed].reverse()), v2);
    expect(v3.records).toEqual([v2.records[2], v2.records[1], v2.records[0]]);
    expect(v3.records[0]).toBe(v2.records[2]);
    expect(v3.records[2]).toBe(v2.records[0]);
  });

  it('still finds the unchanged records after a changed one when the rest moved', () => {
    const v1 = parseEndpointSlice(slice('s1', three()), undefined);
    const entries = [
      ep('10.0.0.1', { zone: 'b' }),
      ep('10.0.0.3', { zone: 'a' }),
      ep('10.0.0.2', { ready: false }),
    ];
    const v2 = parseEndpointSlice(slice('s1', entries), v1);
    expect(v2.records[0]).not.toBe(v1.records[0]);
    expect(v2.records[0]).toMatchObject({ address: '10.0.0.1', zone: 'b' });
    expect(v2.records[1]).toBe(v1.records[2]);
    expect(v2.records[2]).toBe(v1.records[1]);
    // A changed entry followed by an unchanged copy of the original: the copy gets the original record.
    const v3 = parseEndpointSlice(slice('s1', [ep('10.0.0.1', { zone: 'c' }), ep('10.0.0.1')]), v1);
    expect(v3.records[0]).toMatchObject({ zone: 'c' });
    expect(v3.records[1]).toBe(v1.records[0]);
  });

  it('reuses a previous record at most once, and never across address types', () => {
    const v1 = parseEndpointSlice(slice('s1', [ep('10.0.0.1')]), undefined);
    const v2 = parseEndpointSlice(slice('s1', [ep('10.0.0.1'), ep('10.0.0.1')]), v1);
    expect(v2.records[0]).toBe(v1.records[0]);
    expect(v2.records[1]).not.toBe(v1.records[0]);
    expect(v2.records[1]).toMatchObject({ address: '10.0.0.1', ready: true });

    const fqdn = parseEndpointSlice(slice('s1', [ep('10.0.0.1')], { addressType: 'FQDN' }), v1);
    expect(fqdn.records[0]).not.toBe(v1.records[0]);
    expect(fqdn.records[0]?.addressType).toBe('FQDN');
  });

  it('rejects a malformed entry even when the previous version had a valid one at that address', () => {
    const v1 = parseEndpointSlice(slice('s1', [ep('10.0.0.1')]), undefined);
    const bad = slice('s1', [{ addresses: ['10.0.0.1'], conditions: { ready: 'yes' } }]);
    expect(() => parseEndpointSlice(bad, v1)).toThrow(InvalidObjectError);
    expect(() => parseEndpointSlice(bad, v1)).toThrow(
      /EndpointSlice "s1".*endpoints\[0\]\.conditions\.ready/,
    );
  });
});

describe('parseEndpointSlice — the API limits', () => {
  const ips = (n: number) =>
    Array.from({ length: n }, (_, i) => ep(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`));

  it('accepts 1000 endpoints and rejects 1001 before looking at any entry', () => {
    expect(parseEndpointSlice(slice('s1', ips(1000)), undefined).records).toHaveLength(1000);
    // The entries of the rejected slice are invalid: had they been parsed, the error would name one.
    const tooMany = { ...slice('s1', []), endpoints: Array.from({ length: 1001 }, () => ({ nonsense: 1 })) };
    const error = (() => {
      try {
        parseEndpointSlice(tooMany, undefined);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(InvalidObjectError);
    expect((error as InvalidObjectError).field).toBe('endpoints');
    expect((error as Error).message).toMatch(/at most 1000/);
  });

  it('rejects more than 100 ports, and more than 100 addresses on one endpoint', () => {
    const ports = Array.from({ length: 101 }, (_, i) => ({ name: `p${i}`, port: 1000 + i, protocol: 'TCP' }));
    expect(() => parseEndpointSlice({ ...slice('s1', ips(1)), ports }, undefined)).toThrow(
      InvalidObjectError,
    );
    const addresses = Array.from({ length: 101 }, (_, i) => `10.0.1.${i}`);
    expect(() => parseEndpointSlice(slice('s1', [{ addresses }]), undefined)).toThrow(/endpoints\[0\]/);
  });
});

describe('parseEndpointSlice port numbers', () => {
  it.each([0, -1, 65_536, 1.5])(
    'rejects port %s, which no connection can use (the API refuses it too)',
    (port) => {
      const bad = slice('s1', [ep('10.0.0.1')], { ports: [{ name: 'http', port }] });
      expect(() => parseEndpointSlice(bad, undefined)).toThrow(/invalid ports\[0\]\.port/);
    },
  );

  it.each([1, 65_535])('accepts port %s', (port) => {
    const ok = parseEndpointSlice(
      slice('s1', [ep('10.0.0.1')], { ports: [{ name: 'http', port }] }),
      undefined,
    );
    expect(ok.ports[0]?.port).toBe(port);
  });
});

describe('parseEndpointSlice with a previous version (property)', () => {
  const entry = fc.record(
    {
      ip: fc.constantFrom('10.0.0.1', '10.0.0.2', '10.0.0.3', '010.0.0.1'),
      ready: fc.constantFrom(true, false, null, undefined),
      zone: fc.constantFrom('a', 'b', undefined),
      pod: fc.constantFrom('p1', 'p2', undefined),
    },
    { requiredKeys: ['ip'] },
  );
  const toRaw = (e: { ip: string; ready?: boolean | null; zone?: string; pod?: string }) =>
    ep(e.ip, {
      ...(e.ready === undefined ? {} : { ready: e.ready }),
      ...(e.zone === undefined ? {} : { zone: e.zone }),
      ...(e.pod === undefined ? {} : { pod: e.pod }),
    });
  const fields = (r: object) => ({ ...r, serial: 0 });

  it('gives the same records as a fresh parse, reusing each previous record at most once', () => {
    fc.assert(
      fc.property(
        fc.array(entry, { maxLength: 6 }),
        fc.array(entry, { maxLength: 6 }),
        fc.constantFrom('IPv4', 'FQDN'),
        (before, after, addressType) => {
          const previous = parseEndpointSlice(slice('s1', before.map(toRaw)), undefined);
          const raw = slice('s1', after.map(toRaw), { addressType });
          const reused = parseEndpointSlice(raw, previous);
          const fresh = parseEndpointSlice(raw, undefined);
          expect(reused.records.map(fields)).toEqual(fresh.records.map(fields));
          const kept = reused.records.filter((r) => previous.records.includes(r));
          expect(new Set(kept).size).toBe(kept.length);
          if (addressType !== 'IPv4') expect(kept).toEqual([]);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
