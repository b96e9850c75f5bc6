import path from 'node:path';
import { KubeConfigError } from '../errors.js';
import { combineCredentialSources, StaticCredentialSource } from './credential-sources.js';
import {
  EXEC_CREDENTIAL_API_VERSIONS,
  type ExecClusterInfo,
  ExecCredentialSource,
  isExecCredentialApiVersion,
} from './exec-credential.js';
import { decodeBase64Field, ensurePem, readReferencedFile, resolveRelativeTo } from './files.js';
import type { ClusterConfig, KubeconfigEntry, MergedKubeconfig, UserConfig } from './kubeconfig-file.js';
import { buildTls, type LoadSettings, normaliseServer } from './settings.js';
import { assertTokenFileReadable, TokenFileCredentialSource } from './token-file.js';
import type { ClientCertificate, CredentialSource, KubeConfig, TlsSettings } from './types.js';
import { Secret } from './types.js';

const EXEC_HINT =
  'use an exec credential plugin (users[].user.exec, client.authentication.k8s.io/v1) instead';

function availableContexts(merged: MergedKubeconfig): string {
  const names = [...merged.contexts.keys()];
  return names.length
    ? ` (available contexts: ${names.map((n) => `"${n}"`).join(', ')})`
    : ' (it defines no contexts)';
}

/** Reads PEM material given inline (`*-data`, base64) or as a file (relative to the kubeconfig). */
function pemField(
  entry: KubeconfigEntry<ClusterConfig | UserConfig>,
  data: string | null | undefined,
  file: string | null | undefined,
  field: string,
  where: string,
): string | undefined {
  if (data && file) {
    throw new KubeConfigError(`${where} sets both ${field}-data and ${field}; use only one`);
  }
  if (data)
    return ensurePem(decodeBase64Field(data, `${field}-data of ${where}`), `${field}-data of ${where}`);
  if (file) {
    const resolved = resolveRelativeTo(entry.file, file);
    return ensurePem(
      readReferencedFile(resolved, `${field} of ${where}`),
      `${field} ${resolved} of ${where}`,
    );
  }
  return undefined;
}

function clusterSettings(
  cluster: KubeconfigEntry<ClusterConfig>,
  settings: LoadSettings,
): { server: string; tls: TlsSettings } {
  const where = `cluster "${cluster.name}" in ${cluster.file}`;
  const c = cluster.value;
  if (c['proxy-url']) {
    throw new KubeConfigError(`${where} sets proxy-url, which is not supported`);
  }
  if (!c.server) throw new KubeConfigError(`${where} has no server`);
  const server = normaliseServer(c.server, where);
  const ca = pemField(
    cluster,
    c['certificate-authority-data'],
    c['certificate-authority'],
    'certificate-authority',
    where,
  );
  const tls = buildTls(
    {
      server,
      ca,
      serverName: c['tls-server-name'] ?? undefined,
      insecure: c['insecure-skip-tls-verify'] === true,
      where,
    },
    settings,
  );
  return { server, tls };
}

function execSource(
  user: KubeconfigEntry<UserConfig>,
  where: string,
  cluster: { server: string; tls: TlsSettings },
  settings: LoadSettings,
): CredentialSource | undefined {
  const exec = user.value.exec;
  if (!exec) return undefined;
  const apiVersion = exec.apiVersion;
  if (!apiVersion) {
    throw new KubeConfigError(
      `exec of ${where} has no apiVersion (use "${EXEC_CREDENTIAL_API_VERSIONS[0]}")`,
    );
  }
  if (!isExecCredentialApiVersion(apiVersion)) {
    throw new KubeConfigError(
      `exec of ${where} uses apiVersion "${apiVersion}", which is not supported ` +
        `(supported: ${EXEC_CREDENTIAL_API_VERSIONS.join(', ')})`,
    );
  }
  if (exec.interactiveMode === 'Always') {
    throw new KubeConfigError(
      `exec of ${where} requires interactiveMode "Always", but this client cannot provide a terminal`,
    );
  }
  // kubectl resolves a command containing a path separator relative to the kubeconfig's directory.
  const command =
    exec.command.includes('/') || exec.command.includes(path.sep)
      ? resolveRelativeTo(user.file, exec.command)
      : exec.command;
  let clusterInfo: ExecClusterInfo | undefined;
  if (exec.provideClusterInfo) {
    const { ca, serverName, insecureSkipTlsVerify } = cluster.tls;
    clusterInfo = {
      server: cluster.server,
      ...(ca !== undefined && { 'certificate-authority-data': Buffer.from(ca).toString('base64') }),
      ...(serverName !== undefined && { 'tls-server-name': serverName }),
      ...(insecureSkipTlsVerify && { 'insecure-skip-tls-verify': true }),
    };
  }
  return new ExecCredentialSource({
    command,
    args: exec.args,
    env: exec.env,
    apiVersion,
    installHint: exec.installHint ?? undefined,
    cluster: clusterInfo,
    timeoutMs: settings.execTimeoutMs,
    now: settings.now,
  });
}

