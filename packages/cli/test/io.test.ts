import { describe, expect, it } from 'vitest';
import { useColor } from '../src/io.js';
import { captureIo } from './support.js';

describe('useColor', () => {
  it('colors a terminal, unless NO_COLOR or TERM=dumb says otherwise; never a pipe', () => {
    expect(useColor(captureIo({ tty: true, env: {} }))).toBe(true);
    expect(useColor(captureIo({ tty: true, env: { NO_COLOR: '1' } }))).toBe(false);
    expect(useColor(captureIo({ tty: true, env: { TERM: 'dumb' } }))).toBe(false);
    expect(useColor(captureIo({ env: {} }))).toBe(false);
  });
});
