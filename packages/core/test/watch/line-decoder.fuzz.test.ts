import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WatchDecodeError, WatchEventTooLargeError } from '../../src/watch/errors.js';
import { LineDecoder } from '../../src/watch/line-decoder.js';
import { parseWatchEvent, watchEventSchema } from '../../src/watch/watch-event.js';
import { splitAt } from '../support/chunks.js';
import { fuzzRuns, fuzzTimeout } from '../support/fuzz.js';
import { absurdNumber, hostileString, watchEnvelope } from '../support/json-arbitraries.js';

const NEWLINE = 0x0a;
const encoder = new TextEncoder();
// The reference decodes the way the WHATWG spec says (a U+FFFD per maximal invalid subpart), and
// keeps a leading BOM as Buffer does.
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/** Bytes of one line without its newline: text, invalid UTF-8, or raw noise. */
const lineBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.string({ maxLength: 40 }).map((text) => encoder.encode(text.replaceAll('\n', ' '))),
  fc
    .constantFrom(
      [0xff],
      [0xc3], // a lead byte with no continuation
      [0xe2, 0x82], // a truncated 3-byte sequence
      [0xf0, 0x9f, 0x9a, 0x80], // 🚀, whole
      [0xed, 0xa0, 0x80], // an encoded surrogate
      [0xc0, 0xaf], // an overlong '/'
      [0xef, 0xbb, 0xbf], // a BOM
      [0x0d], // a lone '\r'
    )
    .map((bytes) => Uint8Array.from(bytes)),
  fc.uint8Array({ maxLength: 60 }).map((bytes) => bytes.map((b) => (b === NEWLINE ? 0x20 : b))),
);

/** Lines of several pieces, so that multi-byte characters and invalid sequences sit anywhere in them. */
const line = fc.array(lineBytes, { maxLength: 6 }).map((parts) => Buffer.concat(parts));

interface Decoded {
  readonly lines: string[];
  readonly error?: unknown;
  readonly pendingBytes: number;
}

/** What a stream must give: its complete lines split at every newline, blank and lone-'\r' ones left out. */
function referenceSplit(bytes: Uint8Array, cap: number): Decoded {
  const lines: string[] = [];
  let start = 0;
  for (let newline = bytes.indexOf(NEWLINE); newline !== -1; newline = bytes.indexOf(NEWLINE, start)) {
    if (newline - start > cap) return { lines, error: WatchEventTooLargeError, pendingBytes: 0 };
    const text = utf8.decode(bytes.subarray(start, newline));
    if (text !== '' && text !== '\r') lines.push(text);
    start = newline + 1;
  }
  const rest = bytes.length - start;
  if (rest > cap) return { lines, error: WatchEventTooLargeError, pendingBytes: 0 };
  return { lines, pendingBytes: rest };
}

/** How the watch reads a body: feed each chunk, pull its lines, stop at the first error. */
function decode(chunks: readonly Uint8Array[], cap: number): Decoded {
  const decoder = new LineDecoder(cap);
  const lines: string[] = [];
  try {
    for (const chunk of chunks) {
      decoder.feed(chunk);
      for (let l = decoder.nextLine(); l !== undefined; l = decoder.nextLine()) lines.push(l);
    }
  } catch (error) {
    expect(error).toBeInstanceOf(WatchEventTooLargeError);
    expect((error as WatchEventTooLargeError).code).toBe('ERR_WATCH_EVENT_TOO_LARGE');
    return { lines, error: WatchEventTooLargeError, pendingBytes: decoder.pendingBytes };
  }
  return { lines, pendingBytes: decoder.pendingBytes };
}

/** A watch line that is JSON but hostile: wrong envelope shapes, absurd numbers, `__proto__` keys. */
const hostileJsonLine: fc.Arbitrary<string> = fc.oneof(
  watchEnvelope.map((value) => JSON.stringify(value)),
  fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)),
  fc
    .tuple(fc.constantFrom('ADDED', 'BOOKMARK', 'ERROR', 'added'), absurdNumber, hostileString)
    .map(([type, n, s]) => {
      // JSON.stringify writes NaN and the infinities as null: write the absurd number as text.
      const number = Number.isFinite(n) ? String(n) : '1e400';
      return `{"type":"${type}","object":{"metadata":{"resourceVersion":${number},"name":${JSON.stringify(s)}},"spec":${number}}}`;
    }),
  fc.constantFrom(
    '{"type":"ADDED","object":{"__proto__":{"metadata":{"name":5}}}}',
    '{"__proto__":{"type":"ADDED","object":{}}}',
    '{"type":"ADDED","object":{"metadata":{"__proto__":{"resourceVersion":7},"annotations":{"__proto__":5}}}}',
    '{"type":"ADDED","type":"NOPE","object":{}}',
    '{"type":"MODIFIED","object":{"metadata":{"resourceVersion":"1e400"}},"object":[]}',
    '{"type":"ADDED","object":{"n":1e400,"m":-1e400,"z":-0}}',
    '{"type":"DELETED","object":{"metadata":{"name":"\\ud800"}}}',
  ),
);

