/**
 * `endpoint-watch demo` in process: the embedded apiserver, real pods on 127.0.0.2…, real traffic.
 * The assertions are about counts adding up and what is printed, never about timings.
 */
import { describe, expect, it } from 'vitest';
import { FULL_STORY_S } from '../src/args.js';
import { demoCommand } from '../src/commands/demo.js';
import type { DemoCluster } from '../src/demo/cluster.js';
import { demoStory, fullStoryDurationS, MIN_STEP_GAP_MS } from '../src/demo/script.js';
import type { DemoSummary } from '../src/demo/summary.js';
import { stripAnsi } from '../src/view/table.js';
import { captureIo, waitFor } from './support.js';

// The shortest duration that plays the whole story (fullStoryDurationS).
const options = { durationS: 7, tty: false, rate: 150, concurrency: 8, strategy: 'least-request' as const };

/** The summary table as printed: [pod, endpoint, fate, attempts, ok, failed] per row, and the total row. */
function printedTable(lines: string[]) {
  const start = lines.findIndex((line) => /^ {2}POD\s+ENDPOINT\s+FATE\s+ATTEMPTS\s+OK\s+FAILED/.test(line));
  const end = lines.findIndex((line, i) => i > start && line.startsWith('  total'));
  expect(start).toBeGreaterThan(0);
  expect(end).toBeGreaterThan(start);
  const cells = (line: string) => line.trim().split(/\s{2,}/);
  const rows = lines.slice(start + 1, end).map((line) => {
    const [pod, endpoint, fate, attempts, ok, failed] = cells(line);
    return { pod, endpoint, fate, attempts: Number(attempts), ok: Number(ok), failed: Number(failed) };
  });
  const [, attempts, ok, failed] = cells(lines[end] ?? '');
  return { rows, total: { attempts: Number(attempts), ok: Number(ok), failed: Number(failed) } };
}

function expectCountsAddUp(summary: DemoSummary) {
  const { requests, attempts, rows, balancer } = summary;
  // Requests: every request sent has ended, succeeded or failed.
  expect(requests.inFlight).toBe(0);
  expect(requests.sent).toBe(requests.succeeded + requests.failed);
  // Attempts: per endpoint and in total, attempts = ok + failed; the rows sum to the totals.
  for (const row of rows) expect(row.attempts).toBe(row.ok + row.failed);
  const sum = (pick: (row: DemoSummary['rows'][number]) => number) =>
    rows.reduce((n, row) => n + pick(row), 0);
  expect(sum((r) => r.attempts)).toBe(attempts.attempts);
  expect(sum((r) => r.ok)).toBe(attempts.ok);
  expect(sum((r) => r.failed)).toBe(attempts.failed);
  expect(attempts.attempts).toBe(attempts.ok + attempts.failed);
  // A succeeded request is exactly one ok attempt; every request took at least one attempt.
  expect(attempts.ok).toBe(requests.succeeded);
  expect(attempts.attempts).toBeGreaterThanOrEqual(requests.sent);
  // The balancer counted the same leases.
  expect(balancer).toEqual({ picks: attempts.attempts, successes: attempts.ok, failures: attempts.failed });
  expect(summary.checks.every((check) => check.ok)).toBe(true);
}

describe('demo', () => {
  it('--duration 7 without a terminal: plain lines, the whole story, a summary whose counts add up', async () => {
    const io = captureIo(); // stdout is not a terminal, though the live view was not turned off
    const summary = await demoCommand({ ...options, tty: true }, io);
    const lines = io.stdout.lines();

    expect(fullStoryDurationS(demoStory({} as DemoCluster), MIN_STEP_GAP_MS)).toBe(options.durationS);
    expect(FULL_STORY_S).toBe(options.durationS); // what --help says
    expect(lines.some((line) => line.includes('story cut short'))).toBe(false);
    expect(summary.endedBy).toBe('duration');
    expect(summary.requests.sent).toBeGreaterThan(0);
    // one shared schedule of slots: never above --rate, whatever the machine's load
    expect(summary.requests.sent).toBeLessThanOrEqual(
      Math.ceil((options.rate * summary.elapsedMs) / 1000) + 1,
    );
    expectCountsAddUp(summary);
    // The retries hid the crashed pod: no request failed.
    expect(summary.requests.failed).toBe(0);
    expect(summary.rows.find((row) => row.fate === 'crashed')).toBeDefined();
    expect(summary.rows.filter((row) => row.fate === 'running')).toHaveLength(3);

    // What was printed: no escape codes, periodic status lines, the story's steps, the summary.
    expect(io.stdout.text).not.toContain('\u001b');
    expect(lines[0]).toMatch(/^endpoint-watch demo: Service shop\/web on an embedded apiserver/);
    expect(
      lines.filter((line) => /^\[\+\d+\.\ds\] \d+ endpoints: .* req\/s · sent \d+ = ok \d+/.test(line))
        .length,
    ).toBeGreaterThan(2);
    for (const step of [
      'deploy web v1 with 3 pods',
      'crashes',
      'rolling update to v2',
      'scale to 3',
      'network blip',
    ]) {
      expect(lines.some((line) => line.includes(step))).toBe(true);
    }
    expect(lines).toContain(
      `  requests  sent ${summary.requests.sent} = succeeded ${summary.requests.succeeded} + failed ${summary.requests.failed}`,
    );
    const table = printedTable(lines);
    expect(table.rows.map((row) => row.pod)).toEqual(summary.rows.map((row) => row.pod));
    for (const row of table.rows) expect(row.attempts).toBe(row.ok + row.failed);
    expect(table.rows.reduce((n, row) => n + row.attempts, 0)).toBe(table.total.attempts);
    expect(table.rows.reduce((n, row) => n + row.ok, 0)).toBe(table.total.ok);
    expect(table.rows.reduce((n, row) => n + row.failed, 0)).toBe(table.total.failed);
    expect(table.total.ok).toBe(summary.requests.succeeded);
    expect(lines.filter((line) => line.startsWith('  ✓'))).toHaveLength(4);
    expect(lines.some((line) => line.startsWith('  ✗'))).toBe(false);
    expect(io.stderr.text).toBe('');
  }, 30_000);

  it('Ctrl-C on a terminal: frames redrawn in place, then the same summary, everything closed', async () => {
    const io = captureIo({ tty: true });
    const running = demoCommand({ ...options, durationS: 120, tty: true }, io);
    await waitFor(() => /attempts [1-9]\d* /.test(stripAnsi(io.stdout.text)), 'traffic in the live view');
    const redraw = new RegExp(`${String.fromCharCode(27)}\\[\\d+A`, 'g'); // cursor up over the last frame
    await waitFor(() => (io.stdout.text.match(redraw) ?? []).length >= 2, 'two redraws');
    io.interrupt();
    const summary = await running;

    expect(summary.endedBy).toBe('interrupt');
    expectCountsAddUp(summary);
    const text = stripAnsi(io.stdout.text);
    expect(io.stdout.text.startsWith('\u001b[?25l')).toBe(true); // cursor hidden while live…
    expect(io.stdout.text).toContain('\u001b[?25h'); // …and shown again
    expect(text).toContain('endpoint-watch demo · shop/web port http');
    expect(text).toContain('stopped by Ctrl-C');
    expect(text).toMatch(/IN-FLIGHT\s+REQ\/S\s+ATTEMPTS\s+FAILED\s+LATENCY\s+EJECTED/);
  }, 30_000);
});
