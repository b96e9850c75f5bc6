/**
 * One open WATCH response: event filtering (with the cacher's selector transitions), JSON-lines
 * framing, an ordered output queue that honours the stall and split-write faults, bookmarks,
 * timeoutSeconds, and teardown.
 */
import type { ServerResponse } from 'node:http';
import type { ResourceInfo } from './resources.js';
import { filterMatches, type ObjectFilter } from './selectors.js';
import type { Status } from './status.js';
import { type EventType, type Store, type StoreEvent, withResourceVersion } from './store.js';
import type { KubeObject } from './types.js';

/** The write-path fault switches a watch consults before every write. */
export interface WriteFaults {
  readonly stalled: boolean;
  readonly split: { random: () => number; maxChunkBytes: number; delayMs: number } | undefined;
}

export type WatchEventType = EventType | 'BOOKMARK' | 'ERROR';

export interface WatchSpec {
  readonly resource: ResourceInfo;
  readonly filter: ObjectFilter;
  readonly allowBookmarks: boolean;
  readonly bookmarkIntervalMs: number;
  /** End the response cleanly after this many seconds. */
  readonly timeoutSeconds: number | undefined;
}

const serialized = new WeakMap<object, string>();

/** JSON of a frozen object, cached: every watch sending the same event serializes it once. */
function json(obj: object): string {
  let s = serialized.get(obj);
  if (s === undefined) {
    s = JSON.stringify(obj);
    if (Object.isFrozen(obj)) serialized.set(obj, s);
  }
  return s;
}

/** One watch event line: `{"type":...,"object":...}\n`. */
export function eventLine(type: WatchEventType, object: object): string {
  return `{"type":"${type}","object":${json(object)}}\n`;
}

/**
 * What a watch with `filter` sees of a store change, like the apiserver's cacher: an object that
 * starts matching arrives as ADDED, one that stops matching as DELETED (its previous state with the
 * new resourceVersion).
 */
export function eventFor(
  ev: StoreEvent,
  filter: ObjectFilter,
): { type: EventType; object: KubeObject } | undefined {
  const now = ev.type !== 'DELETED' && filterMatches(filter, ev.object);
  const before = ev.prev !== undefined && filterMatches(filter, ev.prev);
  switch (ev.type) {
    case 'ADDED':
      return now ? { type: 'ADDED', object: ev.object } : undefined;
    case 'MODIFIED':
      if (now && before) return { type: 'MODIFIED', object: ev.object };
      if (now) return { type: 'ADDED', object: ev.object };
      if (before && ev.prev !== undefined)
        return { type: 'DELETED', object: withResourceVersion(ev.prev, ev.rv) };
      return undefined;
    case 'DELETED':
      return before ? { type: 'DELETED', object: ev.object } : undefined;
  }
}

/** The object of a BOOKMARK event: kind, apiVersion and metadata.resourceVersion only. */
export function bookmarkObject(
  resource: ResourceInfo,
  rv: number,
  annotations?: Record<string, string>,
): object {
  const metadata: { resourceVersion: string; annotations?: Record<string, string> } = {
    resourceVersion: String(rv),
  };
  if (annotations !== undefined) metadata.annotations = annotations;
  return { kind: resource.kind, apiVersion: resource.apiVersion, metadata };
}

