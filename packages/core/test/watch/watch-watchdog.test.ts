import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WatchDeadlineError, WatchIdleError } from '../../src/watch/errors.js';
import { WATCH_DEADLINE_MARGIN_MS, WatchWatchdog } from '../../src/watch/watch-watchdog.js';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
});
afterEach(() => {
  vi.useRealTimers();
});

function watchdog(idleTimeoutMs: number, timeoutSeconds: number) {
  const expired: Error[] = [];
  const dog = new WatchWatchdog(idleTimeoutMs, timeoutSeconds, (error) => expired.push(error));
  return { dog, expired };
}

describe('WatchWatchdog', () => {
  it('ends a watch that sent no complete event for idleTimeoutMs', () => {
    const { expired } = watchdog(1000, 300);
    vi.advanceTimersByTime(999);
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(expired).toHaveLength(1);
    expect(expired[0]).toBeInstanceOf(WatchIdleError);
  });

  it('measures idleness from the last event, not from the start', () => {
    const { dog, expired } = watchdog(1000, 300);
    for (let i = 0; i < 10; i++) {
      vi.advanceTimersByTime(900);
      dog.event();
    }
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(1000);
    expect(expired[0]).toBeInstanceOf(WatchIdleError);
  });

  it('ends a watch that is still open a margin past its timeoutSeconds, however lively', () => {
    const { dog, expired } = watchdog(1000, 5);
    const deadline = 5000 + WATCH_DEADLINE_MARGIN_MS;
    for (let t = 0; t < deadline - 500; t += 500) {
      vi.advanceTimersByTime(500);
      dog.event();
    }
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(500);
    expect(expired).toHaveLength(1);
    expect(expired[0]).toBeInstanceOf(WatchDeadlineError);
    expect(expired[0]?.message).toMatch(/asked to end after 5 s/);
  });

  it('fires at most once, and never after stop()', () => {
    const first = watchdog(1000, 300);
    vi.advanceTimersByTime(10_000);
    expect(first.expired).toHaveLength(1);
    const second = watchdog(1000, 300);
    second.dog.stop();
    vi.advanceTimersByTime(10_000);
    expect(second.expired).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });
});
