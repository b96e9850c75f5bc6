import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs example without type declarations
import { runDemo } from '../demo.mjs';

interface DemoSet {
  endpoints: { address: string; port: number }[];
}

describe('quickstart demo', () => {
  it('runs the scripted story against the embedded apiserver and sees every step', async () => {
    const lines: string[] = [];
    const { sets } = (await runDemo({ log: (line: string) => lines.push(line), pauseMs: 150 })) as {
      sets: DemoSet[];
    };
    const counts = sets.map((s) => s.endpoints.length);
    expect(counts[0]).toBe(0); // the Service exists before its pods
    expect(counts).toContain(3);
    expect(counts).toContain(5);
    expect(counts).toContain(6);
    expect(counts.at(-1)).toBe(0);
    expect(lines.some((l) => l.includes('watch: synced'))).toBe(true);
    expect(lines.at(-1)).toMatch(/done: \d+ endpoint sets observed/);
  }, 30_000);
});
