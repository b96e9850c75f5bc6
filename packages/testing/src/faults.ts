/**
 * Fault injection: the switches watches consult on every write (stall, split writes), the rules that
 * pick upcoming requests (canned failures, stalls before the headers or inside a LIST body), the
 * requests held by a stall, and the actions on open watches (cut, malformed or oversized line,
 * expire) and on the whole server (restart).
 */
import { randomSource } from './random.js';
import { qualifiedResource } from './resources.js';
import { parseRoute } from './routes.js';
import { expiredStatus, failureStatus, type Status } from './status.js';
import type { RecordedRequest } from './types.js';
import type { WatchStream, WriteFaults } from './watch-stream.js';

/**
 * The message and details kube-apiserver's RBAC authorizer answers a denied request with:
 * `endpointslices.discovery.k8s.io "web" is forbidden: User "u" cannot get resource "endpointslices"
 * in API group "discovery.k8s.io" in the namespace "ns"` (or `at the cluster scope`).
 */
function forbiddenStatus(
  request: RecordedRequest,
  user = 'system:serviceaccount:default:default',
): { message: string; details: NonNullable<Status['details']> } | undefined {
  const route = parseRoute(request.path);
  if (route.type !== 'resource') return undefined;
  const { resource, namespace, name } = route;
  const verb = request.watch ? 'watch' : name !== undefined ? 'get' : 'list';
  const what = `${qualifiedResource(resource)}${name !== undefined ? ` ${JSON.stringify(name)}` : ''}`;
  const scope =
    namespace !== undefined ? `in the namespace ${JSON.stringify(namespace)}` : 'at the cluster scope';
  return {
    message: `${what} is forbidden: User ${JSON.stringify(user)} cannot ${verb} resource ${JSON.stringify(resource.resource)} in API group ${JSON.stringify(resource.group)} ${scope}`,
    details: {
      ...(name !== undefined ? { name } : {}),
      ...(resource.group !== '' ? { group: resource.group } : {}),
      kind: resource.resource,
    },
  };
}

/** Which requests a rule applies to: only those for which it returns true (default: every request). */
export type RequestMatch = (req: RecordedRequest) => boolean;

export interface FailNextOptions {
  /** Adds a `Retry-After` header (and details.retryAfterSeconds, as the apiserver does). */
  retryAfterSeconds?: number;
  /** Status reason; defaults to the apiserver's reason for the code (429 TooManyRequests, 503 ServiceUnavailable, ...). */
  reason?: string;
  /**
   * Default: the apiserver's message for the code; for 403 the RBAC authorizer's text for this
   * request (`endpointslices.discovery.k8s.io is forbidden: User "…" cannot watch resource …`).
   */
  message?: string;
  /** The user a 403's message names (default `system:serviceaccount:default:default`). */
  user?: string;
  /** Only requests for which this returns true count (and are failed); default: every request. */
  match?: RequestMatch;
  /**
   * Pads the Status's message so that the body is this many bytes (e.g. 100 MB: a proxy's error
   * page, or a client that reads error bodies whole). It is streamed as the client reads it, never
   * held in memory, and the server stops writing when the client hangs up.
   */
  bodyBytes?: number;
}

export interface StallOptions {
  match?: RequestMatch;
}

export interface ListBodyStallOptions extends StallOptions {
  /** Bytes of the body written before the stall (default: half of it). */
  bytes?: number;
}

/** A request a stall holds: before its headers, or inside its LIST body. */
export interface HeldRequest {
  readonly request: RecordedRequest;
  readonly stage: 'headers' | 'body';
  /** When the stall began (`Date.now()`). */
  readonly since: number;
}

/** What became of an answer padded by `failNext({ bodyBytes })`. */
export interface PaddedAnswer {
  readonly request: RecordedRequest;
  /** The size of the whole body. */
  readonly bodyBytes: number;
  /** Body bytes written so far (a client that stops reading holds the server back: backpressure). */
  readonly written: number;
  /** It ended: written whole, or the client went away. */
  readonly done: boolean;
}

