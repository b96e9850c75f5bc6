import type { Violation } from '../invariants.js';
import { type EndpointState, stateKey } from '../model/reference.js';
import type { TruthTimeline } from '../model/truth.js';

/** One set a stream emitted, in canonical form. */
export interface EmittedSet {
  readonly at: number;
  readonly stream: string;
  readonly service: string;
  readonly resourceVersion: string | undefined;
  readonly state: EndpointState;
}

/**
 * Checks each emitted set as it comes: it must be exactly the state the Service had at the set's
 * own resourceVersion (a set is a claim "this was true at RV"), and a stream's resourceVersions must
 * never go back. Checked at once because the truth is recorded synchronously after each write,
 * before any client can have seen it.
 */
export class SetHistoryChecker {
  readonly #truths: ReadonlyMap<string, TruthTimeline>;
  readonly #lastRv = new Map<string, number>();
  #checked = 0;

  constructor(truths: ReadonlyMap<string, TruthTimeline>) {
    this.#truths = truths;
  }

  get checked(): number {
    return this.#checked;
  }

  /** The lowest resourceVersion any stream of `service` is at (truth before it can be forgotten). */
  lowestResourceVersion(streams: readonly string[]): number | undefined {
    let lowest: number | undefined;
    for (const stream of streams) {
      const rv = this.#lastRv.get(stream);
      if (rv === undefined) return undefined;
      lowest = lowest === undefined ? rv : Math.min(lowest, rv);
    }
    return lowest;
  }

  observe(set: EmittedSet): Violation[] {
    this.#checked++;
    const base = { at: set.at, stream: set.stream };
    const rv = set.resourceVersion === undefined ? Number.NaN : Number(set.resourceVersion);
    if (!Number.isSafeInteger(rv)) {
      return [
        {
          ...base,
          invariant: 'set-is-true-state',
          message: `a set without a usable resourceVersion (${String(set.resourceVersion)})`,
          actual: stateKey(set.state),
        },
      ];
    }
    const violations: Violation[] = [];
    const previous = this.#lastRv.get(set.stream);
    if (previous !== undefined && rv < previous) {
      violations.push({
        ...base,
        invariant: 'set-order',
        message: `resourceVersion went back from ${previous} to ${rv}`,
        expected: `>= ${previous}`,
        actual: String(rv),
      });
    }
    this.#lastRv.set(set.stream, Math.max(rv, previous ?? rv));
    const truth = this.#truths.get(set.service)?.at(rv);
    const actual = stateKey(set.state);
    if (truth === undefined) {
      violations.push({
        ...base,
        invariant: 'set-is-true-state',
        message: `resourceVersion ${rv} is before anything was recorded for ${set.service}`,
        actual,
      });
    } else if (truth.key !== actual) {
      const empty = set.state.endpoints.length === 0 && truth.state.endpoints.length > 0;
      violations.push({
        ...base,
        invariant: empty ? 'no-empty-set' : 'set-is-true-state',
        message: `the set at resourceVersion ${rv} is not the state ${set.service} had then (true since ${truth.resourceVersion})`,
        expected: truth.key,
        actual,
      });
    }
    return violations;
  }
}
