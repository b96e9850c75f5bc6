/**
 * The control plane's binaries: prebuilt ones from ENDPOINT_WATCH_CONTROL_PLANE_BIN (like envtest's
 * KUBEBUILDER_ASSETS), or built from the Go modules shipped in this package and cached by version.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CONTROL_PLANE_BINARIES = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kubectl',
] as const;

/** `control-plane/build.sh` of this package (the same relative place from `src/` and `dist/`). */
export const BUILD_SCRIPT = fileURLToPath(new URL('../../control-plane/build.sh', import.meta.url));

export interface ControlPlaneBinariesOptions {
  /** A directory holding the four binaries; default ENDPOINT_WATCH_CONTROL_PLANE_BIN, else build. */
  binDir?: string;
  /** Receives the build's progress lines (a cold build takes ~14 minutes on 2 cores). */
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

export class ControlPlaneBuildError extends Error {
  readonly code = 'ERR_CONTROL_PLANE_BUILD';
  override name = 'ControlPlaneBuildError';
}

/** The directory holding etcd, kube-apiserver, kube-controller-manager and kubectl, built if needed. */
export async function controlPlaneBinaries(options: ControlPlaneBinariesOptions = {}): Promise<string> {
  const env = options.env ?? process.env;
  const given = options.binDir ?? env.ENDPOINT_WATCH_CONTROL_PLANE_BIN;
  if (given !== undefined && given !== '') {
    const missing = CONTROL_PLANE_BINARIES.filter((name) => !existsSync(join(given, name)));
    if (missing.length > 0) throw new ControlPlaneBuildError(`${given} lacks ${missing.join(', ')}`);
    return given;
  }
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [BUILD_SCRIPT], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-8_192);
      for (const line of chunk.split('\n')) if (line.trim() !== '') options.log?.(line);
    });
    child.once('error', (error) =>
      reject(new ControlPlaneBuildError(`cannot run ${BUILD_SCRIPT}: ${error.message}`)),
    );
    child.once('exit', (code) => {
      const dir = stdout.trim().split('\n').at(-1) ?? '';
      if (code === 0 && dir !== '') resolve(dir);
      else reject(new ControlPlaneBuildError(`${BUILD_SCRIPT} failed (exit ${code}):\n${stderr.trim()}`));
    });
  });
}