/**
 * The user's credential source. Per field, `tokenFile` > `token` > exec token, and a static client
 * certificate > an exec one. Unsupported methods throw a `KubeConfigError`.
 */
function userAuth(
  user: KubeconfigEntry<UserConfig> | undefined,
  cluster: { server: string; tls: TlsSettings },
  settings: LoadSettings,
): CredentialSource {
  if (!user) return new StaticCredentialSource();
  const where = `user "${user.name}" in ${user.file}`;
  const u = user.value;
  if (u['auth-provider']) {
    const name = u['auth-provider'].name ? ` "${u['auth-provider'].name}"` : '';
    throw new KubeConfigError(`${where} uses auth-provider${name}, which is not supported; ${EXEC_HINT}`);
  }
  if (u.username || u.password) {
    throw new KubeConfigError(
      `${where} uses username/password (basic auth), which is not supported; ${EXEC_HINT}`,
    );
  }
  if (u.as || u['as-uid'] || u['as-groups']?.length || u['as-user-extra']) {
    throw new KubeConfigError(
      `${where} uses impersonation (as, as-groups, as-uid, as-user-extra), which is not supported`,
    );
  }

  const sources: CredentialSource[] = [];
  if (u.tokenFile) {
    const file = resolveRelativeTo(user.file, u.tokenFile);
    assertTokenFileReadable(file, `tokenFile of ${where}`);
    sources.push(
      new TokenFileCredentialSource(file, {
        refreshIntervalMs: settings.tokenFileRefreshIntervalMs,
        now: settings.now,
      }),
    );
  }
  const cert = pemField(
    user,
    u['client-certificate-data'],
    u['client-certificate'],
    'client-certificate',
    where,
  );
  const key = pemField(user, u['client-key-data'], u['client-key'], 'client-key', where);
  if ((cert === undefined) !== (key === undefined)) {
    throw new KubeConfigError(
      `${where} sets ${cert === undefined ? 'a client key without a client certificate' : 'a client certificate without a client key'}`,
    );
  }
  const clientCertificate: ClientCertificate | undefined =
    cert !== undefined && key !== undefined ? { cert, key: new Secret(key) } : undefined;
  if (u.token || clientCertificate) {
    sources.push(new StaticCredentialSource({ ...(u.token && { token: u.token }), clientCertificate }));
  }
  const exec = execSource(user, where, cluster, settings);
  if (exec) sources.push(exec);
  return combineCredentialSources(sources);
}

/** Resolves the selected context of merged kubeconfig files into a `KubeConfig`. */
export function kubeConfigFromKubeconfig(
  merged: MergedKubeconfig,
  params: { readonly context: string | undefined; readonly settings: LoadSettings },
): KubeConfig {
  const { settings } = params;
  const files = merged.files.join(', ');
  const contextName = params.context || merged.currentContext;
  if (!contextName) {
    throw new KubeConfigError(
      `Kubeconfig ${files} has no current-context and no context was given${availableContexts(merged)}`,
    );
  }
  const context = merged.contexts.get(contextName);
  if (!context) {
    throw new KubeConfigError(
      `Context "${contextName}" not found in kubeconfig ${files}${availableContexts(merged)}`,
    );
  }
  const contextWhere = `context "${contextName}" in ${context.file}`;
  const clusterName = context.value.cluster;
  if (!clusterName) throw new KubeConfigError(`${contextWhere} names no cluster`);
  const clusterEntry = merged.clusters.get(clusterName);
  if (!clusterEntry) {
    throw new KubeConfigError(`Cluster "${clusterName}" of ${contextWhere} not found in kubeconfig ${files}`);
  }
  const userName = context.value.user;
  const userEntry = userName ? merged.users.get(userName) : undefined;
  if (userName && !userEntry) {
    throw new KubeConfigError(`User "${userName}" of ${contextWhere} not found in kubeconfig ${files}`);
  }

  const cluster = clusterSettings(clusterEntry, settings);
  return Object.freeze({
    server: cluster.server,
    namespace: settings.namespace || context.value.namespace || 'default',
    tls: cluster.tls,
    auth: userAuth(userEntry, cluster, settings),
    source: 'kubeconfig' as const,
    context: contextName,
  });
}
