/**
 * Cleanup that survives the test process: a small detached process holds the list of child PIDs,
 * network namespaces, links and directories a test made, and removes them when the test process's
 * end of its stdin pipe closes, which happens however that process ends (exit, crash, SIGTERM,
 * SIGKILL). Without it, a test runner killed on a timeout would leave an apiserver running.
 */
import { spawn } from 'node:child_process';
import type { Socket } from 'node:net';

export type ReapedKind = 'pid' | 'netns' | 'link' | 'dir';

// Ignores the terminal's Ctrl-C and hang-up (it is in its own process group anyway) and cleans up
// only once the parent is gone; what the parent removed itself is forgotten first.
const REAPER = `
const { execFileSync } = require('node:child_process');
const { rmSync } = require('node:fs');
const held = { pid: new Set(), netns: new Set(), link: new Set(), dir: new Set() };
let buffer = '';
process.on('SIGINT', () => {});
process.on('SIGHUP', () => {});
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buffer += chunk;
  for (let i = buffer.indexOf('\\n'); i >= 0; i = buffer.indexOf('\\n')) {
    const { op, kind, value } = JSON.parse(buffer.slice(0, i));
    buffer = buffer.slice(i + 1);
    if (op === 'add') held[kind].add(value); else held[kind].delete(value);
  }
});
process.stdin.on('end', () => {
  for (const pid of held.pid) try { process.kill(pid, 'SIGKILL'); } catch {}
  for (const name of held.netns) try { execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' }); } catch {}
  for (const name of held.link) try { execFileSync('ip', ['link', 'del', name], { stdio: 'ignore' }); } catch {}
  for (const dir of held.dir) try { rmSync(dir, { recursive: true, force: true }); } catch {}
  process.exit(0);
});
`;

let pipe: Socket | undefined;

function reaper(): Socket {
  if (pipe === undefined) {
    const child = spawn(process.execPath, ['-e', REAPER], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    child.unref();
    pipe = child.stdin as unknown as Socket;
    // The pipe must not keep the test process alive; it only has to close when that process ends.
    pipe.unref();
    pipe.on('error', () => {});
  }
  return pipe;
}

/** Has `value` removed if this process ends before {@link release} is called for it. */
export function reapLater(kind: ReapedKind, value: string | number): void {
  reaper().write(`${JSON.stringify({ op: 'add', kind, value })}\n`);
}

/** This process removed `value` itself (a PID must be forgotten before the OS reuses it). */
export function release(kind: ReapedKind, value: string | number): void {
  reaper().write(`${JSON.stringify({ op: 'del', kind, value })}\n`);
}
