import { describe, expect, it } from 'vitest';
import { KubeApiError, KubeTransportError } from '../../src/transport/kube-api-error.js';
import { WatchTooShortError } from '../../src/watch/errors.js';
import {
  ListWatchMachine,
  type ListWatchMachineOptions,
  type Step,
} from '../../src/watch/list-watch-machine.js';
import type { KubeObject, WatchEvent } from '../../src/watch/watch-event.js';

function slice(name: string, rv: string): KubeObject {
  return { metadata: { name, namespace: 'default', resourceVersion: rv } };
}
const ev = (type: WatchEvent['type'], object: KubeObject): WatchEvent => ({ type, object });
const bookmark = (rv: string, end = false): WatchEvent =>
  ev('BOOKMARK', {
    metadata: {
      resourceVersion: rv,
      ...(end ? { annotations: { 'k8s.io/initial-events-end': 'true' } } : {}),
    },
  });
const apiError = (
  code: number,
  options: { reason?: string; retryAfterMs?: number; inStream?: boolean } = {},
) =>
  new KubeApiError({
    method: 'GET',
    path: '/x',
    status: { code, reason: options.reason ?? '', message: 'm' },
    retryAfterMs: options.retryAfterMs,
    inStream: options.inStream,
  });

function machine(options: ListWatchMachineOptions = {}, random = () => 0.5) {
  let clock = 1_000_000;
  const m = new ListWatchMachine({ backoff: { jitter: 0 }, ...options }, () => clock, random);
  return {
    m,
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

/** Runs a paged list to completion and returns the step that starts the watch. */
function listThenWatch(m: ListWatchMachine, rv = '100', items = [slice('a', '90')]): Step {
  expect(m.handle({ kind: 'start' }).command?.kind).toBe('list');
  return m.handle({ kind: 'listPage', items, resourceVersion: rv });
}

describe('ListWatchMachine — LIST then WATCH', () => {
  it('pages the list, then watches from its resourceVersion with bookmarks and a timeout', () => {
    const { m } = machine({ initialList: 'list', pageSize: 2 });
    const start = m.handle({ kind: 'start' });
    expect(start.events).toEqual([{ type: 'init' }]);
    expect(start.command).toEqual({ kind: 'list', query: { limit: 2 } });
    expect(start.health?.state).toBe('connecting');

    const page1 = m.handle({
      kind: 'listPage',
      items: [slice('a', '1'), slice('b', '2')],
      resourceVersion: '10',
      continue: 'tok',
    });
    expect(page1.events.map((e) => e.type)).toEqual(['initApply', 'initApply']);
    expect(page1.command).toEqual({ kind: 'list', query: { limit: 2, continue: 'tok' } });

    const page2 = m.handle({ kind: 'listPage', items: [slice('c', '3')], resourceVersion: '10' });
    expect(page2.events).toEqual([
      { type: 'initApply', object: slice('c', '3') },
      { type: 'initDone', resourceVersion: '10' },
    ]);
    expect(page2.command?.kind).toBe('watch');
    const query = page2.command?.kind === 'watch' ? page2.command.query : undefined;
    expect(query?.resourceVersion).toBe('10');
    expect(query?.allowWatchBookmarks).toBe(true);
    expect(query?.sendInitialEvents).toBeUndefined();
    expect(query?.timeoutSeconds).toBeGreaterThanOrEqual(300);
    expect(query?.timeoutSeconds).toBeLessThan(600);
    // Complete, but not synced before the watch that keeps it current is open and confirmed.
    expect(page2.health).toBeUndefined();
    expect(m.handle({ kind: 'watchOpened' }).health).toBeUndefined();
    expect(m.handle({ kind: 'watchSettled' }).health).toMatchObject({
      state: 'synced',
      resourceVersion: '10',
    });
  });

  it('draws each watch its own timeoutSeconds in [5, 10) min, so many clients do not expire together', () => {
    // Each cycle draws the rewatch jitter (0.1 here), then the next watch's timeout.
    const draws = [0, 0.1, 0.999, 0.1, 0.5];
    const { m } = machine({ initialList: 'list' }, () => draws.shift() ?? 0.5);
    const timeouts: unknown[] = [];
    let step = listThenWatch(m);
    for (let i = 0; i < 3; i++) {
      timeouts.push(step.command?.kind === 'watch' ? step.command.query.timeoutSeconds : undefined);
      m.handle({ kind: 'watchEnded', durationMs: 300_000 }); // a clean end: the next watch
      step = m.handle({ kind: 'slept' });
    }
    expect(timeouts).toEqual([300, 599, 450]);
  });

  it('turns ADDED/MODIFIED into apply and DELETED into delete, tracking the resourceVersion', () => {
    const { m } = machine({ initialList: 'list' });
    listThenWatch(m);
    expect(m.handle({ kind: 'watchEvent', event: ev('ADDED', slice('b', '101')) }).events).toEqual([
      { type: 'apply', object: slice('b', '101'), resourceVersion: '101' },
    ]);
    expect(m.handle({ kind: 'watchEvent', event: ev('MODIFIED', slice('b', '102')) }).events[0]?.type).toBe(
      'apply',
    );
    expect(m.handle({ kind: 'watchEvent', event: ev('DELETED', slice('b', '103')) }).events).toEqual([
      { type: 'delete', object: slice('b', '103'), resourceVersion: '103' },
    ]);
    expect(m.resourceVersion).toBe('103');
  });

  it('advances the resourceVersion on bookmarks without emitting, and re-watches from it after a clean end', () => {
    const { m, advance } = machine({ initialList: 'list' });
    listThenWatch(m);
    expect(m.handle({ kind: 'watchEvent', event: bookmark('150') }).events).toEqual([]);
    advance(60_000);
    const next = m.handle({ kind: 'watchEnded', durationMs: 60_000 });
    expect(next.events).toEqual([]); // no relist
    expect(next.command).toEqual({ kind: 'sleep', delayMs: 50 }); // the rewatch jitter, not a backoff
    expect(next.health).toEqual({ state: 'resuming', resourceVersion: '150', staleSince: 1_060_000 });
    expect(m.handle({ kind: 'slept' }).command).toMatchObject({
      kind: 'watch',
      query: { resourceVersion: '150' },
    });
  });

  it('treats a very short empty watch as a failure and backs off instead of spinning', () => {
    const { m } = machine({ initialList: 'list' });
    listThenWatch(m);
    const step = m.handle({ kind: 'watchEnded', durationMs: 5 });
    expect(step.command).toEqual({ kind: 'sleep', delayMs: 800 });
    expect(step.health).toMatchObject({ state: 'retrying' });
    expect(step.health?.state === 'retrying' && step.health.error).toBeInstanceOf(WatchTooShortError);
    expect(m.handle({ kind: 'slept' }).command).toMatchObject({
      kind: 'watch',
      query: { resourceVersion: '100' },
    });
  });

  it('relists at once on an in-stream 410 Expired after progress, emitting init first', () => {
    const { m } = machine({ initialList: 'list' });
    listThenWatch(m);
    m.handle({ kind: 'watchEvent', event: ev('ADDED', slice('b', '101')) });
    const step = m.handle({
      kind: 'watchEvent',
      event: ev('ERROR', {
        kind: 'Status',
        code: 410,
        reason: 'Expired',
        message: 'too old resource version',
      }),
    });
    expect(step.events).toEqual([{ type: 'init' }]);
    expect(step.command).toEqual({ kind: 'list', query: { limit: 500 } });
    expect(step.health?.state === 'retrying' && (step.health.error as KubeApiError).inStream).toBe(true);
  });

  it('relists on an HTTP 410 for the watch request', () => {
    const { m } = machine({ initialList: 'list' });
    listThenWatch(m);
    m.handle({ kind: 'watchEvent', event: bookmark('120') });
    const step = m.handle({ kind: 'failed', error: apiError(410, { reason: 'Gone' }) });
    expect(step.events).toEqual([{ type: 'init' }]);
    expect(step.command?.kind).toBe('list');
  });

  it('backs off when 410s repeat without any progress in between', () => {
    const { m } = machine({ initialList: 'list' });
    listThenWatch(m);
    m.handle({ kind: 'watchEvent', event: bookmark('120') });
    m.handle({ kind: 'failed', error: apiError(410) }); // relist at once
    const again = m.handle({ kind: 'failed', error: apiError(410) }); // the list itself 410s
    expect(again.command).toEqual({ kind: 'sleep', delayMs: 800 });
  });

  it('honours Retry-After on 429 and resumes the watch from its resourceVersion', () => {
    const { m } = machine({ initialList: 'list' });
    listThenWatch(m);
    const step = m.handle({ kind: 'failed', error: apiError(429, { retryAfterMs: 7000 }) });
    expect(step.command).toEqual({ kind: 'sleep', delayMs: 7000 });
    expect(m.handle({ kind: 'slept' }).command).toMatchObject({
      kind: 'watch',
      query: { resourceVersion: '100' },
    });
  });

  it('caps an absurd Retry-After', () => {
    const { m } = machine({ initialList: 'list', maxRetryAfterMs: 60_000 });
    listThenWatch(m);
    expect(m.handle({ kind: 'failed', error: apiError(503, { retryAfterMs: 86_400_000 }) }).command).toEqual({
      kind: 'sleep',
      delayMs: 60_000,
    });
  });

  it('backs off exponentially on repeated failures and reports the attempt', () => {
    const { m, advance } = machine({ initialList: 'list' });
    listThenWatch(m);
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      const step = m.handle({ kind: 'failed', error: apiError(403, { reason: 'Forbidden' }) });
      if (step.command?.kind === 'sleep') delays.push(step.command.delayMs);
      expect(step.health).toMatchObject({ state: 'retrying', attempt: i + 1 });
      advance(10);
      m.handle({ kind: 'slept' });
    }
    expect(delays).toEqual([800, 1600, 3200, 6400]);
  });

  it('keeps staleSince from the first failure until the watch is back', () => {
    const { m, advance } = machine({ initialList: 'list' });
    listThenWatch(m);
    const first = m.handle({ kind: 'failed', error: apiError(500) });
    advance(5000);
    m.handle({ kind: 'slept' });
    const second = m.handle({ kind: 'failed', error: apiError(500) });
    const since = first.health?.state === 'retrying' ? first.health.staleSince : -1;
    expect(second.health).toMatchObject({ state: 'retrying', staleSince: since });
    m.handle({ kind: 'slept' });
    expect(m.handle({ kind: 'watchOpened' }).health).toBeUndefined();
    expect(m.handle({ kind: 'watchEvent', event: bookmark('101') }).health?.state).toBe('synced');
  });

  it('retries a failed list from scratch after backoff', () => {
    const { m } = machine({ initialList: 'list' });
    m.handle({ kind: 'start' });
    const step = m.handle({ kind: 'failed', error: apiError(503) });
    expect(step.command?.kind).toBe('sleep');
    const retry = m.handle({ kind: 'slept' });
    expect(retry.events).toEqual([{ type: 'init' }]);
    expect(retry.command).toEqual({ kind: 'list', query: { limit: 500 } });
  });

  it('relists at once when a continue token expires mid-list', () => {
    const { m } = machine({ initialList: 'list', pageSize: 1 });
    m.handle({ kind: 'start' });
    m.handle({ kind: 'listPage', items: [slice('a', '1')], resourceVersion: '10', continue: 'old' });
    const step = m.handle({ kind: 'failed', error: apiError(410, { reason: 'Expired' }) });
    expect(step.events).toEqual([{ type: 'init' }]);
    expect(step.command).toEqual({ kind: 'list', query: { limit: 1 } });
  });

  it('rewatches from the last resourceVersion after a decode failure (the server replays the event)', () => {
    const { m } = machine({ initialList: 'list' });
    listThenWatch(m);
    m.handle({ kind: 'watchEvent', event: ev('MODIFIED', slice('a', '105')) });
    const step = m.handle({ kind: 'failed', error: new Error('bad line') });
    expect(step.command?.kind).toBe('sleep');
    expect(m.handle({ kind: 'slept' }).command).toMatchObject({
      kind: 'watch',
      query: { resourceVersion: '105' },
    });
  });

  it('fails an event that has no resourceVersion instead of losing track', () => {
    const { m } = machine({ initialList: 'list' });
    listThenWatch(m);
    const step = m.handle({ kind: 'watchEvent', event: ev('ADDED', { metadata: { name: 'x' } }) });
    expect(step.events).toEqual([]);
    expect(step.command?.kind).toBe('sleep');
  });

  it('starts over with a fresh list when the consumer asks for a resync', () => {
    const { m } = machine({ initialList: 'list' });
    listThenWatch(m);
    const step = m.handle({ kind: 'resync', error: new Error('invalid slice') });
    expect(step.command?.kind).toBe('sleep');
    const relist = m.handle({ kind: 'slept' });
    expect(relist.events).toEqual([{ type: 'init' }]);
    expect(relist.command?.kind).toBe('list');
  });

  it('throws on an input its phase cannot receive (a bug in the shell)', () => {
    const { m } = machine({ initialList: 'list' });
    expect(() => m.handle({ kind: 'slept' })).toThrow(/phase idle/);
  });
});

describe('ListWatchMachine — streaming list', () => {
  it('asks for initial events and finishes the init at the initial-events-end bookmark', () => {
    const { m } = machine({ initialList: 'auto' });
    const start = m.handle({ kind: 'start' });
    expect(start.events).toEqual([{ type: 'init' }]);
    expect(start.command).toMatchObject({
      kind: 'watch',
      query: {
        resourceVersion: '',
        resourceVersionMatch: 'NotOlderThan',
        sendInitialEvents: true,
        allowWatchBookmarks: true,
      },
    });
    expect(m.handle({ kind: 'watchEvent', event: ev('ADDED', slice('a', '5')) }).events).toEqual([
      { type: 'initApply', object: slice('a', '5') },
    ]);
    expect(m.handle({ kind: 'watchEvent', event: bookmark('6') }).events).toEqual([]);
    const done = m.handle({ kind: 'watchEvent', event: bookmark('9', true) });
    expect(done.events).toEqual([{ type: 'initDone', resourceVersion: '9' }]);
    expect(done.command).toBeUndefined(); // the same stream goes on
    expect(done.health).toMatchObject({ state: 'synced', resourceVersion: '9' });
    expect(m.handle({ kind: 'watchEvent', event: ev('MODIFIED', slice('a', '10')) }).events[0]?.type).toBe(
      'apply',
    );
  });

  it('falls back to LIST for good when the server rejects streaming (422)', () => {
    const { m } = machine({ initialList: 'auto' });
    m.handle({ kind: 'start' });
    const step = m.handle({ kind: 'failed', error: apiError(422, { reason: 'Invalid' }) });
    expect(step.events).toEqual([{ type: 'init' }]);
    expect(step.command).toEqual({ kind: 'list', query: { limit: 500 } });
    expect(m.initialList).toBe('list');
    // An expected turn, said calmly: still connecting, with a notice; no error, no attempt.
    expect(step.health).toEqual({
      state: 'connecting',
      since: 1_000_000,
      notice:
        'the apiserver does not serve streaming lists (422 Invalid); reading the state with LIST instead',
    });
    m.handle({ kind: 'listPage', items: [], resourceVersion: '3' });
    const later = m.handle({ kind: 'watchEvent', event: ev('ERROR', { kind: 'Status', code: 410 }) });
    expect(later.events).toEqual([{ type: 'init' }]);
    expect(later.command?.kind).toBe('list');
  });

  it('does not fall back when streaming was asked for explicitly', () => {
    const { m } = machine({ initialList: 'streaming' });
    m.handle({ kind: 'start' });
    expect(m.handle({ kind: 'failed', error: apiError(422) }).command?.kind).toBe('sleep');
    expect(m.initialList).toBe('streaming');
  });

  it('does not fall back on errors that are not a rejection of the parameters (403)', () => {
    const { m } = machine({ initialList: 'auto' });
    m.handle({ kind: 'start' });
    expect(m.handle({ kind: 'failed', error: apiError(403) }).command?.kind).toBe('sleep');
    expect(m.initialList).toBe('auto');
  });

  it('restarts the init when the stream ends before the end bookmark', () => {
    const { m } = machine({ initialList: 'auto' });
    m.handle({ kind: 'start' });
    m.handle({ kind: 'watchEvent', event: ev('ADDED', slice('a', '5')) });
    expect(m.handle({ kind: 'watchEnded', durationMs: 50 }).command?.kind).toBe('sleep');
    const again = m.handle({ kind: 'slept' });
    expect(again.events).toEqual([{ type: 'init' }]);
    expect(again.command).toMatchObject({ kind: 'watch', query: { sendInitialEvents: true } });
  });
});

describe('ListWatchMachine — liveness: cuts are not failures, synced means current', () => {
  const cut = () =>
    new KubeTransportError('ERR_KUBE_TRANSPORT', 'GET', '/x', 'the watch stream broke: reset');
  const event = (rv: string) => ({ kind: 'watchEvent', event: ev('MODIFIED', slice('a', rv)) }) as const;

  /** A confirmed watch: listed, opened, and an event received. */
  function syncedWatch(options: ListWatchMachineOptions = {}, random = () => 0.5) {
    const t = machine({ initialList: 'list', ...options }, random);
    listThenWatch(t.m);
    t.m.handle({ kind: 'watchOpened' });
    expect(t.m.handle(event('101')).health?.state).toBe('synced');
    return t;
  }

  it('reopens a watch cut after a healthy life at once (jitter only), however often it is cut', () => {
    const { m, advance } = syncedWatch();
    for (let i = 0; i < 8; i++) {
      advance(20_000);
      const lost = m.handle({ kind: 'watchLost', error: cut(), durationMs: 20_000 });
      expect(lost.command).toEqual({ kind: 'sleep', delayMs: 50 }); // never 0.8 → 1.6 → … → 30 s
      expect(lost.health).toMatchObject({ state: 'resuming', resourceVersion: String(101 + i) });
      expect(m.handle({ kind: 'slept' }).command).toMatchObject({
        kind: 'watch',
        query: { resourceVersion: String(101 + i) },
      });
      m.handle({ kind: 'watchOpened' });
      expect(m.handle(event(String(102 + i))).health?.state).toBe('synced');
    }
  });

  it('draws the rewatch delay in [0, rewatchJitterMs)', () => {
    for (const [draw, delayMs] of [
      [0, 0],
      [0.999, 249],
    ] as const) {
      const { m } = syncedWatch({ rewatchJitterMs: 250 }, () => draw);
      expect(m.handle({ kind: 'watchEnded', durationMs: 5000 }).command).toEqual({ kind: 'sleep', delayMs });
    }
  });

  it('reopens at once a watch that delivered events even if it was short, and backs off one that was short and empty', () => {
    const { m } = syncedWatch();
    expect(m.handle({ kind: 'watchLost', error: cut(), durationMs: 200 }).command).toEqual({
      kind: 'sleep',
      delayMs: 50,
    });
    m.handle({ kind: 'slept' });
    m.handle({ kind: 'watchOpened' });
    const young = m.handle({ kind: 'watchLost', error: cut(), durationMs: 200 });
    expect(young.command).toEqual({ kind: 'sleep', delayMs: 800 });
    expect(young.health).toMatchObject({ state: 'retrying', attempt: 1, error: cut() });
  });

  it('backs off when the reopened watch cannot be established, from the first delay (the confirmation reset it)', () => {
    const { m, advance } = machine({ initialList: 'list' });
    listThenWatch(m);
    // Failures before the first confirmed watch grow the backoff …
    for (const delayMs of [800, 1600]) {
      expect(m.handle({ kind: 'failed', error: apiError(503) }).command).toEqual({ kind: 'sleep', delayMs });
      m.handle({ kind: 'slept' });
    }
    m.handle({ kind: 'watchOpened' });
    advance(1000);
    expect(m.handle({ kind: 'watchSettled' }).health?.state).toBe('synced');
    // … and a confirmed watch (progress) starts it over.
    m.handle({ kind: 'watchLost', error: cut(), durationMs: 60_000 });
    m.handle({ kind: 'slept' });
    const refused = new KubeTransportError('ERR_KUBE_UNREACHABLE', 'GET', '/x', 'ECONNREFUSED');
    const step = m.handle({ kind: 'failed', error: refused });
    expect(step.command).toEqual({ kind: 'sleep', delayMs: 800 });
    expect(step.health).toMatchObject({ state: 'retrying', attempt: 1 });
  });

  it('keeps staleSince from the cut through the failed reopenings, until the watch is confirmed again', () => {
    const { m, advance } = syncedWatch();
    advance(1000);
    const lost = m.handle({ kind: 'watchLost', error: cut(), durationMs: 9000 });
    const staleSince = lost.health?.state === 'resuming' ? lost.health.staleSince : -1;
    expect(staleSince).toBe(1_001_000);
    m.handle({ kind: 'slept' });
    advance(500);
    expect(m.handle({ kind: 'failed', error: apiError(500) }).health).toMatchObject({ staleSince });
  });

  it('relists at once on a 410 right after a cut of a confirmed watch (no second backoff)', () => {
    const { m } = syncedWatch();
    m.handle({ kind: 'watchLost', error: cut(), durationMs: 12_000 });
    m.handle({ kind: 'slept' });
    m.handle({ kind: 'watchOpened' });
    const expired = m.handle({
      kind: 'watchEvent',
      event: ev('ERROR', { kind: 'Status', code: 410, reason: 'Expired', message: 'too old' }),
    });
    expect(expired.events).toEqual([{ type: 'init' }]);
    expect(expired.command?.kind).toBe('list');
  });

  it('does not spin when every watch after a fresh list is expired at once: the second 410 backs off', () => {
    const { m } = syncedWatch();
    const status = ev('ERROR', { kind: 'Status', code: 410, reason: 'Expired' });
    expect(m.handle({ kind: 'watchEvent', event: status }).command?.kind).toBe('list'); // at once
    m.handle({ kind: 'listPage', items: [], resourceVersion: '200' });
    m.handle({ kind: 'watchOpened' });
    expect(m.handle({ kind: 'watchEvent', event: status }).command).toEqual({ kind: 'sleep', delayMs: 800 });
  });

  it('never says synced for a resumed watch before it is confirmed, so an in-stream 410 never follows a synced', () => {
    const { m } = syncedWatch();
    const states: string[] = [];
    const record = (step: Step) => {
      if (step.health) states.push(step.health.state);
      return step;
    };
    record(m.handle({ kind: 'watchLost', error: cut(), durationMs: 5000 }));
    record(m.handle({ kind: 'slept' }));
    record(m.handle({ kind: 'watchOpened' }));
    record(
      m.handle({ kind: 'watchEvent', event: ev('ERROR', { kind: 'Status', code: 410, reason: 'Expired' }) }),
    );
    expect(states).toEqual(['resuming', 'retrying']);
  });

  it('ignores a settle timer that fires after the watch was confirmed or is over', () => {
    const { m } = syncedWatch();
    expect(m.handle({ kind: 'watchSettled' }).health).toBeUndefined(); // already confirmed
    m.handle({ kind: 'watchLost', error: cut(), durationMs: 5000 });
    expect(m.handle({ kind: 'watchSettled' }).health).toBeUndefined(); // sleeping
    m.handle({ kind: 'slept' });
    expect(m.handle({ kind: 'watchSettled' }).health).toBeUndefined(); // not opened yet
  });

  it('says resuming without an error when the server ended the watch, with the error when it was cut', () => {
    const { m } = syncedWatch();
    expect(m.handle({ kind: 'watchEnded', durationMs: 300_000 }).health).not.toHaveProperty('error');
    m.handle({ kind: 'slept' });
    m.handle({ kind: 'watchOpened' });
    m.handle({ kind: 'watchSettled' });
    const error = cut();
    expect(m.handle({ kind: 'watchLost', error, durationMs: 300_000 }).health).toMatchObject({
      state: 'resuming',
      error,
    });
  });

  it('restarts a streaming list cut before its end bookmark with backoff (no state to resume from)', () => {
    const { m } = machine({ initialList: 'streaming' });
    m.handle({ kind: 'start' });
    m.handle({ kind: 'watchOpened' });
    m.handle({ kind: 'watchEvent', event: ev('ADDED', slice('a', '5')) });
    const step = m.handle({ kind: 'watchLost', error: cut(), durationMs: 3000 });
    expect(step.command).toEqual({ kind: 'sleep', delayMs: 800 });
    expect(m.handle({ kind: 'slept' }).command).toMatchObject({ query: { sendInitialEvents: true } });
  });
});

describe('ListWatchMachine — relists counted (WatchStats.relists)', () => {
  it('counts lists that replace a held state, not the first list, its retries or its LIST fallback', () => {
    const { m } = machine({ initialList: 'auto' });
    m.handle({ kind: 'start' });
    // The first list failing and retried is still the first list.
    expect(m.handle({ kind: 'failed', error: apiError(503) }).command?.kind).toBe('sleep');
    m.handle({ kind: 'slept' });
    m.handle({ kind: 'watchEvent', event: bookmark('9', true) });
    expect(m.relists).toBe(0);
    // 410: the held state is replaced by a new (streaming) list...
    const expired = m.handle({ kind: 'watchEvent', event: ev('ERROR', { kind: 'Status', code: 410 }) });
    expect(expired.events).toEqual([{ type: 'init' }]);
    expect(m.relists).toBe(1);
    // ...which the server refuses: the LIST it falls back to is the same relist.
    const fallback = m.handle({ kind: 'failed', error: apiError(422) });
    expect(fallback.command?.kind).toBe('list');
    expect(m.relists).toBe(1);
    m.handle({ kind: 'listPage', items: [], resourceVersion: '12' });
    // An object the consumer cannot read: one more, after backoff.
    expect(m.handle({ kind: 'resync', error: new Error('bad object') }).command?.kind).toBe('sleep');
    expect(m.relists).toBe(1);
    expect(m.handle({ kind: 'slept' }).events).toEqual([{ type: 'init' }]);
    expect(m.relists).toBe(2);
  });

  it('does not count a watch resumed from its resourceVersion', () => {
    const { m } = machine({ initialList: 'list' });
    listThenWatch(m);
    m.handle({ kind: 'watchOpened' });
    m.handle({ kind: 'watchEvent', event: bookmark('101') });
    expect(m.handle({ kind: 'watchEnded', durationMs: 300_000 }).command?.kind).toBe('sleep');
    expect(m.handle({ kind: 'slept' }).command?.kind).toBe('watch');
    expect(m.relists).toBe(0);
  });
});
