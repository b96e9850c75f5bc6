import { readFileSync } from 'node:fs';
import path from 'node:path';
import { KubeConfigError } from '../errors.js';
import { combineCredentialSources, StaticCredentialSource } from './credential-sources.js';
import { describeFsError, ensurePem, looksLikePem, readReferencedFile } from './files.js';
import { buildTls, type LoadSettings, normaliseServer } from './settings.js';
import { assertTokenFileReadable, TokenFileCredentialSource } from './token-file.js';
import type { CredentialSource, KubeConfig, LoadKubeConfigOptions } from './types.js';
import { Secret } from './types.js';

/** Connection options that only make sense together with `server`. */
export const CONNECTION_OPTIONS = [
  'token',
  'tokenFile',
  'ca',
  'caFile',
  'clientCertificate',
  'clientKey',
  'insecureSkipTlsVerify',
] as const satisfies readonly (keyof LoadKubeConfigOptions)[];

/**
 * PEM given inline, or read from a file path (relative to the working directory). For secret values the
 * path is left out of errors: a mangled key that is not PEM would otherwise be echoed as a "path".
 */
function pemOption(value: string, what: string, secret = false): string {
  if (looksLikePem(value) || value.includes('\n')) return ensurePem(value, what);
  const file = path.resolve(value);
  let content: string;
  try {
    content = readFileSync(file, 'utf8');
  } catch (err) {
    const shown = secret ? '' : ` ${file}`;
    throw new KubeConfigError(
      `${what} is not PEM data and not a readable file${shown}: ${describeFsError(err)}`,
      {
        cause: secret ? undefined : err,
      },
    );
  }
  return ensurePem(content, secret ? what : `${what} ${file}`);
}

/** Builds a `KubeConfig` from explicit options alone (`server` and friends). */
export function kubeConfigFromOptions(
  options: LoadKubeConfigOptions & { readonly server: string },
  settings: LoadSettings,
): KubeConfig {
  const server = normaliseServer(options.server, 'options.server');
  if (options.ca !== undefined && options.caFile !== undefined) {
    throw new KubeConfigError('options.ca and options.caFile cannot both be set');
  }
  const ca =
    options.ca !== undefined
      ? ensurePem(options.ca, 'options.ca')
      : options.caFile !== undefined
        ? ensurePem(readReferencedFile(path.resolve(options.caFile), 'options.caFile'), 'options.caFile')
        : undefined;
  const tls = buildTls(
    { server, ca, serverName: undefined, insecure: options.insecureSkipTlsVerify === true, where: 'options' },
    settings,
  );

  if (options.token !== undefined && options.tokenFile !== undefined) {
    throw new KubeConfigError('options.token and options.tokenFile cannot both be set');
  }
  if ((options.clientCertificate === undefined) !== (options.clientKey === undefined)) {
    throw new KubeConfigError('options.clientCertificate and options.clientKey must be given together');
  }
  const sources: CredentialSource[] = [];
  if (options.tokenFile !== undefined) {
    const file = path.resolve(options.tokenFile);
    assertTokenFileReadable(file, 'options.tokenFile');
    sources.push(
      new TokenFileCredentialSource(file, {
        refreshIntervalMs: settings.tokenFileRefreshIntervalMs,
        now: settings.now,
      }),
    );
  }
  if (options.token !== undefined || options.clientCertificate !== undefined) {
    let clientCertificate: { cert: string; key: Secret } | undefined;
    if (options.clientCertificate !== undefined && options.clientKey !== undefined) {
      const key = options.clientKey instanceof Secret ? options.clientKey.reveal() : options.clientKey;
      clientCertificate = {
        cert: pemOption(options.clientCertificate, 'options.clientCertificate'),
        key: new Secret(pemOption(key, 'options.clientKey', true)),
      };
    }
    if (
      options.token !== undefined &&
      (options.token instanceof Secret ? options.token.reveal() : options.token) === ''
    ) {
      throw new KubeConfigError('options.token is empty');
    }
    sources.push(new StaticCredentialSource({ token: options.token, clientCertificate }));
  }

  return Object.freeze({
    server,
    namespace: settings.namespace || 'default',
    tls,
    auth: combineCredentialSources(sources),
    source: 'options' as const,
  });
}
