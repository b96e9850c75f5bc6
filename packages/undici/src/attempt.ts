import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { Lease, Outcome } from '@endpoint-watch/balancer';
import type { Dispatcher } from 'undici';
import type { BalancedRequest } from './balanced-request.js';
import type { ParsedHeaders, RawHeaders } from './caller-handler.js';

type Handler = Dispatcher.DispatchHandler;
type Controller = Dispatcher.DispatchController;

export const now = (): number => performance.now();

/** What an attempt reports to: its request, which decides what reaches the caller. */
export type AttemptOwner = Pick<
  BalancedRequest,
  'attemptStarted' | 'attemptResponded' | 'attemptData' | 'attemptEnded' | 'attemptUpgraded' | 'attemptFailed'
>;

/**
 * One attempt: the handler undici's pool drives for the request sent to one endpoint, and the
 * controller of that request. It only forwards to its owner, which decides what reaches the caller.
 * Two forms, one per handler API: the pools get the one undici's core speaks natively, so that no
 * adapter sits between them (see `CORE_SPEAKS_LEGACY`).
 */
export abstract class Attempt {
  /** undici started the request (`onConnect`/`onRequestStart`): it is about to write, or has written it. */
  sent = false;
  /** Final (non-1xx) status, once headers arrived. */
  status: number | undefined;
  headersMs: number | undefined;
  /** Set when the caller gave up on the request while this attempt was running. */
  abandoned: Outcome | undefined;
  /** An abort was asked for (by the request, or undici's core reported the attempt's end). */
  aborted = false;
  #released = false;

  constructor(
    readonly owner: AttemptOwner,
    readonly lease: Lease,
    /** The endpoint, `address:port`: routes the attempt to its pool. */
    readonly key: string,
    readonly startedAt: number,
  ) {}

  release(outcome: Outcome): void {
    if (this.#released) return;
    this.#released = true;
    this.lease.release(outcome);
  }

  /** Time to response headers when they came, else time so far. */
  latencyMs(): number {
    return this.headersMs ?? now() - this.startedAt;
  }

  /** Aborts the request undici is running for this attempt (a no-op before it started and after an abort). */
  abstract abort(reason: Error): void;
  abstract pause(): void;
  abstract resume(): void;
}

/**
 * The legacy handler API (`onConnect`, `onHeaders`, …): what undici 7's core speaks. A
 * controller-API handler would be wrapped there in an adapter that parses every response's headers.
 */
class LegacyAttempt extends Attempt implements Handler {
  #abort: ((reason?: Error) => void) | undefined;
  #resume: (() => void) | undefined;
  #paused = false;

  abort(reason: Error): void {
    if (this.aborted || this.#abort === undefined) return;
    this.aborted = true;
    this.#abort(reason);
  }

  /** Takes effect at undici's next callback, as undici's own controller for a legacy handler. */
  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#resume?.();
  }

  onConnect(abort: (reason?: Error) => void): void {
    this.#abort = abort;
    this.sent = true;
    this.owner.attemptStarted(this);
  }

  onUpgrade(statusCode: number, rawHeaders: Buffer[] | string[] | null, socket: Duplex): void {
    this.owner.attemptUpgraded(this, statusCode, (rawHeaders ?? []) as RawHeaders, undefined, socket);
  }

  // The raw headers are views of the socket's read buffer: not kept here (see `CallerHandler`).
  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusMessage: string): boolean {
    this.#resume = resume;
    this.owner.attemptResponded(this, statusCode, rawHeaders, undefined, statusMessage);
    return !this.#paused;
  }

  onData(chunk: Buffer): boolean {
    this.owner.attemptData(this, chunk);
    return !this.#paused;
  }

  onComplete(rawTrailers: string[] | null): void {
    this.owner.attemptEnded(this, (rawTrailers ?? []) as unknown as RawHeaders, undefined);
  }

  onError(error: Error): void {
    this.owner.attemptFailed(this, error);
  }
}

/** The controller handler API (`onRequestStart`, `onResponseStart`, …): what undici 8's core speaks. */
class ControllerAttempt extends Attempt implements Handler {
  #controller: Controller | undefined;
  #paused = false;

  abort(reason: Error): void {
    if (this.aborted || this.#controller === undefined) return;
    this.aborted = true;
    this.#controller.abort(reason);
  }

  pause(): void {
    this.#paused = true;
    this.#controller?.pause();
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#controller?.resume();
  }

  onRequestStart(controller: Controller): void {
    this.#controller = controller;
    this.sent = true;
    this.owner.attemptStarted(this);
  }

  onRequestUpgrade(controller: Controller, statusCode: number, headers: ParsedHeaders, socket: Duplex): void {
    this.#controller = controller;
    this.owner.attemptUpgraded(this, statusCode, rawOf(controller.rawHeaders), headers, socket);
  }

  onResponseStart(
    controller: Controller,
    statusCode: number,
    headers: ParsedHeaders,
    statusMessage?: string,
  ): void {
    this.#controller = controller;
    this.owner.attemptResponded(this, statusCode, rawOf(controller.rawHeaders), headers, statusMessage);
  }

  onResponseData(_controller: Controller, chunk: Buffer): void {
    this.owner.attemptData(this, chunk);
  }

  onResponseEnd(controller: Controller, trailers: ParsedHeaders): void {
    this.owner.attemptEnded(this, rawOf(controller.rawTrailers), trailers);
  }

  onResponseError(controller: Controller | null | undefined, error: Error): void {
    if (controller) this.#controller = controller;
    this.owner.attemptFailed(this, error);
  }
}

const rawOf = (raw: Controller['rawHeaders']): RawHeaders | undefined =>
  raw === null || raw === undefined ? undefined : (raw as RawHeaders);

/** The endpoint (`address:port`) a handler given to the dispatch below is an attempt for, if it is one. */
export function attemptEndpoint(handler: Handler): string | undefined {
  return handler instanceof Attempt ? handler.key : undefined;
}

/**
 * The major version of the undici this package imports, read from its package.json; undefined when
 * that cannot be read.
 */
function undiciMajor(): number | undefined {
  try {
    let dir = dirname(createRequire(import.meta.url).resolve('undici'));
    for (let i = 0; i < 4; i++, dir = dirname(dir)) {
      let text: string;
      try {
        text = readFileSync(join(dir, 'package.json'), 'utf8');
      } catch {
        continue;
      }
      const pkg = JSON.parse(text) as { name?: unknown; version?: unknown };
      if (pkg.name === 'undici' && typeof pkg.version === 'string') return Number.parseInt(pkg.version, 10);
    }
  } catch {
    // not resolvable from here: assume the current API
  }
  return undefined;
}

/**
 * Whether the pools drive legacy handlers natively: undici 7 does (and wraps a controller-API handler
 * in an adapter that parses the headers of every response); undici 8 speaks only the controller API.
 * Only a positively read 7 gets the legacy form: the controller form works on both.
 */
export const CORE_SPEAKS_LEGACY = undiciMajor() === 7;

let legacyAttempts = CORE_SPEAKS_LEGACY;

/** Tests only: which form the next attempts take (`undefined`: the one the installed undici speaks). */
export function useAttemptForm(form: 'legacy' | 'controller' | undefined): void {
  legacyAttempts = form === undefined ? CORE_SPEAKS_LEGACY : form === 'legacy';
}

export function createAttempt(
  owner: AttemptOwner,
  lease: Lease,
  key: string,
  startedAt: number,
): Attempt & Handler {
  return legacyAttempts
    ? new LegacyAttempt(owner, lease, key, startedAt)
    : new ControllerAttempt(owner, lease, key, startedAt);
}