/** The progress of a padded answer, updated as it is written. */
export interface PaddedProgress {
  written: number;
  done: boolean;
}

export interface RestartOptions {
  /**
   * Also stop listening for this long (connections are refused), then listen again on the same
   * port. Default 0: the listener stays up; only the connections and the history are lost.
   */
  downMs?: number;
}

export interface SplitWritesOptions {
  /** Seed of the PRNG that picks the split offsets (default: random). */
  seed?: number;
  /** Largest chunk, in bytes (default 16). */
  maxChunkBytes?: number;
  /** Pause between chunks in ms; 0 (default) yields with setImmediate. */
  delayMs?: number;
  /** Also split the body of every LIST answered from now on (a large list as TCP delivers it). Default false. */
  lists?: boolean;
}

/** The fault controls of a FakeApiServer. */
export interface FakeApiServerFaults {
  /**
   * Destroys every open watch socket (no terminating chunk). With `midEvent`, first writes the first
   * half of an event line (the next queued one, else a synthetic copy of a matching object or a bookmark).
   */
  cutWatches(options?: { midEvent?: boolean }): void;
  /**
   * Splits every watch-body write at random byte offsets (also inside UTF-8 characters), and with
   * `lists` every LIST body; `false` stops.
   */
  splitWrites(options: SplitWritesOptions | false): void;
  /** The next `count` matching requests (Infinity allowed) are answered with a Status of this code. */
  failNext(count: number, status: number, options?: FailNextOptions): void;
  /**
   * HTTP/2: the next `count` matching streams are refused with RST_STREAM(REFUSED_STREAM) before
   * anything is served, as a server over its concurrent stream limit does (they are recorded with
   * status 0). HTTP/1.1 requests are not affected and do not consume the count.
   */
  refuseStreams(count: number, options?: StallOptions): void;
  /**
   * The next `count` matching requests get no response headers (the socket stays open) until
   * `releaseStalls()` or `clear()`; then they are served as usual (a failNext rule may still apply).
   */
  stallHeaders(count: number, options?: StallOptions): void;
  /**
   * The next `count` matching LIST requests (not watches, not single objects) get their headers
   * and the first part of the body, then nothing until `releaseStalls()` or `clear()`, which writes
   * the rest.
   */
  stallListBodies(count: number, options?: ListBodyStallOptions): void;
  /** Serves every request held by `stallHeaders` or `stallListBodies`. */
  releaseStalls(): void;
  /** The requests a stall holds now (their connections are open), oldest first. */
  held(): HeldRequest[];
  /**
   * The answers padded by `failNext({ bodyBytes })` (the last 1000), oldest first: how much of each
   * was written before it ended. A client that caps error bodies hangs up long before the end.
   */
  paddedAnswers(): PaddedAnswer[];
  /**
   * Heals everything: removes the pending failNext and stall rules, releases held requests, ends
   * the watch stall (flushing what queued) and the split, and listens again at once after a restart.
   */
  clear(): void;
  /** While true nothing is written to watches (events queue, bookmarks are skipped); false flushes. */
  stallWatches(stalled: boolean): void;
  /** Writes `line` (default `{"type":"ADDED","object":`) plus '\n' to every open watch. */
  sendMalformedLine(line?: string): void;
  /**
   * Writes to every open watch one BOOKMARK line of at least `bytes` bytes (at the current
   * resourceVersion, padded with an annotation): harmless to a client that accepts it, over the
   * event size cap of one that does not. It is not in the history: a resumed watch does not see it.
   */
  sendOversizedEvent(bytes: number): void;
  /** Sends an in-stream 410 Expired ERROR to every open watch, then ends them. */
  expireWatches(): void;
  /**
   * An apiserver restart: every watch and connection ends at once (held requests included; an HTTP/2
   * connection gets a GOAWAY first, as from an apiserver shutting down), and the
   * history is lost, as with a fresh watch cache: the objects stay, but a watch or an Exact LIST
   * from any resourceVersion handed out before gets 410 Expired. Resolves once the server accepts
   * connections again.
   */
  restart(options?: RestartOptions): Promise<void>;
}

