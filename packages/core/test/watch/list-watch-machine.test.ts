import { describe, expect, it } from 'vitest';
import { KubeApiError } from '../../src/transport/kube-api-error.js';
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
    expect(page2.health).toMatchObject({ state: 'synced', resourceVersion: '10' });
  });

  it('draws each watch its own timeoutSeconds in [5, 10) min, so many clients do not expire together', () => {
    const draws = [0, 0.999, 0.5];
    const { m } = machine({ initialList: 'list' }, () => draws.shift() ?? 0.5);
    const timeouts: unknown[] = [];
    let step = listThenWatch(m);
    for (let i = 0; i < 3; i++) {
      timeouts.push(step.command?.kind === 'watch' ? step.command.query.timeoutSeconds : undefined);
      step = m.handle({ kind: 'watchEnded', durationMs: 300_000 }); // a clean end: the next watch
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
    expect(next.command).toMatchObject({ kind: 'watch', query: { resourceVersion: '150' } });
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
    expect(m.handle({ kind: 'watchOpened' }).health?.state).toBe('synced');
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
