import { AllAttemptsFailedError } from '@endpoint-watch/undici';
import { AxiosError } from 'axios';
import { describe, expect, it } from 'vitest';
import { ConvergenceTracker } from '../src/checks/convergence.js';
import { checkHealth, type HealthCheckInput, syncedIntervals } from '../src/checks/health.js';
import { mergeIntervals } from '../src/checks/intervals.js';
import { checkPromptReconnect, type EndedWatch } from '../src/checks/reconnect.js';
import { errorFacts, judgeFailure, type RequestOutcome } from '../src/checks/requests.js';
import { checkBackoffCap, checkErrorBodies, SilenceChecker } from '../src/checks/retries.js';
import { SetHistoryChecker } from '../src/checks/sets.js';
import { stateOf } from '../src/model/reference.js';
import { TruthTimeline } from '../src/model/truth.js';

const ep = (address: string, ready = true) => ({
  address,
  port: 80,
  ready,
  serving: ready,
  terminating: false,
});

describe('SetHistoryChecker', () => {
  const truths = () => {
    const truth = new TruthTimeline();
    truth.record(10, stateOf([ep('10.0.0.1')]));
    truth.record(11, stateOf([ep('10.0.0.1'), ep('10.0.0.2')]));
    truth.record(14, stateOf([]));
    truth.record(20, stateOf([ep('10.0.0.3')]));
    return new Map([['web', truth]]);
  };
  const set = (rv: string | undefined, ...endpoints: ReturnType<typeof ep>[]) => ({
    at: 1,
    stream: 'c/web',
    service: 'web',
    resourceVersion: rv,
    state: stateOf(endpoints),
  });

  it('accepts every true state at its resourceVersion, also one between two writes and a late empty one', () => {
    const checker = new SetHistoryChecker(truths());
    expect(checker.observe(set('10', ep('10.0.0.1')))).toEqual([]);
    expect(checker.observe(set('12', ep('10.0.0.1'), ep('10.0.0.2')))).toEqual([]);
    expect(checker.observe(set('14'))).toEqual([]);
    expect(checker.observe(set('25', ep('10.0.0.3')))).toEqual([]);
    expect(checker.checked).toBe(4);
  });

  it('catches a set that was never true at its resourceVersion', () => {
    const [v] = new SetHistoryChecker(truths()).observe(set('11', ep('10.0.0.1')));
    expect(v).toMatchObject({
      invariant: 'set-is-true-state',
      expected:
        '[10.0.0.1:80 ready serving, 10.0.0.2:80 ready serving] -> [10.0.0.1:80 ready serving, 10.0.0.2:80 ready serving]',
      actual: '[10.0.0.1:80 ready serving] -> [10.0.0.1:80 ready serving]',
    });
    // A state the Service had, but at another resourceVersion, is no better.
    expect(new SetHistoryChecker(truths()).observe(set('20', ep('10.0.0.1')))[0]?.invariant).toBe(
      'set-is-true-state',
    );
  });

  it('catches an empty set while the Service had endpoints', () => {
    expect(new SetHistoryChecker(truths()).observe(set('13'))[0]?.invariant).toBe('no-empty-set');
  });

  it('catches a stream going back in resourceVersion, and a set without one', () => {
    const checker = new SetHistoryChecker(truths());
    checker.observe(set('20', ep('10.0.0.3')));
    expect(checker.observe(set('10', ep('10.0.0.1'))).map((v) => v.invariant)).toEqual(['set-order']);
    expect(checker.observe(set(undefined, ep('10.0.0.3')))[0]?.invariant).toBe('set-is-true-state');
    expect(checker.lowestResourceVersion(['c/web'])).toBe(20);
    expect(checker.lowestResourceVersion(['c/web', 'other'])).toBeUndefined();
  });
});

