/** Builds (or finds) the control plane's binaries once, before any test file, outside test timeouts. */
import type { TestProject } from 'vitest/node';
import { controlPlaneBinaries } from '../../packages/testing/src/control-plane/binaries.js';

declare module 'vitest' {
  export interface ProvidedContext {
    controlPlaneBin: string;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  const started = Date.now();
  const binDir = await controlPlaneBinaries({
    log: (line) => process.stderr.write(`[control plane] ${line}\n`),
  });
  process.stderr.write(
    `[control plane] binaries in ${binDir} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`,
  );
  project.provide('controlPlaneBin', binDir);
}
