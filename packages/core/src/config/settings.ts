import { KubeConfigError } from '../errors.js';
import type { TlsSettings } from './types.js';

/** Warning codes passed to `process.emitWarning` by the default `warn`. */
export const WARNING_CODES = {
  insecureTls: 'ENDPOINT_WATCH_INSECURE_TLS',
  inClusterCa: 'ENDPOINT_WATCH_IN_CLUSTER_CA',
} as const;
export type WarningCode = (typeof WARNING_CODES)[keyof typeof WARNING_CODES];

/** Options-derived settings shared by the kubeconfig, explicit and in-cluster loaders. */
export interface LoadSettings {
  readonly warn: (code: WarningCode, message: string) => void;
  readonly now: () => number;
  readonly tokenFileRefreshIntervalMs: number | undefined;
  readonly execTimeoutMs: number | undefined;
  readonly namespace: string | undefined;
  readonly tlsServerName: string | undefined;
}

export function makeWarn(warn: ((message: string) => void) | undefined): LoadSettings['warn'] {
  if (warn) return (_code, message) => warn(message);
  return (code, message) => process.emitWarning(message, { code });
}

const SLASH = 0x2f;

/**
 * Validates an apiserver URL and returns it without trailing slash. A URL without scheme gets `https://`.
 * `where` names the origin (file, cluster) for error messages.
 */
export function normaliseServer(server: string, where: string): string {
  let raw = server.trim();
  if (raw === '') throw new KubeConfigError(`${where}: server is empty`);
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) raw = `https://${raw}`;
  const shown = raw.includes('@') ? '(redacted)' : `"${raw}"`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new KubeConfigError(`${where}: server ${shown} is not a valid URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new KubeConfigError(`${where}: server ${shown} must be an https:// (or http://) URL`);
  }
  if (url.username || url.password) {
    throw new KubeConfigError(`${where}: server URL must not contain credentials`);
  }
  if (url.search || url.hash) {
    throw new KubeConfigError(`${where}: server ${shown} must not have a query or fragment`);
  }
  return withoutTrailingSlashes(raw);
}

/** `text` without its trailing slashes. Not /\/+$/: it backtracks quadratically over a long run of slashes that does not end the text. */
export function withoutTrailingSlashes(text: string): string {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === SLASH) end--;
  return text.slice(0, end);
}

/** Builds `TlsSettings`, applying the `tlsServerName` override and warning when verification is disabled. */
export function buildTls(
  params: {
    server: string;
    ca: string | undefined;
    serverName: string | undefined;
    insecure: boolean;
    where: string;
  },
  settings: LoadSettings,
): TlsSettings {
  const { server, ca, insecure, where } = params;
  const serverName = settings.tlsServerName || params.serverName || undefined;
  if (insecure && ca !== undefined) {
    throw new KubeConfigError(
      `${where}: a certificate authority and insecure-skip-tls-verify cannot both be set (kubectl rejects this too)`,
    );
  }
  if (insecure) {
    settings.warn(
      WARNING_CODES.insecureTls,
      `TLS certificate verification is disabled for ${server} (insecure-skip-tls-verify, ${where}); ` +
        'the connection and its credentials can be intercepted',
    );
  }
  return Object.freeze({
    ...(ca !== undefined && { ca }),
    ...(serverName !== undefined && { serverName }),
    insecureSkipTlsVerify: insecure,
  });
}
