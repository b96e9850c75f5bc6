import type { Duplex } from 'node:stream';
import { type Balancer, endpointKey, type Lease, type Outcome } from '@endpoint-watch/balancer';
import type { Endpoint } from '@endpoint-watch/core';
import { type Dispatcher, errors } from 'undici';
import { type Attempt, createAttempt, now } from './attempt.js';
import {
  type CallerHandler,
  callerHandler,
  FINISHED_CALLER,
  type ParsedHeaders,
  type RawHeaders,
  type RequestControl,
} from './caller-handler.js';
import { canReplayBody, classify, isIdempotent, isTimeoutAbort, type Phase } from './classify.js';
import { AllAttemptsFailedError, type AttemptFailure } from './errors.js';

type Handler = Dispatcher.DispatchHandler;
type DispatchFn = (options: Dispatcher.DispatchOptions, handler: Handler) => boolean;

/** What every request of one engine shares. */
export interface RequestSettings {
  readonly balancer: Balancer;
  readonly maxAttempts: number;
  readonly retryNonIdempotent: boolean;
  /** Bound of `waitForPick`; `undefined`: the balancer's `noEndpointsTimeoutMs`. */
  readonly noEndpointsTimeoutMs: number | undefined;
  /** The dispatcher is being destroyed: no more attempts. */
  readonly stopped: () => boolean;
  /** Where a request is kept while it waits for an endpoint (see `BalancedAgent`'s `destroy()`). */
  readonly waiting: Set<BalancedRequest> | undefined;
  /** Told when a request has given its caller the last event. */
  readonly onSettled: (() => void) | undefined;
  /** Where the endpoints that failed a handler are remembered across its re-dispatches. */
  readonly memory: HandlerFailures;
}

/** `http://10.0.0.1:8080`, `https://[fd00::1]:8443`, or the FQDN of an FQDN endpoint. */
export function endpointOrigin(protocol: string, endpoint: Endpoint): string {
  const host = endpoint.address.includes(':') ? `[${endpoint.address}]` : endpoint.address;
  return `${protocol}//${host}:${endpoint.port}`;
}

/** Endpoint origins cached per endpoint key; starts over beyond this many (endpoints churn). */
const MAX_CACHED_ENDPOINT_ORIGINS = 10_000;

/**
 * The origins of the endpoints for one protocol, each string made once (not per attempt; the pools
 * are looked up by it, so one flat string also spares a flattening per request).
 */
export class EndpointOrigins {
  readonly #byKey = new Map<string, string>();

  constructor(readonly protocol: string) {}

  /** The origin of `endpoint`, whose key (`address:port`) is `key`. */
  of(key: string, endpoint: Endpoint): string {
    let origin = this.#byKey.get(key);
    if (origin === undefined) {
      if (this.#byKey.size >= MAX_CACHED_ENDPOINT_ORIGINS) this.#byKey.clear();
      origin = endpointOrigin(this.protocol, endpoint);
      this.#byKey.set(key, origin);
    }
    return origin;
  }
}

/**
 * One caller request over one or more attempts. Lifecycle:
 * 1. `start`: the caller's `onRequestStart` gets the request's own controller (so an abort works while
 *    waiting for an endpoint), then an endpoint is picked (synchronously when possible).
 * 2. Each attempt is dispatched with the origin rewritten to the endpoint. Until response headers
 *    arrive, an attempt error may lead to another attempt (see `attemptFailed`).
 * 3. From the first `onResponseStart` on, the current attempt is the response: events go straight to
 *    the caller and nothing is retried.
 * Every attempt's lease is released exactly once, with the outcome of that attempt.
 *
 * To the caller's handler this is the bottom of the dispatch chain, so it gets what undici's core
 * (`Request`, `Client`) would give it: a callback that throws fails the request with what it threw,
 * through the same handler's `onResponseError`, and a handler may dispatch itself again from any
 * callback (undici's RetryHandler and RedirectHandler do). A throw never travels to the dispatchers
 * below: an interceptor there would take it for the pod's failure.
 */
export class BalancedRequest implements RequestControl {
  readonly #settings: RequestSettings;
  readonly #dispatch: DispatchFn;
  #caller: CallerHandler;
  readonly #options: Dispatcher.DispatchOptions;
  readonly #headers: Dispatcher.DispatchOptions['headers'];
  readonly #servername: string | undefined;
  readonly #origins: EndpointOrigins;
  readonly #key: string | undefined;
  /** Made at the first failure: most requests never fail. */
  #failures: AttemptFailure[] | undefined;
  /**
   * Endpoints (`address:port`) this request failed on (an attempt error or a 5xx answer): later
   * picks exclude them while another exists. Shared with the handler's earlier requests when an
   * interceptor above re-dispatches it (see `HandlerFailures`).
   */
  #tried: Set<string> | undefined;
  #current: Attempt | undefined;
  #responseStarted = false;
  #settled = false;
  #paused = false;
  #abortReason: Error | undefined;
  #pickAbort: AbortController | undefined;

