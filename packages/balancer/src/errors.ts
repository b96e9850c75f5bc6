import { EndpointWatchError } from '@endpoint-watch/core';

/** Nothing could be picked within the bound of `waitForPick` (or at once, with `timeoutMs: 0`). */
export class NoEndpointsError extends EndpointWatchError {
  /** `namespace/service` of the last set, else the `name` option, else `undefined`. */
  readonly service: string | undefined;
  /** How long the call waited, in ms. */
  readonly waitedMs: number;

  constructor(service: string | undefined, waitedMs: number, detail: string, options?: ErrorOptions) {
    const who = service === undefined ? 'the service (no endpoint set received yet)' : `service ${service}`;
    super('ERR_NO_ENDPOINTS', `No endpoints to pick for ${who}: ${detail}`, options);
    this.service = service;
    this.waitedMs = waitedMs;
  }
}

/** The balancer was closed before or while waiting. */
export class BalancerClosedError extends EndpointWatchError {
  constructor(service: string | undefined) {
    super(
      'ERR_BALANCER_CLOSED',
      `The balancer${service === undefined ? '' : ` for service ${service}`} is closed`,
    );
  }
}

/** An option of `createBalancer` is out of range. */
export class BalancerOptionsError extends EndpointWatchError {
  constructor(message: string) {
    super('ERR_BALANCER_OPTIONS', message);
  }
}
