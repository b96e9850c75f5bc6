import { type ChildProcess, spawn } from 'node:child_process';
import { z } from 'zod';
import { ExecCredentialError } from '../errors.js';
import { type CredentialsRequest, raceAbort } from './credential-sources.js';
import type { CredentialSource, Credentials } from './types.js';
import { Secret } from './types.js';

/** ExecCredential API versions understood by this package. */
export const EXEC_CREDENTIAL_API_VERSIONS = [
  'client.authentication.k8s.io/v1',
  'client.authentication.k8s.io/v1beta1',
] as const;
export type ExecCredentialApiVersion = (typeof EXEC_CREDENTIAL_API_VERSIONS)[number];

/** Default exec plugin timeout. */
export const DEFAULT_EXEC_TIMEOUT_MS = 30_000;

const MAX_STDOUT_BYTES = 1024 * 1024;
const STDERR_TAIL_CHARS = 1000;

export function isExecCredentialApiVersion(value: unknown): value is ExecCredentialApiVersion {
  return (EXEC_CREDENTIAL_API_VERSIONS as readonly unknown[]).includes(value);
}

/** Cluster information passed to the plugin in `spec.cluster` when the kubeconfig sets `provideClusterInfo`. */
export interface ExecClusterInfo {
  readonly server: string;
  readonly 'certificate-authority-data'?: string;
  readonly 'tls-server-name'?: string;
  readonly 'insecure-skip-tls-verify'?: boolean;
}

export interface ExecCredentialSourceOptions {
  /** Executable: a name looked up in `PATH` or a path. */
  readonly command: string;
  readonly args?: readonly string[];
  /** Added to the parent's environment. */
  readonly env?: readonly { readonly name: string; readonly value: string }[];
  readonly apiVersion: ExecCredentialApiVersion;
  /** Shown when the command is not found. */
  readonly installHint?: string;
  /** Sent as `spec.cluster` of the ExecCredential request. */
  readonly cluster?: ExecClusterInfo;
  /** Kill the plugin and fail after this long; default 30 000 ms. */
  readonly timeoutMs?: number;
  /** Clock used for `expirationTimestamp`; default `Date.now`. */
  readonly now?: () => number;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

const ExecCredentialResponseSchema = z.looseObject({
  apiVersion: z.string(),
  kind: z.literal('ExecCredential'),
  status: z.looseObject({
    token: z.string().nullish(),
    clientCertificateData: z.string().nullish(),
    clientKeyData: z.string().nullish(),
    expirationTimestamp: z.string().regex(RFC3339, 'expected an RFC 3339 timestamp').nullish(),
  }),
});

interface CachedCredentials {
  readonly credentials: Credentials;
  /** Epoch ms; `undefined` = valid until a refresh is requested. */
  readonly expiresAt: number | undefined;
}

function tail(text: string): string {
  const trimmed = text.trim();
  return trimmed.length > STDERR_TAIL_CHARS ? `…${trimmed.slice(-STDERR_TAIL_CHARS)}` : trimmed;
}

/**
 * Runs a `client.authentication.k8s.io` exec plugin (like kubectl) and caches its credentials until their
 * `expirationTimestamp` (or, without one, until `credentials({ refresh: true })`). Concurrent callers
 * share one run; a run is killed after `timeoutMs`.
 */
export class ExecCredentialSource implements CredentialSource {
  readonly #options: ExecCredentialSourceOptions;
  readonly #now: () => number;
  #cached: CachedCredentials | undefined;
  #inflight: Promise<Credentials> | undefined;

  constructor(options: ExecCredentialSourceOptions) {
    this.#options = { ...options, args: [...(options.args ?? [])], env: [...(options.env ?? [])] };
    this.#now = options.now ?? Date.now;
  }

  /** The plugin's command (no arguments or environment, which may carry secrets). */
  get command(): string {
    return this.#options.command;
  }

  credentials(options?: CredentialsRequest): Promise<Credentials> {
    if (options?.signal?.aborted) return Promise.reject(options.signal.reason);
    const cached = this.#cached;
    if (!options?.refresh && cached && (cached.expiresAt === undefined || this.#now() < cached.expiresAt)) {
      return Promise.resolve(cached.credentials);
    }
    if (!this.#inflight) {
      this.#cached = undefined;
      this.#inflight = this.#run().finally(() => {
        this.#inflight = undefined;
      });
    }
    return raceAbort(this.#inflight, options?.signal);
  }

  async #run(): Promise<Credentials> {
    const stdout = await this.#spawn();
    const result = this.#parse(stdout);
    this.#cached = result;
    return result.credentials;
  }

