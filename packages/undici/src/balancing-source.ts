import { type Balancer, type BalancerOptions, createBalancer } from '@endpoint-watch/balancer';
import { BalancingOptionsError } from './errors.js';
import type { BalancingSource } from './types.js';

/** The options every integration (this package's agent and interceptor, the axios one) shares. */
export interface CommonBalancingOptions {
  readonly match?: unknown;
  readonly hashKey?: unknown;
  readonly maxAttempts?: number;
  readonly noEndpointsTimeoutMs?: number;
  readonly balancer?: BalancerOptions;
}

/** Throws `BalancingOptionsError` for an option of the wrong kind, before anything starts. */
export function validateBalancingOptions(options: CommonBalancingOptions): void {
  const { maxAttempts, noEndpointsTimeoutMs, match, hashKey } = options;
  if (maxAttempts !== undefined && !(Number.isInteger(maxAttempts) && maxAttempts >= 1)) {
    throw new BalancingOptionsError(`maxAttempts must be an integer >= 1, got ${maxAttempts}`);
  }
  // The balancer's bound on a waitForPick timer: Node fires a longer one after 1 ms.
  if (
    noEndpointsTimeoutMs !== undefined &&
    !(noEndpointsTimeoutMs >= 0 && noEndpointsTimeoutMs <= 2 ** 31 - 1)
  ) {
    throw new BalancingOptionsError(
      `noEndpointsTimeoutMs must be in [0, 2147483647] ms, got ${noEndpointsTimeoutMs}`,
    );
  }
  if (match !== undefined && typeof match !== 'function') {
    throw new BalancingOptionsError('match must be a function');
  }
  if (hashKey !== undefined && typeof hashKey !== 'function') {
    throw new BalancingOptionsError('hashKey must be a function');
  }
}

/**
 * The balancer behind a source: the caller's own (`owned` false: it outlives us), or one created
 * over an `endpoints` stream (`owned` true: closed with us). `argument` names the source in errors.
 */
export function resolveBalancingSource(
  source: BalancingSource,
  options: CommonBalancingOptions,
  argument = 'the first argument',
): { balancer: Balancer; owned: boolean } {
  if (typeof source !== 'object' || source === null) {
    throw new BalancingOptionsError(`${argument} must be { endpoints } or { balancer }`);
  }
  if ((source.endpoints === undefined) === (source.balancer === undefined)) {
    throw new BalancingOptionsError(
      'give exactly one of { endpoints } (an Observable<EndpointSet>) or { balancer }',
    );
  }
  if (source.balancer !== undefined) {
    if (options.balancer !== undefined) {
      throw new BalancingOptionsError('options.balancer applies to an { endpoints } source only');
    }
    return { balancer: source.balancer, owned: false };
  }
  if (typeof source.endpoints?.subscribe !== 'function') {
    throw new BalancingOptionsError('endpoints must be an Observable<EndpointSet>');
  }
  return { balancer: createBalancer(source.endpoints, options.balancer), owned: true };
}