describe('checkHealth', () => {
  const base: HealthCheckInput = {
    stream: 'c/web',
    changes: [],
    watches: [],
    stalls: [],
    end: 10_000,
    graceMs: 500,
    idleTimeoutMs: 3_000,
  };
  const watch = (id: number, openedAt: number, closedAt?: number, extra: object = {}) => ({
    id,
    openedAt,
    closedAt,
    startedExpired: false,
    lastWriteAt: undefined,
    ...extra,
  });
  const kinds = (input: Partial<HealthCheckInput>) =>
    checkHealth({ ...base, ...input }).map((v) => v.invariant);

  it('turns health changes into synced stretches', () => {
    expect(
      syncedIntervals(
        [
          { at: 0, state: 'connecting' },
          { at: 10, state: 'synced' },
          { at: 20, state: 'synced' },
          { at: 30, state: 'retrying' },
          { at: 40, state: 'synced' },
          { at: 100, state: 'retrying' },
          { at: 120, state: 'synced' },
        ],
        100,
      ),
    ).toEqual([
      { from: 10, to: 30 },
      { from: 40, to: 100 },
    ]);
    expect(
      mergeIntervals([
        { from: 5, to: 9 },
        { from: 0, to: 5 },
        { from: 20, to: 20 },
      ]),
    ).toEqual([{ from: 0, to: 9 }]);
  });

  it('accepts synced while a watch is open, and within the grace after it closed', () => {
    expect(
      kinds({
        changes: [
          { at: 0, state: 'connecting' },
          { at: 100, state: 'synced' },
          { at: 2_400, state: 'retrying' },
          { at: 3_000, state: 'synced' },
        ],
        watches: [watch(1, 90, 2_000), watch(2, 2_900)],
      }),
    ).toEqual([]);
  });

  it('catches synced right after a LIST while the watch is not open yet (a fake health stream)', () => {
    const [v] = checkHealth({
      ...base,
      changes: [{ at: 100, state: 'synced' }],
      watches: [watch(1, 160)],
    });
    expect(v).toMatchObject({ invariant: 'synced-needs-open-watch', at: 100 });
    expect(v?.message).toMatch(/synced for 60 ms with no watch open, before any watch was open/);
  });

  it('catches synced long after the watch was cut, and while a new one hangs before its headers', () => {
    expect(kinds({ changes: [{ at: 100, state: 'synced' }], watches: [watch(1, 50, 1_000)] })).toEqual([
      'synced-needs-open-watch',
    ]);
    const [v] = checkHealth({
      ...base,
      changes: [
        { at: 100, state: 'synced' },
        { at: 1_000, state: 'retrying' },
        { at: 5_000, state: 'synced' },
      ],
      watches: [watch(1, 50, 1_000), watch(2, 7_000)],
    });
    expect(v?.message).toMatch(/synced for 2000 ms with no watch open, before its next watch was open/);
  });

  it('catches synced on a watch whose 410 had already been sent', () => {
    const expired = watch(2, 1_000, 1_002, { startedExpired: true, lastWriteAt: 1_000 });
    expect(
      kinds({
        changes: [
          { at: 1_001, state: 'synced' },
          { at: 1_003, state: 'retrying' },
        ],
        watches: [watch(1, 0, 900), expired],
      }),
    ).toEqual(['synced-on-expired-watch']);
    // Its 410 still held by a stall: the client could not know.
    const held = watch(2, 1_000, 5_000, { startedExpired: true, lastWriteAt: 4_000 });
    expect(
      kinds({
        changes: [
          { at: 2_000, state: 'synced' },
          { at: 4_001, state: 'retrying' },
        ],
        watches: [held],
        stalls: [{ from: 500, to: 4_000 }],
      }),
    ).toEqual([]);
  });

  it('catches synced past the idle timeout into a stall of its watch, not before', () => {
    const changes = [{ at: 100, state: 'synced' as const }];
    expect(kinds({ changes, watches: [watch(1, 50)], stalls: [{ from: 1_000, to: 4_400 }] })).toEqual([]);
    const [v] = checkHealth({
      ...base,
      changes,
      watches: [watch(1, 50)],
      stalls: [{ from: 1_000, to: 6_000 }],
    });
    expect(v).toMatchObject({ invariant: 'synced-through-stall', at: 4_500 });
    // A watch opened during the stall gets its own idle timeout.
    expect(
      kinds({
        changes: [
          { at: 100, state: 'synced' },
          { at: 3_900, state: 'retrying' },
          { at: 4_200, state: 'synced' },
        ],
        watches: [watch(1, 50, 3_900), watch(2, 4_100)],
        stalls: [{ from: 1_000, to: 7_000 }],
      }),
    ).toEqual([]);
  });
});

