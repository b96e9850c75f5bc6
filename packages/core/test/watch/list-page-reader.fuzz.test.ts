import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KubeTransportError } from '../../src/transport/kube-api-error.js';
import { parseJsonBody } from '../../src/transport/kube-client.js';
import { readListPage } from '../../src/watch/list-page.js';
import { ListPageReader, type ReadPage } from '../../src/watch/list-page-reader.js';
import type { KubeObject } from '../../src/watch/watch-event.js';
import { fuzzRuns, fuzzTimeout } from '../support/fuzz.js';
import { apiserverList, chunked, cuts, indent, listObject } from './list-body.arbitraries.js';

const PATH = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices';
const encoder = new TextEncoder();

/** A transform that marks what it saw, and rejects an object holding the key `kind` (some lists have one). */
function transform(object: KubeObject): KubeObject {
  if ('kind' in object) throw new Error(`rejected ${JSON.stringify(object)}`);
  return { ...object, transformed: true } as KubeObject;
}

/** What the list path did before the splitter: the whole body parsed, checked, transformed in place. */
function reference(body: Uint8Array, withTransform: boolean): ReadPage | undefined {
  const page = readListPage(parseJsonBody(Buffer.from(body), PATH));
  if (page === undefined || !withTransform) return page;
  try {
    for (let i = 0; i < page.items.length; i++) page.items[i] = transform(page.items[i]!);
  } catch (error) {
    return { rejected: error };
  }
  return page;
}

type Outcome = { readonly page: ReadPage | undefined } | { readonly thrown: unknown };

function outcome(run: () => ReadPage | undefined): Outcome {
  try {
    return { page: run() };
  } catch (thrown) {
    return { thrown };
  }
}

function read(chunks: readonly Uint8Array[], withTransform: boolean): ReadPage | undefined {
  const reader = new ListPageReader(PATH, withTransform ? transform : undefined);
  for (const chunk of chunks) reader.feed(chunk);
  return reader.end();
}

function expectSameOutcome(actual: Outcome, expected: Outcome): void {
  if ('thrown' in expected) {
    expect('thrown' in actual, 'both throw').toBe(true);
    const [a, e] = [(actual as { thrown: unknown }).thrown, expected.thrown];
    expect(a).toBeInstanceOf(KubeTransportError);
    expect(e).toBeInstanceOf(KubeTransportError);
    expect((a as KubeTransportError).code).toBe((e as KubeTransportError).code);
    expect((a as Error).message).toBe((e as Error).message);
    expect(String((a as Error).cause)).toBe(String((e as Error).cause));
    return;
  }
  expect(actual).toEqual(expected);
}

/** A body, sometimes damaged: cut short, a byte changed, or bytes inserted. */
const body = fc
  .tuple(
    fc.oneof(listObject, apiserverList),
    indent,
    fc.oneof(
      { weight: 3, arbitrary: fc.constant({ kind: 'intact' as const }) },
      fc.record({ kind: fc.constant('truncated' as const), at: fc.nat() }),
      fc.record({
        kind: fc.constant('changed' as const),
        at: fc.nat(),
        byte: fc.constantFrom(0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x20, 0x78, 0xff),
      }),
      fc.record({
        kind: fc.constant('inserted' as const),
        at: fc.nat(),
        text: fc.constantFrom(',', '{', '}', ']', '"', '\\', ' x', ',{}'),
      }),
    ),
  )
  .map(([list, space, damage]) => {
    const bytes = encoder.encode(JSON.stringify(list, null, space));
    if (damage.kind === 'intact') return bytes;
    if (damage.kind === 'truncated') return bytes.subarray(0, damage.at % bytes.length);
    if (damage.kind === 'changed') {
      const copy = bytes.slice();
      copy[damage.at % copy.length] = damage.byte;
      return copy;
    }
    const at = damage.at % (bytes.length + 1);
    return Buffer.concat([bytes.subarray(0, at), encoder.encode(damage.text), bytes.subarray(at)]);
  });

describe('ListPageReader', () => {
  it(
    'reads a page, or fails, exactly as parsing the whole body did, however it is chunked',
    () => {
      fc.assert(
        fc.property(body, cuts, fc.boolean(), (bytes, at, withTransform) => {
          expectSameOutcome(
            outcome(() => read(chunked(bytes, at), withTransform)),
            outcome(() => reference(bytes, withTransform)),
          );
        }),
        { numRuns: fuzzRuns(400) },
      );
    },
    fuzzTimeout,
  );

  it('transforms each item as soon as its bytes are in (the last one at the end), and gives nothing out before the end', () => {
    const seen: string[] = [];
    const reader = new ListPageReader(PATH, (object) => {
      seen.push(object.metadata?.name ?? '');
      return object;
    });
    const item = (name: string) => `{"metadata":{"name":"${name}"}}`;
    reader.feed(encoder.encode(`{"kind":"List","items":[${item('a')},${item('b')},{"metadata":{"na`));
    expect(seen).toEqual(['a', 'b']);
    reader.feed(
      encoder.encode(`me":"c"}},${item('d')}],"metadata":{"resourceVersion":"7","continue":"next"}}`),
    );
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(reader.end()).toEqual({
      items: ['a', 'b', 'c', 'd'].map((name) => ({ metadata: { name } })),
      resourceVersion: '7',
      continue: 'next',
    });
    expect(seen).toEqual(['a', 'b', 'c', 'd']);
  });

  it('fails a truncated body with the transport error of a body that is not JSON', () => {
    const reader = new ListPageReader(PATH, undefined);
    reader.feed(encoder.encode('{"items":[{"metadata":{"name":"a"}},{"metadata"'));
    expect(() => reader.end()).toThrow(
      expect.objectContaining({
        code: 'ERR_KUBE_TRANSPORT',
        message: expect.stringContaining('not valid JSON'),
      }),
    );
  });
});
