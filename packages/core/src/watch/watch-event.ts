import { z } from 'zod';
import { WatchDecodeError } from './errors.js';

/** Metadata fields the engine reads; everything else is passed through untouched. */
export interface ObjectMeta {
  readonly name?: string;
  readonly namespace?: string;
  readonly resourceVersion?: string;
  readonly uid?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly [key: string]: unknown;
}

/** A Kubernetes object as received: only `metadata` is known to the engine. */
export interface KubeObject {
  readonly metadata?: ObjectMeta;
  readonly [key: string]: unknown;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/** One line of a `?watch=true` response body. */
export interface WatchEvent {
  readonly type: WatchEventType;
  readonly object: KubeObject;
}

const metadataSchema = z.looseObject({
  name: z.string().optional(),
  namespace: z.string().optional(),
  resourceVersion: z.string().optional(),
  annotations: z.record(z.string(), z.string()).nullish(),
});

export const watchEventSchema = z.object({
  type: z.enum(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR']),
  object: z.looseObject({ metadata: metadataSchema.optional() }),
});

const EXCERPT_CHARS = 120;

const EVENT_TYPES: ReadonlySet<unknown> = new Set(watchEventSchema.shape.type.options);

/**
 * The hot-path twin of `watchEventSchema`: exactly its acceptance rules, checked by hand (a property
 * test keeps the two in agreement), because zod copies every loose object it checks and this runs
 * for every event of every watch. When it says no, the schema runs to produce the message.
 */
export function isWatchEventEnvelope(json: unknown): json is WatchEvent {
  if (!isJsonObject(json) || !EVENT_TYPES.has(json.type)) return false;
  const object = json.object;
  if (!isJsonObject(object)) return false;
  const metadata = object.metadata;
  if (metadata === undefined) return true;
  if (!isJsonObject(metadata)) return false;
  if (!optionalString(metadata.name) || !optionalString(metadata.namespace)) return false;
  if (!optionalString(metadata.resourceVersion)) return false;
  const annotations = metadata.annotations;
  if (annotations == null) return true;
  if (!isJsonObject(annotations)) return false;
  for (const key in annotations) {
    // zod's record skips a `__proto__` key, whatever its value: so does its twin.
    if (key !== '__proto__' && typeof annotations[key] !== 'string') return false;
  }
  return true;
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(value: unknown): boolean {
  return value === undefined || typeof value === 'string';
}

/** Parses one watch line. Throws `WatchDecodeError` for bad JSON or a wrong envelope. */
export function parseWatchEvent(line: string): WatchEvent {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (cause) {
    throw new WatchDecodeError(`watch line is not JSON: ${excerpt(line)}`, { cause });
  }
  if (isWatchEventEnvelope(json)) return { type: json.type, object: json.object };
  const parsed = watchEventSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid';
    throw new WatchDecodeError(`watch line is not a watch event (${where}): ${excerpt(line)}`);
  }
  return parsed.data as WatchEvent;
}

function excerpt(line: string): string {
  return line.length <= EXCERPT_CHARS ? line : `${line.slice(0, EXCERPT_CHARS)}… (${line.length} chars)`;
}

/** The annotation on the BOOKMARK that ends the initial events of a streaming list. */
export const INITIAL_EVENTS_END_ANNOTATION = 'k8s.io/initial-events-end';
