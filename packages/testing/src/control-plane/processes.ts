/**
 * Child processes of the control plane: started with their output in a log file, stopped by PID with
 * a short grace, and killed by the reaper if the test process ends first (nothing is left running).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { reapLater, release } from './reaper.js';

export class ManagedProcess {
  readonly name: string;
  readonly logPath: string;
  readonly exited: Promise<number | null>;
  #child: ChildProcess;
  #exitCode: number | null | undefined;

  constructor(
    name: string,
    command: string,
    args: readonly string[],
    logPath: string,
    env?: NodeJS.ProcessEnv,
  ) {
    this.name = name;
    this.logPath = logPath;
    const log = openSync(logPath, 'a');
    try {
      this.#child = spawn(command, args, { stdio: ['ignore', log, log], env: env ?? process.env });
    } finally {
      closeSync(log);
    }
    const pid = this.#child.pid;
    if (pid !== undefined) reapLater('pid', pid);
    this.exited = new Promise((resolve) => {
      this.#child.once('error', () => {
        this.#exitCode = null;
        resolve(null);
      });
      this.#child.once('exit', (code, signal) => {
        if (pid !== undefined) release('pid', pid);
        this.#exitCode = code ?? (signal === null ? null : -1);
        resolve(this.#exitCode);
      });
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Whether the process has exited (for readiness loops: a crashed process will never become ready). */
  get hasExited(): boolean {
    return this.#exitCode !== undefined;
  }

  /** The last `lines` lines of the process's log, for error messages. */
  logTail(lines = 20): string {
    try {
      return readFileSync(this.logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs` (the apiserver waits up to a minute for open watches). */
  async stop(graceMs = 2_000): Promise<void> {
    if (this.hasExited) return;
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** SIGKILL at once: a crash, as the clients see it. */
  async kill(): Promise<void> {
    if (this.hasExited) return;
    this.#child.kill('SIGKILL');
    await this.exited;
  }
}
