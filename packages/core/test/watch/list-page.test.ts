import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { listPageSchema, readListPage } from '../../src/watch/list-page.js';
import { expectSchemaTwin, looseValue } from '../support/json-arbitraries.js';

/** Values shaped like a List, each field sometimes right and sometimes wrong. */
const listLike = fc.record(
  {
    kind: looseValue,
    metadata: fc.oneof(
      looseValue,
      fc.record(
        { resourceVersion: fc.oneof(fc.string({ maxLength: 3 }), looseValue), continue: looseValue },
        { requiredKeys: [] },
      ),
    ),
    items: fc.oneof(
      looseValue,
      fc.array(fc.oneof({ weight: 4, arbitrary: fc.record({ metadata: looseValue }) }, looseValue), {
        maxLength: 3,
      }),
    ),
  },
  { requiredKeys: [] },
);

describe('readListPage', () => {
  it('accepts exactly what the zod schema accepts', () => {
    expectSchemaTwin((value) => readListPage(value) !== undefined, listPageSchema, listLike);
  });

  it('reads what the schema reads, handing out the response’s own items array', () => {
    fc.assert(
      fc.property(listLike, (value) => {
        const json: unknown = JSON.parse(JSON.stringify(value) ?? 'null');
        const parsed = listPageSchema.safeParse(json);
        const page = readListPage(json);
        if (!parsed.success || page === undefined) return;
        expect(page.resourceVersion).toBe(parsed.data.metadata.resourceVersion);
        expect(page.continue).toBe(parsed.data.metadata.continue);
        expect(page.items).toEqual(parsed.data.items ?? []);
        if (parsed.data.items !== null) expect(page.items).toBe((json as { items: unknown }).items);
      }),
      { numRuns: 2000 },
    );
  });
});
