import fc from 'fast-check';

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
