import { KubeApiError, parseKubeStatus } from '../transport/kube-api-error.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import { WatchDecodeError, WatchTooShortError } from './errors.js';
import { INITIAL_EVENTS_END_ANNOTATION, type KubeObject, type WatchEvent } from './watch-event.js';
import type { WatchHealth } from './watch-health.js';

/**
 * What a consumer sees, shaped like kube-rs' `watcher::Event`: `init`, then `initApply` for every
 * object of the (re)list, then `initDone`; after that `apply`/`delete` as the watch reports changes.
 * A new `init` means "forget the partial list you were building and start again"; the previous
 * complete state stays valid until the next `initDone`, which replaces it atomically.
 */
export type WatcherEvent =
  | { readonly type: 'init' }
  | { readonly type: 'initApply'; readonly object: KubeObject }
  | { readonly type: 'initDone'; readonly resourceVersion: string }
  | { readonly type: 'apply'; readonly object: KubeObject; readonly resourceVersion: string }
  | { readonly type: 'delete'; readonly object: KubeObject; readonly resourceVersion: string };

/**
 * How the initial state is read. `list`: paged LIST, then WATCH from its resourceVersion.
 * `streaming`: a watch with `sendInitialEvents=true` (Kubernetes ≥ 1.27 with the WatchList feature).
 * `auto`: streaming, falling back to `list` for good once the server rejects it (400/422).
 */
export type InitialListStrategy = 'list' | 'streaming' | 'auto';

export type ListQuery = {
  readonly limit: number;
  readonly continue?: string;
};

export type WatchQuery = {
  readonly resourceVersion: string;
  readonly allowWatchBookmarks: true;
  readonly timeoutSeconds: number;
  readonly sendInitialEvents?: true;
  readonly resourceVersionMatch?: 'NotOlderThan';
};

/** What the I/O shell must do next. */
export type Command =
  | { readonly kind: 'list'; readonly query: ListQuery }
  | { readonly kind: 'watch'; readonly query: WatchQuery }
  | { readonly kind: 'sleep'; readonly delayMs: number };

/** What happened, as the I/O shell reports it. */
export type Input =
  | { readonly kind: 'start' }
  | {
      readonly kind: 'listPage';
      readonly items: readonly KubeObject[];
      readonly resourceVersion: string;
      readonly continue?: string | undefined;
    }
  | { readonly kind: 'watchOpened' }
  /** The open watch stayed `minWatchDurationMs` without an error: it is taken as current. */
  | { readonly kind: 'watchSettled' }
  | { readonly kind: 'watchEvent'; readonly event: WatchEvent }
  /** The server ended the watch (EOF at an event boundary). */
  | { readonly kind: 'watchEnded'; readonly durationMs: number }
  /**
   * The connection of an open watch broke (reset, EOF mid-event, silence past the idle timeout,
   * the client-side deadline): the watch is over, though nothing is wrong with its state.
   */
  | { readonly kind: 'watchLost'; readonly error: unknown; readonly durationMs: number }
  | { readonly kind: 'failed'; readonly error: unknown }
  | { readonly kind: 'slept' }
  /** The consumer could not use what it got (an invalid object): start over with a fresh list. */
  | { readonly kind: 'resync'; readonly error: unknown };

export interface Step {
  readonly events: readonly WatcherEvent[];
  /** Absent while the current command (a watch) goes on. */
  readonly command?: Command;
  /** Present when the health changed. */
  readonly health?: WatchHealth;
}

export interface ListWatchMachineOptions {
  /** The watched collection's path, for error messages. */
  readonly path?: string;
  readonly initialList?: InitialListStrategy;
  /** LIST page size. Default 500 (client-go, kube-rs). */
  readonly pageSize?: number;
  /** Each watch asks the server to end it after a random time in this range. Default 300–600 s (client-go). */
  readonly watchTimeoutSeconds?: readonly [min: number, max: number];
  /**
   * A watch that ends or breaks sooner than this without any event counts as a failure (backoff);
   * one that lasted longer, or delivered events, is reopened at once. An open watch is also taken
   * as current (`synced`) after this long without an error, if no event confirmed it before.
   * Default 1 s (client-go).
   */
  readonly minWatchDurationMs?: number;
  /**
   * A watch that ended or broke after a healthy life is reopened after a random delay in
   * [0, this), so that a fleet cut off together does not reconnect in lockstep. Default 100 ms.
   */
  readonly rewatchJitterMs?: number;
  /** Longest wait honoured from a Retry-After header. Default 5 min. */
  readonly maxRetryAfterMs?: number;
  readonly backoff?: BackoffOptions;
}

type Resume = 'relist' | 'rewatch';

