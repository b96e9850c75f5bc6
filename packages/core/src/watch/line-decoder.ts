import { WatchEventTooLargeError } from './errors.js';

const NEWLINE = 0x0a;
export const DEFAULT_MAX_EVENT_BYTES = 16 * 1024 * 1024;

/**
 * Splits a byte stream into newline-terminated lines, incrementally: every byte is scanned once,
 * so a large event written one byte at a time costs O(n), not O(n²). A line is decoded as UTF-8
 * only once it is complete, so multi-byte characters split across chunks come out whole.
 *
 * Pull-based: `feed` a chunk, then take its lines one by one with `nextLine`, so that only the line
 * being handled exists as a string (a chunk of 1 MiB holds dozens of large events).
 */
export class LineDecoder {
  readonly #maxLineBytes: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #chunk: Buffer | undefined;
  #offset = 0;

  constructor(maxLineBytes: number = DEFAULT_MAX_EVENT_BYTES) {
    this.#maxLineBytes = maxLineBytes;
  }

  /** Bytes of an incomplete line held back, waiting for its newline (and of a fed chunk not yet read). */
  get pendingBytes(): number {
    return this.#pendingBytes + (this.#chunk === undefined ? 0 : this.#chunk.length - this.#offset);
  }

  /** Takes a chunk; its lines come from `nextLine`. The previous chunk must have been read to the end. */
  feed(chunk: Uint8Array): void {
    if (this.#chunk !== undefined)
      throw new Error('LineDecoder.feed: the previous chunk was not read to the end');
    this.#chunk = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.#offset = 0;
  }

  /**
   * The next complete line of the fed chunk (without the newline; blank lines skipped), or undefined
   * when the chunk holds no more: its rest is kept for the next one.
   * @throws WatchEventTooLargeError when a line exceeds the size cap.
   */
  nextLine(): string | undefined {
    const bytes = this.#chunk;
    if (bytes === undefined) return undefined;
    for (;;) {
      const start = this.#offset;
      const newline = bytes.indexOf(NEWLINE, start);
      if (newline === -1) {
        this.#chunk = undefined;
        if (start < bytes.length) {
          this.#checkSize(bytes.length - start);
          this.#pending.push(bytes.subarray(start));
          this.#pendingBytes += bytes.length - start;
        }
        return undefined;
      }
      this.#checkSize(newline - start);
      this.#offset = newline + 1;
      const line = this.#takeLine(bytes, start, newline);
      if (line.length > 0 && line !== '\r') return line;
    }
  }

  /** Feeds one chunk and returns all the lines it completes. */
  push(chunk: Uint8Array): string[] {
    this.feed(chunk);
    const lines: string[] = [];
    for (let line = this.nextLine(); line !== undefined; line = this.nextLine()) lines.push(line);
    return lines;
  }

  /** Drops any incomplete line (for reuse after the stream ended). */
  reset(): void {
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#chunk = undefined;
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
    this.#pending = [];
    this.#pendingBytes = 0;
    return line;
  }
}
