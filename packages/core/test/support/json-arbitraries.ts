import fc from 'fast-check';
import { expect } from 'vitest';

/** JSON-ish values that are sometimes right and sometimes wrong for any field (schema twins' tests). */
export const looseValue = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.boolean(),
  fc.string({ maxLength: 4 }),
  fc.integer(),
  fc.constant([]),
  fc.constant({}),
);

/**
 * Numbers that break naive range checks and arithmetic: signed zero, NaN, the infinities, the
 * extremes of doubles and safe integers, and the off-by-one edges of ports and 32-bit integers.
 */
export const absurdNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(
    0,
    -0,
    -1,
    0.5,
    1.5,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    Number.MAX_VALUE,
    -Number.MAX_VALUE,
    Number.MIN_VALUE,
    Number.EPSILON,
    Number.MAX_SAFE_INTEGER,
    2 ** 53,
    2 ** 31 - 1,
    2 ** 31,
    2 ** 32,
    65_535,
    65_536,
    1e20,
    1e308,
  ),
  fc.double(),
  fc.integer(),
);

/** Any UTF-16 code unit, lone surrogates included (what no well-formed producer writes). */
const codeUnit = fc.nat(0xffff).map((unit) => String.fromCharCode(unit));

/**
 * Strings that trip string handling: lone surrogates, NUL and other control characters, a BOM,
 * names that exist on every object's prototype.
 */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.string({ unit: codeUnit, maxLength: 8 }),
  fc.constantFrom('', ' ', '__proto__', 'constructor', 'toString', '\u0000', '\uFEFF', '\uD800', '\r', '\n'),
);

/**
 * One character many times over: linear code takes a moment, a backtracking regular expression or a
 * quadratic loop over it hangs. Long enough to tell the two apart, short enough for every run.
 */
export const longRun: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom(' ', '\n', '/', '=', 'a', '0', '[', '{', ':', '-', '\\', '"'),
    fc.integer({ min: 50_000, max: 200_000 }),
  )
  .map(([char, count]) => char.repeat(count));

/** Usually `valid`, sometimes a loose value: so that a single wrong field is what decides. */
export const mostly = <T>(valid: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 4, arbitrary: valid }, { weight: 1, arbitrary: looseValue });

/**
 * Keys of a string map: short ones that collide, and `__proto__`, which JSON.parse makes an own key
 * but an assignment turns into a prototype.
 */
export const mapKey = fc.oneof(fc.string({ maxLength: 3 }), fc.constant('__proto__'));

const watchAnnotations = fc.oneof(
  looseValue,
  fc.dictionary(mapKey, fc.oneof(fc.string({ maxLength: 3 }), looseValue), { maxKeys: 3 }),
);
const watchMetadata = fc.oneof(
  looseValue,
  fc.record(
    {
      name: looseValue,
      namespace: looseValue,
      resourceVersion: looseValue,
      annotations: watchAnnotations,
      uid: looseValue,
    },
    { requiredKeys: [] },
  ),
);

/** Values shaped like a watch event's envelope, each field sometimes right and sometimes wrong. */
export const watchEnvelope = fc.record(
  {
    type: fc.oneof(
      fc.constantFrom('ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR', 'added', ''),
      looseValue,
    ),
    object: fc.oneof(
      looseValue,
      fc.record({ metadata: watchMetadata, kind: looseValue, spec: looseValue }, { requiredKeys: [] }),
    ),
    extra: looseValue,
  },
  { requiredKeys: [] },
);

const nameList = fc.oneof(
  looseValue,
  fc.array(fc.oneof(fc.record({ name: fc.oneof(fc.string({ maxLength: 3 }), looseValue) }), looseValue), {
    maxLength: 3,
  }),
);
const optionalRecord = <T>(arb: fc.Arbitrary<T>) => fc.oneof(looseValue, arb);
/** Arrays of exactly the API's bound, and of one more: the twins must draw the line at the same place. */
const atLimit = <T>(limit: number, item: T) =>
  fc.constantFrom(limit, limit + 1).map((n) => Array.from({ length: n }, () => item));
/** Values shaped like an EndpointSlice endpoint, each field sometimes right and sometimes wrong. */
export const sliceEndpointLike = fc.record(
  {
    addresses: fc.oneof(
      looseValue,
      fc.array(fc.oneof(fc.string({ maxLength: 6 }), looseValue), { maxLength: 3 }),
      atLimit(100, '10.0.0.1'),
    ),
    conditions: optionalRecord(
      fc.record({ ready: looseValue, serving: looseValue, terminating: looseValue }, { requiredKeys: [] }),
    ),
    hostname: looseValue,
    nodeName: looseValue,
    zone: looseValue,
    hints: optionalRecord(fc.record({ forZones: nameList, forNodes: nameList }, { requiredKeys: [] })),
    targetRef: optionalRecord(
      fc.record(
        { kind: looseValue, namespace: looseValue, name: looseValue, uid: looseValue },
        { requiredKeys: [] },
      ),
    ),
    extra: looseValue,
  },
  { requiredKeys: [] },
);

const portLike = mostly(
  fc.record(
    {
      name: mostly(fc.constantFrom('http', '')),
      port: fc.oneof(
        mostly(fc.constant(80)),
        fc.constantFrom(1.5, 2 ** 53, -1, 0, 1, 65_535, 65_536, Number.NaN),
      ),
      protocol: mostly(fc.constant('TCP')),
      appProtocol: mostly(fc.constant('http')),
    },
    { requiredKeys: [] },
  ),
);
/** Values shaped like an EndpointSlice without its endpoints, each field sometimes right and sometimes wrong. */
export const sliceShellLike = fc.record(
  {
    metadata: mostly(
      fc.record(
        {
          name: fc.oneof(fc.constantFrom('web-abc', ''), looseValue),
          namespace: mostly(fc.constant('default')),
          labels: mostly(fc.dictionary(mapKey, mostly(fc.string({ maxLength: 3 })), { maxKeys: 3 })),
          resourceVersion: looseValue,
        },
        { requiredKeys: ['name'] },
      ),
    ),
    addressType: fc.oneof(fc.constantFrom('IPv4', 'IPv6', 'FQDN', 'ipv4'), looseValue),
    endpoints: mostly(fc.oneof(fc.array(looseValue, { maxLength: 2 }), atLimit(1000, null))),
    ports: mostly(fc.oneof(fc.array(portLike, { maxLength: 3 }), atLimit(100, { port: 80 }))),
    kind: looseValue,
  },
  { requiredKeys: ['metadata', 'addressType'] },
);

/** A hand-written guard accepts exactly what its zod schema accepts, for shaped and loose values. */
export function expectSchemaTwin(
  guard: (value: unknown) => boolean,
  schema: { safeParse(value: unknown): { success: boolean } },
  shaped: fc.Arbitrary<unknown>,
): void {
  fc.assert(
    fc.property(fc.oneof(shaped, looseValue), (value) => {
      expect(guard(value)).toBe(schema.safeParse(value).success);
    }),
    { numRuns: 5000 },
  );
}
