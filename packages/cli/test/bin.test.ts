/**
 * The executable as a child process: needs the built `dist/bin.js` (CI builds before testing).
 * Skipped, with the reason in the test name, when the package has not been built.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { within } from '@endpoint-watch/testing';
import { describe, expect, it } from 'vitest';
import { waitFor } from './support.js';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const built = existsSync(bin);
const unbuilt = built ? '' : ' [skipped: packages/cli/dist/bin.js is missing, run `pnpm build`]';

/**
 * `endpoint-watch demo` on pipes, its output collected; `run` gets it once traffic flows, and the
 * child is killed if it outlives `run`.
 */
async function withDemo(
  run: (demo: { child: ReturnType<typeof spawn>; exited: Promise<unknown[]> }) => Promise<void>,
): Promise<{ stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [bin, 'demo', '--duration', '120'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => {
    output.stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output.stderr += chunk.toString();
  });
  const exited = once(child, 'exit');
  try {
    // stdout is a pipe: plain lines.
    await waitFor(() => /sent [1-9]\d* = ok/.test(output.stdout), 'traffic', 15_000);
    await run({ child, exited });
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
  return output;
}

describe('endpoint-watch (dist/bin.js)', () => {
  it.skipIf(!built)(
    `demo stops on SIGINT with the summary, exit code 0 and no open handle${unbuilt}`,
    async () => {
      const { stdout, stderr } = await withDemo(async ({ child, exited }) => {
        child.kill('SIGINT');
        const [code, signal] = await exited;
        expect({ code, signal }).toEqual({ code: 0, signal: null });
      });
      expect(stdout).toContain('stopped by Ctrl-C');
      expect(stdout.match(/^ {2}✓ /gm)).toHaveLength(4);
      expect(stdout).not.toMatch(/^ {2}✗ /m);
      // The process ended by itself: the safety net for lingering handles never fired.
      expect(stderr).not.toContain('handles still open');
      expect(stderr).toBe('');
    },
    30_000,
  );

  it.skipIf(!built)(
    `stops quietly, with exit code 0, when the reader of its output goes away (| head)${unbuilt}`,
    async () => {
      const { stderr } = await withDemo(async ({ child, exited }) => {
        // What `| head` does once it has its lines: the next writes fail with EPIPE.
        child.stdout?.destroy();
        const [code, signal] = await within(exited, 10_000, 'the demo to end after its reader left');
        expect({ code, signal }).toEqual({ code: 0, signal: null });
      });
      expect(stderr).toBe('');
    },
    30_000,
  );
});
