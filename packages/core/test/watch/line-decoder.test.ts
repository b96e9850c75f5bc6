import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { WatchDecodeError, WatchEventTooLargeError } from '../../src/watch/errors.js';
import { LineDecoder } from '../../src/watch/line-decoder.js';
import { parseWatchEvent } from '../../src/watch/watch-event.js';
import { splitAt } from '../support/chunks.js';

const encoder = new TextEncoder();

function eventLine(name: string, rv: number): string {
  return JSON.stringify({
    type: 'MODIFIED',
    object: { kind: 'EndpointSlice', metadata: { name, resourceVersion: String(rv) }, note: 'ünïcødé ✓ 🚀' },
  });
}

describe('LineDecoder', () => {
  it('yields the lines of one chunk holding several events', () => {
    const decoder = new LineDecoder();
    const text = `${eventLine('a', 1)}\n${eventLine('b', 2)}\n`;
    expect(decoder.push(encoder.encode(text))).toEqual([eventLine('a', 1), eventLine('b', 2)]);
    expect(decoder.pendingBytes).toBe(0);
  });

  it('holds back an incomplete line until its newline arrives', () => {
    const decoder = new LineDecoder();
    const line = eventLine('a', 1);
    expect(decoder.push(encoder.encode(line.slice(0, 10)))).toEqual([]);
    expect(decoder.pendingBytes).toBe(10);
    expect(decoder.push(encoder.encode(`${line.slice(10)}\n`))).toEqual([line]);
  });

  it('joins a multi-byte UTF-8 character split across chunks', () => {
    const bytes = encoder.encode('{"x":"🚀"}\n');
    const rocketStart = bytes.indexOf(0xf0);
    const decoder = new LineDecoder();
    expect(decoder.push(bytes.subarray(0, rocketStart + 2))).toEqual([]);
    expect(decoder.push(bytes.subarray(rocketStart + 2))).toEqual(['{"x":"🚀"}']);
  });

  it('property: any chunking of a stream yields the same lines', () => {
    const lines = Array.from({ length: 12 }, (_, i) => eventLine(`slice-${i}`, i + 1));
    const bytes = encoder.encode(lines.map((l) => `${l}\n`).join(''));
    fc.assert(
      fc.property(fc.array(fc.nat({ max: bytes.length }), { maxLength: 60 }), (cuts) => {
        const decoder = new LineDecoder();
        const out = splitAt(bytes, cuts).flatMap((chunk) => decoder.push(chunk));
        expect(out).toEqual(lines);
        expect(decoder.pendingBytes).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('throws a typed error when one event exceeds the cap, even fed byte by byte', () => {
    const decoder = new LineDecoder(64);
    const big = encoder.encode('x'.repeat(65));
    expect(() => {
      for (let i = 0; i < big.length; i++) decoder.push(big.subarray(i, i + 1));
    }).toThrow(WatchEventTooLargeError);
    // After the error the decoder holds nothing of the oversized line.
    expect(decoder.pendingBytes).toBe(0);
  });

  it('accepts an event exactly at the cap', () => {
    const decoder = new LineDecoder(8);
    expect(decoder.push(encoder.encode('12345678\n'))).toEqual(['12345678']);
  });

  it('joins the pieces of a long event once, not on every chunk (no quadratic re-copying)', () => {
    const decoder = new LineDecoder();
    const payload = encoder.encode(
      `${JSON.stringify({ type: 'ADDED', object: { blob: 'y'.repeat(4 << 20) } })}\n`,
    );
    const concat = vi.spyOn(Buffer, 'concat');
    let lines: string[] = [];
    let concatCalls: number;
    try {
      for (let i = 0; i < payload.length; i += 1024)
        lines = lines.concat(decoder.push(payload.subarray(i, i + 1024)));
      concatCalls = concat.mock.calls.length;
    } finally {
      concat.mockRestore();
    }
    expect(lines).toHaveLength(1);
    expect(lines[0]?.length).toBe(payload.length - 1);
    expect(concatCalls).toBe(1);
  });
});

describe('parseWatchEvent', () => {
  it('parses a valid event and keeps unknown fields', () => {
    const event = parseWatchEvent(eventLine('a', 7));
    expect(event.type).toBe('MODIFIED');
    expect(event.object.metadata?.resourceVersion).toBe('7');
    expect(event.object.note).toBe('ünïcødé ✓ 🚀');
  });

  it.each([
    ['not JSON', '{"type":"ADDED","object":'],
    ['unknown type', '{"type":"UPSERTED","object":{}}'],
    ['missing object', '{"type":"ADDED"}'],
    ['object not an object', '{"type":"ADDED","object":42}'],
    ['array', '[1,2]'],
    ['bad resourceVersion type', '{"type":"ADDED","object":{"metadata":{"resourceVersion":5}}}'],
  ])('rejects %s with WatchDecodeError', (_name, line) => {
    expect(() => parseWatchEvent(line)).toThrow(WatchDecodeError);
    try {
      parseWatchEvent(line);
    } catch (error) {
      expect((error as WatchDecodeError).code).toBe('ERR_WATCH_DECODE');
    }
  });

  it('keeps error messages short for huge garbage lines', () => {
    const line = `{${'x'.repeat(100_000)}`;
    try {
      parseWatchEvent(line);
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message.length).toBeLessThan(400);
    }
  });
});

describe('LineDecoder pulled line by line', () => {
  it('hands out the lines of a chunk one at a time and keeps the incomplete rest', () => {
    const decoder = new LineDecoder();
    decoder.feed(encoder.encode('one\ntwo\nthr'));
    expect(decoder.nextLine()).toBe('one');
    expect(decoder.pendingBytes).toBe(7);
    expect(decoder.nextLine()).toBe('two');
    expect(decoder.nextLine()).toBeUndefined();
    expect(decoder.pendingBytes).toBe(3);
    decoder.feed(encoder.encode('ee\n\n'));
    expect(decoder.nextLine()).toBe('three');
    expect(decoder.nextLine()).toBeUndefined();
    expect(decoder.pendingBytes).toBe(0);
  });

  it('refuses a new chunk before the previous one was read to the end', () => {
    const decoder = new LineDecoder();
    decoder.feed(encoder.encode('a\nb\n'));
    expect(decoder.nextLine()).toBe('a');
    expect(() => decoder.feed(encoder.encode('c\n'))).toThrow(/previous chunk/);
  });
});
