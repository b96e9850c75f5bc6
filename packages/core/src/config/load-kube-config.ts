import os from 'node:os';
import path from 'node:path';
import { KubeConfigError } from '../errors.js';
import { kubeConfigFromKubeconfig } from './from-kubeconfig.js';
import { CONNECTION_OPTIONS, kubeConfigFromOptions } from './from-options.js';
import { DEFAULT_SERVICE_ACCOUNT_DIR, isInClusterEnvironment, loadInClusterConfig } from './in-cluster.js';
import { type KubeconfigFile, mergeKubeconfigs, readKubeconfigFile } from './kubeconfig-file.js';
import { type LoadSettings, makeWarn } from './settings.js';
import type { KubeConfig, LoadKubeConfigOptions } from './types.js';

function isDefined<T>(value: T | undefined): value is T {
  return value !== undefined;
}

/**
 * Resolves the cluster configuration, synchronously. Order: explicit `server` option → forced in-cluster
 * (`inCluster: true` or an object without `force: false`) → `kubeconfig` option → env `KUBECONFIG`
 * (merged, missing entries skipped) → `<homeDir>/.kube/config` → in-cluster (when `KUBERNETES_SERVICE_HOST`
 * is set, unless `inCluster: false`). Throws `KubeConfigError` when nothing applies or the selected
 * configuration is unusable. Token files and exec plugins are only read by `auth.credentials()`.
 */
export function loadKubeConfig(options: LoadKubeConfigOptions = {}): KubeConfig {
  const env = options.env ?? process.env;
  const settings: LoadSettings = {
    warn: makeWarn(options.warn),
    now: options.now ?? Date.now,
    tokenFileRefreshIntervalMs: options.tokenFileRefreshIntervalMs,
    execTimeoutMs: options.execTimeoutMs,
    namespace: options.namespace || undefined,
    tlsServerName: options.tlsServerName || undefined,
  };

  if (options.server !== undefined)
    return kubeConfigFromOptions({ ...options, server: options.server }, settings);
  const stray = CONNECTION_OPTIONS.filter((key) => options[key] !== undefined && options[key] !== false);
  if (stray.length > 0) {
    throw new KubeConfigError(
      `${stray.map((k) => `options.${k}`).join(', ')} can only be used with options.server`,
    );
  }

  const inCluster = options.inCluster;
  const serviceAccountDir =
    (typeof inCluster === 'object' ? inCluster.serviceAccountDir : undefined) ?? DEFAULT_SERVICE_ACCOUNT_DIR;
  const forceInCluster = inCluster === true || (typeof inCluster === 'object' && inCluster.force !== false);
  if (forceInCluster) return loadInClusterConfig({ serviceAccountDir, env, settings });

  const fromFiles = (files: readonly KubeconfigFile[]) =>
    kubeConfigFromKubeconfig(mergeKubeconfigs(files), { context: options.context, settings });

  if (options.kubeconfig !== undefined) {
    const paths = typeof options.kubeconfig === 'string' ? [options.kubeconfig] : [...options.kubeconfig];
    if (paths.length === 0 || paths.some((p) => p.trim() === '')) {
      throw new KubeConfigError('options.kubeconfig must be a non-empty path or list of paths');
    }
    return fromFiles(paths.map((p) => readKubeconfigFile(p)).filter(isDefined));
  }

  const tried: string[] = [];
  const kubeconfigEnv = env.KUBECONFIG?.trim();
  if (kubeconfigEnv) {
    // Like kubectl: empty entries ignored, duplicates read once, missing files skipped.
    const paths = [...new Set(kubeconfigEnv.split(path.delimiter).filter((p) => p.trim() !== ''))];
    const files = paths.map((p) => readKubeconfigFile(p, { skipMissing: true })).filter(isDefined);
    if (files.length > 0) return fromFiles(files);
    tried.push(
      `KUBECONFIG=${kubeconfigEnv} (no listed file exists; ~/.kube/config is not used when KUBECONFIG is set)`,
    );
  } else {
    const home = path.join(options.homeDir ?? os.homedir(), '.kube', 'config');
    const file = readKubeconfigFile(home, { skipMissing: true });
    if (file) return fromFiles([file]);
    tried.push(`KUBECONFIG (not set)`, `${home} (not found)`);
  }

  if (inCluster === false) {
    tried.push('in-cluster (disabled by options.inCluster: false)');
  } else if (isInClusterEnvironment(env)) {
    return loadInClusterConfig({ serviceAccountDir, env, settings });
  } else {
    tried.push('in-cluster (KUBERNETES_SERVICE_HOST not set)');
  }
  throw new KubeConfigError(
    `No Kubernetes configuration found; tried: options.server (not given), options.kubeconfig (not given), ${tried.join(', ')}`,
  );
}
