/**
 * The scripted story of the demo: what the "deployment" does and when. Steps are placed at fractions
 * of the demo's duration, so the whole story plays whatever `--duration` is; the last stretch is
 * quiet steady traffic on the final state.
 */
import { sleep } from '../io.js';
import type { DemoCluster, DemoPod } from './cluster.js';

export interface ScriptStep {
  /** When, as a fraction of the duration (0 … 1). */
  readonly at: number;
  /** Does the change; returns what to log. */
  readonly run: () => Promise<string> | string;
}

/** Delay of the pod that is slowed down. */
export const SLOW_POD_DELAY_MS = 150;

const names = (pods: readonly DemoPod[]) => pods.map((pod) => pod.name).join(', ');

export function demoStory(cluster: DemoCluster): ScriptStep[] {
  let v1: DemoPod[] = [];
  let added: DemoPod[] = [];
  let crashed: DemoPod | undefined;
  let replacement: DemoPod[] = [];
  let waveOne: DemoPod[] = [];
  let waveTwo: DemoPod[] = [];
  let oldOne: DemoPod[] = [];
  let oldTwo: DemoPod[] = [];
  let scaledDown: DemoPod[] = [];
  return [
    {
      at: 0,
      run: async () => {
        v1 = await cluster.startPods(3, 'v1');
        cluster.setReady(v1);
        return `deploy ${cluster.service} v1 with 3 pods: ${names(v1)}`;
      },
    },
    {
      at: 0.08,
      run: async () => {
        added = await cluster.startPods(2, 'v1');
        return `scale to 5: ${names(added)} starting (not ready: no traffic yet)`;
      },
    },
    {
      at: 0.13,
      run: () => {
        cluster.setReady(added);
        return `${names(added)} ready: traffic spreads over 5 pods`;
      },
    },
    {
      at: 0.2,
      run: () => {
        const pod = v1[1] as DemoPod;
        cluster.slow(pod, SLOW_POD_DELAY_MS);
        return `${pod.name} slows down (+${SLOW_POD_DELAY_MS} ms per request): the balancer sends it less`;
      },
    },
    {
      at: 0.3,
      run: async () => {
        crashed = v1[2] as DemoPod;
        await cluster.crash(crashed);
        return `${crashed.name} crashes: connections cut, nothing listens, the slice still lists it (retries hide it)`;
      },
    },
    {
      at: 0.37,
      run: async () => {
        if (crashed) cluster.forget(crashed);
        replacement = await cluster.startPods(1, 'v1');
        return `endpoints controller notices: ${crashed?.name} removed; replacement ${names(replacement)} starting`;
      },
    },
    {
      at: 0.42,
      run: () => {
        cluster.setReady(replacement);
        return `${names(replacement)} ready`;
      },
    },
    {
      at: 0.48,
      run: async () => {
        waveOne = await cluster.startPods(3, 'v2');
        return `rolling update to v2 (maxSurge 3): ${names(waveOne)} starting`;
      },
    },
    {
      at: 0.53,
      run: () => {
        oldOne = cluster.running('v1').slice(0, 3);
        cluster.setReady(waveOne);
        cluster.terminate(oldOne);
        for (const pod of oldOne) pod.notes.push('replaced by v2');
        return `v2 pods ready; ${names(oldOne)} terminating (serving the requests they have)`;
      },
    },
    {
      at: 0.58,
      run: async () => {
        await cluster.remove(oldOne);
        return `${names(oldOne)} gone (servers closed after draining)`;
      },
    },
    {
      at: 0.62,
      run: async () => {
        waveTwo = await cluster.startPods(2, 'v2');
        return `rolling update, second wave: ${names(waveTwo)} starting`;
      },
    },
    {
      at: 0.67,
      run: () => {
        oldTwo = cluster.running('v1');
        cluster.setReady(waveTwo);
        cluster.terminate(oldTwo);
        for (const pod of oldTwo) pod.notes.push('replaced by v2');
        return `${names(waveTwo)} ready; ${names(oldTwo)} terminating`;
      },
    },
    {
      at: 0.72,
      run: async () => {
        await cluster.remove(oldTwo);
        return `${names(oldTwo)} gone: rollout complete, 5 pods of v2`;
      },
    },
    {
      at: 0.8,
      run: () => {
        scaledDown = cluster.running('v2').slice(-2);
        cluster.terminate(scaledDown);
        for (const pod of scaledDown) pod.notes.push('scaled down');
        return `scale to 3: ${names(scaledDown)} terminating`;
      },
    },
    {
      at: 0.85,
      run: async () => {
        await cluster.remove(scaledDown);
        return `${names(scaledDown)} gone; steady state with 3 pods`;
      },
    },
    {
      at: 0.9,
      run: () => {
        cluster.apiserver.faults.cutWatches();
        return 'network blip: the watch connection to the apiserver is cut; it resumes from its resourceVersion';
      },
    },
  ];
}

/**
 * Least time between the end of a step and the start of the next: the watch delivers each change
 * and the viewer sees it before the next one (a short --duration squeezed "deploy" and "scale to 5"
 * into the same instant).
 */
export const MIN_STEP_GAP_MS = 250;

/**
 * The shortest duration that plays every step of a schedule `minGapMs` apart, with `minGapMs` of
 * the final state after the last one (the time the steps take to run aside), in whole seconds.
 */
export function fullStoryDurationS(steps: readonly Pick<ScriptStep, 'at'>[], minGapMs: number): number {
  let needMs = 0;
  steps.forEach((step, i) => {
    const previous = steps[i - 1];
    if (previous && step.at > previous.at) needMs = Math.max(needMs, minGapMs / (step.at - previous.at));
  });
  const last = steps.at(-1);
  if (last && last.at < 1) needMs = Math.max(needMs, minGapMs / (1 - last.at));
  return Math.ceil(Math.round(needMs) / 1000); // rounded first: 1 - 0.9 is not exactly 0.1
}

export interface ScriptOptions {
  readonly durationMs: number;
  readonly startedAt: number;
  readonly now: () => number;
  readonly signal: AbortSignal;
  readonly onStep: (text: string) => void;
  /** Default `MIN_STEP_GAP_MS`. */
  readonly minGapMs?: number;
  /** Default: a timer (tests pass a virtual clock's). */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/**
 * Runs the steps in order, each no earlier than `at × durationMs` after `startedAt` (on `now`'s clock)
 * and no earlier than `minGapMs` after the previous one ended. A step that would start less than
 * `minGapMs` before the end is not run, nor any after it: the story is cut short, and `onStep` says so
 * with the duration that plays it whole. Stops between steps when `signal` is aborted. Resolves when
 * the last step ran, when the story was cut, or on abort.
 */
export async function runScript(steps: readonly ScriptStep[], options: ScriptOptions): Promise<void> {
  const gap = options.minGapMs ?? MIN_STEP_GAP_MS;
  const pause = options.sleep ?? sleep;
  const end = options.startedAt + options.durationMs;
  let previousEnd = Number.NEGATIVE_INFINITY;
  for (const [index, step] of steps.entries()) {
    const due = Math.max(options.startedAt + step.at * options.durationMs, previousEnd + gap);
    if (due + gap > end) {
      const left = steps.length - index;
      options.onStep(
        `story cut short: the last ${left} of ${steps.length} steps do not fit in ${options.durationMs / 1000} s ` +
          `(${gap} ms apart at least); --duration ${fullStoryDurationS(steps, gap)} plays it whole`,
      );
      return;
    }
    await pause(due - options.now(), options.signal);
    if (options.signal.aborted) return;
    options.onStep(await step.run());
    previousEnd = options.now();
  }
}