/** Nesting deep enough to overflow any recursive walk (JSON.parse itself is iterative in V8). */
const deeplyNestedLine: fc.Arbitrary<string> = fc
  .tuple(fc.integer({ min: 1_000, max: 100_000 }), fc.constantFrom('[', '{"a":'), fc.boolean())
  .map(([depth, open, asObject]) => {
    const close = open === '[' ? ']' : '}';
    const nested = `${open.repeat(depth)}1${close.repeat(depth)}`;
    return asObject
      ? `{"type":"ADDED","object":{"metadata":{"annotations":{"a":${nested}}},"spec":${nested}}}`
      : nested;
  });

/** Text that is almost JSON: a valid event cut, spliced or salted with hostile characters. */
const brokenLine: fc.Arbitrary<string> = fc
  .tuple(watchEnvelope, fc.nat(), fc.nat(), hostileString)
  .map(([value, at, length, insert]) => {
    const text = JSON.stringify(value) ?? '';
    const from = at % (text.length + 1);
    return text.slice(0, from) + insert + text.slice(from + (length % 4));
  });

const anyLine = fc.oneof(
  { weight: 3, arbitrary: hostileJsonLine },
  { weight: 3, arbitrary: brokenLine },
  { weight: 1, arbitrary: line.map((bytes) => utf8.decode(bytes)) },
  { weight: 1, arbitrary: deeplyNestedLine },
);

describe('LineDecoder and parseWatchEvent under hostile input (fuzz)', { timeout: fuzzTimeout }, () => {
  it('any bytes in any chunking give exactly the reference split, or a typed error at the first oversized line', () => {
    fc.assert(
      fc.property(
        fc.array(line, { maxLength: 12 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 160 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (lines, endsWithNewline, cap, cuts) => {
          const joined = Buffer.concat(lines.flatMap((l) => [l, Uint8Array.of(NEWLINE)]));
          const bytes = endsWithNewline || joined.length === 0 ? joined : joined.subarray(0, -1);
          const expected = referenceSplit(bytes, cap);
          const actual = decode(splitAt(bytes, cuts), cap);
          expect(actual.lines).toEqual(expected.lines);
          expect(actual.error).toBe(expected.error);
          expect(actual.pendingBytes).toBe(expected.pendingBytes);
        },
      ),
      { numRuns: fuzzRuns(600) },
    );
  });

  it('every line gives a WatchEvent its schema accepts, or a WatchDecodeError with a short message', () => {
    fc.assert(
      fc.property(anyLine, (text) => {
        let event: ReturnType<typeof parseWatchEvent>;
        try {
          event = parseWatchEvent(text);
        } catch (error) {
          expect(error).toBeInstanceOf(WatchDecodeError);
          expect((error as WatchDecodeError).code).toBe('ERR_WATCH_DECODE');
          expect((error as Error).message.length).toBeLessThan(400);
          return;
        }
        expect(watchEventSchema.safeParse(event).success).toBe(true);
        const json = JSON.parse(text) as { type: unknown; object: unknown };
        expect(event.type).toBe(json.type);
        expect(event.object).toEqual(json.object);
        // A `__proto__` key is data, never a prototype.
        expect(Object.getPrototypeOf(event.object)).toBe(Object.prototype);
      }),
      { numRuns: fuzzRuns(1000) },
    );
    expect(({} as Record<string, unknown>).metadata).toBeUndefined();
  });

  it('a stream of hostile lines: each is decoded whole, in order, however the bytes are chunked', () => {
    fc.assert(
      fc.property(
        fc.array(anyLine, { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (texts, cuts) => {
          const kept = texts.map((t) => t.replaceAll('\n', ' ')).filter((t) => t !== '' && t !== '\r');
          const bytes = encoder.encode(kept.map((t) => `${t}\n`).join(''));
          const { lines, error } = decode(splitAt(bytes, cuts), bytes.length);
          expect(error).toBeUndefined();
          // Lone surrogates do not survive UTF-8: compare with what the bytes say.
          expect(lines).toEqual(kept.map((t) => utf8.decode(encoder.encode(t))));
          for (const l of lines) {
            try {
              parseWatchEvent(l);
            } catch (e) {
              expect(e).toBeInstanceOf(WatchDecodeError);
            }
          }
        },
      ),
      { numRuns: fuzzRuns(150, 5) },
    );
  });

  it('the default cap: a line one byte over 16 MiB is refused, fed in 1 MiB chunks, and nothing is kept', () => {
    const decoder = new LineDecoder();
    const chunk = Buffer.alloc(1 << 20, 0x61);
    expect(() => {
      for (let i = 0; i < 16; i++) expect(decoder.push(chunk)).toEqual([]);
      decoder.push(Buffer.from('a\n'));
    }).toThrow(WatchEventTooLargeError);
    expect(decoder.pendingBytes).toBe(0);
  });
});
