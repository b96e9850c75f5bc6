/**
 * What a command may touch of the outside world. `bin.ts` passes the process's streams, environment
 * and a signal aborted on SIGINT/SIGTERM; tests pass buffers and their own AbortController.
 */

/** The part of a `tty.WriteStream` / `Writable` the CLI writes to. */
export interface OutputStream {
  write(chunk: string): unknown;
  /** True for a terminal: the live views redraw in place. */
  readonly isTTY?: boolean;
  readonly columns?: number;
  readonly rows?: number;
}

export interface CliIo {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  /** Environment (KUBECONFIG, NO_COLOR, KUBERNETES_SERVICE_HOST, …). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Aborted when the user asks the command to stop (Ctrl-C): it then ends cleanly. */
  readonly signal: AbortSignal;
}

/** Colors only on a terminal, and never with NO_COLOR (https://no-color.org) or TERM=dumb. */
export function useColor(io: CliIo): boolean {
  return io.stdout.isTTY === true && !io.env.NO_COLOR && io.env.TERM !== 'dumb';
}

/** Resolves after `ms`, or at once when `signal` is aborted (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Resolves when `signal` is aborted (at once if it already is). */
export function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