describe('checkPromptReconnect', () => {
  const ended = (extra: Partial<EndedWatch>): EndedWatch => ({
    id: 1,
    openedAt: 0,
    closedAt: 2_000,
    startedExpired: false,
    lastWriteAt: 1_000,
    closedBy: 'cut',
    ...extra,
  });
  const check = (
    watches: EndedWatch[],
    requestTimes: number[],
    downtimes = [] as { from: number; to: number }[],
    badEvents: number[] = [],
  ) =>
    checkPromptReconnect({
      stream: 'c/web',
      watches,
      requestTimes,
      downtimes,
      badEvents,
      end: 10_000,
      reopenMs: 100,
      graceMs: 500,
    });

  it('accepts a new request at once after a healthy watch was cut or ended', () => {
    expect(
      check(
        [ended({}), ended({ id: 2, openedAt: 2_050, closedAt: 9_000, closedBy: 'end' })],
        [1, 2_050, 9_010],
      ),
    ).toEqual([]);
  });

  it('catches a backoff after the cut of a healthy watch (a fake request log)', () => {
    const [v] = check([ended({})], [1, 2_900]);
    expect(v).toMatchObject({ invariant: 'prompt-reconnect', at: 2_000, actual: '900 ms' });
    expect(check([ended({ lastWriteAt: undefined })], [])[0]?.actual).toBe('none');
  });

  it('leaves alone short silent watches, client-side ends, expiries and down times', () => {
    expect(check([ended({ lastWriteAt: undefined, closedAt: 900 })], [5_000])).toEqual([]);
    expect(check([ended({ closedBy: 'client' })], [5_000])).toEqual([]);
    expect(check([ended({ closedBy: 'expired' })], [5_000])).toEqual([]);
    expect(check([ended({ closedBy: 'restart' })], [5_000])).toEqual([]);
    expect(check([ended({})], [5_000], [{ from: 2_000, to: 4_000 }])).toEqual([]);
    expect(check([ended({ closedAt: 9_800 })], [])).toEqual([]);
  });

  it('leaves alone a watch that was sent a malformed or oversized event: the client ended it, with backoff', () => {
    expect(check([ended({})], [2_900], [], [1_998])).toEqual([]);
    // A bad event outside the watch's life does not excuse it.
    expect(check([ended({ openedAt: 100 })], [2_900], [], [50, 2_100])[0]?.invariant).toBe(
      'prompt-reconnect',
    );
  });
});

describe('backoff cap and silence bound', () => {
  const caps = { backoffMaxMs: 2_000, maxRetryAfterMs: 3_000 };
  const retry = (retryInMs: number, retryAfterMs?: number) => ({
    at: 1,
    stream: 'c/web',
    retryInMs,
    retryAfterMs,
    error: 'x',
  });

  it('catches a jittered wait above the cap, and a Retry-After wait above its cap', () => {
    expect(checkBackoffCap(retry(2_000), caps)).toBeUndefined();
    expect(checkBackoffCap(retry(2_400), caps)?.invariant).toBe('backoff-cap');
    expect(checkBackoffCap(retry(3_000, 3_000), caps)).toBeUndefined();
    expect(checkBackoffCap(retry(5_000, 5_000), caps)?.expected).toMatch(/maxRetryAfterMs/);
  });

  it('reports each request held silent past the bound once', () => {
    const checker = new SilenceChecker(3_500);
    const request = {
      method: 'GET',
      path: '/apis/discovery.k8s.io/v1/namespaces/ns/endpointslices',
      query: { labelSelector: 'kubernetes.io/service-name=web', limit: '2' },
      status: 0,
      watch: false,
      headers: { 'user-agent': 'chaos/list' },
      receivedAt: 1_000,
    };
    const held = [{ request, stage: 'body' as const, since: 1_000 }];
    expect(checker.observe(4_000, held)).toEqual([]);
    const [v] = checker.observe(4_600, held);
    expect(v).toMatchObject({
      invariant: 'silence-bound',
      at: 4_500,
      stream: 'chaos/list kubernetes.io/service-name=web',
    });
    expect(v?.message).toMatch(/^LIST .*\(body stalled\)$/);
    expect(checker.observe(9_000, held)).toEqual([]);
  });
});

describe('checkErrorBodies', () => {
  const request = {
    method: 'GET',
    path: '/apis/discovery.k8s.io/v1/namespaces/ns/endpointslices',
    query: { labelSelector: 'kubernetes.io/service-name=web' },
    status: 503,
    watch: true,
    headers: { 'user-agent': 'chaos/list' },
    receivedAt: 5_000,
  };
  const mib16 = 16 * 2 ** 20;

  it('catches a client that read a huge error body to its end, not one that hung up early', () => {
    const [v] = checkErrorBodies(
      [
        { request, bodyBytes: mib16, written: mib16, done: true },
        { request, bodyBytes: mib16, written: 300_000, done: true },
        { request, bodyBytes: mib16, written: 1_000, done: false },
      ],
      1_000,
    );
    expect(v).toMatchObject({ invariant: 'error-body-capped', at: 5_000, actual: `${mib16} bytes read` });
    expect(v?.message).toBe('the client read the whole 16.0 MiB body of a 503 answer to a WATCH (+4000 ms)');
    expect(checkErrorBodies([{ request, bodyBytes: mib16, written: 300_000, done: true }])).toEqual([]);
  });
});