  // Positional, and what every request of an engine shares in `settings`: one request is one object
  // (no arguments object, no per-request copies of the engine's fields). Whether the request is
  // idempotent is worked out at its first failure, the only place it matters.
  constructor(
    settings: RequestSettings,
    /** The dispatch below: each attempt goes there. */
    dispatch: DispatchFn,
    handler: Handler,
    /** The caller's options, as given. */
    options: Dispatcher.DispatchOptions,
    /** The caller's headers with `host` set: every attempt sends these. */
    headers: Dispatcher.DispatchOptions['headers'],
    /** TLS server name of every attempt, when one applies. */
    servername: string | undefined,
    /** The origins of the endpoints, for the request's protocol. */
    origins: EndpointOrigins,
    /** The hash key of the first pick. */
    key: string | undefined,
  ) {
    this.#settings = settings;
    this.#dispatch = dispatch;
    this.#caller = callerHandler(handler, this);
    this.#options = options;
    this.#headers = headers;
    this.#servername = servername;
    this.#origins = origins;
    this.#key = key;
    // Made at the first failure: most requests never need it.
    this.#tried = settings.memory.get(handler);
  }

  get abortReason(): Error | undefined {
    return this.#abortReason;
  }

  get paused(): boolean {
    return this.#paused;
  }

  start(): void {
    try {
      this.#caller.start();
    } catch (thrown) {
      this.#fail(thrownError(thrown)); // undici's core: `Request.onConnect` throwing fails the request
      return;
    }
    if (this.#settled) return; // aborted from within onRequestStart
    // A re-dispatch after failures (a retry interceptor above) avoids the pods that failed, as a
    // retry of our own does, and picks without the hash key for the same reason.
    const tried = this.#tried;
    const lease =
      tried !== undefined && tried.size > 0
        ? this.#settings.balancer.pick(undefined, { exclude: tried })
        : this.#settings.balancer.pick(this.#key);
    if (lease) this.#launch(lease);
    else this.#waitForEndpoint(undefined);
  }

  #markFailed(key: string): Set<string> {
    this.#tried ??= new Set();
    this.#tried.add(key);
    this.#settings.memory.remember(this.#caller.handler, this.#tried);
    return this.#tried;
  }

  /** From the caller's controller. Before the response: report the abort at once; after: abort the response. */
  abort(reason: Error | undefined): void {
    if (this.#settled || this.#abortReason !== undefined) return;
    const error = reason ?? new errors.RequestAbortedError();
    this.#abortReason = error;
    this.#pickAbort?.abort(error);
    const attempt = this.#current;
    if (this.#responseStarted && attempt?.sent) {
      attempt.abort(error); // its onError reports to the caller
      return;
    }
    if (attempt) {
      // The endpoint did not answer in time for the caller: a timeout signal counts against it.
      attempt.abandoned = isTimeoutAbort(error)
        ? { ok: false, failure: 'timeout', latencyMs: attempt.latencyMs() }
        : { ok: true, latencyMs: attempt.latencyMs() };
      attempt.abort(error);
    }
    this.#fail(error);
  }

  pause(): void {
    this.#paused = true;
    this.#current?.pause();
  }

  resume(): void {
    this.#paused = false;
    this.#current?.resume();
  }

  #isCurrent(attempt: Attempt): boolean {
    return attempt === this.#current && !this.#settled;
  }

