/** The invariants the chaos suite checks, and what a broken one looks like. */

export const INVARIANTS = {
  'set-is-true-state':
    'every emitted set equals the true state of the Service at the resourceVersion the set carries',
  'set-order': "a stream's sets carry resourceVersions that never go back",
  'no-empty-set': 'no empty set while the Service has endpoints',
  convergence: 'after the faults stop, every stream shows the final state and is synced within the bound',
  'synced-needs-open-watch':
    'synced only while the server has a watch of that client for that Service open (grace for teardown)',
  'synced-on-expired-watch': 'never synced on a watch whose only event is an in-stream 410',
  'synced-through-stall': 'a watch that delivers nothing stops being synced within the idle timeout',
  'silence-bound': 'no request stays silent (stalled headers or LIST body) past the silence timeout',
  'error-body-capped': 'a huge error body is never read to its end',
  'backoff-cap': 'no retry waits longer than the backoff cap (or the Retry-After cap, when one was sent)',
  'prompt-reconnect':
    'a healthy watch (open 1 s or more, or one that delivered something) that the server cut or ended is re-opened at once',
  'no-stream-error': 'no endpoint or health stream errors or completes',
  'no-unhandled': 'no unhandled rejection, no uncaught exception',
  'never-sent-request-failed': 'no balanced request that never reached a pod fails',
  'unaccounted-request-failure':
    'every failed balanced request has a typed error naming why, and went to a pod that died meanwhile',
} as const;

export type InvariantName = keyof typeof INVARIANTS;

/** One broken invariant, with what is needed to find it again. */
export interface Violation {
  readonly invariant: InvariantName;
  /** `Date.now()` when it happened (the report shows it relative to the start of the run). */
  readonly at: number;
  /** `client/service`, when it concerns one stream. */
  readonly stream?: string;
  readonly message: string;
  readonly expected?: string;
  readonly actual?: string;
}
