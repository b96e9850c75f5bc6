import { existsSync, readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import path from 'node:path';
import { KubeConfigError } from '../errors.js';
import { describeFsError, ensurePem } from './files.js';
import { buildTls, type LoadSettings, WARNING_CODES } from './settings.js';
import { assertTokenFileReadable, TokenFileCredentialSource } from './token-file.js';
import type { KubeConfig } from './types.js';

/** Where the kubelet mounts the service account token, CA and namespace. */
export const DEFAULT_SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

type Env = Readonly<Record<string, string | undefined>>;

/** True when the environment looks like a pod's (`KUBERNETES_SERVICE_HOST` is set). */
export function isInClusterEnvironment(env: Env): boolean {
  return Boolean(env.KUBERNETES_SERVICE_HOST?.trim());
}

/** `https://host:port` from `KUBERNETES_SERVICE_HOST`/`_PORT`, IPv6 hosts bracketed. */
export function inClusterServer(env: Env): string {
  const host = env.KUBERNETES_SERVICE_HOST?.trim();
  const port = env.KUBERNETES_SERVICE_PORT?.trim();
  if (!host || !port) {
    throw new KubeConfigError(
      'In-cluster configuration needs the environment variables KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT ' +
        `(${!host ? 'KUBERNETES_SERVICE_HOST' : 'KUBERNETES_SERVICE_PORT'} is not set); is this running in a pod?`,
    );
  }
  if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
    throw new KubeConfigError(
      `In-cluster configuration: KUBERNETES_SERVICE_PORT "${port}" is not a valid port`,
    );
  }
  return `https://${isIPv6(host) ? `[${host}]` : host}:${port}`;
}

/**
 * The service account configuration of a pod: server from `KUBERNETES_SERVICE_HOST`/`_PORT`, token (read
 * lazily, re-read as it rotates), `ca.crt` and `namespace` from `serviceAccountDir`.
 */
export function loadInClusterConfig(params: {
  readonly serviceAccountDir: string;
  readonly env: Env;
  readonly settings: LoadSettings;
}): KubeConfig {
  const { serviceAccountDir: dir, env, settings } = params;
  const server = inClusterServer(env);
  const tokenFile = path.join(dir, 'token');
  assertTokenFileReadable(tokenFile, 'in-cluster service account token');

  const caFile = path.join(dir, 'ca.crt');
  let ca: string | undefined;
  if (existsSync(caFile)) {
    let content: string;
    try {
      content = readFileSync(caFile, 'utf8');
    } catch (err) {
      throw new KubeConfigError(`Cannot read in-cluster CA ${caFile}: ${describeFsError(err)}`, {
        cause: err,
      });
    }
    ca = ensurePem(content, `In-cluster CA ${caFile}`);
  } else {
    settings.warn(
      WARNING_CODES.inClusterCa,
      `In-cluster CA ${caFile} not found; verifying the apiserver certificate against the system roots`,
    );
  }

  let namespace = settings.namespace;
  if (!namespace) {
    try {
      namespace = readFileSync(path.join(dir, 'namespace'), 'utf8').trim() || undefined;
    } catch {
      namespace = undefined;
    }
  }

  return Object.freeze({
    server,
    namespace: namespace ?? 'default',
    tls: buildTls(
      { server, ca, serverName: undefined, insecure: false, where: 'in-cluster configuration' },
      settings,
    ),
    auth: new TokenFileCredentialSource(tokenFile, {
      refreshIntervalMs: settings.tokenFileRefreshIntervalMs,
      now: settings.now,
    }),
    source: 'in-cluster' as const,
  });
}