  /** An attempt the caller no longer waits for ended: release its lease and drop its events. */
  #dropStale(attempt: Attempt): void {
    attempt.abort(this.#abortReason ?? new errors.RequestAbortedError());
    attempt.release(attempt.abandoned ?? { ok: true, latencyMs: attempt.latencyMs() });
  }

  attemptStarted(attempt: Attempt): void {
    if (!this.#isCurrent(attempt)) {
      attempt.abort(this.#abortReason ?? new errors.RequestAbortedError());
      return;
    }
    if (this.#paused) attempt.pause();
  }

  attemptResponded(
    attempt: Attempt,
    statusCode: number,
    rawHeaders: RawHeaders | undefined,
    headers: ParsedHeaders | undefined,
    statusMessage: string | undefined,
  ): void {
    if (!this.#isCurrent(attempt)) {
      this.#dropStale(attempt);
      return;
    }
    if (statusCode >= 200 && attempt.status === undefined) {
      attempt.status = statusCode;
      attempt.headersMs = now() - attempt.startedAt;
      if (statusCode >= 500 || statusCode === 429) this.#markFailed(attempt.key);
      else if (this.#tried !== undefined && this.#tried.size > 0)
        this.#settings.memory.forget(this.#caller.handler); // only after failures: no map work per request
    }
    this.#responseStarted = true;
    try {
      this.#caller.responseStart(statusCode, rawHeaders, headers, statusMessage);
    } catch (thrown) {
      this.#callbackThrew(attempt, thrown);
    }
  }

  attemptData(attempt: Attempt, chunk: Buffer): void {
    if (!this.#isCurrent(attempt)) {
      this.#dropStale(attempt);
      return;
    }
    try {
      this.#caller.data(chunk);
    } catch (thrown) {
      this.#callbackThrew(attempt, thrown);
    }
  }

  attemptEnded(
    attempt: Attempt,
    rawTrailers: RawHeaders | undefined,
    trailers: ParsedHeaders | undefined,
  ): void {
    if (!this.#isCurrent(attempt)) {
      attempt.release(attempt.abandoned ?? { ok: true, latencyMs: attempt.latencyMs() });
      return;
    }
    attempt.release(completed(attempt));
    this.#finish(() => this.#caller.end(rawTrailers, trailers));
  }

  attemptUpgraded(
    attempt: Attempt,
    statusCode: number,
    rawHeaders: RawHeaders | undefined,
    headers: ParsedHeaders | undefined,
    socket: Duplex,
  ): void {
    attempt.status = statusCode;
    attempt.headersMs = now() - attempt.startedAt;
    if (!this.#isCurrent(attempt)) {
      attempt.release(attempt.abandoned ?? { ok: true, latencyMs: attempt.latencyMs() });
      socket.destroy();
      return;
    }
    attempt.release({ ok: true, latencyMs: attempt.latencyMs() });
    this.#finish(
      () => this.#caller.upgrade(statusCode, rawHeaders, headers, socket),
      // As undici's core does. Without the error: nobody listens to this socket's 'error' any more.
      () => socket.destroy(),
    );
  }

  attemptFailed(attempt: Attempt, error: Error): void {
    if (attempt.abandoned !== undefined || !this.#isCurrent(attempt)) {
      attempt.release(attempt.abandoned ?? { ok: true, latencyMs: attempt.latencyMs() });
      return;
    }
    if (this.#abortReason !== undefined || this.#settings.stopped()) {
      // The caller aborted after the response started (the endpoint did answer), or the dispatcher is
      // being destroyed and its pools failed the attempt: neither is the endpoint's fault.
      attempt.release({ ok: true, latencyMs: attempt.latencyMs() });
      this.#fail(error);
      return;
    }
    const phase: Phase = this.#responseStarted ? 'response' : attempt.sent ? 'sent' : 'connect';
    const { failure, retryable, code } = classify(error, phase);
    const outcome: Outcome =
      attempt.status !== undefined && attempt.status >= 500
        ? { ok: false, failure: 'status5xx', latencyMs: attempt.latencyMs() }
        : failure === undefined
          ? { ok: true, latencyMs: attempt.latencyMs() }
          : { ok: false, failure, latencyMs: attempt.latencyMs() };
    if (phase === 'response') {
      attempt.release(outcome);
      this.#fail(error);
      return;
    }
    this.#failures ??= [];
    const failures = this.#failures;
    failures.push({ endpoint: attempt.key, failure, code, sent: attempt.sent, error });
    const eligible =
      retryable &&
      (phase === 'connect' ||
        this.#settings.retryNonIdempotent ||
        isIdempotent(String(this.#options.method ?? 'GET'), this.#options.idempotent)) &&
      canReplayBody(this.#options.body, attempt.sent);
    if (!eligible) {
      attempt.release(outcome);
      this.#fail(error);
      return;
    }
    if (failures.length >= this.#settings.maxAttempts) {
      attempt.release(outcome);
      this.#fail(this.#settings.maxAttempts > 1 ? new AllAttemptsFailedError(failures) : error);
      return;
    }
    const tried = this.#markFailed(attempt.key);
    // The failed lease stays held during the next pick: its endpoint looks busier to the strategy.
    const releaseFailed = () => attempt.release(outcome);
    // Without the hash key: with consistent hashing it would map to the endpoint that just failed.
    // The balancer avoids the endpoints already tried while another candidate exists.
    const lease = this.#settings.balancer.pick(undefined, { exclude: tried });
    if (lease) {
      releaseFailed();
      this.#launch(lease);
    } else {
      this.#waitForEndpoint(releaseFailed);
    }
  }

  #launch(lease: Lease): void {
    const key = lease.key ?? endpointKey(lease.endpoint);
    const attempt = createAttempt(this, lease, key, now());
    this.#current = attempt;
    const origin = this.#origins.of(key, lease.endpoint);
    // A plain spread, then stores: V8 copies `{ ...options }` by the source's shape (~80 ns), while a
    // spread with properties after it goes property by property (~320 ns per request on Node 20).
    const options: Dispatcher.DispatchOptions & { servername?: string } = { ...this.#options };
    options.origin = origin;
    options.headers = this.#headers;
    if (this.#servername !== undefined) options.servername = this.#servername;
    try {
      this.#dispatch(options, attempt);
    } catch (error) {
      this.attemptFailed(attempt, error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** `retryRelease`: a failed attempt's lease to release once the wait is over (a retry). */
  #waitForEndpoint(retryRelease: (() => void) | undefined): void {
    const abort = new AbortController();
    this.#pickAbort = abort;
    const tried = this.#tried;
    const avoid = tried !== undefined && tried.size > 0;
    const options = {
      signal: abort.signal,
      timeoutMs: this.#settings.noEndpointsTimeoutMs,
      ...(avoid ? { exclude: tried } : {}),
    };
    const key = avoid ? undefined : this.#key;
    const waiting = this.#settings.waiting;
    waiting?.add(this);
    this.#settings.balancer.waitForPick(key, options).then(
      (lease) => {
        waiting?.delete(this);
        this.#pickAbort = undefined;
        retryRelease?.();
        if (this.#settled) {
          releaseUnused(this.#settings.balancer, lease);
          return;
        }
        this.#launch(lease);
      },
      (error: unknown) => {
        waiting?.delete(this);
        this.#pickAbort = undefined;
        retryRelease?.();
        if (this.#settled) return;
        if (retryRelease && this.#failures !== undefined) {
          const detail = `no endpoint to retry on: ${error instanceof Error ? error.message : String(error)}`;
          this.#fail(new AllAttemptsFailedError(this.#failures, detail));
        } else {
          this.#fail(error instanceof Error ? error : new Error(String(error)));
        }
      },
    );
  }

  /**
   * A callback of the caller's handler threw during the response. As in undici's core
   * (`Request.onHeaders`, `onData`), that ends the request with what it threw, and the response's
   * connection is not reused: the attempt is aborted.
   */
  #callbackThrew(attempt: Attempt, thrown: unknown): void {
    if (this.#settled) return; // the callback ended the request itself before throwing: undici drops the throw
    const error = thrownError(thrown);
    // The pod did answer: its outcome is its status, and the attempt's own error report is dropped.
    attempt.abandoned = completed(attempt);
    attempt.abort(error);
    attempt.release(attempt.abandoned);
    this.#fail(error);
  }

  /**
   * Gives the caller its last event. If that throws, the error goes to the caller's `onResponseError`,
   * once, as undici's core does (`Request.onComplete`, `Parser.onUpgrade`): undici's RetryHandler
   * throws from `onResponseEnd` to have a retryable status retried from its `onResponseError`.
   * `onThrow` cleans up first.
   */
  #finish(deliver: () => void, onThrow?: () => void): void {
    this.#settle();
    try {
      deliver();
    } catch (thrown) {
      onThrow?.();
      this.#caller.error(thrownError(thrown));
    } finally {
      this.#done();
    }
  }

  /** The caller gets its last event now: no attempt is current any more. */
  #settle(): void {
    this.#settled = true;
    this.#current = undefined;
  }

  /**
   * After the caller's last event: forget its handler (nothing calls it again) and tell the owner.
   * Dropping the links matters to the GC: undici keeps a finished attempt reachable for a while, and
   * through it this request; linked to the caller's handler and response stream and to the attempt,
   * every finished request dragged them all through young-generation collections (4× the bytes
   * promoted of undici's own `BalancedPool`, back to its level once cut).
   */
  #done(): void {
    this.#caller = FINISHED_CALLER;
    this.#settings.onSettled?.();
  }

  #fail(error: Error): void {
    if (this.#settled) return;
    this.#settle();
    try {
      this.#caller.error(error);
    } finally {
      this.#done();
    }
  }
}

/** What a callback threw, passed on unchanged (undici's core does not wrap it either). */
const thrownError = (thrown: unknown): Error => thrown as Error;

/**
 * The endpoints that failed a handler, kept while it is re-dispatched: undici's retry interceptor
 * composed above the balancer sends each retry as a new request with the same handler, and without
 * this the least-request pick would happily choose the pod that just answered 503 again. Weakly
 * held (gone with the handler), and forgotten as soon as one of its requests gets an answer below
 * 500, so that a handler object reused for unrelated requests does not carry old failures along.
 */
export class HandlerFailures {
  readonly #failed = new WeakMap<Handler, Set<string>>();
  /** No handler has failed yet: every request asks, so the common case skips the map. */
  #empty = true;

  get(handler: Handler): Set<string> | undefined {
    return this.#empty ? undefined : this.#failed.get(handler);
  }

  remember(handler: Handler, endpoints: Set<string>): void {
    this.#empty = false;
    this.#failed.set(handler, endpoints);
  }

  forget(handler: Handler): void {
    this.#failed.delete(handler);
  }
}

function completed(attempt: Attempt): Outcome {
  const latencyMs = attempt.latencyMs();
  return attempt.status !== undefined && attempt.status >= 500
    ? { ok: false, failure: 'status5xx', latencyMs }
    : { ok: true, latencyMs };
}

/**
 * A lease that was picked but never used (the caller aborted meanwhile). Released as a success at the
 * endpoint's current latency estimate, so its estimate does not move.
 */
function releaseUnused(balancer: Balancer, lease: Lease): void {
  const key = endpointKey(lease.endpoint);
  const estimate = balancer.stats().endpoints.find((e) => e.key === key)?.ewmaLatencyMs;
  lease.release({ ok: true, latencyMs: estimate ?? 0 });
}
