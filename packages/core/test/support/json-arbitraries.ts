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