describe('ConvergenceTracker', () => {
  it('times each stream from the end of the faults to the final state while synced', () => {
    const tracker = new ConvergenceTracker();
    tracker.onSet('a', 0, 'final');
    tracker.onHealth('a', 0, 'synced');
    tracker.onSet('b', 0, 'old');
    tracker.onHealth('b', 0, 'synced');
    tracker.faultsEnded(
      1_000,
      new Map([
        ['a', 'final'],
        ['b', 'final'],
        ['c', 'final'],
      ]),
    );
    tracker.onSet('b', 1_500, 'final');
    tracker.onHealth('c', 1_200, 'retrying');
    tracker.onSet('c', 1_300, 'final');
    expect(tracker.pending).toEqual(['c']);
    tracker.onHealth('c', 12_000, 'synced');
    const { times, violations } = tracker.result(10_000);
    expect([...times]).toEqual([
      ['a', 0],
      ['b', 500],
      ['c', 11_000],
    ]);
    expect(violations.map((v) => [v.invariant, v.stream])).toEqual([['convergence', 'c']]);
  });

  it('catches a stream that never gets there', () => {
    const tracker = new ConvergenceTracker();
    tracker.onSet('a', 0, 'old');
    tracker.faultsEnded(1_000, new Map([['a', 'final']]));
    const { violations } = tracker.result(10_000);
    expect(violations[0]).toMatchObject({
      invariant: 'convergence',
      expected: 'final, synced',
      actual: 'old, not synced',
    });
  });
});

describe('judgeFailure', () => {
  const outcome = (error: unknown, seenBy: string[] = []): RequestOutcome => ({
    id: 'undici-0-1',
    adapter: 'undici',
    method: 'GET',
    startedAt: 1_000,
    endedAt: 1_100,
    error,
    seenBy,
  });
  const coded = (code: string, message = code) => Object.assign(new Error(message), { code });
  const attempt = (endpoint: string, sent: boolean, code = 'ECONNREFUSED') => ({
    endpoint,
    failure: 'connect' as const,
    code,
    sent,
    error: coded(code),
  });
  const death = { address: '127.0.0.3', from: 1_050, to: 3_000 };

  it('catches a request that never reached a pod and failed: refused everywhere, no endpoints, a raw refusal', () => {
    const refused = new AllAttemptsFailedError([
      attempt('127.0.0.2:80', false),
      attempt('127.0.0.3:80', false),
    ]);
    expect(judgeFailure(outcome(refused), [death])?.invariant).toBe('never-sent-request-failed');
    expect(judgeFailure(outcome(coded('ERR_NO_ENDPOINTS')), [])?.invariant).toBe('never-sent-request-failed');
    expect(judgeFailure(outcome(coded('ECONNREFUSED')), [death])?.invariant).toBe(
      'never-sent-request-failed',
    );
    // Wrapped by axios (cause not enumerable) it is the same.
    const wrapped = new AxiosError('All 2 attempts failed', 'ERR_ALL_ATTEMPTS_FAILED');
    Object.defineProperty(wrapped, 'cause', { value: refused, enumerable: false });
    expect(errorFacts(wrapped).attempts).toHaveLength(2);
    expect(judgeFailure(outcome(wrapped), [death])?.invariant).toBe('never-sent-request-failed');
  });

  it('accounts a failure that was sent to a pod that died meanwhile', () => {
    const reset = new AllAttemptsFailedError([attempt('127.0.0.3:80', true, 'UND_ERR_SOCKET')]);
    expect(judgeFailure(outcome(reset), [death])).toBeUndefined();
    expect(judgeFailure(outcome(coded('ECONNRESET'), ['127.0.0.3']), [death])).toBeUndefined();
    expect(judgeFailure(outcome(undefined), [])).toBeUndefined();
    // Killed in the very millisecond the request failed.
    const sameMs = { ...death, from: 1_100 };
    expect(judgeFailure(outcome(coded('ERR_BAD_RESPONSE'), ['127.0.0.3']), [sameMs])).toBeUndefined();
  });

  it('catches a failure nobody died for, and one without a code', () => {
    const v = judgeFailure(outcome(coded('UND_ERR_SOCKET'), ['127.0.0.2']), [death]);
    expect(v).toMatchObject({ invariant: 'unaccounted-request-failure' });
    expect(v?.message).toMatch(/no pod it went to \(127\.0\.0\.2\) died meanwhile/);
    expect(judgeFailure(outcome(new Error('boom'), ['127.0.0.3']), [death])?.message).toMatch(
      /without a code/,
    );
    const before = { ...death, from: 0, to: 900 };
    expect(judgeFailure(outcome(coded('ECONNRESET'), ['127.0.0.3']), [before])?.invariant).toBe(
      'unaccounted-request-failure',
    );
  });
});