type Phase =
  | { readonly name: 'idle' }
  | { readonly name: 'listing' }
  | { readonly name: 'streamingInit'; readonly eventsSeen: number }
  | {
      readonly name: 'watching';
      readonly eventsSeen: number;
      /** The response headers came: the watch is established. */
      readonly opened: boolean;
      /** Known current: an event or bookmark came, or it stayed open `minWatchDurationMs`. */
      readonly confirmed: boolean;
    }
  | { readonly name: 'sleeping'; readonly resume: Resume };

const NO_EVENTS: readonly WatcherEvent[] = [];
const STREAMING_REJECTED_CODES = new Set([400, 415, 422, 501]);

function streamingRefused(error: KubeApiError): string {
  const reason = error.status.reason ? ` ${error.status.reason}` : '';
  return `the apiserver does not serve streaming lists (${error.statusCode}${reason}); reading the state with LIST instead`;
}

/**
 * The list+watch protocol as a pure state machine (client-go's Reflector, kube-rs' watcher):
 * no I/O, no timers; the clock and random source are injected. The shell feeds it `Input`s and
 * carries out the `Command`s it returns.
 */
export class ListWatchMachine {
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #backoff: Backoff;
  readonly #pageSize: number;
  readonly #timeoutRange: readonly [number, number];
  readonly #minWatchDurationMs: number;
  readonly #rewatchJitterMs: number;
  readonly #maxRetryAfterMs: number;
  readonly #path: string;
  #strategy: InitialListStrategy;
  #phase: Phase = { name: 'idle' };
  /** resourceVersion the next watch resumes from; undefined until the first list completes. */
  #resourceVersion: string | undefined;
  /**
   * A watch was confirmed since the last relist (or none was made yet): an expired resourceVersion
   * is then the normal aging of a good state (etcd compaction), relisted at once. Cleared by such a
   * relist, so that 410s that keep coming without a good watch in between back off.
   */
  #quickRelist = true;
  #health: WatchHealth['state'] = 'connecting';
  #staleSince: number | undefined;
  #relists = 0;

  constructor(options: ListWatchMachineOptions = {}, now: () => number = Date.now, random = Math.random) {
    this.#now = now;
    this.#random = random;
    this.#backoff = new Backoff(options.backoff, random);
    this.#strategy = options.initialList ?? 'auto';
    this.#pageSize = options.pageSize ?? 500;
    this.#timeoutRange = options.watchTimeoutSeconds ?? [300, 600];
    this.#minWatchDurationMs = options.minWatchDurationMs ?? 1000;
    this.#rewatchJitterMs = options.rewatchJitterMs ?? 100;
    this.#maxRetryAfterMs = options.maxRetryAfterMs ?? 300_000;
    this.#path = options.path ?? 'watch';
  }

  /** The resourceVersion the state is known to be current at. */
  get resourceVersion(): string | undefined {
    return this.#resourceVersion;
  }

  /** How long an open watch must stay without error to be taken as current (`watchSettled`). */
  get minWatchDurationMs(): number {
    return this.#minWatchDurationMs;
  }

  /**
   * Lists started to replace a complete state already held (410, resync, a retried relist); not
   * the first list, nor the LIST a refused streaming list falls back to. See `WatchStats.relists`.
   */
  get relists(): number {
    return this.#relists;
  }

  /** The strategy in force: `auto` becomes `list` once the server rejected streaming. */
  get initialList(): InitialListStrategy {
    return this.#strategy;
  }

  handle(input: Input): Step {
    switch (input.kind) {
      case 'start':
        return this.#relist(this.#connecting());
      case 'listPage':
        return this.#onListPage(input);
      case 'watchOpened':
        return this.#onWatchOpened();
      case 'watchSettled':
        return this.#onWatchSettled();
      case 'watchEvent':
        return this.#onWatchEvent(input.event);
      case 'watchEnded':
        return this.#onWatchOver(undefined, input.durationMs);
      case 'watchLost':
        return this.#onWatchOver(input.error, input.durationMs);
      case 'failed':
        return this.#onFailure(input.error);
      case 'resync':
        return this.#sleepAfter(input.error, 'relist');
      case 'slept':
        return this.#onSlept();
    }
  }

  #relist(health?: WatchHealth, fallback = false): Step {
    if (this.#resourceVersion !== undefined && !fallback) this.#relists++;
    const events: readonly WatcherEvent[] = [{ type: 'init' }];
    if (this.#strategy === 'list') {
      this.#phase = { name: 'listing' };
      return this.#step(events, { kind: 'list', query: { limit: this.#pageSize } }, health);
    }
    this.#phase = { name: 'streamingInit', eventsSeen: 0 };
    const query: WatchQuery = {
      resourceVersion: '',
      resourceVersionMatch: 'NotOlderThan',
      sendInitialEvents: true,
      allowWatchBookmarks: true,
      timeoutSeconds: this.#watchTimeout(),
    };
    return this.#step(events, { kind: 'watch', query }, health);
  }

