import { EndpointWatchError } from '../errors.js';

/**
 * An object handed to an aggregator (an EndpointSlice, a v1 Endpoints, one of their entries) is not
 * what the Kubernetes API defines. The aggregator's state is left exactly as it was before the call.
 * The message names the object and the field; it never dumps the object.
 */
export class InvalidObjectError extends EndpointWatchError {
  /** Which object, e.g. `EndpointSlice "web-x7k2p"` or `EndpointSlice #3 of the list`. */
  readonly object: string;
  /** Path of the offending field inside that object, e.g. `endpoints[4].addresses`; `(root)` for the object itself. */
  readonly field: string;

  constructor(object: string, field: string, problem: string, options?: ErrorOptions) {
    super('ERR_INVALID_OBJECT', `${object}: invalid ${field}: ${problem}`, options);
    this.object = object;
    this.field = field;
  }
}

/**
 * The Service port to follow cannot be decided: no `port` option and the slices declare several port
 * names, or a numeric `port` that matches several named ports. `available` lists them as
 * `name (port/PROTOCOL, ...)`, the same text as in the message.
 */
export class PortSelectionError extends EndpointWatchError {
  readonly available: readonly string[];

  constructor(message: string, available: readonly string[]) {
    super('ERR_PORT_SELECTION', `${message}: ${available.join(', ')}`);
    this.available = available;
  }
}
