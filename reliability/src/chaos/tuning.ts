/**
 * The watch tuning of the chaos run and the bounds its invariants use. The defaults (150 s idle
 * timeout, 30 s backoff cap, 5 min Retry-After cap, 5–10 min watches) are right for a cluster and
 * far too slow for a run of a minute: scaled down, every recovery path runs many times per run and
 * the bounds stay a few seconds.
 */
import type { EndpointWatchTuning } from '@endpoint-watch/core';

export const CHAOS_TUNING = {
  /** Stall detection: a watch without a complete event this long is presumed dead (the server bookmarks every second). */
  idleTimeoutMs: 3_000,
  /** Every other silence (response headers, a LIST body) is given up after as long. */
  silenceTimeoutMs: 3_000,
  /** The default: a healthy watch that ended is reopened within 100 ms. */
  rewatchJitterMs: 100,
  /**
   * The default first delay (800 ms: a backoff after a healthy watch's cut is then plain to see
   * against the 100 ms "at once"), a small cap so that convergence after the faults is bounded by
   * the faults and not by a 30 s sleep, and a short memory to match the short run.
   */
  backoff: { initialMs: 800, maxMs: 2_000, resetAfterMs: 10_000 },
  /** The schedule sends Retry-After 1–3 s: honoured in full. */
  maxRetryAfterMs: 3_000,
  /** Watches also end cleanly (timeoutSeconds) during a run, several times per stream. */
  watchTimeoutSeconds: [5, 15],
  /** Every Service has several slices: LISTs page, so continue tokens meet compactions (HTTP 410). */
  pageSize: 2,
  /** The oversized events of the schedule are twice this. */
  maxEventBytes: 256 * 1024,
} as const satisfies EndpointWatchTuning;

/** The fake apiserver's bookmark period: a healthy quiet watch is never silent for the idle timeout. */
export const BOOKMARK_INTERVAL_MS = 1_000;

/**
 * Time the server's bookkeeping and the client's reaction may take: a cut socket reaching the
 * client, a health change after the watch closed, a request after its connection broke. Loaded
 * 2-core CI machines need this much; a violation has to outlast it.
 */
export const GRACE_MS = 500;

/** The contract's "re-opened at once" after a healthy watch ends: within the rewatch jitter. */
export const REOPEN_MS = CHAOS_TUNING.rewatchJitterMs;

/**
 * After the faults stop (`faults.clear()`, pods back, token files current), every stream must show
 * the final state while synced within this bound. Worst case by construction: a stream asleep for
 * the backoff cap (2 s) or the Retry-After cap (3 s), then a request that is silent until the idle
 * or silence timeout (3 s), then a relist and a watch confirmed within 1 s: about 7 s, and 10 s
 * leaves room for a loaded machine.
 */
export const CONVERGENCE_BOUND_MS = 10_000;
