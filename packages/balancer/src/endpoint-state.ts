import type { Endpoint } from '@endpoint-watch/core';
import type { EndpointState } from './types.js';

/** `address:port`, with brackets around IPv6 addresses (`[fd00::1]:8080`). */
export function endpointKey(endpoint: Pick<Endpoint, 'address' | 'port'>): string {
  return endpoint.address.includes(':')
    ? `[${endpoint.address}]:${endpoint.port}`
    : `${endpoint.address}:${endpoint.port}`;
}

/** The balancer's mutable state of one endpoint, exposed read-only to strategies as `EndpointState`. */
export class EndpointRecord implements EndpointState {
  endpoint: Endpoint;
  inFlight = 0;
  picks = 0;
  successes = 0;
  failures = 0;
  consecutiveFailures = 0;
  /** Set while ejected: when the ejection ends. */
  ejectedUntil: number | undefined = undefined;
  /** Ejection multiplier (Envoy `num_ejections`). */
  ejectionCount = 0;
  /** When the last ejection ended; the multiplier decays from there. */
  returnedAt: number | undefined = undefined;
  /** Outcomes since the last success-rate sweep. */
  intervalOutcomes = 0;
  intervalSuccesses = 0;
  /** Eligible for picks at the last rebuild. */
  candidate = false;
  /** Left the set: outcomes of its leases no longer count. */
  removed = false;
  /** Position in the balancer's member array (kept for O(1) removal). */
  memberIndex = -1;
  /** Position in the balancer's candidate array while `candidate`. */
  candidateIndex = -1;

  constructor(
    readonly key: string,
    endpoint: Endpoint,
    readonly addedAt: number,
    /** Start of slow start, or undefined when the endpoint does not slow-start. */
    readonly slowStartSince: number | undefined,
    /** Its latency estimate's slot in the balancer's `PeakEwmaTable` (given back when it leaves). */
    readonly ewmaSlot: number,
  ) {
    this.endpoint = endpoint;
  }

  get ejected(): boolean {
    return this.ejectedUntil !== undefined;
  }
}
