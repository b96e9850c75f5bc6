import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ListBodySplitter } from '../../src/watch/list-body-splitter.js';
import { fuzzRuns, fuzzTimeout } from '../support/fuzz.js';
import { apiserverList, chunked, cuts, indent, listObject } from './list-body.arbitraries.js';

const encoder = new TextEncoder();

interface Split {
  readonly items: unknown[];
  /** The skeleton, parsed; undefined when the splitter fell back. */
  readonly rest: unknown;
  /** A text the splitter gave out did not parse (a boundary it guessed wrong): the caller abandoned. */
  readonly abandoned: boolean;
  /** Elements given out before the body ended. */
  readonly early: number;
}

/** What `ListPageReader` does with a splitter: each text parsed as it comes out, abandoning on the first that does not parse. */
function split(chunks: readonly Uint8Array[]): Split {
  const splitter = new ListBodySplitter();
  const items: unknown[] = [];
  let abandoned = false;
  const take = (texts: readonly string[]) => {
    for (const text of texts) {
      if (abandoned) return;
      try {
        items.push(JSON.parse(text));
      } catch {
        splitter.abandon();
        abandoned = true;
      }
    }
  };
  for (const chunk of chunks) take(splitter.feed(chunk));
  const early = items.length;
  const rest = splitter.end();
  if (rest !== undefined) take(rest.items);
  return {
    items,
    rest: rest === undefined || abandoned ? undefined : JSON.parse(rest.skeleton),
    abandoned,
    early,
  };
}

describe('ListBodySplitter', () => {
  it(
    'gives each item and the other members as JSON.parse reads them, however the body is chunked',
    () => {
      fc.assert(
        fc.property(listObject, indent, cuts, (list, space, at) => {
          const text = JSON.stringify(list, null, space);
          const { items, rest, abandoned } = split(chunked(encoder.encode(text), at));
          const whole = JSON.parse(text) as Record<string, unknown>;
          // A string holding the boundary may make a guess fail; the whole body's parse then decides.
          fc.pre(!abandoned);
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

  it("splits the apiserver's lists without a miss, each item before the body ends but the last", () => {
    fc.assert(
      fc.property(apiserverList, cuts, (list, at) => {
        const text = JSON.stringify(list);
        const { items, rest, abandoned, early } = split(chunked(encoder.encode(text), at));
        expect(abandoned).toBe(false);
        expect(items).toEqual(list.items);
        expect(rest).toEqual({ ...list, items: [] });
        // Only the last element waits for the body's end (its `]` is what ends it).
        expect(early).toBeGreaterThanOrEqual((list.items as unknown[]).length - 1);
      }),
      { numRuns: fuzzRuns(300) },
    );
  });

  it('gives a boundary met at another depth as a text that does not parse (the caller then abandons)', () => {
    const body = '{"items":[{"metadata":{}},{"metadata":{"x":[{"a":1},{"metadata":2}]}},{"metadata":{}}]}';
    const { abandoned } = split(chunked(encoder.encode(body), 'every byte'));
    expect(abandoned).toBe(true);
  });

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
