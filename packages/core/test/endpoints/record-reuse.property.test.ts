import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseEndpointSlice } from '../../src/endpoints/endpointslice-parser.js';
import { parseV1Endpoints } from '../../src/endpoints/v1-endpoints-parser.js';
import { copy, slice } from './fixtures.js';

// Reusing a previous record must never hide a change: parsed against its predecessor, a version
// gives the records a fresh parse gives. `after` is `before` with a few single fields edited or
// deleted, so that everything else matches and the reuse fast path is really taken (independent
// `before` and `after` would almost never share an entry).
type RawEntry = Record<string, unknown>;
type FieldArbitraries = Record<string, fc.Arbitrary<unknown>>;

const condition = fc.constantFrom(true, false, null);
const nameList = fc
  .array(fc.constantFrom('a', 'b'), { maxLength: 2 })
  .map((list) => list.map((name) => ({ name })));
const oneOfTwo = (prefix: string) => fc.constantFrom(`${prefix}1`, `${prefix}2`, null);
const partialRecord = (fields: FieldArbitraries) => fc.option(fc.record(fields, { requiredKeys: [] }));
const COMMON_FIELDS: FieldArbitraries = {
  hostname: oneOfTwo('h'),
  nodeName: oneOfTwo('n'),
  targetRef: partialRecord({
    kind: oneOfTwo('k'),
    namespace: oneOfTwo('n'),
    name: oneOfTwo('p'),
    uid: oneOfTwo('u'),
  }),
};
const SLICE_FIELDS: FieldArbitraries = {
  ...COMMON_FIELDS,
  zone: oneOfTwo('z'),
  hints: partialRecord({ forZones: nameList, forNodes: nameList }),
  conditions: partialRecord({ ready: condition, serving: condition, terminating: condition }),
};
const V1_FIELDS: FieldArbitraries = { ...COMMON_FIELDS, ready: fc.boolean() };
const IP = fc.constantFrom('10.0.0.1', '10.0.0.2', '10.0.0.3');

/** `parse(after, before)`: the records of `after`, parsed against `before` when given. */
function reuseNeverHidesAChange(
  fields: FieldArbitraries,
  parse: (after: RawEntry[], before?: RawEntry[]) => readonly object[],
) {
  const entry = fc.record({ ip: IP, ...fields }, { requiredKeys: ['ip'] }) as fc.Arbitrary<RawEntry>;
  // an edit sets one field to a new value, or deletes it (undefined)
  const fieldEdit = fc.oneof(
    ...Object.entries(fields).map(([key, value]) =>
      fc.option(value, { nil: undefined }).map((v) => [key, v] as const),
    ),
  );
  const edits = fc.array(fc.tuple(fc.nat(), fieldEdit), { maxLength: 3 });
  fc.assert(
    fc.property(fc.array(entry, { maxLength: 5 }), edits, fc.boolean(), (before, changes, reverse) => {
      const after = copy(before);
      for (const [at, [key, value]] of changes) {
        const edited = after[at % Math.max(1, after.length)];
        if (edited === undefined) continue;
        if (value === undefined) delete edited[key];
        else edited[key] = value;
      }
      if (reverse) after.reverse();
      expect(parse(after, before)).toStrictEqual(parse(after));
    }),
    { numRuns: 3000 },
  );
}

describe('record reuse never hides a change (property)', () => {
  it('EndpointSlice: parsed against the previous version = parsed fresh', () => {
    const raw = (list: RawEntry[]) =>
      slice(
        's1',
        list.map(({ ip, ...rest }) => ({ addresses: [ip], ...rest })),
      );
    const previous = (list?: RawEntry[]) =>
      list === undefined ? undefined : parseEndpointSlice(raw(list), undefined);
    reuseNeverHidesAChange(
      SLICE_FIELDS,
      (after, before) => parseEndpointSlice(raw(after), previous(before)).records,
    );
  });

  it('v1 Endpoints: parsed against the previous version = parsed fresh', () => {
    const addresses = (list: RawEntry[], ready: boolean) =>
      list.filter((e) => (e.ready !== false) === ready).map(({ ready: _, ...address }) => address);
    const raw = (list: RawEntry[]) => ({
      metadata: { name: 'web' },
      subsets: [
        {
          addresses: addresses(list, true),
          notReadyAddresses: addresses(list, false),
          ports: [{ name: 'http', port: 80 }],
        },
      ],
    });
    const previous = (list?: RawEntry[]) =>
      list === undefined ? undefined : parseV1Endpoints(raw(list), undefined);
    reuseNeverHidesAChange(
      V1_FIELDS,
      (after, before) => parseV1Endpoints(raw(after), previous(before)).subsets[0]?.records ?? [],
    );
  });
});
