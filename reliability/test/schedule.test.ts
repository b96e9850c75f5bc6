import { describe, expect, it } from 'vitest';
import { describeViolation, formatChaosReport, percentile } from '../src/chaos/report.js';
import type { ChaosResult } from '../src/chaos/run.js';
import {
  countFaults,
  faultDurationMs,
  faultSchedule,
  MALFORMED_LINES,
  type ScheduleOptions,
} from '../src/chaos/schedule.js';

const options: ScheduleOptions = {
  seed: 42,
  durationMs: 600_000,
  faultsPerSecond: 1,
  podKillsPerSecond: 0.5,
  pods: 5,
  maxDeadPods: 2,
  oversizedBytes: 512 * 1024,
  hugeBodyBytes: 16 * 1024 * 1024,
};

describe('faultSchedule', () => {
  it('is the same for the same seed, and differs for another', () => {
    expect(faultSchedule(options)).toEqual(faultSchedule(options));
    expect(faultSchedule({ ...options, seed: 43 })).not.toEqual(faultSchedule(options));
  });

  it('draws every kind of fault, in time order, within the duration', () => {
    const schedule = faultSchedule(options);
    expect(new Set(schedule.map((f) => f.fault.kind))).toEqual(
      new Set([
        'cut',
        'chunking',
        'drip',
        'expire',
        'compact',
        'status',
        'hugeErrorBody',
        'stallHeaders',
        'stallListBody',
        'stallWatches',
        'restart',
        'rotateToken',
        'malformed',
        'oversized',
        'podKill',
      ]),
    );
    expect(schedule.map((f) => f.at)).toEqual([...schedule.map((f) => f.at)].sort((a, b) => a - b));
    for (const { at, fault } of schedule)
      expect(at + faultDurationMs(fault)).toBeLessThanOrEqual(options.durationMs);
    const counts = countFaults(schedule);
    expect(counts.cutMidEvent).toBeGreaterThan(0);
    expect(counts.restartDown).toBeGreaterThan(0);
    expect(Object.keys(counts).some((k) => /^status(429|503)\+RetryAfter$/.test(k))).toBe(true);
  });

  it('never overlaps two faults of one family, and never kills more pods than allowed', () => {
    const schedule = faultSchedule(options);
    const families: Record<string, string> = {
      chunking: 'writes',
      drip: 'writes',
      stallHeaders: 'held',
      stallListBody: 'held',
      stallWatches: 'watchStall',
      restart: 'listener',
      rotateToken: 'token',
    };
    const busy = new Map<string, number>();
    for (const { at, fault } of schedule) {
      const family = families[fault.kind];
      if (family === undefined) continue;
      expect(busy.get(family) ?? 0).toBeLessThanOrEqual(at);
      busy.set(family, at + faultDurationMs(fault));
    }
    const kills = schedule.flatMap((f) => (f.fault.kind === 'podKill' ? [{ at: f.at, ...f.fault }] : []));
    expect(kills.length).toBeGreaterThan(50);
    for (const kill of kills) {
      const dead = kills.filter((k) => k.at <= kill.at && k.at + k.downMs > kill.at);
      expect(dead.length).toBeLessThanOrEqual(2);
      expect(new Set(dead.map((k) => k.pod)).size).toBe(dead.length);
    }
  });

  it('leaves out a kind whose weight is 0, and sends only lines that cannot pass for an event', () => {
    const schedule = faultSchedule({ ...options, weights: { cut: 0, restart: 0 }, podKillsPerSecond: 0 });
    expect(
      schedule.some(
        (f) => f.fault.kind === 'cut' || f.fault.kind === 'restart' || f.fault.kind === 'podKill',
      ),
    ).toBe(false);
    for (const line of MALFORMED_LINES) {
      let parsed: { object?: { metadata?: { resourceVersion?: unknown } } } | undefined;
      try {
        parsed = JSON.parse(line);
      } catch {
        continue;
      }
      expect(parsed?.object?.metadata?.resourceVersion).toBeUndefined();
    }
  });
});

describe('the chaos report', () => {
  const result: ChaosResult = {
    seed: 7,
    startedAt: 1_000_000,
    durationMs: 60_000,
    schedule: [],
    injected: [
      { at: 100, fault: { kind: 'cut', midEvent: true } },
      { at: 9_000, fault: { kind: 'compact' } },
    ],
    mutations: 900,
    streams: [
      { stream: 'list/svc-0', sets: 10, healthChanges: 4, watches: 3, convergedAfterMs: 1_200 },
      { stream: 'streaming/svc-0', sets: 12, healthChanges: 4, watches: 3, convergedAfterMs: undefined },
    ],
    requests: { sent: 100, failed: 2 },
    hugeBodies: { answered: 1, readWhole: 0 },
    violations: [
      {
        invariant: 'synced-needs-open-watch',
        at: 1_010_000,
        stream: 'list/svc-0',
        message: 'synced for 900 ms with no watch open',
        expected: 'an open watch',
        actual: 'latest watch: none yet',
      },
    ],
    convergenceBoundMs: 10_000,
    eventLoopLagMaxMs: 12,
  };

  it('names the seed, the time, the stream, what was expected and seen, and the faults just before', () => {
    expect(describeViolation(result.violations[0]!, result)).toEqual([
      '  synced-needs-open-watch — seed 7 (CHAOS_SEED=7), +10000 ms, list/svc-0',
      '  synced for 900 ms with no watch open',
      '  expected: an open watch',
      '  actual:   latest watch: none yet',
      '  faults in the 5 s before: +9000 ms {"kind":"compact"}',
    ]);
  });

  it('prints the fault counts, convergence figures and every invariant', () => {
    const text = formatChaosReport(result);
    expect(text).toContain('faults injected (2): compact 1, cutMidEvent 1');
    expect(text).toContain('1/2 streams, max 1.20 s, p99 1.20 s');
    expect(text).toMatch(/FAIL {2}synced-needs-open-watch: .* — 1 violation\(s\)/);
    expect(text).toMatch(/ok {4}set-is-true-state/);
    expect(percentile([5, 1, 3, 2, 4], 99)).toBe(5);
    expect(percentile([5, 1, 3, 2, 4], 50)).toBe(3);
    expect(percentile([], 99)).toBeUndefined();
  });
});
