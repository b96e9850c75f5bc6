import { WatchEventTooLargeError } from './errors.js';

const NEWLINE = 0x0a;
export const DEFAULT_MAX_EVENT_BYTES = 16 * 1024 * 1024;

/**
 * Splits a byte stream into newline-terminated lines, incrementally: every byte is scanned once,
 * so a large event written one byte at a time costs O(n), not O(n²). A line is decoded as UTF-8
 * only once it is complete, so multi-byte characters split across chunks come out whole.
 */
export class LineDecoder {
  readonly #maxLineBytes: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;

  constructor(maxLineBytes: number = DEFAULT_MAX_EVENT_BYTES) {
    this.#maxLineBytes = maxLineBytes;
  }

  /** Bytes of an incomplete line held back, waiting for its newline. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /** Feeds one chunk; returns the lines it completes (without the newline; blank lines dropped). */
  push(chunk: Uint8Array): string[] {
    const bytes = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const lines: string[] = [];
    let start = 0;
    for (
      let newline = bytes.indexOf(NEWLINE, start);
      newline !== -1;
      newline = bytes.indexOf(NEWLINE, start)
    ) {
      this.#checkSize(newline - start);
      const line = this.#takeLine(bytes, start, newline);
      if (line.length > 0 && line !== '\r') lines.push(line);
      start = newline + 1;
    }
    if (start < bytes.length) {
      this.#checkSize(bytes.length - start);
      this.#pending.push(bytes.subarray(start));
      this.#pendingBytes += bytes.length - start;
    }
    return lines;
  }

  /** Drops any incomplete line (for reuse after the stream ended). */
  reset(): void {
    this.#pending = [];
    this.#pendingBytes = 0;
  }

  #checkSize(extraBytes: number): void {
    if (this.#pendingBytes + extraBytes > this.#maxLineBytes) {
      this.reset();
      throw new WatchEventTooLargeError(this.#maxLineBytes);
    }
  }

  #takeLine(bytes: Buffer, start: number, end: number): string {
    if (this.#pendingBytes === 0) return bytes.toString('utf8', start, end);
    this.#pending.push(bytes.subarray(start, end));
    const line = Buffer.concat(this.#pending, this.#pendingBytes + end - start).toString('utf8');
    this.reset();
    return line;
  }
}