export class WatchStream {
  private readonly queue: Buffer[] = [];
  private waitingForTimer = false;
  private endRequested = false;
  private closed = false;
  private cutting = false;
  private bookmarkTimer: NodeJS.Timeout | undefined;
  private timeoutTimer: NodeJS.Timeout | undefined;
  private splitTimer: { timeout: NodeJS.Timeout } | { immediate: NodeJS.Immediate } | undefined;
  private cleanedUp = false;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly res: ServerResponse,
    readonly spec: WatchSpec,
    private readonly store: Store,
    private readonly faults: WriteFaults,
    private readonly onClose: (watch: WatchStream) => void,
  ) {
    res.on('close', () => this.cleanup());
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Sends the 200 headers now, queues the initial lines, subscribes to the store and starts the
   * timers. Call synchronously after computing the initial lines so that no change slips between.
   */
  start(headers: Record<string, string>, initial: string): void {
    // No Content-Length: Node frames the body with chunked transfer encoding.
    this.res.writeHead(200, { ...headers, 'Content-Type': 'application/json' });
    this.res.flushHeaders();
    if (initial !== '') this.enqueue(initial);
    if (this.closed) return;
    this.unsubscribe = this.store.subscribe((events) => this.onStoreEvents(events));
    if (this.spec.allowBookmarks && this.spec.bookmarkIntervalMs > 0) {
      this.bookmarkTimer = setInterval(() => this.periodicBookmark(), this.spec.bookmarkIntervalMs);
      this.bookmarkTimer.unref();
    }
    if (this.spec.timeoutSeconds !== undefined && this.spec.timeoutSeconds > 0) {
      this.timeoutTimer = setTimeout(() => this.onTimeout(), this.spec.timeoutSeconds * 1000);
      this.timeoutTimer.unref();
    }
  }

  /** Writes the in-stream ERROR event and ends the response (used for 410 Expired). */
  fail(status: Status): void {
    this.enqueue(eventLine('ERROR', status));
    this.end();
  }

  /** Ends the response cleanly once everything queued has been written (deferred while stalled). */
  end(): void {
    this.endRequested = true;
    this.pump();
  }

  /** Destroys the socket at once (no terminating chunk): what a network cut looks like. */
  destroy(): void {
    if (this.cleanedUp) return;
    this.closed = true;
    this.res.socket?.destroy();
    this.res.destroy();
    this.cleanup();
  }

  /** Writes the first half of an event line, then destroys the socket once that half is flushed. */
  cutMidEvent(): void {
    if (this.closed || this.cutting) return;
    this.cutting = true;
    const head = this.queue[0];
    let line: Buffer;
    if (head !== undefined) {
      const nl = head.indexOf(10);
      line = nl >= 0 ? head.subarray(0, nl + 1) : head;
    } else {
      line = Buffer.from(this.syntheticLine(), 'utf8');
    }
    const half = line.subarray(0, Math.max(1, Math.floor(line.length / 2)));
    const fallback = setTimeout(() => this.destroy(), 500);
    fallback.unref();
    this.res.write(half, () => {
      clearTimeout(fallback);
      this.destroy();
    });
  }

  /** Queues raw text for the stream (malformed-line fault). */
  writeRaw(text: string): void {
    this.enqueue(text);
  }

  private syntheticLine(): string {
    const obj = this.store.current(this.spec.resource).find((o) => filterMatches(this.spec.filter, o));
    return obj !== undefined
      ? eventLine('MODIFIED', obj)
      : eventLine('BOOKMARK', bookmarkObject(this.spec.resource, this.store.resourceVersion));
  }

  /** Resumes writing after a stall. */
  resume(): void {
    this.pump();
  }

  private onStoreEvents(events: readonly StoreEvent[]): void {
    let text = '';
    for (const ev of events) {
      if (ev.resource !== this.spec.resource) continue;
      const out = eventFor(ev, this.spec.filter);
      if (out !== undefined) text += eventLine(out.type, out.object);
    }
    if (text !== '') this.enqueue(text);
  }

  private periodicBookmark(): void {
    // A stalled stream writes nothing at all; a bookmark is not worth queueing.
    if (this.faults.stalled || this.endRequested) return;
    this.enqueue(eventLine('BOOKMARK', bookmarkObject(this.spec.resource, this.store.resourceVersion)));
  }

  private onTimeout(): void {
    this.timeoutTimer = undefined;
    if (this.spec.allowBookmarks && !this.faults.stalled) {
      // The cacher sends a last bookmark right before the deadline.
      this.enqueue(eventLine('BOOKMARK', bookmarkObject(this.spec.resource, this.store.resourceVersion)));
    }
    this.end();
  }

  private enqueue(text: string): void {
    if (this.closed || this.cutting || this.endRequested) return;
    this.queue.push(Buffer.from(text, 'utf8'));
    this.pump();
  }

  private pump(): void {
    if (this.waitingForTimer || this.cutting) return;
    while (!this.closed) {
      if (this.faults.stalled) return;
      const buf = this.queue[0];
      if (buf === undefined) break;
      const split = this.faults.split;
      if (split === undefined) {
        // Whatever queued up (during a stall) goes out as one burst.
        const all = this.queue.length === 1 ? buf : Buffer.concat(this.queue);
        this.queue.length = 0;
        this.res.write(all);
        continue;
      }
      const size = Math.min(buf.length, 1 + Math.floor(split.random() * split.maxChunkBytes));
      this.res.write(buf.subarray(0, size));
      if (size === buf.length) this.queue.shift();
      else this.queue[0] = buf.subarray(size);
      this.waitingForTimer = true;
      const next = () => {
        this.splitTimer = undefined;
        this.waitingForTimer = false;
        this.pump();
      };
      this.splitTimer =
        split.delayMs > 0 ? { timeout: setTimeout(next, split.delayMs) } : { immediate: setImmediate(next) };
      return;
    }
    if (!this.closed && this.endRequested && this.queue.length === 0) {
      this.closed = true;
      this.res.end();
    }
  }

  private cleanup(): void {
    if (this.cleanedUp) return;
    this.cleanedUp = true;
    if (this.bookmarkTimer !== undefined) clearInterval(this.bookmarkTimer);
    if (this.timeoutTimer !== undefined) clearTimeout(this.timeoutTimer);
    if (this.splitTimer !== undefined) {
      if ('timeout' in this.splitTimer) clearTimeout(this.splitTimer.timeout);
      else clearImmediate(this.splitTimer.immediate);
    }
    this.bookmarkTimer = undefined;
    this.timeoutTimer = undefined;
    this.splitTimer = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.closed = true;
    this.queue.length = 0;
    this.onClose(this);
  }
}
