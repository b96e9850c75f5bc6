import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type FakeApiServer,
  type FakeApiServerOptions,
  eventually as pollUntil,
  startFakeApiServer,
} from '@endpoint-watch/testing';
import type { Observable, Subscription } from 'rxjs';
import { loadKubeConfig } from '../../src/config/index.js';
import type { KubeConfig } from '../../src/config/types.js';
import { createKubeClient, type KubeClient } from '../../src/transport/kube-client.js';

export interface TestCluster {
  readonly server: FakeApiServer;
  readonly client: KubeClient;
  readonly config: KubeConfig;
  readonly kubeconfigPath: string;
  readonly dir: string;
  close(): Promise<void>;
}

/** A fake apiserver on 127.0.0.1 over TLS, and a client configured from the kubeconfig it writes. */
export async function startCluster(
  options: FakeApiServerOptions = {},
  kubeconfig: { tlsServerName?: string } = {},
): Promise<TestCluster> {
  const server = await startFakeApiServer({ tls: true, ...options });
  const dir = mkdtempSync(join(tmpdir(), 'ew-cluster-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(kubeconfigPath, server.kubeconfig());
  const config = loadKubeConfig({ kubeconfig: kubeconfigPath, env: {}, inCluster: false, ...kubeconfig });
  const client = createKubeClient(config);
  return {
    server,
    client,
    config,
    kubeconfigPath,
    dir,
    async close() {
      await client.close().catch(() => undefined);
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Records observables for one test file and unsubscribes them all at once (in `afterEach`), so a
 * failed test leaves no watch open for the next one.
 */
export function recorderPool(): {
  record<T>(source: Observable<T>): Recorder<T>;
  unsubscribeAll(): void;
} {
  const recorders: Recorder<unknown>[] = [];
  return {
    record<T>(source: Observable<T>): Recorder<T> {
      const recorder = new Recorder(source);
      recorders.push(recorder as Recorder<unknown>);
      return recorder;
    },
    unsubscribeAll(): void {
      for (const recorder of recorders.splice(0)) recorder.unsubscribe();
    },
  };
}

/** Subscribes once and keeps every value, so a test can wait for one that matches. */
export class Recorder<T> {
  readonly values: T[] = [];
  error: unknown;
  readonly #subscription: Subscription;
  #waiters: Array<{ predicate: (value: T) => boolean; resolve: (value: T) => void }> = [];
  #errorWaiters: Array<(error: unknown) => void> = [];

  constructor(source: Observable<T>) {
    this.#subscription = source.subscribe({
      next: (value) => {
        this.values.push(value);
        this.#waiters = this.#waiters.filter((waiter) => {
          if (!waiter.predicate(value)) return true;
          waiter.resolve(value);
          return false;
        });
      },
      error: (error: unknown) => {
        this.error = error;
        for (const waiter of this.#errorWaiters) waiter(error);
      },
    });
  }

  get last(): T | undefined {
    return this.values.at(-1);
  }

  /** The first value (already seen or still to come) that matches; rejects after `timeoutMs`. */
  waitFor(predicate: (value: T) => boolean, timeoutMs = 8000, what = 'a matching value'): Promise<T> {
    const seen = this.values.find(predicate);
    if (seen !== undefined) return Promise.resolve(seen);
    return this.#waitNext(predicate, timeoutMs, what);
  }

  /** The next value from now on that matches. */
  waitNext(
    predicate: (value: T) => boolean = () => true,
    timeoutMs = 8000,
    what = 'a new value',
  ): Promise<T> {
    return this.#waitNext(predicate, timeoutMs, what);
  }

  waitForError(timeoutMs = 8000): Promise<unknown> {
    if (this.error !== undefined) return Promise.resolve(this.error);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no error within ${timeoutMs} ms`)), timeoutMs);
      this.#errorWaiters.push((error) => {
        clearTimeout(timer);
        resolve(error);
      });
    });
  }

  unsubscribe(): void {
    this.#subscription.unsubscribe();
  }

  #waitNext(predicate: (value: T) => boolean, timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w.predicate !== predicate);
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${what}; last value: ${describe(this.last)}`,
          ),
        );
      }, timeoutMs);
      this.#waiters.push({
        predicate,
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
      });
    });
  }
}

function describe(value: unknown): string {
  try {
    return (
      JSON.stringify(value, (_key, v) => (v instanceof Error ? `${v.name}: ${v.message}` : v))?.slice(
        0,
        600,
      ) ?? 'none'
    );
  } catch {
    return String(value);
  }
}

/** Polls a condition (server-side state has no events to wait on) with a bound. */
export function eventually(condition: () => boolean, timeoutMs = 8000, what = 'condition'): Promise<void> {
  return pollUntil(condition, what, timeoutMs);
}