/** A rule that applies to the next `remaining` requests it matches. */
interface CountedRule<T> {
  remaining: number;
  match: RequestMatch | undefined;
  value: T;
}

/** Rules consumed in order of registration, one count per matching request. */
class CountedRules<T> {
  private rules: CountedRule<T>[] = [];

  add(count: number, value: T, match: RequestMatch | undefined): void {
    if (count > 0) this.rules.push({ remaining: count, match, value });
  }

  take(request: RecordedRequest): T | undefined {
    const rule = this.rules.find((r) => r.match === undefined || r.match(request));
    if (rule === undefined) return undefined;
    rule.remaining--;
    if (rule.remaining <= 0) this.rules = this.rules.filter((r) => r !== rule);
    return rule.value;
  }

  clear(): void {
    this.rules = [];
  }
}

/** A canned failure: the Status to answer, and how big its body is to be. */
export interface Failure {
  readonly status: Status;
  readonly bodyBytes: number | undefined;
}

/**
 * Shared fault state: watches read `stalled`/`split`; the server asks the `take*` methods per
 * request and parks stalled requests in `held`.
 */
export class FaultState implements WriteFaults {
  stalled = false;
  split: WriteFaults['split'] = undefined;
  private readonly failures = new CountedRules<Omit<FailNextOptions, 'match'> & { status: number }>();
  private readonly headerStalls = new CountedRules<true>();
  private readonly refusals = new CountedRules<true>();
  private readonly listBodyStalls = new CountedRules<{ bytes: number | undefined }>();
  /** Each request held by a stall, with what releases it. */
  private readonly held = new Map<() => void, HeldRequest>();
  private padded: Array<PaddedProgress & { request: RecordedRequest; bodyBytes: number }> = [];

  addFailure(count: number, status: number, options: FailNextOptions): void {
    if (!Number.isInteger(status) || status < 100 || status > 599)
      throw new RangeError(`invalid HTTP status ${status}`);
    const { match, ...rest } = options;
    this.failures.add(count, { ...rest, status }, match);
  }

  /** The canned failure to answer this request with instead of serving it, if a rule matches. */
  takeFailure(request: RecordedRequest): Failure | undefined {
    const rule = this.failures.take(request);
    if (rule === undefined) return undefined;
    const { reason, message, retryAfterSeconds, bodyBytes, user } = rule;
    const forbidden =
      rule.status === 403 && message === undefined ? forbiddenStatus(request, user) : undefined;
    const status = failureStatus(rule.status, {
      ...(reason !== undefined ? { reason } : {}),
      ...(message !== undefined ? { message } : {}),
      ...(forbidden ?? {}),
      ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
    });
    return { status, bodyBytes };
  }

  addRefusal(count: number, match: RequestMatch | undefined): void {
    this.refusals.add(count, true, match);
  }

  /** HTTP/2: whether to refuse this stream (RST_STREAM REFUSED_STREAM) instead of serving it. */
  takeRefusal(request: RecordedRequest): boolean {
    return this.refusals.take(request) !== undefined;
  }

  addHeaderStall(count: number, match: RequestMatch | undefined): void {
    this.headerStalls.add(count, true, match);
  }

  takeHeaderStall(request: RecordedRequest): boolean {
    return this.headerStalls.take(request) !== undefined;
  }

  addListBodyStall(count: number, bytes: number | undefined, match: RequestMatch | undefined): void {
    this.listBodyStalls.add(count, { bytes }, match);
  }

