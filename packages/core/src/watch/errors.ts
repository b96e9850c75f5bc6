import { EndpointWatchError } from '../errors.js';

/** A watch line is not a valid watch event (bad JSON, wrong envelope). The watch restarts from the last good resourceVersion. */
export class WatchDecodeError extends EndpointWatchError {
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_WATCH_DECODE', message, options);
  }
}

/** A single watch event grew past the configured cap without ending. */
export class WatchEventTooLargeError extends EndpointWatchError {
  readonly limitBytes: number;
  constructor(limitBytes: number) {
    super('ERR_WATCH_EVENT_TOO_LARGE', `a watch event exceeded ${limitBytes} bytes without ending`);
    this.limitBytes = limitBytes;
  }
}

/** The connection of an open watch broke (a reset, the peer closed it): the watch is reopened. */
export class WatchConnectionLostError extends EndpointWatchError {
  constructor(reason: string, options?: ErrorOptions) {
    super('ERR_WATCH_CONNECTION_LOST', `the watch connection to the apiserver broke (${reason})`, options);
  }
}

/** The watch stream ended in the middle of an event (the connection was cut). */
export class WatchTruncatedError extends EndpointWatchError {
  constructor(pendingBytes: number) {
    super('ERR_WATCH_TRUNCATED', `the watch stream ended inside an event (${pendingBytes} bytes pending)`);
  }
}

/** A watch ended cleanly but so soon, and without any event, that retrying at once would spin. */
export class WatchTooShortError extends EndpointWatchError {
  constructor(durationMs: number) {
    super('ERR_WATCH_TOO_SHORT', `the watch ended after ${durationMs} ms without any event`);
  }
}

/**
 * A watch sent no complete event, not even a bookmark, for longer than the idle timeout: presumed
 * dead (half-open TCP, or a peer dripping bytes of a line that never ends).
 */
export class WatchIdleError extends EndpointWatchError {
  readonly idleTimeoutMs: number;
  constructor(idleTimeoutMs: number, options?: ErrorOptions) {
    super('ERR_WATCH_IDLE', `the watch sent no event for ${idleTimeoutMs} ms; restarting it`, options);
    this.idleTimeoutMs = idleTimeoutMs;
  }
}

/** A watch outlived the `timeoutSeconds` it asked the server for, by a margin: the server did not end it. */
export class WatchDeadlineError extends EndpointWatchError {
  readonly deadlineMs: number;
  constructor(timeoutSeconds: number, deadlineMs: number) {
    super(
      'ERR_WATCH_DEADLINE',
      `the watch asked to end after ${timeoutSeconds} s was still open after ${deadlineMs} ms; restarting it`,
    );
    this.deadlineMs = deadlineMs;
  }
}
