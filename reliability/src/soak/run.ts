/**
 * The soak: steady churn and periodic faults for minutes or hours, with the client's resources
 * sampled as it goes. The cluster runs in a worker (see cluster.ts); this thread is the client:
 * one watch per Service with the production defaults, and a balanced agent sending steady requests.
 */
import { readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import {
  createKubeClient,
  loadKubeConfig,
  type WatchHealth,
  watchEndpoints,
  watchEndpointsHealth,
} from '@endpoint-watch/core';
import { createBalancedAgent } from '@endpoint-watch/undici';
import type { Subscription } from 'rxjs';
import { request } from 'undici';
import type { HealthChange } from '../checks/health.js';
import type { ClusterConfig, ClusterMessage } from './cluster.js';

export interface SoakOptions {
  readonly durationMs: number;
  readonly sampleEveryMs: number;
  readonly writesPerSecond: number;
  readonly cutEveryMs: number;
  readonly compactEveryMs: number;
  readonly services: number;
  readonly seed: number;
  /** Requests per second through the balanced agent. */
  readonly requestsPerSecond: number;
  readonly log?: (line: string) => void;
}

/** One sample of the client's resources. */
export interface Sample {
  readonly at: number;
  /** Heap used after a full GC, bytes. */
  readonly heapUsed: number;
  /** `process.getActiveResourcesInfo()` counted by type (TCPSocketWrap, Timeout, ...). */
  readonly resources: Readonly<Record<string, number>>;
  /** Open pools of the balanced agent (one per pod). */
  readonly pools: number;
  /** Connections of those pools to the pods. */
  readonly podConnections: number;
  /**
   * Open file descriptors of the whole process (Linux; both threads: every loopback connection
   * counts twice). `getActiveResourcesInfo` misses idle keep-alive sockets: undici unrefs them.
   */
  readonly fds: number | undefined;
  readonly synced: number;
}

export interface SoakResult {
  readonly options: SoakOptions;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly samples: readonly Sample[];
  readonly health: ReadonlyMap<string, readonly HealthChange[]>;
  readonly cluster: { readonly writes: number; readonly cuts: number; readonly compactions: number };
  readonly requests: {
    readonly sent: number;
    readonly failed: number;
    readonly firstError: string | undefined;
  };
}

const NAMESPACE = 'soak';
const PODS_SERVICE = 'pods';

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect === undefined) throw new Error('run node with --expose-gc (pnpm soak does)');
  collect();
}

function openFds(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return undefined;
  }
}

function countResources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) counts[type] = (counts[type] ?? 0) + 1;
  return counts;
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const log = options.log ?? (() => {});
  gc();
  const services = Array.from({ length: options.services }, (_, i) => `svc-${i}`);
  const config: ClusterConfig = {
    seed: options.seed,
    namespace: NAMESPACE,
    services,
    podsService: PODS_SERVICE,
    writesPerSecond: options.writesPerSecond,
    cutEveryMs: options.cutEveryMs,
    compactEveryMs: options.compactEveryMs,
    bookmarkIntervalMs: 60_000,
  };
  const worker = new Worker(new URL('./cluster.js', import.meta.url), { workerData: config });
  const messages: ClusterMessage[] = [];
  const waiters: Array<() => void> = [];
  worker.on('message', (message: ClusterMessage) => {
    messages.push(message);
    for (const wake of waiters.splice(0)) wake();
  });
  const failure = new Promise<never>((_, reject) => {
    worker.on('error', reject);
    worker.on('exit', (code) => reject(new Error(`the cluster worker exited (${code})`)));
  });
  // Only `next` waits on it; the normal exit at the end is no failure.
  failure.catch(() => {});
  const next = async <T extends ClusterMessage['type']>(type: T) => {
    for (;;) {
      const found = messages.find((m) => m.type === type);
      if (found !== undefined) return found as Extract<ClusterMessage, { type: T }>;
      await Promise.race([new Promise<void>((wake) => waiters.push(wake)), failure]);
    }
  };
  const ready = await next('ready');
  log(`cluster up: ${ready.url}`);

  const client = createKubeClient(loadKubeConfig({ server: ready.url, token: ready.token }), {
    userAgent: 'soak',
  });
  const health = new Map<string, HealthChange[]>();
  const state = new Map<string, WatchHealth['state']>();
  const subscriptions: Subscription[] = [];
  for (const service of [...services, PODS_SERVICE]) {
    const changes: HealthChange[] = [];
    health.set(service, changes);
    const watchOptions = { namespace: NAMESPACE, service, port: 'http' };
    subscriptions.push(
      watchEndpoints(client, watchOptions).subscribe({
        error: (e: unknown) => log(`${service}: stream error ${e}`),
      }),
      watchEndpointsHealth(client, watchOptions).subscribe((h) => {
        changes.push({ at: Date.now(), state: h.state });
        state.set(service, h.state);
      }),
    );
  }
  const agent = createBalancedAgent({
    endpoints: watchEndpoints(client, { namespace: NAMESPACE, service: PODS_SERVICE, port: 'http' }),
  });

  const startedAt = Date.now();
  const until = startedAt + options.durationMs;
  let sent = 0;
  let failed = 0;
  let firstError: string | undefined;
  const traffic = (async () => {
    const gap = 1000 / options.requestsPerSecond;
    for (let i = 0; Date.now() < until; i++) {
      sent++;
      try {
        const res = await request(`http://${PODS_SERVICE}.${NAMESPACE}.svc:${ready.podsPort}/soak/${i}`, {
          dispatcher: agent,
        });
        await res.body.dump();
      } catch (error) {
        failed++;
        firstError ??= String(error);
      }
      await sleep(Math.max(0, startedAt + (i + 1) * gap - Date.now()));
    }
  })();

  const samples: Sample[] = [];
  const sample = () => {
    gc();
    const s: Sample = {
      at: Date.now(),
      heapUsed: process.memoryUsage().heapUsed,
      resources: countResources(),
      pools: agent.pools().length,
      podConnections: agent.pools().reduce((n, pool) => n + pool.connected, 0),
      fds: openFds(),
      synced: [...state.values()].filter((v) => v === 'synced').length,
    };
    samples.push(s);
    log(
      `+${Math.round((s.at - startedAt) / 1000)} s heap ${(s.heapUsed / 2 ** 20).toFixed(1)} MiB, ` +
        `pools ${s.pools} (${s.podConnections} connections), fds ${s.fds ?? '-'}, synced ${s.synced}/${state.size}, ` +
        JSON.stringify(s.resources),
    );
  };
  while (Date.now() < until) {
    sample();
    await sleep(Math.min(options.sampleEveryMs, Math.max(0, until - Date.now())));
  }
  sample();
  const endedAt = Date.now();
  await traffic;

  for (const s of subscriptions) s.unsubscribe();
  await agent.close();
  await client.close();
  worker.postMessage({ type: 'stop' });
  const stopped = await next('stopped');
  await worker.terminate();
  return {
    options,
    startedAt,
    endedAt,
    samples,
    health,
    cluster: { writes: stopped.writes, cuts: stopped.cuts, compactions: stopped.compactions },
    requests: { sent, failed, firstError },
  };
}
