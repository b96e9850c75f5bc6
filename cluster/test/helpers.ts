/** Shared pieces of the cluster tests: a control plane per file, SDK clients for it, recorders of streams. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createKubeClient,
  type EndpointSet,
  type KubeClient,
  type KubeClientOptions,
  loadKubeConfig,
} from '@endpoint-watch/core';
import {
  type ControlPlane,
  type ControlPlaneOptions,
  eventually,
  startControlPlane,
} from '@endpoint-watch/testing';
import type { Observable, Subscription } from 'rxjs';
import { afterAll, beforeAll, inject } from 'vitest';

/** Starts a control plane before the file's tests and stops it after them. */
export function useControlPlane(options: ControlPlaneOptions = {}): () => ControlPlane {
  let plane: ControlPlane | undefined;
  beforeAll(async () => {
    plane = await startControlPlane({ binDir: inject('controlPlaneBin'), ...options });
  });
  afterAll(async () => {
    await plane?.stop();
  });
  return () => {
    if (plane === undefined) throw new Error('the control plane has not started');
    return plane;
  };
}

/** An SDK client from a kubeconfig file, as a user with a kubeconfig would make one. */
export function clientFor(
  plane: ControlPlane,
  options: { token?: string; server?: string; tlsServerName?: string; namespace?: string } = {},
  clientOptions: KubeClientOptions = {},
): KubeClient {
  const dir = mkdtempSync(join(plane.dir, 'client-'));
  const path = join(dir, 'kubeconfig');
  writeFileSync(path, plane.kubeconfig(options), { mode: 0o600 });
  return createKubeClient(loadKubeConfig({ kubeconfig: path, env: {} }), clientOptions);
}

/**
 * A Service without a selector, port http 80 → `targetPort`: the EndpointSlice controller leaves its
 * slices alone, so the ones the test writes (`manualSlice`) are every set there is.
 */
export function createSelectorlessService(
  plane: ControlPlane,
  namespace: string,
  name: string,
  targetPort: number,
): Promise<unknown> {
  return plane.admin.create(`/api/v1/namespaces/${namespace}/services`, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name },
    spec: { ports: [{ name: 'http', port: 80, targetPort, protocol: 'TCP' }] },
  });
}

/** An IPv4 EndpointSlice of `service`, port http `port`, as a controller of the test's own writes it. */
export function manualSlice<E extends object>(service: string, name: string, port: number, endpoints: E[]) {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name,
      labels: {
        'kubernetes.io/service-name': service,
        'endpointslice.kubernetes.io/managed-by': 'cluster-test',
      },
    },
    addressType: 'IPv4',
    ports: [{ name: 'http', port, protocol: 'TCP' }],
    endpoints,
  };
}

/** Every value a stream emits, with a bounded wait for one that satisfies a predicate. */
export class Recorder<T> {
  readonly values: T[] = [];
  error: unknown;
  readonly #subscription: Subscription;
  #waiters = new Set<() => void>();

  constructor(source: Observable<T>) {
    this.#subscription = source.subscribe({
      next: (value) => {
        this.values.push(value);
        for (const wake of this.#waiters) wake();
      },
      error: (error) => {
        this.error = error;
        for (const wake of this.#waiters) wake();
      },
    });
  }

  get latest(): T | undefined {
    return this.values.at(-1);
  }

  /** Resolves with the first value (already seen or to come) from index `from` that satisfies `predicate`. */
  until(predicate: (value: T) => boolean, what: string, timeoutMs = 30_000, from = 0): Promise<T> {
    return new Promise((resolve, reject) => {
      let index = from;
      const check = () => {
        if (this.error !== undefined)
          return finish(new Error(`stream failed while waiting for ${what}: ${String(this.error)}`));
        for (; index < this.values.length; index++) {
          const value = this.values[index] as T;
          if (predicate(value)) return finish(undefined, value);
        }
      };
      const timer = setTimeout(() => {
        const last = this.latest === undefined ? 'nothing' : JSON.stringify(this.latest).slice(0, 600);
        finish(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${last}`));
      }, timeoutMs);
      const finish = (error: Error | undefined, value?: T) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        if (error) reject(error);
        else resolve(value as T);
      };
      this.#waiters.add(check);
      check();
    });
  }

  /**
   * The index the next value will have: take it BEFORE causing a change, then pass it to
   * {@link until}, so that neither an older value nor one emitted before the wait starts is missed.
   */
  mark(): number {
    return this.values.length;
  }

  /** Like {@link until}, for values emitted after this call. */
  next(predicate: (value: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
    return this.until(predicate, what, timeoutMs, this.values.length);
  }

  close(): void {
    this.#subscription.unsubscribe();
  }
}

/** The `address:port`s traffic goes to, sorted. */
export function targets(set: EndpointSet): string[] {
  return set.endpoints.map((e) => `${e.address}:${e.port}`).sort();
}

/** Whether a set sends traffic to exactly these addresses (all on `port`). */
export function targetsAre(set: EndpointSet, addresses: readonly string[], port: number): boolean {
  const want = addresses.map((a) => `${a}:${port}`).sort();
  const got = targets(set);
  return got.length === want.length && got.every((value, i) => value === want[i]);
}

/** n distinct data-only pod IPs (198.19.x.y: a benchmarking range; nothing dials them). */
export function dataPodIps(count: number, offset = 0): string[] {
  return Array.from({ length: count }, (_, i) => {
    const n = offset + i + 1;
    return `198.19.${n >> 8}.${n & 255}`;
  });
}

/** Bounded polling for a condition (a timeout only fails the wait; nothing asserts on time). */
export function until(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  return eventually(check, what, timeoutMs);
}
