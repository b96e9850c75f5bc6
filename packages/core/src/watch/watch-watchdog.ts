import { WatchDeadlineError, WatchIdleError } from './errors.js';

/** How far past its `timeoutSeconds` a watch may run before the client ends it itself. */
export const WATCH_DEADLINE_MARGIN_MS = 15_000;

/**
 * The liveness bounds of one open watch, on complete events rather than bytes: a peer that drips
 * bytes of a line that never ends, or sends bare newlines, is as dead as a silent one. Ends the
 * watch (through `expire`) when no event came for `idleTimeoutMs`, or when it outlived the
 * `timeoutSeconds` it asked the server for by `WATCH_DEADLINE_MARGIN_MS`. One timer, re-armed
 * lazily when it fires, so that an event costs one clock read and no timer work.
 */
export class WatchWatchdog {
  readonly #idleTimeoutMs: number;
  readonly #deadlineAt: number;
  readonly #timeoutSeconds: number;
  readonly #deadlineMs: number;
  readonly #expire: (error: Error) => void;
  #lastEventAt: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(idleTimeoutMs: number, timeoutSeconds: number, expire: (error: Error) => void) {
    const now = performance.now();
    this.#idleTimeoutMs = idleTimeoutMs;
    this.#timeoutSeconds = timeoutSeconds;
    this.#deadlineMs = timeoutSeconds * 1000 + WATCH_DEADLINE_MARGIN_MS;
    this.#deadlineAt = now + this.#deadlineMs;
    this.#expire = expire;
    this.#lastEventAt = now;
    this.#arm(now);
  }

  /** A complete event (bookmarks included) arrived. */
  event(): void {
    this.#lastEventAt = performance.now();
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(now: number): void {
    const due = Math.min(this.#lastEventAt + this.#idleTimeoutMs, this.#deadlineAt);
    this.#timer = setTimeout(() => this.#check(), Math.max(0, due - now));
  }

  #check(): void {
    this.#timer = undefined;
    const now = performance.now();
    if (now >= this.#deadlineAt) {
      this.#expire(new WatchDeadlineError(this.#timeoutSeconds, this.#deadlineMs));
    } else if (now - this.#lastEventAt >= this.#idleTimeoutMs) {
      this.#expire(new WatchIdleError(this.#idleTimeoutMs));
    } else {
      this.#arm(now);
    }
  }
}
