import { z } from 'zod';
import type { KubeObject } from './watch-event.js';

/** What the engine reads of one LIST response. */
export interface ListPage {
  /** The response's own array (not a copy): the caller may rewrite it in place. */
  readonly items: KubeObject[];
  readonly resourceVersion: string;
  readonly continue: string | undefined;
}

/** The reference rules of a List (a property test keeps `readListPage` in agreement with them). */
export const listPageSchema = z.looseObject({
  metadata: z.looseObject({ resourceVersion: z.string(), continue: z.string().optional() }),
  items: z.array(z.looseObject({})).nullable(),
});

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A decoded LIST body as a page, or undefined when it is not a List. Checked by hand with exactly
 * `listPageSchema`'s rules: zod would copy the items array and every item, which, for a list of
 * 100,000 endpoints, keeps a second reference to each raw object while they are transformed.
 */
export function readListPage(body: unknown): ListPage | undefined {
  if (!isJsonObject(body)) return undefined;
  const metadata = body.metadata;
  if (!isJsonObject(metadata) || typeof metadata.resourceVersion !== 'string') return undefined;
  const next = metadata.continue;
  if (next !== undefined && typeof next !== 'string') return undefined;
  const items = body.items;
  if (items === null) return { items: [], resourceVersion: metadata.resourceVersion, continue: next };
  if (!Array.isArray(items)) return undefined;
  for (const item of items) if (!isJsonObject(item)) return undefined;
  return { items: items as KubeObject[], resourceVersion: metadata.resourceVersion, continue: next };
}
