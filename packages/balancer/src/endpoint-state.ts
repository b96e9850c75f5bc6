import type { Endpoint } from '@endpoint-watch/core';
import type { EndpointSlots } from './endpoint-slots.js';
import type { EndpointState } from './types.js';

/** `address:port`, with brackets around IPv6 addresses (`[fd00::1]:8080`). */
export function endpointKey(endpoint: Pick<Endpoint, 'address' | 'port'>): string {
  return endpoint.address.includes(':')
    ? `[${endpoint.address}]:${endpoint.port}`
    : `${endpoint.address}:${endpoint.port}`;
}

/**
 * One member of the set, exposed read-only to strategies as `EndpointState`. Its counters live in the
 * balancer's `EndpointSlots` at `slot` (read and written through the accessors below); the object
 * keeps what is only read off the hot path (ejection state, positions, slow start). When it leaves,
 * its counters are copied here, since its slot goes to the next endpoint.
 */
export class EndpointRecord implements EndpointState {
  /** Set while ejected: when the ejection ends. */
  ejectedUntil: number | undefined = undefined;
  /** Ejection multiplier (Envoy `num_ejections`). */
  ejectionCount = 0;
  /** When the last ejection ended; the multiplier decays from there. */
  returnedAt: number | undefined = undefined;
  /** Eligible for picks at the last rebuild. */
  candidate = false;
  /** Position in the balancer's member array (kept for O(1) removal). */
  memberIndex = -1;
  /** Position in the balancer's candidate array while `candidate`. */
  candidateIndex = -1;
  /** Successes and failures at the last success-rate sweep. */
  #sweptSuccesses = 0;
  #sweptFailures = 0;
  /** Its counters once it has left the set (undefined while a member). */
  #left: Counters | undefined;

  #endpoint: Endpoint;

  constructor(
    readonly key: string,
    endpoint: Endpoint,
    readonly slots: EndpointSlots,
    readonly slot: number,
    readonly addedAt: number,
    /** Start of slow start, or undefined when the endpoint does not slow-start. */
    readonly slowStartSince: number | undefined,
  ) {
    this.#endpoint = endpoint;
  }

  /** Left the set: outcomes of its leases no longer count. */
  get removed(): boolean {
    return this.#left !== undefined;
  }

  get ejected(): boolean {
    return this.ejectedUntil !== undefined;
  }

  /** Here as well as in the slots: a strategy that answers with records has it at hand. */
  get endpoint(): Endpoint {
    return this.#endpoint;
  }

  set endpoint(endpoint: Endpoint) {
    if (this.#left !== undefined) return;
    this.#endpoint = endpoint;
    this.slots.endpoints[this.slot] = endpoint;
  }

  get inFlight(): number {
    return this.#left?.inFlight ?? this.slots.inFlight[this.slot]!;
  }

  /** Every pick ends in at most one outcome: in flight, a success or a failure. */
  get picks(): number {
    return this.#left?.picks ?? this.inFlight + this.successes + this.failures;
  }

  get successes(): number {
    return this.#left?.successes ?? this.slots.successes[this.slot]!;
  }

  get failures(): number {
    return this.#left?.failures ?? this.slots.failures[this.slot]!;
  }

  get consecutiveFailures(): number {
    return this.#left?.consecutiveFailures ?? this.slots.consecutiveFailures[this.slot]!;
  }

  set consecutiveFailures(count: number) {
    if (this.#left === undefined) this.slots.consecutiveFailures[this.slot] = count;
  }

  /** Outcomes since the last success-rate sweep (`startInterval`). */
  get intervalOutcomes(): number {
    return this.successes + this.failures - this.#sweptSuccesses - this.#sweptFailures;
  }

  /** Successes since the last success-rate sweep. */
  get intervalSuccesses(): number {
    return this.successes - this.#sweptSuccesses;
  }

  /** A success-rate sweep starts the next interval (counted from the outcomes so far). */
  startInterval(): void {
    this.#sweptSuccesses = this.successes;
    this.#sweptFailures = this.failures;
  }

  /** It left the set: keeps its counters and gives its slot back. */
  leave(): void {
    if (this.#left !== undefined) return;
    const { slots, slot } = this;
    this.#left = {
      inFlight: slots.inFlight[slot]!,
      picks: this.picks,
      successes: slots.successes[slot]!,
      failures: slots.failures[slot]!,
      consecutiveFailures: slots.consecutiveFailures[slot]!,
    };
    this.candidate = false;
    slots.remove(slot);
  }
}

type Counters = Pick<EndpointState, 'inFlight' | 'picks' | 'successes' | 'failures' | 'consecutiveFailures'>;
