import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isWatchEventEnvelope, parseWatchEvent, watchEventSchema } from '../../src/watch/watch-event.js';
import { watchEnvelope as envelope, expectSchemaTwin } from '../support/json-arbitraries.js';

/**
 * The value with every `__proto__` key left out: zod drops them from the objects it copies, the hot
 * path hands on what JSON.parse made.
 */
function withoutProtoKeys(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value), (key, v: unknown) => (key === '__proto__' ? undefined : v));
}

describe('isWatchEventEnvelope', () => {
  it('agrees with the zod schema on any envelope-like value', () => {
    expectSchemaTwin(isWatchEventEnvelope, watchEventSchema, envelope);
  });

  it('gives the same event as the schema for every accepted line', () => {
    fc.assert(
      fc.property(envelope, (value) => {
        const line = JSON.stringify(value);
        const json: unknown = JSON.parse(line);
        const parsed = watchEventSchema.safeParse(json);
        if (!parsed.success) expect(() => parseWatchEvent(line)).toThrow();
        else expect(withoutProtoKeys(parseWatchEvent(line))).toEqual(withoutProtoKeys(parsed.data));
      }),
      { numRuns: 2000 },
    );
  });
});
