import { describe, expect, it } from 'vitest';
import { Backoff } from '../../src/watch/backoff.js';

describe('Backoff', () => {
  it('doubles from 800 ms up to 30 s without jitter', () => {
    const backoff = new Backoff({ jitter: 0 });
    const delays = Array.from({ length: 9 }, (_, i) => backoff.next(i));
    expect(delays).toEqual([800, 1600, 3200, 6400, 12800, 25600, 30000, 30000, 30000]);
  });

  it('spreads delays by ±25 % with the default jitter', () => {
    expect(new Backoff({}, () => 0).next(0)).toBe(600);
    expect(new Backoff({}, () => 1).next(0)).toBe(1000);
  });

  it('never exceeds maxMs, jitter included (the jitter spreads delays below the cap)', () => {
    const highest = new Backoff({}, () => 1); // the largest jitter draw: +25 %
    const delays = Array.from({ length: 10 }, (_, i) => highest.next(i));
    expect(Math.max(...delays)).toBe(30_000);
    expect(delays.slice(0, 3)).toEqual([1000, 2000, 4000]);
    const lowest = new Backoff({}, () => 0); // −25 %
    expect(Array.from({ length: 10 }, (_, i) => lowest.next(i)).at(-1)).toBe(22_500);
  });

  it('starts over after a quiet period of resetAfterMs', () => {
    const backoff = new Backoff({ jitter: 0, resetAfterMs: 120_000 });
    backoff.next(0);
    backoff.next(1000);
    expect(backoff.next(2000)).toBe(3200);
    expect(backoff.next(2000 + 120_000)).toBe(800);
  });

  it('counts server-chosen delays as attempts', () => {
    const backoff = new Backoff({ jitter: 0 });
    backoff.record(0);
    expect(backoff.attempt).toBe(1);
    expect(backoff.next(1)).toBe(1600);
  });
});
