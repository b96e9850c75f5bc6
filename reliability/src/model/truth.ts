import { type EndpointState, stateKey } from './reference.js';

/** A Service's true state from one resourceVersion on. */
export interface TruthEntry {
  readonly resourceVersion: number;
  readonly state: EndpointState;
  readonly key: string;
}

/**
 * Every state a Service had, by the resourceVersion it began at. Recorded after each write (so also
 * the states in the middle of a batch, which a client may legitimately show after a cut).
 */
export class TruthTimeline {
  #entries: TruthEntry[] = [];

  /** Records the state at `resourceVersion` (increasing); an unchanged state adds nothing. */
  record(resourceVersion: number, state: EndpointState): void {
    const last = this.#entries.at(-1);
    if (last !== undefined && resourceVersion < last.resourceVersion)
      throw new Error(`resourceVersion ${resourceVersion} recorded after ${last.resourceVersion}`);
    const key = stateKey(state);
    if (last?.key === key) return;
    this.#entries.push({ resourceVersion, state, key });
  }

  /** The state the Service had at `resourceVersion`; undefined before the first record. */
  at(resourceVersion: number): TruthEntry | undefined {
    let lo = 0;
    let hi = this.#entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#entries[mid]!.resourceVersion <= resourceVersion) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? undefined : this.#entries[lo - 1];
  }

  get latest(): TruthEntry | undefined {
    return this.#entries.at(-1);
  }

  get size(): number {
    return this.#entries.length;
  }

  /** Forgets the states nobody can show any more (every client is past `resourceVersion`). */
  forgetBefore(resourceVersion: number): void {
    const firstAfter = this.#entries.findIndex((e) => e.resourceVersion > resourceVersion);
    // The last state at or before `resourceVersion` is still the state there: keep it.
    const keepFrom = (firstAfter === -1 ? this.#entries.length : firstAfter) - 1;
    if (keepFrom > 0) this.#entries = this.#entries.slice(keepFrom);
  }
}
