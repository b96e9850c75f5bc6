/**
 * Balanced requests under chaos: one that never reached a pod must not fail (the adapters retry
 * those elsewhere), and every failure must be typed and explained by a pod that died meanwhile.
 */
import type { Violation } from '../invariants.js';

/** One balanced request and how it ended. */
export interface RequestOutcome {
  readonly id: string;
  readonly adapter: string;
  readonly method: string;
  readonly startedAt: number;
  readonly endedAt: number;
  /** undefined: it succeeded. */
  readonly error: unknown;
  /** Addresses of the pods that received it (their own record). */
  readonly seenBy: readonly string[];
}

/** A pod was dead (killed, not yet back) over `[from, to)`. */
export interface PodDeath {
  readonly address: string;
  readonly from: number;
  readonly to: number;
}

interface Attempt {
  readonly endpoint: string | undefined;
  readonly sent: boolean | undefined;
  readonly code: string | undefined;
}

/** What an error says about itself: its code, the attempts (of an `AllAttemptsFailedError`), its chain. */
export interface ErrorFacts {
  readonly code: string | undefined;
  readonly attempts: readonly Attempt[] | undefined;
  readonly chain: string;
}

/** Codes of a connection that was never made: the pod cannot have seen the request. */
const NEVER_CONNECTED = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** The codes of the balancing packages' own errors. */
const BALANCING_CODES = new Set(['ERR_ALL_ATTEMPTS_FAILED', 'ERR_NO_ENDPOINTS', 'ERR_BALANCER_CLOSED']);

const stringField = (value: unknown, key: string): string | undefined => {
  const field =
    typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  return typeof field === 'string' ? field : undefined;
};

/** Reads the error and its `cause` chain (axios and fetch wrap ours), duck-typed across copies of the packages. */
export function errorFacts(error: unknown): ErrorFacts {
  const codes: string[] = [];
  let attempts: Attempt[] | undefined;
  const names: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 8 && typeof current === 'object' && current !== null; depth++) {
    const own = stringField(current, 'code');
    names.push(`${stringField(current, 'name') ?? 'Error'}${own === undefined ? '' : `(${own})`}`);
    if (own !== undefined) codes.push(own);
    const list = (current as { attempts?: unknown }).attempts;
    if (attempts === undefined && Array.isArray(list)) {
      attempts = list.map((a) => ({
        endpoint: stringField(a, 'endpoint'),
        sent: typeof (a as { sent?: unknown }).sent === 'boolean' ? (a as { sent: boolean }).sent : undefined,
        code: stringField(a, 'code'),
      }));
    }
    current = (current as { cause?: unknown }).cause;
  }
  if (typeof error !== 'object' || error === null) names.push(String(error));
  // Our own code says most, wherever it is (axios' fetch path wraps it in ERR_NETWORK).
  const code = codes.find((c) => BALANCING_CODES.has(c)) ?? codes[0];
  return { code, attempts, chain: names.join(' <- ') };
}

const addressOf = (endpoint: string): string => endpoint.replace(/^\[?([^\]]*?)\]?:\d+$/, '$1');

/** The verdict on one failed request; undefined when it failed for a reason the chaos explains. */
export function judgeFailure(outcome: RequestOutcome, deaths: readonly PodDeath[]): Violation | undefined {
  if (outcome.error === undefined) return undefined;
  const facts = errorFacts(outcome.error);
  const base = {
    at: outcome.endedAt,
    stream: `${outcome.adapter} ${outcome.method} ${outcome.id}`,
    actual: `${facts.chain}${facts.attempts === undefined ? '' : ` attempts: ${facts.attempts.map((a) => `${a.endpoint} ${a.code ?? '?'} sent=${a.sent}`).join(', ')}`}`,
  };
  const neverSent =
    outcome.seenBy.length === 0 &&
    (facts.code === 'ERR_NO_ENDPOINTS' ||
      (facts.attempts !== undefined
        ? facts.attempts.every((a) => a.sent === false)
        : facts.code !== undefined && NEVER_CONNECTED.has(facts.code)));
  if (neverSent) {
    return {
      ...base,
      invariant: 'never-sent-request-failed',
      message: 'a request that never reached a pod failed instead of going to another one',
      expected: 'retried on a live pod',
    };
  }
  if (facts.code === undefined) {
    return {
      ...base,
      invariant: 'unaccounted-request-failure',
      message: 'a failure without a code: it does not say why',
      expected: 'a typed error with a code',
    };
  }
  const involved = new Set([
    ...outcome.seenBy,
    ...(facts.attempts ?? []).flatMap((a) => (a.endpoint === undefined ? [] : [addressOf(a.endpoint)])),
  ]);
  // Inclusive: a kill and the failure it causes often fall in the same millisecond.
  const died = deaths.some(
    (d) =>
      (involved.size === 0 || involved.has(d.address)) &&
      d.from <= outcome.endedAt &&
      d.to >= outcome.startedAt,
  );
  if (died) return undefined;
  return {
    ...base,
    invariant: 'unaccounted-request-failure',
    message: `failed with ${facts.code}, but no pod it went to (${[...involved].join(', ') || 'unknown'}) died meanwhile`,
    expected: 'a failure only where a pod died',
  };
}
