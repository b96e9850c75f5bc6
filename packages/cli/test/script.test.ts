/** The demo's schedule on a virtual clock: order, spacing, and a story cut short that says so. */
import { describe, expect, it } from 'vitest';
import type { DemoCluster } from '../src/demo/cluster.js';
import {
  demoStory,
  fullStoryDurationS,
  MIN_STEP_GAP_MS,
  runScript,
  type ScriptStep,
} from '../src/demo/script.js';

/** The demo's own schedule; its steps replaced by ones that take `runMs` of virtual time. */
function virtualStory(runMs: (index: number) => number) {
  let now = 0;
  const ran: { index: number; start: number; end: number }[] = [];
  const steps: ScriptStep[] = demoStory({} as DemoCluster).map((step, index) => ({
    at: step.at,
    run: () => {
      const start = now;
      now += runMs(index);
      ran.push({ index, start, end: now });
      return `step ${index}`;
    },
  }));
  const told: string[] = [];
  const play = (durationMs: number) =>
    runScript(steps, {
      durationMs,
      startedAt: 0,
      now: () => now,
      signal: new AbortController().signal,
      onStep: (text) => told.push(text),
      sleep: async (ms) => {
        now += Math.max(0, ms);
      },
    });
  return { steps, ran, told, play };
}

describe('runScript', () => {
  it('keeps the order and the spacing even when a step takes longer than the gap to the next', async () => {
    // At 20 s "scale to 5" is due 1.6 s in; deploying took 1.7 s: it waits for the gap after it.
    const story = virtualStory((index) => (index === 0 ? 1_700 : 30));
    await story.play(20_000);
    expect(story.ran.map((step) => step.index)).toEqual(story.steps.map((_, index) => index));
    for (const [i, step] of story.ran.entries()) {
      const previous = story.ran[i - 1];
      if (previous) expect(step.start - previous.end).toBeGreaterThanOrEqual(MIN_STEP_GAP_MS);
      expect(step.start).toBeGreaterThanOrEqual((story.steps[step.index]?.at ?? 0) * 20_000);
    }
    expect(story.told).toHaveLength(story.steps.length);
    expect(story.told.some((text) => text.includes('cut short'))).toBe(false);
  });

  it('a short --duration runs the steps that fit, then says what was left out and what plays it whole', async () => {
    const story = virtualStory(() => 30);
    await story.play(3_000);
    const whole = fullStoryDurationS(story.steps, MIN_STEP_GAP_MS);
    const ran = story.ran.length;
    expect(ran).toBeGreaterThan(2);
    expect(ran).toBeLessThan(story.steps.length);
    for (const [i, step] of story.ran.entries()) {
      const previous = story.ran[i - 1];
      if (previous) expect(step.start - previous.end).toBeGreaterThanOrEqual(MIN_STEP_GAP_MS);
      expect(step.start + MIN_STEP_GAP_MS).toBeLessThanOrEqual(3_000);
    }
    expect(story.told.at(-1)).toBe(
      `story cut short: the last ${story.steps.length - ran} of ${story.steps.length} steps do not fit in 3 s (${MIN_STEP_GAP_MS} ms apart at least); --duration ${whole} plays it whole`,
    );

    // …and that duration does play it whole.
    const again = virtualStory(() => 30);
    await again.play(whole * 1000);
    expect(again.ran).toHaveLength(again.steps.length);
  });

  it('fullStoryDurationS: the tightest pair of steps, or the quiet end, sets it', () => {
    expect(fullStoryDurationS([{ at: 0 }, { at: 0.5 }], 1_000)).toBe(2);
    expect(fullStoryDurationS([{ at: 0 }, { at: 0.1 }, { at: 0.5 }], 1_000)).toBe(10);
    expect(fullStoryDurationS([{ at: 0 }, { at: 0.5 }, { at: 0.9 }], 1_000)).toBe(10);
  });
});
