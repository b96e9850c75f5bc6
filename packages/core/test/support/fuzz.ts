/**
 * How long the fuzz properties (`*.fuzz.test.ts`) run. `pnpm test` runs each at its own small
 * default so the whole set stays bounded; `FUZZ_RUNS=n pnpm test:fuzz` runs each n times, without
 * the test timeout.
 */
const requested = Number(process.env.FUZZ_RUNS);
const long = Number.isSafeInteger(requested) && requested > 0;

/**
 * The run count of one property. `costPerRun` is how many cheap runs one of its runs is worth (a
 * property that starts a process per run costs about 100): a long run gives it `FUZZ_RUNS / cost`
 * runs, so that every property takes a comparable share of the time.
 */
export function fuzzRuns(defaultRuns: number, costPerRun = 1): number {
  return long ? Math.max(defaultRuns, Math.ceil(requested / costPerRun)) : defaultRuns;
}

/** The vitest timeout of a fuzz test: the configured one by default, none for a long run. */
export const fuzzTimeout: number | undefined = long ? 0 : undefined;
