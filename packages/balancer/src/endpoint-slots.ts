import type { Endpoint } from '@endpoint-watch/core';
import { PeakEwmaTable } from './ewma.js';

/**
 * The balancer's per-endpoint hot state as struct-of-arrays: typed arrays indexed by a dense slot
 * number, one per member of the set, given back when it leaves and reused by the next one (so the
 * arrays stay as dense as the set and a set diff costs O(changed)).
 *
 * Why: a pick at 100k endpoints samples members at random. Kept in one object per endpoint, each
 * sample chased a pointer to an object somewhere in ~10 MB of heap (a cache and TLB miss, ~350 ns on
 * the development VM), and the lease and its release chased it again. Here a pick reads the
 * candidates' slots (`candidateSlots`, 4 bytes each) and their in-flight counts (4 bytes each), and
 * the lease takes the winner's key and `Endpoint` references from dense arrays without dereferencing
 * either; a release touches its slot's counters only.
 *
 * Only what a pick or a release must write is kept: `picks` is inFlight + successes + failures
 * (every lease ends in at most one outcome), and the success-rate detector's interval counts are
 * differences from the counts at the last sweep (see `EndpointRecord`).
 *
 * A slot's `generation` changes when it is given back, so a lease still out on an endpoint that has
 * left (its slot maybe reused already) is recognised and changes nothing.
 */
export class EndpointSlots {
  inFlight: Int32Array;
  successes: Float64Array;
  failures: Float64Array;
  consecutiveFailures: Int32Array;
  generation: Uint32Array;
  /**
   * The slot of the candidate at each position of the balancer's candidate array (the balancer keeps
   * it in step; valid up to the number of candidates).
   */
  candidateSlots: Int32Array;
  /** Each slot's `address:port` and `Endpoint` (references only: reading them does not touch the objects). */
  readonly keys: (string | undefined)[] = [];
  readonly endpoints: (Endpoint | undefined)[] = [];
  /** Every slot's latency estimate (kept whatever the strategy: stats report it). */
  readonly ewma: PeakEwmaTable;
  readonly #free: number[] = [];
  #used = 0;

  constructor(ewmaDecayMs: number, ewmaDefaultLatencyMs: number, capacity = 16) {
    this.ewma = new PeakEwmaTable(ewmaDecayMs, ewmaDefaultLatencyMs, capacity);
    this.inFlight = new Int32Array(capacity);
    this.successes = new Float64Array(capacity);
    this.failures = new Float64Array(capacity);
    this.consecutiveFailures = new Int32Array(capacity);
    this.generation = new Uint32Array(capacity);
    this.candidateSlots = new Int32Array(capacity);
  }

  /** A slot for a new member, its counters at 0 and its latency estimate at the prior. */
  add(key: string, endpoint: Endpoint, now: number): number {
    let slot = this.#free.pop();
    if (slot === undefined) {
      slot = this.#used++;
      if (slot >= this.inFlight.length) this.#grow(2 * this.inFlight.length);
    }
    this.inFlight[slot] = 0;
    this.successes[slot] = 0;
    this.failures[slot] = 0;
    this.consecutiveFailures[slot] = 0;
    this.keys[slot] = key;
    this.endpoints[slot] = endpoint;
    this.ewma.start(slot, now);
    return slot;
  }

  /** Gives a slot back: leases on it no longer match its generation. */
  remove(slot: number): void {
    this.generation[slot] = (this.generation[slot]! + 1) >>> 0;
    this.keys[slot] = undefined;
    this.endpoints[slot] = undefined;
    this.#free.push(slot);
  }

  #grow(capacity: number): void {
    this.inFlight = grown(this.inFlight, new Int32Array(capacity));
    this.successes = grown(this.successes, new Float64Array(capacity));
    this.failures = grown(this.failures, new Float64Array(capacity));
    this.consecutiveFailures = grown(this.consecutiveFailures, new Int32Array(capacity));
    this.generation = grown(this.generation, new Uint32Array(capacity));
    this.candidateSlots = grown(this.candidateSlots, new Int32Array(capacity));
  }
}

function grown<T extends Int32Array | Uint32Array | Float64Array>(from: T, to: T): T {
  to.set(from);
  return to;
}
