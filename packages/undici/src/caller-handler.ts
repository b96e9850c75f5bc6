import type { Duplex } from 'node:stream';
import { type Dispatcher, errors, util } from 'undici';

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

/**
 * The caller's handler, spoken to in its own API. undici 7 has two: the controller API
 * (`onRequestStart`, `onResponseStart`, …) and the legacy one (`onConnect`, `onHeaders`, …) that its
 * own `request`, `stream`, `pipeline` and `fetch` still use. Speaking the legacy API directly, with
 * the raw headers undici's core produced, spares each response the round trip undici's adapters make
 * (raw → parsed object → `Buffer`s again → parsed again by `request`). Each method may throw what
 * the handler threw.
 */
export interface CallerHandler {
  /** The caller's handler object (its identity keys the failures remembered across re-dispatches). */
  readonly handler: Handler;
  start(): void;
  responseStart(status: number, rawHeaders: Raw, headers: Parsed, message: string | undefined): void;
  data(chunk: Buffer): void;
  end(rawTrailers: Raw, trailers: Parsed): void;
  error(error: Error): void;
  upgrade(statusCode: number, rawHeaders: Raw, headers: Parsed, socket: Duplex): void;
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

/** Stands in for a request's caller after its last event: nothing is delivered any more. */
export const FINISHED_CALLER: CallerHandler = {
  handler: {},
  start: () => undefined,
  responseStart: () => undefined,
  data: () => undefined,
  end: () => undefined,
  error: () => undefined,
  upgrade: () => undefined,
};

export function callerHandler(handler: Handler, request: RequestControl): CallerHandler {
  return typeof handler.onRequestStart === 'function'
    ? new ControllerCaller(handler, request)
    : new LegacyCaller(handler, request);
}

/**
 * The controller a controller-API handler gets once, for the whole request: it outlives attempts and
 * applies `abort`/`pause`/`resume` to whichever attempt is current.
 */
class RequestController implements Controller {
  readonly #request: RequestControl;
  readonly #response: ControllerCaller;

  constructor(request: RequestControl, response: ControllerCaller) {
    this.#request = request;
    this.#response = response;
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
    return this.#response.rawHeaders;
  }

  // Writable in undici's `DispatchController`: an assignment in strict mode must not throw.
  set rawHeaders(value: Controller['rawHeaders']) {
    this.#response.rawHeaders = value as RawHeaders | undefined;
  }

  get rawTrailers(): Controller['rawTrailers'] {
    return this.#response.rawTrailers;
  }

  set rawTrailers(value: Controller['rawTrailers']) {
    this.#response.rawTrailers = value as RawHeaders | undefined;
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
 * A controller-API handler: headers parsed once, as undici's own adapter parses them. Its controller
 * shows the raw headers and trailers of the response (kept here: a legacy handler never asks).
 */
class ControllerCaller implements CallerHandler {
  readonly controller: RequestController;
  rawHeaders: RawHeaders | undefined;
  rawTrailers: RawHeaders | undefined;

  constructor(
    readonly handler: Handler,
    request: RequestControl,
  ) {
    this.controller = new RequestController(request, this);
  }

  start(): void {
    this.handler.onRequestStart?.(this.controller, {});
  }

  responseStart(status: number, rawHeaders: Raw, headers: Parsed, message: string | undefined): void {
    this.rawHeaders = rawHeaders;
    this.handler.onResponseStart?.(this.controller, status, parsed(rawHeaders, headers), message);
  }

  data(chunk: Buffer): void {
    this.handler.onResponseData?.(this.controller, chunk);
  }

  end(rawTrailers: Raw, trailers: Parsed): void {
    this.rawTrailers = rawTrailers;
    this.handler.onResponseEnd?.(this.controller, parsed(rawTrailers, trailers));
  }

  error(error: Error): void {
    this.handler.onResponseError?.(this.controller, error);
  }

  upgrade(statusCode: number, rawHeaders: Raw, headers: Parsed, socket: Duplex): void {
    this.rawHeaders = rawHeaders;
    this.handler.onRequestUpgrade?.(this.controller, statusCode, parsed(rawHeaders, headers), socket);
  }
}

/**
 * A legacy handler (`onConnect`, `onHeaders`, …), driven as undici's core drives it: `false` from
 * `onHeaders`/`onData` pauses until the `resume` it was given is called.
 */
class LegacyCaller implements CallerHandler {
  readonly #request: RequestControl;
  #resume: (() => void) | undefined;

  constructor(
    readonly handler: Handler,
    request: RequestControl,
  ) {
    this.#request = request;
  }

  start(): void {
    const request = this.#request;
    this.handler.onConnect?.((reason) => request.abort(reason));
  }

  responseStart(status: number, rawHeaders: Raw, headers: Parsed, message: string | undefined): void {
    const request = this.#request;
    this.#resume ??= () => request.resume();
    const response = raw(rawHeaders, headers);
    if (this.handler.onHeaders?.(status, response, this.#resume, message ?? '') === false) {
      request.pause();
    }
  }

  data(chunk: Buffer): void {
    if (this.handler.onData?.(chunk) === false) this.#request.pause();
  }

  end(rawTrailers: Raw, trailers: Parsed): void {
    this.handler.onComplete?.(raw(rawTrailers, trailers) as unknown as string[]);
  }

  error(error: Error): void {
    // As undici's own adapter: a legacy handler must take its errors.
    if (typeof this.handler.onError !== 'function') {
      throw new errors.InvalidArgumentError('invalid onError method');
    }
    this.handler.onError(error);
  }

  upgrade(statusCode: number, rawHeaders: Raw, headers: Parsed, socket: Duplex): void {
    this.handler.onUpgrade?.(statusCode, raw(rawHeaders, headers), socket);
  }
}
