import type { Duplex } from 'node:stream';
import { type Dispatcher, errors, util } from 'undici';
import { BalancedRequest } from './balanced-request.js';

type Handler = Dispatcher.DispatchHandler;
type Controller = Dispatcher.DispatchController;
/** Response headers as undici's core hands them to a handler: name, value, name, value… */
export type RawHeaders = Buffer[];
/** Response headers as the controller API hands them: an object by lower-case name. */
export type ParsedHeaders = Parameters<NonNullable<Handler['onResponseStart']>>[2];
/** Headers as an attempt got them: raw from a legacy attempt, both (raw if undici kept them) from the other. */
type Raw = RawHeaders | undefined;
type Parsed = ParsedHeaders | undefined;

/** What the caller's handler may do to its request, whichever attempt is running. */
export interface RequestControl {
  readonly abortReason: Error | undefined;
  readonly paused: boolean;
  abort(reason: Error | undefined): void;
  pause(): void;
  resume(): void;
}

const parsed = (raw: Raw, headers: Parsed): ParsedHeaders => headers ?? util.parseHeaders(raw ?? []);

/** Raw headers from parsed ones, as undici's own adapter makes them when the core gave none. */
function raw(rawHeaders: Raw, headers: Parsed): RawHeaders {
  if (rawHeaders !== undefined) return rawHeaders;
  const out: RawHeaders = [];
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) {
      out.push(Buffer.from(name, 'latin1'), Buffer.from(String(item), 'latin1'));
    }
  }
  return out;
}

/**
 * The controller a controller-API handler gets once, for the whole request: it outlives attempts and
 * applies `abort`/`pause`/`resume` to whichever attempt is current.
 */
class RequestController implements Controller {
  readonly #request: ControllerCallerRequest;

  constructor(request: ControllerCallerRequest) {
    this.#request = request;
  }

  get aborted(): boolean {
    return this.#request.abortReason !== undefined;
  }

  get paused(): boolean {
    return this.#request.paused;
  }

  get reason(): Error | null {
    return this.#request.abortReason ?? null;
  }

  get rawHeaders(): Controller['rawHeaders'] {
    return this.#request.rawHeaders;
  }

  // Writable in undici's `DispatchController`: an assignment in strict mode must not throw.
  set rawHeaders(value: Controller['rawHeaders']) {
    this.#request.rawHeaders = value as RawHeaders | undefined;
  }

  get rawTrailers(): Controller['rawTrailers'] {
    return this.#request.rawTrailers;
  }

  set rawTrailers(value: Controller['rawTrailers']) {
    this.#request.rawTrailers = value as RawHeaders | undefined;
  }

  abort(reason: Error): void {
    this.#request.abort(reason);
  }

  pause(): void {
    this.#request.pause();
  }

  resume(): void {
    this.#request.resume();
  }
}

/**
 * A request whose caller has a controller-API handler: headers parsed once, as undici's own adapter
 * parses them. Its controller shows the raw headers and trailers of the response (kept here: a legacy
 * handler never asks).
 */
class ControllerCallerRequest extends BalancedRequest {
  readonly #controller = new RequestController(this);
  rawHeaders: RawHeaders | undefined;
  rawTrailers: RawHeaders | undefined;

  protected callerStart(): void {
    this.handler.onRequestStart?.(this.#controller, {});
  }

  protected callerResponseStart(
    status: number,
    rawHeaders: Raw,
    headers: Parsed,
    message: string | undefined,
  ): boolean {
    this.rawHeaders = rawHeaders;
    this.handler.onResponseStart?.(this.#controller, status, parsed(rawHeaders, headers), message);
    return true; // it pauses through its controller
  }

  protected callerData(chunk: Buffer): boolean {
    this.handler.onResponseData?.(this.#controller, chunk);
    return true;
  }

  protected callerEnd(rawTrailers: Raw, trailers: Parsed): void {
    this.rawTrailers = rawTrailers;
    this.handler.onResponseEnd?.(this.#controller, parsed(rawTrailers, trailers));
  }

  protected callerError(error: Error): void {
    this.handler.onResponseError?.(this.#controller, error);
  }

  protected callerUpgrade(statusCode: number, rawHeaders: Raw, headers: Parsed, socket: Duplex): void {
    this.rawHeaders = rawHeaders;
    this.handler.onRequestUpgrade?.(this.#controller, statusCode, parsed(rawHeaders, headers), socket);
  }
}

/**
 * A request whose caller has a legacy handler (`onConnect`, `onHeaders`, …), driven as undici's core
 * drives it: `false` from `onHeaders`/`onData` pauses until the `resume` it was given is called. Over a
 * legacy attempt that `resume` is undici's own, as undici's pools give it (no closure per request, and
 * the pause is undici's parser's, with no state of ours); otherwise one that resumes this request.
 */
class LegacyCallerRequest extends BalancedRequest {
  /** The caller was given undici's own `resume` (see above): it pauses undici's parser itself. */
  #resumesUndici = false;

  protected callerStart(): void {
    this.handler.onConnect?.((reason) => this.abort(reason));
  }

  protected callerResponseStart(
    status: number,
    rawHeaders: Raw,
    headers: Parsed,
    message: string | undefined,
    resume: (() => void) | undefined,
  ): boolean {
    this.#resumesUndici = resume !== undefined;
    const given = resume ?? (() => this.resume());
    if (this.handler.onHeaders?.(status, raw(rawHeaders, headers), given, message ?? '') !== false)
      return true;
    if (resume === undefined) this.pause();
    return false;
  }

  protected callerData(chunk: Buffer): boolean {
    if (this.handler.onData?.(chunk) !== false) return true;
    if (!this.#resumesUndici) this.pause();
    return false;
  }

  protected callerEnd(rawTrailers: Raw, trailers: Parsed): void {
    this.handler.onComplete?.(raw(rawTrailers, trailers) as unknown as string[]);
  }

  protected callerError(error: Error): void {
    // As undici's own adapter: a legacy handler must take its errors.
    if (typeof this.handler.onError !== 'function') {
      throw new errors.InvalidArgumentError('invalid onError method');
    }
    this.handler.onError(error);
  }

  protected callerUpgrade(statusCode: number, rawHeaders: Raw, headers: Parsed, socket: Duplex): void {
    this.handler.onUpgrade?.(statusCode, raw(rawHeaders, headers), socket);
  }
}

/**
 * undici 7 has two handler APIs: the controller API (`onRequestStart`, `onResponseStart`, …) and the
 * legacy one (`onConnect`, `onHeaders`, …) that its own `request`, `stream`, `pipeline` and `fetch`
 * still use. A request speaks to its caller's handler in that handler's own API, one subclass of
 * `BalancedRequest` per API: a request is one object, not a request plus an adapter. Speaking the
 * legacy API directly, with the raw headers undici's core produced, spares each response the round
 * trip undici's adapters make (raw → parsed object → `Buffer`s again → parsed again by `request`).
 */
export function createBalancedRequest(
  ...args: ConstructorParameters<typeof LegacyCallerRequest>
): BalancedRequest {
  return typeof args[2].onRequestStart === 'function'
    ? new ControllerCallerRequest(...args)
    : new LegacyCallerRequest(...args);
}
