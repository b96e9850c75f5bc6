import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isWatchEventEnvelope, parseWatchEvent, watchEventSchema } from '../../src/watch/watch-event.js';
import { expectSchemaTwin, looseValue as loose } from '../support/json-arbitraries.js';

const annotations = fc.oneof(
  loose,
  fc.dictionary(fc.string({ maxLength: 3 }), fc.oneof(fc.string({ maxLength: 3 }), loose), { maxKeys: 3 }),
);
const metadata = fc.oneof(
  loose,
  fc.record(
    { name: loose, namespace: loose, resourceVersion: loose, annotations, uid: loose },
    { requiredKeys: [] },
  ),
);
const envelope = fc.record(
  {
    type: fc.oneof(fc.constantFrom('ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR', 'added', ''), loose),
    object: fc.oneof(loose, fc.record({ metadata, kind: loose, spec: loose }, { requiredKeys: [] })),
    extra: loose,
  },
  { requiredKeys: [] },
);

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
        else expect(parseWatchEvent(line)).toEqual(parsed.data);
      }),
      { numRuns: 2000 },
    );
  });
});
