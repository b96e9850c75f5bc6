/**
 * One open WATCH response: event filtering (with the cacher's selector transitions), JSON-lines
 * framing, an ordered output queue that honours the stall and split-write faults, bookmarks,
 * timeoutSeconds, and teardown.
 */
import type { ServerResponse } from 'node:http';
import { constants as http2Constants } from 'node:http2';
import type { ResourceInfo } from './resources.js';
import { filterMatches, type ObjectFilter } from './selectors.js';
import type { Status } from './status.js';
import { type EventType, type Store, type StoreEvent, withResourceVersion } from './store.js';
import type { KubeObject, RecordedRequest } from './types.js';

/** The write-path fault switches a watch consults before every write. */
export interface WriteFaults {
  readonly stalled: boolean;
  readonly split: SplitWrites | undefined;
}

/** The split-write fault: pieces of 1 to `maxChunkBytes` bytes, `delayMs` (or a setImmediate) apart. */
export interface SplitWrites {
  readonly random: () => number;
  readonly maxChunkBytes: number;
  readonly delayMs: number;
  /** LIST bodies too. */
  readonly lists: boolean;
}

export type WatchEventType = EventType | 'BOOKMARK' | 'ERROR';

export interface WatchSpec {
  readonly resource: ResourceInfo;
  readonly filter: ObjectFilter;
  readonly allowBookmarks: boolean;
  readonly bookmarkIntervalMs: number;
  /** End the response cleanly after this many seconds. */
  readonly timeoutSeconds: number | undefined;
  /** Only changes (and bookmarks) past this resourceVersion are sent: a watch started ahead of the server. */
  readonly afterResourceVersion?: number | undefined;
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

/**
 * The object of a BOOKMARK event: kind, apiVersion and metadata.resourceVersion, plus what the
 * apiserver's empty object of the kind serializes to (an EndpointSlice's fields are not omitempty:
 * `addressType: ""`, `endpoints: null`, `ports: null`; an Endpoints has none).
 */
export function bookmarkObject(
  resource: ResourceInfo,
  rv: number,
  annotations?: Record<string, string>,
): object {
  const metadata: { resourceVersion: string; annotations?: Record<string, string> } = {
    resourceVersion: String(rv),
  };
  if (annotations !== undefined) metadata.annotations = annotations;
  return { kind: resource.kind, apiVersion: resource.apiVersion, metadata, ...resource.emptyFields };
}

/** One watch as the server sees it (`FakeApiServer.listWatches`, `onWatchChange`). Times are `Date.now()`. */
export interface WatchInfo {
  /** Increases with every watch the server opens. */
  readonly id: number;
  readonly path: string;
  /** The query parameters: `labelSelector`, `resourceVersion`, `sendInitialEvents`, ... */
  readonly query: Readonly<Record<string, string>>;
  /** Request headers (lower-case names, `authorization` redacted): `user-agent` tells clients apart. */
  readonly headers: Readonly<Record<string, string>>;
  /** When the 200 headers were sent. */
  readonly openedAt: number;
  /** It started from a compacted resourceVersion: its only event is the in-stream 410. */
  readonly startedExpired: boolean;
  /** The resourceVersion of the last event or bookmark written to the socket. */
  readonly lastResourceVersion: string | undefined;
  /** When anything (an event, a bookmark, a raw line) was last written to the socket. */
  readonly lastWriteAt: number | undefined;
  /** `stallWatches(true)` holds it: nothing is written, not even bookmarks. */
  readonly stalled: boolean;
  /** Bytes queued but not yet written (during a stall, or between the pieces of split writes). */
  readonly pendingBytes: number;
  /** Since when bytes have been waiting to be written, when some are. */
  readonly pendingSince: number | undefined;
  /** It is ending: a clean end (timeout, 410 ERROR) or a cut is under way. */
  readonly ending: boolean;
  /** When it closed; undefined while open. */
  readonly closedAt: number | undefined;
  /**
   * Why it closed: `cut` (`cutWatches`), `end` (the server ended it cleanly: `timeoutSeconds`),
   * `expired` (a 410 ERROR, then a clean end), `restart` (`faults.restart` or `close()`), `client`
   * (the client went away).
   */
  readonly closedBy: WatchCloser | undefined;
}

export type WatchCloser = 'cut' | 'end' | 'expired' | 'restart' | 'client';

/** Text waiting to be written, and the resourceVersion its last event carries. */
interface Pending {
  buf: Buffer;
  readonly rv: number | undefined;
}

/** Who opened a watch, and how it starts. */
export interface WatchOrigin {
  readonly id: number;
  readonly request: RecordedRequest;
  readonly startedExpired: boolean;
}

/** The annotation that pads an oversized BOOKMARK. */
export const PADDING_ANNOTATION = 'fake-apiserver.endpoint-watch.dev/padding';

export class WatchStream {
  private readonly queue: Pending[] = [];
  private readonly openedAt = Date.now();
  private lastRv: number | undefined;
  private lastWriteAt: number | undefined;
  private pendingSince: number | undefined;
  private closedAt: number | undefined;
  private closedBy: WatchCloser | undefined;
  private waitingForTimer = false;
  private endRequested = false;
  private closed = false;
  private cutting = false;
  private bookmarkTimer: NodeJS.Timeout | undefined;
  private timeoutTimer: NodeJS.Timeout | undefined;
  private splitTimer: { timeout: NodeJS.Timeout } | { immediate: NodeJS.Immediate } | undefined;
  private cleanedUp = false;
  private unsubscribe: (() => void) | undefined;

