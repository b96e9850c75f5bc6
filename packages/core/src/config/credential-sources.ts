import type { ClientCertificate, CredentialSource, Credentials } from './types.js';
import { Secret } from './types.js';

/** Options accepted by `CredentialSource.credentials`. */
export type CredentialsRequest = Parameters<CredentialSource['credentials']>[0];

/** Wraps a string in a `Secret` (a `Secret` is returned as is). */
export function toSecret(value: string | Secret): Secret {
  return value instanceof Secret ? value : new Secret(value);
}

/** Resolves like `promise`, or rejects with `signal.reason` as soon as `signal` aborts. */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  // This caller may stop listening; a later failure of the (shared) work must not become unhandled.
  promise.catch(() => {});
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/** Credentials that never change: a static token and/or a client certificate (or nothing: anonymous). */
export class StaticCredentialSource implements CredentialSource {
  readonly #credentials: Credentials;

  constructor(credentials: { token?: string | Secret; clientCertificate?: ClientCertificate } = {}) {
    this.#credentials = Object.freeze({
      ...(credentials.token !== undefined && { token: toSecret(credentials.token) }),
      ...(credentials.clientCertificate && {
        clientCertificate: Object.freeze({ ...credentials.clientCertificate }),
      }),
    });
  }

  credentials(options?: CredentialsRequest): Promise<Credentials> {
    if (options?.signal?.aborted) return Promise.reject(options.signal.reason);
    return Promise.resolve(this.#credentials);
  }
}

/**
 * Combines sources in priority order: for each field (`token`, `clientCertificate`) the first source
 * providing it wins. `refresh` and `signal` are passed to every source.
 */
export class CombinedCredentialSource implements CredentialSource {
  readonly #sources: readonly CredentialSource[];

  constructor(sources: readonly CredentialSource[]) {
    this.#sources = [...sources];
  }

  async credentials(options?: CredentialsRequest): Promise<Credentials> {
    const all = await Promise.all(this.#sources.map((source) => source.credentials(options)));
    const token = all.find((c) => c.token)?.token;
    const clientCertificate = all.find((c) => c.clientCertificate)?.clientCertificate;
    return Object.freeze({ ...(token && { token }), ...(clientCertificate && { clientCertificate }) });
  }
}

/** One source as is, several combined (first wins per field), none as anonymous. */
export function combineCredentialSources(sources: readonly CredentialSource[]): CredentialSource {
  if (sources.length === 0) return new StaticCredentialSource();
  if (sources.length === 1) return sources[0]!;
  return new CombinedCredentialSource(sources);
}
