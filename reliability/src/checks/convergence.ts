import type { Violation } from '../invariants.js';
import type { HealthState } from './health.js';

interface StreamNow {
  key: string | undefined;
  synced: boolean;
}

/**
 * After the faults stop, how long each stream takes to show the Service's final state while synced.
 * Follows every stream from the start (a stream may already be right when the faults end: 0 ms).
 */
export class ConvergenceTracker {
  readonly #now = new Map<string, StreamNow>();
  readonly #convergedAt = new Map<string, number>();
  #target: { readonly at: number; readonly keys: ReadonlyMap<string, string> } | undefined;

  onSet(stream: string, at: number, key: string): void {
    this.#stream(stream).key = key;
    this.#check(stream, at);
  }

  onHealth(stream: string, at: number, state: HealthState): void {
    this.#stream(stream).synced = state === 'synced';
    this.#check(stream, at);
  }

  /** The faults ended at `at`; `finalKeys` is the state each stream must reach. */
  faultsEnded(at: number, finalKeys: ReadonlyMap<string, string>): void {
    this.#target = { at, keys: finalKeys };
    for (const stream of finalKeys.keys()) this.#check(stream, at);
  }

  /** Streams that have not converged yet. */
  get pending(): string[] {
    return [...(this.#target?.keys.keys() ?? [])].filter((s) => !this.#convergedAt.has(s));
  }

  /** Each stream's time to converge (undefined: not yet), and a violation for each past `boundMs`. */
  result(boundMs: number): { times: Map<string, number | undefined>; violations: Violation[] } {
    const target = this.#target;
    if (target === undefined) throw new Error('faultsEnded() was not called');
    const times = new Map<string, number | undefined>();
    const violations: Violation[] = [];
    for (const [stream, key] of target.keys) {
      const at = this.#convergedAt.get(stream);
      const ms = at === undefined ? undefined : at - target.at;
      times.set(stream, ms);
      if (ms !== undefined && ms <= boundMs) continue;
      const now = this.#now.get(stream);
      violations.push({
        invariant: 'convergence',
        at: target.at + boundMs,
        stream,
        message:
          ms === undefined
            ? `not converged ${boundMs} ms after the faults stopped`
            : `converged only after ${ms} ms (bound ${boundMs} ms)`,
        expected: `${key}, synced`,
        actual: `${now?.key ?? 'no set yet'}, ${now?.synced ? 'synced' : 'not synced'}`,
      });
    }
    return { times, violations };
  }

  #stream(stream: string): StreamNow {
    let now = this.#now.get(stream);
    if (now === undefined) {
      now = { key: undefined, synced: false };
      this.#now.set(stream, now);
    }
    return now;
  }

  #check(stream: string, at: number): void {
    const target = this.#target;
    if (target === undefined || this.#convergedAt.has(stream)) return;
    const now = this.#now.get(stream);
    if (now?.synced && now.key !== undefined && now.key === target.keys.get(stream))
      this.#convergedAt.set(stream, at);
  }
}
