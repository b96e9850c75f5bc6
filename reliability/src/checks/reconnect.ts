import type { Violation } from '../invariants.js';
import type { ServerWatchLife } from './health.js';
import { type Interval, overlaps } from './intervals.js';

export interface EndedWatch extends ServerWatchLife {
  /** Who ended it, as the server tells (`WatchInfo.closedBy`). */
  readonly closedBy: string | undefined;
}

export interface PromptReconnectInput {
  readonly stream: string;
  readonly watches: readonly EndedWatch[];
  /** When this stream's requests reached the server, in order. */
  readonly requestTimes: readonly number[];
  /** When the server refused connections (a restart's down time): nothing can arrive then. */
  readonly downtimes: readonly Interval[];
  /**
   * When a malformed or oversized event was written to every open watch. A watch open then was
   * ended by the client for that (a decode error backs off, by design), whoever closed it after.
   */
  readonly badEvents?: readonly number[];
  readonly end: number;
  /** How soon the next request is due after a healthy watch ends (the contract's "at once": jitter < ~100 ms). */
  readonly reopenMs: number;
  readonly graceMs: number;
  /** A watch open this long (or that delivered anything) was healthy: its end is no failure. Default 1 s. */
  readonly healthyAfterMs?: number;
}

/**
 * A healthy watch that the server cut or ended cleanly (timeout) must be followed by the next
 * request of the same stream at once, not after a backoff: losing a connection that worked is not a
 * failure of the apiserver (client-go's watch loop; the "very short watch" rule is the exception).
 */
export function checkPromptReconnect(input: PromptReconnectInput): Violation[] {
  const healthyAfterMs = input.healthyAfterMs ?? 1000;
  const violations: Violation[] = [];
  for (const w of input.watches) {
    if (w.closedAt === undefined || (w.closedBy !== 'cut' && w.closedBy !== 'end')) continue;
    const healthy = w.closedAt - w.openedAt >= healthyAfterMs || w.lastWriteAt !== undefined;
    if (!healthy) continue;
    if (input.badEvents?.some((t) => t >= w.openedAt && t <= w.closedAt!)) continue;
    const deadline = w.closedAt + input.reopenMs + input.graceMs;
    if (deadline > input.end) continue;
    if (input.downtimes.some((d) => overlaps(d, { from: w.closedAt!, to: deadline }))) continue;
    const next = input.requestTimes.find((t) => t >= w.closedAt!);
    if (next !== undefined && next <= deadline) continue;
    violations.push({
      invariant: 'prompt-reconnect',
      at: w.closedAt,
      stream: input.stream,
      message: `watch #${w.id} (open ${w.closedAt - w.openedAt} ms${w.lastWriteAt === undefined ? '' : ', delivered events'}) ended by the server (${w.closedBy}); the next request came ${next === undefined ? 'never' : `${next - w.closedAt} ms later`}`,
      expected: `a new request within ${input.reopenMs} ms (+${input.graceMs} ms grace)`,
      actual: next === undefined ? 'none' : `${next - w.closedAt} ms`,
    });
  }
  return violations;
}
