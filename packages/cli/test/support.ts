/** In-process I/O for the CLI's commands: buffers for stdout/stderr, an AbortController for Ctrl-C. */
import type { CliIo, OutputStream } from '../src/io.js';

export interface CapturedIo extends CliIo {
  readonly stdout: BufferStream;
  readonly stderr: BufferStream;
  /** What a Ctrl-C does. */
  interrupt(): void;
}

export class BufferStream implements OutputStream {
  text = '';
  readonly isTTY: boolean;
  readonly columns: number | undefined;
  readonly rows: number | undefined;
  constructor(options: { isTTY?: boolean; columns?: number; rows?: number } = {}) {
    this.isTTY = options.isTTY ?? false;
    this.columns = options.columns;
    this.rows = options.rows;
  }
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
  /** Complete lines written so far. */
  lines(): string[] {
    const lines = this.text.split('\n');
    lines.pop();
    return lines;
  }
}

export function captureIo(
  options: { env?: Record<string, string | undefined>; tty?: boolean } = {},
): CapturedIo {
  const controller = new AbortController();
  return {
    stdout: new BufferStream(options.tty ? { isTTY: true, columns: 140, rows: 40 } : {}),
    stderr: new BufferStream(),
    env: options.env ?? {},
    signal: controller.signal,
    interrupt: () => controller.abort(new Error('SIGINT')),
  };
}

/** Polls `predicate` every 10 ms; rejects with `what` after `timeoutMs`. */
export async function waitFor(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
