/**
 * Fault injection: the switches watches consult on every write (stall, split writes), the queue of
 * canned failures for upcoming requests, and the actions on open watches (cut, malformed line, expire).
 */
import { randomSource } from './random.js';
import { expiredStatus, failureStatus, type Status } from './status.js';
import type { RecordedRequest } from './types.js';
import type { WatchStream, WriteFaults } from './watch-stream.js';

export interface FailNextOptions {
  /** Adds a `Retry-After` header (and details.retryAfterSeconds, as the apiserver does). */
  retryAfterSeconds?: number;
  /** Status reason; defaults to the apiserver's reason for the code (429 TooManyRequests, 503 ServiceUnavailable, ...). */
  reason?: string;
  message?: string;
  /** Only requests for which this returns true count (and are failed); default: every request. */
  match?: (req: RecordedRequest) => boolean;
}

export interface SplitWritesOptions {
  /** Seed of the PRNG that picks the split offsets (default: random). */
  seed?: number;
  /** Largest chunk, in bytes (default 16). */
  maxChunkBytes?: number;
  /** Pause between chunks in ms; 0 (default) yields with setImmediate. */
  delayMs?: number;
}

/** The fault controls of a FakeApiServer. */
export interface FakeApiServerFaults {
  /**
   * Destroys every open watch socket (no terminating chunk). With `midEvent`, first writes the first
   * half of an event line (the next queued one, else a synthetic copy of a matching object or a bookmark).
   */
  cutWatches(options?: { midEvent?: boolean }): void;
  /** Splits every watch-body write at random byte offsets (also inside UTF-8 characters); `false` stops. */
  splitWrites(options: SplitWritesOptions | false): void;
  /** The next `count` matching requests (Infinity allowed) are answered with a Status of this code. */
  failNext(count: number, status: number, options?: FailNextOptions): void;
  /** Removes pending failNext rules and the stall and split faults (a stalled stream is flushed). */
  clear(): void;
  /** While true nothing is written to watches (events queue, bookmarks are skipped); false flushes. */
  stallWatches(stalled: boolean): void;
  /** Writes `line` (default `{"type":"ADDED","object":`) plus '\n' to every open watch. */
  sendMalformedLine(line?: string): void;
  /** Sends an in-stream 410 Expired ERROR to every open watch, then ends them. */
  expireWatches(): void;
}

interface FailRule {
  remaining: number;
  status: number;
  options: FailNextOptions;
}

/** Shared fault state: watches read `stalled`/`split`; the server asks `takeFailure` per request. */
export class FaultState implements WriteFaults {
  stalled = false;
  split: WriteFaults['split'] = undefined;
  private rules: FailRule[] = [];

  addFailure(count: number, status: number, options: FailNextOptions): void {
    if (!(count > 0)) return;
    if (!Number.isInteger(status) || status < 100 || status > 599)
      throw new RangeError(`invalid HTTP status ${status}`);
    this.rules.push({ remaining: count, status, options });
  }

  /** The Status to answer for this request instead of serving it, if a rule matches. */
  takeFailure(request: RecordedRequest): Status | undefined {
    for (const rule of this.rules) {
      if (rule.remaining <= 0) continue;
      if (rule.options.match !== undefined && !rule.options.match(request)) continue;
      rule.remaining--;
      this.rules = this.rules.filter((r) => r.remaining > 0);
      const { reason, message, retryAfterSeconds } = rule.options;
      return failureStatus(rule.status, {
        ...(reason !== undefined ? { reason } : {}),
        ...(message !== undefined ? { message } : {}),
        ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
      });
    }
    return undefined;
  }

  clearFailures(): void {
    this.rules = [];
  }
}

const DEFAULT_MALFORMED_LINE = '{"type":"ADDED","object":';

export function createFaults(state: FaultState, watches: () => Iterable<WatchStream>): FakeApiServerFaults {
  const each = (fn: (w: WatchStream) => void) => {
    for (const w of [...watches()]) fn(w);
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
      };
    },
    failNext(count, status, options = {}) {
      state.addFailure(count, status, options);
    },
    clear() {
      state.clearFailures();
      state.split = undefined;
      setStalled(false);
    },
    stallWatches(stalled) {
      setStalled(stalled);
    },
    sendMalformedLine(line = DEFAULT_MALFORMED_LINE) {
      each((w) => w.writeRaw(`${line}\n`));
    },
    expireWatches() {
      each((w) => w.fail(expiredStatus('The resourceVersion for the provided watch is too old.')));
    },
  };
}
