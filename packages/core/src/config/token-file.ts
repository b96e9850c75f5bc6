import { accessSync, constants } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { KubeConfigError } from '../errors.js';
import { type CredentialsRequest, raceAbort } from './credential-sources.js';
import { describeFsError } from './files.js';
import type { CredentialSource, Credentials } from './types.js';
import { Secret } from './types.js';

/** Default time a token file's content is reused before the file is read again. */
export const DEFAULT_TOKEN_FILE_REFRESH_INTERVAL_MS = 60_000;

export interface TokenFileCredentialSourceOptions {
  /** Re-read the file when the cached token is older than this; default 60 000 ms. */
  readonly refreshIntervalMs?: number;
  /** Clock; default `Date.now`. */
  readonly now?: () => number;
}

/** Throws a `KubeConfigError` unless `file` is readable; used at load time (the token itself is read lazily). */
export function assertTokenFileReadable(file: string, what: string): void {
  try {
    accessSync(file, constants.R_OK);
  } catch (err) {
    throw new KubeConfigError(`Cannot read ${what} ${file}: ${describeFsError(err)}`, { cause: err });
  }
}

/**
 * A bearer token read from a file (e.g. a bound, rotating service account token). The content is cached
 * for `refreshIntervalMs` and re-read immediately on `credentials({ refresh: true })`.
 */
export class TokenFileCredentialSource implements CredentialSource {
  readonly #file: string;
  readonly #refreshIntervalMs: number;
  readonly #now: () => number;
  #cached: { credentials: Credentials; readAt: number } | undefined;
  #inflight: Promise<Credentials> | undefined;

  constructor(file: string, options: TokenFileCredentialSourceOptions = {}) {
    this.#file = file;
    this.#refreshIntervalMs = options.refreshIntervalMs ?? DEFAULT_TOKEN_FILE_REFRESH_INTERVAL_MS;
    this.#now = options.now ?? Date.now;
  }

  /** The token file's path. */
  get file(): string {
    return this.#file;
  }

  credentials(options?: CredentialsRequest): Promise<Credentials> {
    if (options?.signal?.aborted) return Promise.reject(options.signal.reason);
    const cached = this.#cached;
    if (!options?.refresh && cached && this.#now() - cached.readAt < this.#refreshIntervalMs) {
      return Promise.resolve(cached.credentials);
    }
    this.#inflight ??= this.#read().finally(() => {
      this.#inflight = undefined;
    });
    return raceAbort(this.#inflight, options?.signal);
  }

  async #read(): Promise<Credentials> {
    let content: string;
    try {
      content = await readFile(this.#file, 'utf8');
    } catch (err) {
      this.#cached = undefined;
      throw new KubeConfigError(`Cannot read token file ${this.#file}: ${describeFsError(err)}`, {
        cause: err,
      });
    }
    const token = content.trim();
    if (token === '') {
      this.#cached = undefined;
      throw new KubeConfigError(`Token file ${this.#file} is empty`);
    }
    const credentials: Credentials = Object.freeze({ token: new Secret(token) });
    this.#cached = { credentials, readAt: this.#now() };
    return credentials;
  }
}
