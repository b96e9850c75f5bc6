import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ListBodySplitter } from '../../src/watch/list-body-splitter.js';
import { fuzzRuns, fuzzTimeout } from '../support/fuzz.js';
import { chunked, cuts, indent, listObject } from './list-body.arbitraries.js';

const encoder = new TextEncoder();

interface Split {
  readonly items: unknown[];
  /** The skeleton, parsed; undefined when the splitter fell back. */
  readonly rest: unknown;
}

function split(chunks: readonly Uint8Array[]): Split {
  const splitter = new ListBodySplitter();
  const texts: string[] = [];
  for (const chunk of chunks) texts.push(...splitter.feed(chunk));
  const skeleton = splitter.end();
  return {
    items: texts.map((text) => JSON.parse(text)),
    rest: skeleton === undefined ? undefined : JSON.parse(skeleton),
  };
}

describe('ListBodySplitter', () => {
  it(
    'gives each item and the other members as JSON.parse reads them, however the body is chunked',
    () => {
      fc.assert(
        fc.property(listObject, indent, cuts, (list, space, at) => {
          const text = JSON.stringify(list, null, space);
          const { items, rest } = split(chunked(encoder.encode(text), at));
          const whole = JSON.parse(text) as Record<string, unknown>;
          expect(items).toEqual(whole.items);
          expect(rest).toEqual({ ...whole, items: [] });
          // The members keep their order (the skeleton is the body without the items' content).
          expect(Object.keys(rest as object)).toEqual(Object.keys(whole));
        }),
        { numRuns: fuzzRuns(300) },
      );
    },
    fuzzTimeout,
  );

  it('falls back, giving out nothing more, on any shape it does not split', () => {
    const bodies = [
      '[{"a":1}]', // not an object
      '{"items":null,"metadata":{"resourceVersion":"1"}}',
      '{"items":{"a":1},"metadata":{"resourceVersion":"1"}}',
      '{"items":[{"a":1},2],"metadata":{"resourceVersion":"1"}}', // an element that is not an object
      '{"items":[[1]],"metadata":{"resourceVersion":"1"}}',
      '{"items":[{"a":1}],"items":[{"b":2}],"metadata":{"resourceVersion":"1"}}', // JSON.parse keeps the last
      '{"items":[],"\\u0069tems":[{"b":2}],"metadata":{"resourceVersion":"1"}}', // an escape spelling `items`
      '{"items":[{"a":1},,{"b":2}]}',
      '{"items":[,{"a":1}]}',
      '{"items":[{"a":1},]}',
      '{"items":[{"a":1}{"b":2}]}',
      '{"items" [{"a":1}]}',
      '{"items":[{"a":1}]} x', // trailing bytes
      '{"metadata":{"resourceVersion":"1"}}', // no items
      '\uFEFF{"items":[]}', // a BOM
    ];
    for (const body of bodies) {
      const splitter = new ListBodySplitter();
      const items: string[] = [];
      for (const chunk of chunked(encoder.encode(body), 'every byte')) items.push(...splitter.feed(chunk));
      expect(splitter.end(), body).toBeUndefined();
      expect(splitter.fallenBack).toBe(true);
      expect(splitter.wholeBody().toString('utf8'), 'every byte is kept for the fallback').toBe(body);
    }
  });

  it(
    'never completes a truncated body',
    () => {
      fc.assert(
        fc.property(listObject, indent, fc.nat(), (list, space, cut) => {
          const bytes = encoder.encode(JSON.stringify(list, null, space));
          const prefix = bytes.subarray(0, cut % bytes.length);
          const splitter = new ListBodySplitter();
          splitter.feed(prefix);
          expect(splitter.end()).toBeUndefined();
        }),
        { numRuns: fuzzRuns(200) },
      );
    },
    fuzzTimeout,
  );
});
