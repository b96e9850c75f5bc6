import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { endpointFor } from '../../src/endpoints/endpoint-record.js';
import { parseEndpointSlice } from '../../src/endpoints/endpointslice-parser.js';
import { slice } from './fixtures.js';

// A parsed record is its entry's frozen Endpoint for the slice's first port (the index makes another
// port's from it): whatever the JSON held must read back exactly, with discovery/v1's defaults for
// what is absent or null.
const text = fc.string({ maxLength: 12 });
const maybe = <T>(value: fc.Arbitrary<T>) => fc.option(value, { nil: undefined });
const orNull = <T>(value: fc.Arbitrary<T>) => fc.oneof(value, fc.constant(null));
const names = fc.array(fc.record({ name: text }), { maxLength: 3 });
const entry = fc.record(
  {
    addresses: fc.array(fc.ipV4(), { minLength: 1, maxLength: 2 }),
    conditions: orNull(
      fc.record(
        { ready: orNull(fc.boolean()), serving: orNull(fc.boolean()), terminating: orNull(fc.boolean()) },
        { requiredKeys: [] },
      ),
    ),
    hostname: orNull(text),
    nodeName: orNull(text),
    zone: orNull(text),
    hints: orNull(fc.record({ forZones: orNull(names), forNodes: orNull(names) }, { requiredKeys: [] })),
    targetRef: orNull(
      fc.record(
        { kind: orNull(text), namespace: orNull(text), name: orNull(text), uid: orNull(text) },
        { requiredKeys: [] },
      ),
    ),
  },
  { requiredKeys: ['addresses'] },
);
const ports = fc.array(
  fc.record({ name: fc.constantFrom('', 'http'), port: maybe(fc.integer({ min: 1, max: 65535 })) }),
  {
    maxLength: 2,
  },
);

type Raw = typeof entry extends fc.Arbitrary<infer T> ? T : never;
const value = <T>(v: T | null | undefined) => v ?? undefined;
const nameList = (list: readonly { name: string }[] | null | undefined) =>
  list == null || list.length === 0 ? undefined : list.map((x) => x.name);

/** The Endpoint a raw entry stands for, by the API's rules (only the first address counts). */
function expected(raw: Raw, port: number) {
  const c = raw.conditions ?? undefined;
  const zones = nameList(raw.hints?.forZones);
  const nodes = nameList(raw.hints?.forNodes);
  const t = raw.targetRef ?? undefined;
  return {
    address: raw.addresses[0],
    port,
    addressType: 'IPv4',
    ready: value(c?.ready) ?? true,
    serving: value(c?.serving) ?? true,
    terminating: value(c?.terminating) ?? false,
    nodeName: value(raw.nodeName),
    zone: value(raw.zone),
    hostname: value(raw.hostname),
    hints: zones === undefined && nodes === undefined ? undefined : { forZones: zones, forNodes: nodes },
    targetRef:
      t === undefined
        ? undefined
        : { kind: value(t.kind), namespace: value(t.namespace), name: value(t.name), uid: value(t.uid) },
  };
}

describe('EndpointRecord: the compact form reads back what the JSON held (property)', () => {
  it("every field, as the Endpoint of the slice's first port, and as another port's", () => {
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 6 }), ports, (entries, declared) => {
        const raw = slice('s1', entries, { ports: declared });
        const parsed = parseEndpointSlice(JSON.parse(JSON.stringify(raw)), undefined);
        const port = declared[0]?.port ?? 0;
        expect(parsed.records).toHaveLength(entries.length);
        parsed.records.forEach((record, i) => {
          const want = expected(entries[i]!, port);
          // Every key present (same shape for all), values exact.
          expect(record).toStrictEqual(want);
          expect(Object.isFrozen(record)).toBe(true);
          // The record's port gets the record itself; another port an Endpoint of its own.
          expect(endpointFor(record, port)).toBe(record);
          expect(endpointFor(record, port + 1)).toStrictEqual({ ...want, port: port + 1 });
        });
      }),
      { numRuns: 2000 },
    );
  });
});