  /** HTTP/2: destroys the TLS connection the stream is on (set by the server). */
  cutConnection: (() => void) | undefined;

  constructor(
    private readonly res: ServerResponse,
    private readonly origin: WatchOrigin,
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

  info(): WatchInfo {
    const { id, request, startedExpired } = this.origin;
    return {
      id,
      path: request.path,
      query: { ...request.query },
      headers: { ...request.headers },
      openedAt: this.openedAt,
      startedExpired,
      lastResourceVersion: this.lastRv === undefined ? undefined : String(this.lastRv),
      lastWriteAt: this.lastWriteAt,
      stalled: this.faults.stalled && !this.cleanedUp,
      pendingBytes: this.queue.reduce((n, p) => n + p.buf.length, 0),
      pendingSince: this.pendingSince,
      ending: (this.endRequested || this.cutting || this.closed) && !this.cleanedUp,
      closedAt: this.closedAt,
      closedBy: this.closedBy,
    };
  }

  /**
   * Sends the 200 headers now, queues the initial lines, subscribes to the store and starts the
   * timers. Call synchronously after computing the initial lines so that no change slips between.
   */
  start(headers: Record<string, string>, initial: string, initialRv: number | undefined): void {
    // No Content-Length: Node frames the body with chunked transfer encoding.
    this.res.writeHead(200, { ...headers, 'Content-Type': 'application/json' });
    this.res.flushHeaders();
    if (initial !== '') this.enqueue(initial, initialRv);
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
    if (!this.endRequested && !this.closed && !this.cutting) this.closedBy ??= 'expired';
    this.enqueue(eventLine('ERROR', status));
    this.end();
  }

  /** Ends the response cleanly once everything queued has been written (deferred while stalled). */
  end(): void {
    this.endRequested = true;
    this.pump();
  }

  /** Destroys the socket at once (no terminating chunk): what a network cut looks like. */
  destroy(by: WatchCloser = 'cut'): void {
    if (this.cleanedUp) return;
    this.closedBy ??= by;
    this.closed = true;
    const stream = (
      this.res as unknown as { stream?: { close(code: number): void; on(e: 'error', f: () => void): void } }
    ).stream;
    if (stream !== undefined && by !== 'restart' && this.cutConnection !== undefined) {
      // HTTP/2: a cut is the connection's (every watch on it ends), abrupt, so that what is
      // queued is lost as on HTTP/1.1 (a stream reset would flush it first).
      this.cutConnection();
    } else if (stream !== undefined) {
      // HTTP/2 restart: this stream is reset (abnormally: not the end of the response) after the
      // server's GOAWAY.
      stream.on('error', () => {});
      stream.close(http2Constants.NGHTTP2_INTERNAL_ERROR);
    } else {
      this.res.socket?.destroy();
    }
    this.res.destroy();
    this.cleanup();
  }

  /** Writes the first half of an event line, then destroys the socket once that half is flushed. */
  cutMidEvent(): void {
    if (this.closed || this.cutting) return;
    this.cutting = true;
    this.closedBy ??= 'cut';
    const head = this.queue[0]?.buf;
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

  /** Queues one BOOKMARK line of at least `bytes` bytes (oversized-event fault). */
  sendOversizedBookmark(bytes: number): void {
    const rv = this.store.resourceVersion;
    const bare = eventLine('BOOKMARK', bookmarkObject(this.spec.resource, rv, { [PADDING_ANNOTATION]: '' }));
    // `bare` ends with a newline: the line itself is to be `bytes` long.
    const padding = 'x'.repeat(Math.max(0, bytes - (bare.length - 1)));
    this.enqueue(
      eventLine('BOOKMARK', bookmarkObject(this.spec.resource, rv, { [PADDING_ANNOTATION]: padding })),
      rv,
    );
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
    let rv: number | undefined;
    const after = this.spec.afterResourceVersion;
    for (const ev of events) {
      if (ev.resource !== this.spec.resource) continue;
      if (after !== undefined && ev.rv <= after) continue;
      const out = eventFor(ev, this.spec.filter);
      if (out === undefined) continue;
      text += eventLine(out.type, out.object);
      rv = ev.rv;
    }
    if (text !== '') this.enqueue(text, rv);
  }

  private bookmark(): void {
    const rv = this.store.resourceVersion;
    if (this.spec.afterResourceVersion !== undefined && rv <= this.spec.afterResourceVersion) return;
    this.enqueue(eventLine('BOOKMARK', bookmarkObject(this.spec.resource, rv)), rv);
  }

  private periodicBookmark(): void {
    // A stalled stream writes nothing at all; a bookmark is not worth queueing.
    if (this.faults.stalled || this.endRequested) return;
    this.bookmark();
  }

  private onTimeout(): void {
    this.timeoutTimer = undefined;
    // The cacher sends a last bookmark right before the deadline.
    if (this.spec.allowBookmarks && !this.faults.stalled) this.bookmark();
    this.end();
  }

  private enqueue(text: string, rv?: number): void {
    if (this.closed || this.cutting || this.endRequested) return;
    if (this.queue.length === 0) this.pendingSince = Date.now();
    this.queue.push({ buf: Buffer.from(text, 'utf8'), rv });
    this.pump();
  }

  /** Records that `items` were written whole. */
  private wrote(items: readonly Pending[]): void {
    this.lastWriteAt = Date.now();
    for (const item of items) if (item.rv !== undefined) this.lastRv = Math.max(this.lastRv ?? 0, item.rv);
    if (this.queue.length === 0) this.pendingSince = undefined;
  }

  private pump(): void {
    if (this.waitingForTimer || this.cutting) return;
    while (!this.closed) {
      if (this.faults.stalled) return;
      const head = this.queue[0];
      if (head === undefined) break;
      const split = this.faults.split;
      if (split === undefined) {
        // Whatever queued up (during a stall) goes out as one burst.
        const items = this.queue.splice(0);
        this.res.write(items.length === 1 ? head.buf : Buffer.concat(items.map((p) => p.buf)));
        this.wrote(items);
        continue;
      }
      const buf = head.buf;
      const size = Math.min(buf.length, 1 + Math.floor(split.random() * split.maxChunkBytes));
      this.res.write(buf.subarray(0, size));
      if (size === buf.length) this.wrote(this.queue.splice(0, 1));
      else head.buf = buf.subarray(size);
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
      this.closedBy ??= 'end';
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
    this.closedAt = Date.now();
    this.closedBy ??= 'client';
    this.queue.length = 0;
    this.pendingSince = undefined;
    this.onClose(this);
  }
}
