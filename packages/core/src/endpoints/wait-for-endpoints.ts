/**
 * "First sync or fail": the promise form of `watchEndpoints` for startup code, readiness gates and
 * scripts, which must not hang on a watch that can never work (client-go's `WaitForCacheSync`
 * waits forever; this gives the real reason instead).
 */
import { Subscription } from 'rxjs';
import { EndpointWatchError, ExecCredentialError, KubeConfigError } from '../errors.js';
import { KubeApiError, KubeTransportError } from '../transport/kube-api-error.js';
import type { KubeClient } from '../transport/kube-client.js';
import type { EndpointSet } from './types.js';
import { type WatchEndpointsOptions, watchEndpoints, watchEndpointsHealth } from './watch-endpoints.js';

export interface WaitForEndpointsOptions {
  /** Longest wait for the first set. Default 30 s. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /**
   * Which errors end the wait at once, before the timeout. Default `needsUserAction`: errors that
   * retrying cannot fix (identity, RBAC, TLS, nothing listening, kubeconfig). Others (5xx, 429, cuts)
   * are retried by the watch until the timeout, whose error carries the last one as `cause`.
   */
  readonly failFast?: (error: unknown) => boolean;
}

/** The first set did not arrive within `timeoutMs`; `cause` is the watch's last error, if any. */
export class EndpointsTimeoutError extends EndpointWatchError {
  readonly service: string;
  readonly namespace: string;
  constructor(service: string, namespace: string, timeoutMs: number, cause: unknown) {
    const why = cause === undefined ? 'the watch reported no error' : `last error: ${messageOf(cause)}`;
    super(
      'ERR_ENDPOINTS_TIMEOUT',
      `no endpoint set for Service ${namespace}/${service} within ${timeoutMs} ms (${why})`,
      cause === undefined ? undefined : { cause },
    );
    this.service = service;
    this.namespace = namespace;
  }
}

/**
 * Errors a user must fix before a watch can ever work: a 401 (identity), 403 (RBAC), 404 (the API
 * is not served), a TLS name or trust failure, nothing listening at the server's address, a broken
 * kubeconfig or exec plugin.
 */
export function needsUserAction(error: unknown): boolean {
  if (error instanceof KubeApiError) return [401, 403, 404].includes(error.statusCode);
  if (error instanceof KubeTransportError) {
    return ['ERR_KUBE_TLS_NAME', 'ERR_KUBE_TLS_TRUST', 'ERR_KUBE_UNREACHABLE'].includes(error.code);
  }
  return error instanceof KubeConfigError || error instanceof ExecCredentialError;
}

/**
 * Resolves with the first complete `EndpointSet` (possibly empty: an empty Service is an answer);
 * rejects with the watch's own error when `failFast` says it needs the user (a 403 `KubeApiError`
 * carries the apiserver's Status), with `EndpointsTimeoutError` after `timeoutMs`, with the abort
 * reason on `signal`, or with a misuse error of `watchEndpoints` (`PortSelectionError`). The watch
 * is released when it settles; a `watchEndpoints` subscription of the same options shares it.
 */
export function waitForEndpoints(
  client: KubeClient,
  options: WatchEndpointsOptions,
  wait: WaitForEndpointsOptions = {},
): Promise<EndpointSet> {
  const timeoutMs = wait.timeoutMs ?? 30_000;
  const failFast = wait.failFast ?? needsUserAction;
  const namespace = options.namespace ?? client.config.namespace;
  return new Promise<EndpointSet>((resolve, reject) => {
    const signal = wait.signal;
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const subscriptions = new Subscription();
    let lastError: unknown;
    const settle = (done: () => void) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      subscriptions.unsubscribe();
      done();
    };
    const onAbort = () => settle(() => reject(signal?.reason));
    const timer = setTimeout(
      () => settle(() => reject(new EndpointsTimeoutError(options.service, namespace, timeoutMs, lastError))),
      timeoutMs,
    );
    signal?.addEventListener('abort', onAbort, { once: true });
    subscriptions.add(
      watchEndpointsHealth(client, options).subscribe((health) => {
        if (!('error' in health) || health.error === undefined) return;
        lastError = health.error;
        if (failFast(health.error)) settle(() => reject(health.error));
      }),
    );
    subscriptions.add(
      watchEndpoints(client, options).subscribe({
        next: (set) => settle(() => resolve(set)),
        error: (error: unknown) => settle(() => reject(error)),
      }),
    );
  });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
