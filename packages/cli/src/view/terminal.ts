/**
 * Puts frames on a terminal, redrawn in place with plain ANSI escape codes: move the cursor up over
 * the previous frame, rewrite each line (clearing its end), clear what is left below. The cursor is
 * hidden meanwhile. The last frame stays on screen after `stop()`.
 */
import type { OutputStream } from '../io.js';

const ESC = '\u001b[';

export class LiveScreen {
  readonly #out: OutputStream;
  #previousLines = 0;
  #width: number | undefined;
  #active = false;

  constructor(out: OutputStream) {
    this.#out = out;
  }

  /** Size to render for: the terminal's, one row short so a frame never scrolls it. */
  size(): { width: number; height: number } {
    return { width: this.#out.columns ?? 100, height: Math.max(8, (this.#out.rows ?? 30) - 1) };
  }

  start(): void {
    if (this.#active) return;
    this.#active = true;
    this.#out.write(`${ESC}?25l`);
  }

  /** Replaces the previous frame with `lines` (each must fit the width). One write per frame. */
  draw(lines: readonly string[]): void {
    // After a resize the old frame may have wrapped or been cut: start over from a clean screen.
    if (this.#width !== undefined && this.#out.columns !== this.#width) this.reset();
    this.#width = this.#out.columns;
    const up = this.#previousLines > 0 ? `\r${ESC}${this.#previousLines}A` : '\r';
    this.#out.write(`${up}${lines.map((line) => `${line}${ESC}K\n`).join('')}${ESC}J`);
    this.#previousLines = lines.length;
  }

  /** Clears the screen and forgets the previous frame. */
  reset(): void {
    this.#out.write(`${ESC}2J${ESC}H`);
    this.#previousLines = 0;
  }

  /** Shows the cursor again; the last frame stays. */
  stop(): void {
    if (!this.#active) return;
    this.#active = false;
    this.#out.write(`${ESC}?25h`);
  }
}
