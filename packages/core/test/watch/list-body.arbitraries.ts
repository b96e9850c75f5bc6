import fc from 'fast-check';
import { splitAt } from '../support/chunks.js';

/**
 * Strings that confuse a scanner looking for element boundaries: quotes and backslashes (escaped,
 * in runs, at the end), brackets and braces, what looks like the next element or an `items` key,
 * control characters and any UTF-16 (lone surrogates and astral characters included).
 */
const trickyString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.string({ unit: 'binary', maxLength: 6 }),
  fc.string({ unit: fc.nat(0xffff).map((unit) => String.fromCharCode(unit)), maxLength: 4 }),
  fc
    .array(
      fc.constantFrom(
        '"',
        '\\',
        '\\\\',
        '\\"',
        '{',
        '}',
        '[',
        ']',
        '},{',
        '"items":[',
        ',',
        ':',
        '\n',
        '\u2028',
        'é',
        '🚀',
      ),
      {
        maxLength: 6,
      },
    )
    .map((parts) => parts.join('')),
);

/** Any JSON value, its strings (keys too) tricky, arrays and objects nested. */
const jsonValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    trickyString,
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.oneof(trickyString, fc.constantFrom('items', 'metadata')), tie('value'), { maxKeys: 3 }),
  ),
})).value;

/** One element of `items`: an object (the splitter's only concern is where it ends). */
const item = fc.dictionary(fc.oneof(trickyString, fc.constantFrom('items', 'metadata', 'kind')), jsonValue, {
  maxKeys: 4,
});

/** A List's top-level members in any order, `items` among them (before or after `metadata`, empty or not). */
export const listObject: fc.Arbitrary<Record<string, unknown>> = fc
  .record({
    items: fc.array(item, { maxLength: 5 }),
    metadata: fc.record(
      { resourceVersion: fc.string({ maxLength: 4 }), continue: trickyString, note: jsonValue },
      { requiredKeys: ['resourceVersion'] },
    ),
    kind: fc.constant('EndpointSliceList'),
    apiVersion: fc.constant('discovery.k8s.io/v1'),
    extra: fc.option(jsonValue, { nil: undefined }),
    order: fc.array(fc.nat(), { minLength: 5, maxLength: 5 }),
  })
  .map(({ order, ...members }) => {
    const keys = Object.keys(members).filter((key) => members[key as keyof typeof members] !== undefined);
    // A permutation of the keys by the random weights.
    const sorted = keys.map((key, i) => ({ key, weight: order[i] ?? 0 })).sort((a, b) => a.weight - b.weight);
    const list: Record<string, unknown> = {};
    for (const { key } of sorted) list[key] = members[key as keyof typeof members];
    return list;
  });

/** How a body is written: compact (as the apiserver does) or indented, with any whitespace JSON allows. */
export const indent: fc.Arbitrary<string | number | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.integer({ min: 1, max: 3 }),
  fc.constantFrom('\t', '\r\n', ' ', '\n\t '),
);

/** Chunk boundaries: a few anywhere, or every byte. */
export const cuts = fc.oneof(fc.array(fc.nat(), { maxLength: 12 }), fc.constant('every byte' as const));

/** `bytes` as chunks: cut at the given points, or one byte each. */
export function chunked(bytes: Uint8Array, at: readonly number[] | 'every byte'): Uint8Array[] {
  if (at === 'every byte') return Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1));
  return splitAt(bytes, at);
}

/**
 * A List as the apiserver writes it: compact, `items` last, every item's first key `metadata` (so
 * the splitter can jump from boundary to boundary), strings tricky but no nested `metadata` key.
 */
export const apiserverList: fc.Arbitrary<Record<string, unknown>> = fc
  .record({
    resourceVersion: fc.string({ maxLength: 4 }),
    items: fc.array(
      fc.record({
        metadata: fc.record({
          name: trickyString,
          labels: fc.dictionary(trickyString, trickyString, { maxKeys: 2 }),
        }),
        endpoints: fc.array(
          fc.record({ addresses: fc.array(trickyString, { maxLength: 2 }), zone: trickyString }),
          {
            maxLength: 3,
          },
        ),
      }),
      { maxLength: 6 },
    ),
  })
  .map(({ resourceVersion, items }) => ({
    kind: 'EndpointSliceList',
    apiVersion: 'discovery.k8s.io/v1',
    metadata: { resourceVersion },
    items,
  }));
