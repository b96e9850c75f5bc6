/**
 * `pnpm soak`: minutes to hours of churn and periodic faults, then the figures and the verdict.
 * SOAK_DURATION_S (default 600), SOAK_SAMPLE_S (5), SOAK_WRITES_PER_S (250), SOAK_CUT_EVERY_S (20),
 * SOAK_COMPACT_EVERY_S (60), SOAK_SERVICES (8), SOAK_REQUESTS_PER_S (20), SOAK_SEED (1),
 * SOAK_VERBOSE=1 prints every sample. Needs `node --expose-gc`. Exits with 1 when a target is missed.
 */
import { formatSoakReport, soakFigures } from './report.js';
import { runSoak } from './run.js';

const env = process.env;
const number = (name: string, fallback: number) => {
  const value = Number(env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${name} must be a positive number, got ${env[name]}`);
  return value;
};
const options = {
  durationMs: number('SOAK_DURATION_S', 600) * 1000,
  sampleEveryMs: number('SOAK_SAMPLE_S', 5) * 1000,
  writesPerSecond: number('SOAK_WRITES_PER_S', 250),
  cutEveryMs: number('SOAK_CUT_EVERY_S', 20) * 1000,
  compactEveryMs: number('SOAK_COMPACT_EVERY_S', 60) * 1000,
  services: number('SOAK_SERVICES', 8),
  requestsPerSecond: number('SOAK_REQUESTS_PER_S', 20),
  seed: number('SOAK_SEED', 1),
  ...(env.SOAK_VERBOSE === '1' ? { log: (line: string) => console.log(`  ${line}`) } : {}),
};
console.log(
  `soak: ${options.durationMs / 1000} s (SOAK_DURATION_S), samples every ${options.sampleEveryMs / 1000} s`,
);
const result = await runSoak(options);
console.log(formatSoakReport(result));
process.exitCode = soakFigures(result).failures.length > 0 ? 1 : 0;
