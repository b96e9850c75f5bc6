import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs example without type declarations
import { runDemo } from '../demo.mjs';

interface DemoSet {
  endpoints: { address: string; port: number }[];
}

describe('quickstart demo', () => {
  it('runs the scripted story against the embedded apiserver and sees every step', async () => {
    const lines: string[] = [];
    // no pause: each step waits until the watcher has seen it, whatever the machine's load
    const { sets } = (await runDemo({ log: (line: string) => lines.push(line), pauseMs: 0 })) as {
      sets: DemoSet[];
    };
    const counts = sets.map((s) => s.endpoints.length);
    expect(counts[0]).toBe(0); // the Service exists before its pods
    // every step's set, in order (a step's events may also arrive in two reads, hence a subsequence)
    const story = [0, 3, 5, 4, 5, 6, 0];
    let next = 0;
    for (const count of counts) if (count === story[next]) next += 1;
    expect({ counts, matched: next }).toEqual({ counts, matched: story.length });
    expect(counts.at(-1)).toBe(0);
    expect(lines.some((l) => l.includes('watch: synced'))).toBe(true);
    expect(lines.at(-1)).toMatch(/done: \d+ endpoint sets observed/);
  }, 30_000);
});