  /** For a LIST about to be answered: how many body bytes to write before stalling, if it is to stall. */
  takeListBodyStall(request: RecordedRequest): { bytes: number | undefined } | undefined {
    return this.listBodyStalls.take(request);
  }

  /** Parks a stalled request; returns what forgets it (its connection closed first). */
  hold(request: RecordedRequest, stage: HeldRequest['stage'], release: () => void): () => void {
    this.held.set(release, { request, stage, since: Date.now() });
    return () => this.held.delete(release);
  }

  heldRequests(): HeldRequest[] {
    return [...this.held.values()];
  }

  /** Starts following a padded answer; the writer updates the returned progress. */
  trackPadded(request: RecordedRequest, bodyBytes: number): PaddedProgress {
    const entry = { request, bodyBytes, written: 0, done: false };
    this.padded.push(entry);
    if (this.padded.length > 1000) this.padded = this.padded.slice(-1000);
    return entry;
  }

  paddedAnswers(): PaddedAnswer[] {
    return this.padded.map((p) => ({ ...p }));
  }

  releaseAll(): void {
    const releases = [...this.held.keys()];
    this.held.clear();
    for (const release of releases) release();
  }

  /** Forgets the held requests without serving them (their connections were destroyed). */
  dropAll(): void {
    this.held.clear();
  }

  clearRules(): void {
    this.failures.clear();
    this.headerStalls.clear();
    this.listBodyStalls.clear();
    this.refusals.clear();
  }
}

/** What the fault actions need from the server. */
export interface FaultTarget {
  openWatchStreams(): Iterable<WatchStream>;
  restart(downMs: number): Promise<void>;
  /** Ends a restart's down time now (listens again at once). */
  endDownTime(): void;
}

const DEFAULT_MALFORMED_LINE = '{"type":"ADDED","object":';

export function createFaults(state: FaultState, target: FaultTarget): FakeApiServerFaults {
  const each = (fn: (w: WatchStream) => void) => {
    for (const w of [...target.openWatchStreams()]) fn(w);
  };
  const setStalled = (stalled: boolean) => {
    state.stalled = stalled;
    if (!stalled) each((w) => w.resume());
  };
  return {
    cutWatches(options = {}) {
      each((w) => (options.midEvent ? w.cutMidEvent() : w.destroy()));
    },
    splitWrites(options) {
      if (options === false) {
        state.split = undefined;
        each((w) => w.resume());
        return;
      }
      const maxChunkBytes = Math.max(1, Math.floor(options.maxChunkBytes ?? 16));
      state.split = {
        random: randomSource(options.seed),
        maxChunkBytes,
        delayMs: Math.max(0, options.delayMs ?? 0),
        lists: options.lists === true,
      };
    },
    failNext(count, status, options = {}) {
      state.addFailure(count, status, options);
    },
    refuseStreams(count, options = {}) {
      state.addRefusal(count, options.match);
    },
    stallHeaders(count, options = {}) {
      state.addHeaderStall(count, options.match);
    },
    stallListBodies(count, options = {}) {
      state.addListBodyStall(count, options.bytes, options.match);
    },
    releaseStalls() {
      state.releaseAll();
    },
    held() {
      return state.heldRequests();
    },
    paddedAnswers() {
      return state.paddedAnswers();
    },
    clear() {
      state.clearRules();
      state.split = undefined;
      state.releaseAll();
      setStalled(false);
      target.endDownTime();
    },
    stallWatches(stalled) {
      setStalled(stalled);
    },
    sendMalformedLine(line = DEFAULT_MALFORMED_LINE) {
      each((w) => w.writeRaw(`${line}\n`));
    },
    sendOversizedEvent(bytes) {
      each((w) => w.sendOversizedBookmark(bytes));
    },
    expireWatches() {
      each((w) => w.fail(expiredStatus('The resourceVersion for the provided watch is too old.')));
    },
    restart(options = {}) {
      return target.restart(Math.max(0, options.downMs ?? 0));
    },
  };
}
