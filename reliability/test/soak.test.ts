/**
 * The soak's figures (pure), and the soak script itself in its short mode: the built
 * `dist/soak/main.js` as `pnpm soak` runs it (CI builds before testing; skipped, with the reason
 * in the test name, when it has not been built).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatSoakReport, soakFigures, syncedShareTarget, warmUpMs } from '../src/soak/report.js';
import type { SoakResult } from '../src/soak/run.js';
import { slopePerMinute, syncFigures } from '../src/soak/stats.js';

describe('soak figures', () => {
  it('fits a line: the slope per minute', () => {
    const line = [0, 1, 2, 3].map((i) => ({ t: i * 30_000, value: 10 + i * 5 }));
    expect(slopePerMinute(line)).toBeCloseTo(10);
    expect(slopePerMinute([{ t: 0, value: 1 }])).toBeUndefined();
    expect(slopePerMinute([line[0]!, { ...line[0]! }])).toBeUndefined();
  });

  it('measures the synced share and the longest stale window from the first synced moment', () => {
    const figures = syncFigures(
      [
        { at: 0, state: 'connecting' },
        { at: 1_000, state: 'synced' },
        { at: 5_000, state: 'retrying' },
        { at: 6_000, state: 'connecting' },
        { at: 8_000, state: 'synced' },
        { at: 10_000, state: 'retrying' },
      ],
      10_500,
    );
    expect(figures).toEqual({
      syncedShare: 6_000 / 9_500,
      longestStaleMs: 3_000,
      longestStaleAt: 5_000,
      staleWindows: 2,
    });
    expect(syncFigures([{ at: 0, state: 'connecting' }], 1_000)).toBeUndefined();
    expect(syncFigures([{ at: 0, state: 'synced' }], 1_000)).toMatchObject({
      syncedShare: 1,
      longestStaleMs: 0,
    });
  });

  const result = (minutes: number, share: number, heapPerMinute: number): SoakResult => {
    const durationMs = minutes * 60_000;
    const samples = Array.from({ length: minutes * 12 + 1 }, (_, i) => ({
      at: i * 5_000,
      heapUsed: 50 * 2 ** 20 + (i * 5_000 * heapPerMinute) / 60_000,
      resources: { TCPSocketWrap: 3, Timeout: 10 },
      pools: 3,
      podConnections: 3,
      fds: 40,
      synced: 1,
    }));
    return {
      options: {
        durationMs,
        sampleEveryMs: 5_000,
        writesPerSecond: 250,
        cutEveryMs: 20_000,
        compactEveryMs: 60_000,
        services: 1,
        seed: 1,
        requestsPerSecond: 20,
      },
      startedAt: 0,
      endedAt: durationMs,
      samples,
      health: new Map([
        [
          'svc-0',
          [
            { at: 0, state: 'synced' as const },
            { at: durationMs * share, state: 'retrying' as const },
          ],
        ],
      ]),
      cluster: { writes: 1, cuts: 1, compactions: 1 },
      requests: { sent: 1, failed: 0, firstError: undefined },
    };
  };

  it('passes a flat, always synced run, and names every target a run misses', () => {
    expect(soakFigures(result(10, 1, 0)).failures).toEqual([]);
    expect(formatSoakReport(result(10, 1, 0))).toMatch(/verdict: PASS$/);
    const bad = soakFigures(result(10, 0.5, 4 * 2 ** 20));
    expect(bad.failures).toEqual([
      'svc-0 synced 50.00 % of the time (target >= 99 %)',
      'svc-0 stale for 300.0 s in a row (target <= 5 s)',
      `heap after GC (bytes) grows ${(4 * 2 ** 20).toFixed(2)} per minute (target <= ${2 ** 20})`,
    ]);
    // A short run does not judge slopes: they are noise there.
    expect(soakFigures(result(1, 1, 4 * 2 ** 20)).failures).toEqual([]);
    expect(warmUpMs(600_000)).toBe(60_000);
    expect(warmUpMs(20_000)).toBe(4_000);
    // 99 % with a cut every 20 s is 200 ms of staleness per cut; a cut every 4 s allows 95 %.
    expect(syncedShareTarget(20_000)).toBeCloseTo(0.99);
    expect(syncedShareTarget(4_000)).toBeCloseTo(0.95);
  });
});

const script = fileURLToPath(new URL('../dist/soak/main.js', import.meta.url));
const built = existsSync(script);
const skipped = built ? '' : ' [skipped: reliability/dist/soak/main.js is missing, run `pnpm build`]';

describe(`pnpm soak, short mode (20 s, a cut every 4 s, a compaction every 12 s)${skipped}`, () => {
  let stdout = '';
  let code: number | null = null;

  beforeAll(async () => {
    if (!built) return;
    const child = spawn(process.execPath, ['--expose-gc', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        SOAK_DURATION_S: '20',
        SOAK_SAMPLE_S: '2',
        SOAK_CUT_EVERY_S: '4',
        SOAK_COMPACT_EVERY_S: '12',
      },
    });
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    [code] = await once(child, 'exit');
    clearTimeout(timer);
  }, 100_000);

  it.skipIf(!built)(
    'prints the slopes, the synced share and longest stale window of every Service, and a verdict',
    () => {
      expect(stdout).toMatch(/^soak: 20 s \(SOAK_DURATION_S\)/);
      expect(stdout).toMatch(
        /250 writes\/s of churn \(\d{4,} writes\), a cut every 4\.00 s \([45]\), a compaction every 12 s \(1\)/,
      );
      for (const series of [
        'heap after GC',
        'undici pools',
        'pod connections',
        'open fds',
        'active resources',
        'Timeout',
      ])
        expect(stdout).toContain(`  ${series}`);
      const services = [
        ...stdout.matchAll(/^ {2}(svc-\d|pods) +(\d+\.\d\d) %, longest stale (\d+\.\d+) s/gm),
      ];
      expect(services.map((m) => m[1])).toEqual([...Array.from({ length: 8 }, (_, i) => `svc-${i}`), 'pods']);
      expect(stdout).toMatch(/requests through the balanced agent: \d{3} sent, 0 failed/);
      const verdict = /verdict: (PASS|FAIL)/.exec(stdout)?.[1];
      expect(code).toBe(verdict === 'PASS' ? 0 : 1);
    },
  );

  // Caught issue 9 item 1 before its fix: each cut of a healthy watch cost a growing backoff (~50 % synced).
  it.skipIf(!built)(
    'every Service meets the health targets: synced 95 % (200 ms per cut), never stale over 5 s',
    () => {
      expect(stdout).toContain('synced share (target >= 95 %: 200 ms per cut)');
      // Slopes are not judged on a short run: the verdict is about health alone.
      expect(stdout.slice(stdout.indexOf('verdict:'))).toBe('verdict: PASS\n');
    },
  );
});
