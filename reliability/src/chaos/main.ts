/**
 * `pnpm test:chaos`: seeded chaos runs against the fake apiserver, then the report of each.
 * CHAOS_SEED=<n> replays one schedule; CHAOS_SEEDS=<k> runs k random seeds (default 1);
 * CHAOS_DURATION_S (default 75) is the time faults last per seed: 3600 runs an hour;
 * CHAOS_HUGE_BODY_MB (default 16) sizes the huge error bodies; CHAOS_VERBOSE=1 prints each fault.
 * Exits with 1 when an invariant broke.
 */
import { randomInt } from 'node:crypto';
import { formatChaosReport } from './report.js';
import { runChaos } from './run.js';

const env = process.env;
const seeds =
  env.CHAOS_SEED !== undefined && env.CHAOS_SEED !== ''
    ? [Number(env.CHAOS_SEED)]
    : Array.from({ length: Number(env.CHAOS_SEEDS ?? 1) }, () => randomInt(1, 2 ** 31 - 1));
const durationMs = Number(env.CHAOS_DURATION_S ?? 75) * 1000;
const hugeBodyBytes = Number(env.CHAOS_HUGE_BODY_MB ?? 16) * 1024 * 1024;
const verbose = env.CHAOS_VERBOSE === '1';

let broken = 0;
for (const seed of seeds) {
  if (!Number.isSafeInteger(seed)) throw new Error(`CHAOS_SEED must be an integer, got ${env.CHAOS_SEED}`);
  console.log(`chaos: seed ${seed}, ${durationMs / 1000} s of faults (CHAOS_SEED=${seed} replays it)`);
  const result = await runChaos({
    seed,
    durationMs,
    hugeBodyBytes,
    ...(verbose ? { log: (line: string) => console.log(`  ${line}`) } : {}),
  });
  console.log(formatChaosReport(result));
  console.log('');
  if (result.violations.length > 0) broken++;
}
console.log(`chaos: ${seeds.length - broken}/${seeds.length} seed(s) without a violation`);
process.exitCode = broken > 0 ? 1 : 0;
