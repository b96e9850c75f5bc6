/** Client configuration for a fake server: a kubeconfig YAML and a pod-style service-account directory. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { TlsMaterial } from './tls.js';

export interface KubeconfigOptions {
  /** Namespace of the context (default 'default'). */
  namespace?: string;
  /** `tls-server-name` of the cluster: the name to verify the server certificate against. */
  tlsServerName?: string;
  /** Bearer token (default: the server's current token; none when the server has no auth). */
  token?: string;
  /** Server URL (default: the server's url). */
  server?: string;
  /** Name of the context, cluster and user (default 'fake'). */
  context?: string;
}

export interface KubeconfigInput {
  url: string;
  token: string | undefined;
  tls: TlsMaterial | undefined;
}

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

/** A kubeconfig (YAML) with one cluster, user and context for the fake server. */
export function buildKubeconfig(input: KubeconfigInput, options: KubeconfigOptions = {}): string {
  const name = options.context ?? 'fake';
  const cluster: Record<string, string> = { server: options.server ?? input.url };
  if (input.tls !== undefined) cluster['certificate-authority-data'] = b64(input.tls.ca);
  if (options.tlsServerName !== undefined) cluster['tls-server-name'] = options.tlsServerName;
  const user: Record<string, string> = {};
  const token = options.token ?? input.token;
  if (token !== undefined) user.token = token;
  if (input.tls?.client !== undefined) {
    user['client-certificate-data'] = b64(input.tls.client.cert);
    user['client-key-data'] = b64(input.tls.client.key);
  }
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster }],
    users: [{ name, user }],
    contexts: [{ name, context: { cluster: name, user: name, namespace: options.namespace ?? 'default' } }],
    'current-context': name,
    preferences: {},
  });
}

export interface ServiceAccountFiles {
  dir: string;
  tokenPath: string;
  /** Undefined when the server is plain HTTP (no CA to write). */
  caPath: string | undefined;
  namespacePath: string;
  /** `KUBERNETES_SERVICE_HOST` / `KUBERNETES_SERVICE_PORT` as the kubelet would set them for this server. */
  env: { KUBERNETES_SERVICE_HOST: string; KUBERNETES_SERVICE_PORT: string };
}

/**
 * Writes `token`, `ca.crt` (TLS servers only) and `namespace` into `dir` (created if needed), like a
 * pod's /var/run/secrets/kubernetes.io/serviceaccount mount.
 */
export function writeServiceAccountFiles(
  dir: string,
  input: KubeconfigInput,
  options: { namespace?: string } = {},
): ServiceAccountFiles {
  mkdirSync(dir, { recursive: true });
  const tokenPath = join(dir, 'token');
  const namespacePath = join(dir, 'namespace');
  writeFileSync(tokenPath, input.token ?? '');
  writeFileSync(namespacePath, options.namespace ?? 'default');
  let caPath: string | undefined;
  if (input.tls !== undefined) {
    caPath = join(dir, 'ca.crt');
    writeFileSync(caPath, input.tls.ca);
  }
  const url = new URL(input.url);
  return {
    dir,
    tokenPath,
    caPath,
    namespacePath,
    env: { KUBERNETES_SERVICE_HOST: url.hostname.replace(/^\[|\]$/g, ''), KUBERNETES_SERVICE_PORT: url.port },
  };
}