  #watchFrom(resourceVersion: string): Command {
    this.#phase = { name: 'watching', eventsSeen: 0, opened: false, confirmed: false };
    return {
      kind: 'watch',
      query: { resourceVersion, allowWatchBookmarks: true, timeoutSeconds: this.#watchTimeout() },
    };
  }

  #onListPage(input: Extract<Input, { kind: 'listPage' }>): Step {
    if (this.#phase.name !== 'listing') return this.#unexpected('a list page');
    const events: WatcherEvent[] = input.items.map((object) => ({ type: 'initApply', object }));
    if (input.continue) {
      return this.#step(events, { kind: 'list', query: { limit: this.#pageSize, continue: input.continue } });
    }
    events.push({ type: 'initDone', resourceVersion: input.resourceVersion });
    this.#resourceVersion = input.resourceVersion;
    // The state is complete, but not `synced` before the watch that keeps it current is confirmed.
    return this.#step(events, this.#watchFrom(input.resourceVersion));
  }

  #onWatchOpened(): Step {
    const phase = this.#phase;
    if (phase.name === 'watching') this.#phase = { ...phase, opened: true };
    else if (phase.name !== 'streamingInit') return this.#unexpected('the opening of a watch');
    return this.#step(NO_EVENTS);
  }

  /**
   * An open watch that stayed quiet for `minWatchDurationMs`: an expired resourceVersion would
   * have been answered at once (in-stream 410), so the server is serving changes from ours.
   */
  #onWatchSettled(): Step {
    const phase = this.#phase;
    if (phase.name !== 'watching' || !phase.opened || phase.confirmed) return this.#step(NO_EVENTS);
    return this.#step(NO_EVENTS, undefined, this.#confirm(phase));
  }

  /** The watch is known current: `synced`, the backoff starts over, a later 410 relists at once. */
  #confirm(phase: Extract<Phase, { name: 'watching' }>): WatchHealth | undefined {
    this.#phase = { ...phase, confirmed: true };
    this.#backoff.reset();
    this.#quickRelist = true;
    return this.#health === 'synced' ? undefined : this.#synced();
  }

  #onWatchEvent(event: WatchEvent): Step {
    const phase = this.#phase;
    if (phase.name !== 'watching' && phase.name !== 'streamingInit') return this.#unexpected('a watch event');
    if (event.type === 'ERROR') {
      return this.#onFailure(
        new KubeApiError({
          method: 'GET',
          path: this.#path,
          inStream: true,
          status: parseKubeStatus(event.object) ?? {
            code: 0,
            reason: '',
            message: 'ERROR event without a Status',
          },
        }),
      );
    }
    const resourceVersion = event.object.metadata?.resourceVersion;
    if (resourceVersion === undefined || resourceVersion === '') {
      return this.#onFailure(new WatchDecodeError(`${event.type} event without metadata.resourceVersion`));
    }
    if (phase.name === 'streamingInit') {
      this.#phase = { name: 'streamingInit', eventsSeen: phase.eventsSeen + 1 };
      return this.#onInitialEvent(event, resourceVersion);
    }

    const next = { ...phase, eventsSeen: phase.eventsSeen + 1 };
    this.#phase = next;
    this.#resourceVersion = resourceVersion;
    const health = phase.confirmed ? undefined : this.#confirm(next);
    switch (event.type) {
      case 'ADDED':
      case 'MODIFIED':
        return this.#step([{ type: 'apply', object: event.object, resourceVersion }], undefined, health);
      case 'DELETED':
        return this.#step([{ type: 'delete', object: event.object, resourceVersion }], undefined, health);
      case 'BOOKMARK':
        return this.#step(NO_EVENTS, undefined, health);
    }
  }

  #onInitialEvent(event: WatchEvent, resourceVersion: string): Step {
    switch (event.type) {
      case 'ADDED':
      case 'MODIFIED':
        return this.#step([{ type: 'initApply', object: event.object }]);
      case 'BOOKMARK': {
        if (event.object.metadata?.annotations?.[INITIAL_EVENTS_END_ANNOTATION] !== 'true')
          return this.#step(NO_EVENTS);
        this.#resourceVersion = resourceVersion;
        // The end bookmark proves the stream current: the watch goes on, confirmed.
        const health = this.#confirm({ name: 'watching', eventsSeen: 1, opened: true, confirmed: true });
        return this.#step([{ type: 'initDone', resourceVersion }], undefined, health);
      }
      default:
        return this.#onFailure(
          new WatchDecodeError(`unexpected ${event.type} event before the initial events ended`),
        );
    }
  }

  /**
   * The watch is over: ended by the server (`error` undefined) or its connection lost. As client-go
   * does, a watch that lasted or delivered events is reopened at once from where it was (the server
   * ends every watch after timeoutSeconds; proxies, rollouts and NATs cut connections): that is no
   * failure, and must not grow the backoff. Only a watch that died young backs off.
   */
  #onWatchOver(error: unknown, durationMs: number): Step {
    const phase = this.#phase;
    if (phase.name === 'streamingInit') {
      return this.#onFailure(
        error ?? new WatchDecodeError('the streaming list ended before its initial-events-end bookmark'),
      );
    }
    if (phase.name !== 'watching') return this.#unexpected('the end of a watch');
    if (phase.eventsSeen === 0 && durationMs < this.#minWatchDurationMs) {
      return this.#onFailure(error ?? new WatchTooShortError(durationMs));
    }
    const now = this.#now();
    this.#staleSince ??= now;
    this.#health = 'resuming';
    const health: WatchHealth = {
      state: 'resuming',
      resourceVersion: this.#resourceVersion!,
      staleSince: this.#staleSince,
      ...(error === undefined ? {} : { error }),
    };
    this.#phase = { name: 'sleeping', resume: 'rewatch' };
    const delayMs = Math.floor(this.#random() * this.#rewatchJitterMs);
    return this.#step(NO_EVENTS, { kind: 'sleep', delayMs }, health);
  }

  #onFailure(error: unknown): Step {
    const phase = this.#phase;
    if (
      phase.name === 'streamingInit' &&
      this.#strategy === 'auto' &&
      error instanceof KubeApiError &&
      !error.inStream &&
      STREAMING_REJECTED_CODES.has(error.statusCode)
    ) {
      // An expected turn, not a failure: said once, calmly. With a state already served (a relist),
      // the health in force (the reason of the relist) stays.
      this.#strategy = 'list';
      const first = this.#resourceVersion === undefined;
      return this.#relist(first ? this.#connecting(streamingRefused(error)) : undefined, true);
    }
    const expired = error instanceof KubeApiError && error.isExpired;
    if (expired && this.#quickRelist) {
      // The normal way a resourceVersion or continue token ages out (etcd compaction): relist now.
      this.#quickRelist = false;
      return this.#relist(this.#retrying(error, 0));
    }
    return this.#sleepAfter(error, phase.name === 'watching' && !expired ? 'rewatch' : 'relist');
  }

  #sleepAfter(error: unknown, resume: Resume): Step {
    const now = this.#now();
    let delayMs: number;
    if (error instanceof KubeApiError && error.retryAfterMs !== undefined) {
      this.#backoff.record(now);
      delayMs = Math.min(error.retryAfterMs, this.#maxRetryAfterMs);
    } else {
      delayMs = this.#backoff.next(now);
    }
    this.#phase = { name: 'sleeping', resume };
    return this.#step(NO_EVENTS, { kind: 'sleep', delayMs }, this.#retrying(error, delayMs));
  }

  #onSlept(): Step {
    const phase = this.#phase;
    if (phase.name !== 'sleeping') return this.#unexpected('the end of a sleep');
    if (phase.resume === 'rewatch' && this.#resourceVersion !== undefined) {
      return this.#step(NO_EVENTS, this.#watchFrom(this.#resourceVersion));
    }
    return this.#relist();
  }

  #synced(): WatchHealth {
    this.#staleSince = undefined;
    this.#health = 'synced';
    return { state: 'synced', resourceVersion: this.#resourceVersion ?? '', since: this.#now() };
  }

  #connecting(notice?: string): WatchHealth {
    this.#health = 'connecting';
    return { state: 'connecting', since: this.#now(), ...(notice === undefined ? {} : { notice }) };
  }

  #retrying(error: unknown, retryInMs: number): WatchHealth {
    const now = this.#now();
    this.#staleSince ??= now;
    this.#health = 'retrying';
    return {
      state: 'retrying',
      error,
      attempt: Math.max(1, this.#backoff.attempt),
      retryInMs,
      staleSince: this.#staleSince,
      resourceVersion: this.#resourceVersion,
    };
  }

  #watchTimeout(): number {
    const [min, max] = this.#timeoutRange;
    return Math.floor(min + this.#random() * (max - min));
  }

  /** An input that the current phase cannot receive is a bug in the shell; say so loudly. */
  #unexpected(what: string): never {
    throw new Error(`ListWatchMachine: ${what} arrived in phase ${this.#phase.name}`);
  }

  #step(events: readonly WatcherEvent[], command?: Command, health?: WatchHealth): Step {
    return {
      events,
      ...(command ? { command } : {}),
      ...(health ? { health } : {}),
    };
  }
}