  #request(): string {
    const { apiVersion, cluster } = this.#options;
    return JSON.stringify({
      apiVersion,
      kind: 'ExecCredential',
      spec: { ...(cluster && { cluster }), interactive: false },
    });
  }

  #spawn(): Promise<string> {
    const { command, args = [], env = [], installHint } = this.#options;
    const timeoutMs = this.#options.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
    const childEnv: NodeJS.ProcessEnv = { ...process.env };
    for (const { name, value } of env) childEnv[name] = value;
    childEnv.KUBERNETES_EXEC_INFO = this.#request();
    const label = `Exec credential plugin "${command}"`;

    return new Promise<string>((resolve, reject) => {
      let child: ChildProcess;
      try {
        child = spawn(command, [...args], {
          env: childEnv,
          stdio: ['ignore', 'pipe', 'pipe'],
          windowsHide: true,
        });
      } catch (err) {
        reject(new ExecCredentialError(`${label} could not be started`, { cause: err }));
        return;
      }
      const stdout: Buffer[] = [];
      let stdoutBytes = 0;
      let stderr = '';
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        fn();
      };
      const fail = (message: string, cause?: unknown) => {
        settle(() => {
          child.kill('SIGKILL');
          reject(new ExecCredentialError(message, cause === undefined ? undefined : { cause }));
        });
      };
      const timer = setTimeout(() => {
        const err = tail(stderr);
        fail(`${label} timed out after ${timeoutMs} ms and was killed${err ? `: ${err}` : ''}`);
      }, timeoutMs);

      child.stdout?.on('data', (chunk: Buffer) => {
        stdoutBytes += chunk.length;
        if (stdoutBytes > MAX_STDOUT_BYTES) {
          fail(`${label} wrote more than ${MAX_STDOUT_BYTES} bytes to stdout`);
          return;
        }
        stdout.push(chunk);
      });
      // Pipe errors surface as a non-zero exit or the timeout; they must not crash the process.
      child.stdout?.on('error', () => {});
      child.stderr?.on('error', () => {});
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (chunk: string) => {
        stderr = (stderr + chunk).slice(-4 * STDERR_TAIL_CHARS);
      });
      child.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') {
          const hint = installHint?.trim() ? `\n\n${installHint.trim()}` : '';
          fail(`${label} not found: executable "${command}" is not in PATH or does not exist${hint}`, err);
        } else if (err.code === 'EACCES') {
          fail(`${label} could not be executed: permission denied`, err);
        } else {
          fail(`${label} failed to start: ${err.code ?? err.message}`, err);
        }
      });
      child.on('close', (code, signal) => {
        if (code === 0) {
          settle(() => resolve(Buffer.concat(stdout).toString('utf8')));
          return;
        }
        const how = code === null ? `was killed by signal ${signal}` : `exited with code ${code}`;
        const err = tail(stderr);
        settle(() => reject(new ExecCredentialError(`${label} ${how}${err ? `: ${err}` : ''}`)));
      });
    });
  }

  #parse(stdout: string): CachedCredentials {
    const { command, apiVersion } = this.#options;
    const label = `Exec credential plugin "${command}"`;
    let data: unknown;
    try {
      data = JSON.parse(stdout);
    } catch {
      // JSON.parse messages quote the input, which may hold a token: never include them.
      throw new ExecCredentialError(
        `${label} did not write a JSON ExecCredential to stdout (${Buffer.byteLength(stdout)} bytes)`,
      );
    }
    const returnedVersion =
      typeof data === 'object' && data !== null ? (data as { apiVersion?: unknown }).apiVersion : undefined;
    if (returnedVersion !== apiVersion) {
      const shown = typeof returnedVersion === 'string' ? `"${returnedVersion.slice(0, 100)}"` : 'none';
      throw new ExecCredentialError(
        `${label} returned apiVersion ${shown}, but the kubeconfig configures "${apiVersion}"`,
      );
    }
    const parsed = ExecCredentialResponseSchema.safeParse(data);
    if (!parsed.success) {
      const issues = parsed.error.issues
        .slice(0, 5)
        .map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`)
        .join('; ');
      throw new ExecCredentialError(`${label} returned an invalid ExecCredential: ${issues}`);
    }
    const { token, clientCertificateData, clientKeyData, expirationTimestamp } = parsed.data.status;
    if (Boolean(clientCertificateData) !== Boolean(clientKeyData)) {
      throw new ExecCredentialError(
        `${label} returned ${clientCertificateData ? 'clientCertificateData without clientKeyData' : 'clientKeyData without clientCertificateData'}`,
      );
    }
    if (!token && !clientCertificateData) {
      throw new ExecCredentialError(`${label} returned neither a token nor a client certificate and key`);
    }
    let expiresAt: number | undefined;
    if (expirationTimestamp) {
      expiresAt = Date.parse(expirationTimestamp);
      if (Number.isNaN(expiresAt)) {
        throw new ExecCredentialError(`${label} returned an invalid expirationTimestamp`);
      }
    }
    const credentials: Credentials = Object.freeze({
      ...(token && { token: new Secret(token) }),
      ...(clientCertificateData &&
        clientKeyData && {
          clientCertificate: Object.freeze({ cert: clientCertificateData, key: new Secret(clientKeyData) }),
        }),
    });
    return { credentials, expiresAt };
  }
}
