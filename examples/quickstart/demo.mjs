#!/usr/bin/env node
// The 60-second tour: an embedded apiserver (from @endpoint-watch/testing) serves a Service "web"
// whose EndpointSlices a scripted "deployment" changes; the SDK watches it exactly as it would a
// real cluster (TLS verified against the cluster's name, bearer token, list+watch, bookmarks).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createKubeClient, loadKubeConfig, watchEndpoints, watchEndpointsHealth } from '@endpoint-watch/core';
import { endpointSlice, startFakeApiServer } from '@endpoint-watch/testing';

const pod = (i, state = {}) => ({
  addresses: [`10.244.${i % 2}.${10 + i}`],
  nodeName: `node-${i % 2}`,
  zone: i % 2 ? 'zone-b' : 'zone-a',
  targetRef: 'pod',
  ...state,
});

/**
 * Runs the scripted story; resolves with what the watcher saw. `pauseMs` paces the steps for a
 * human reader; each step then waits (up to `stepTimeoutMs`) until the watcher has seen its effect,
 * so no step is lost on a slow machine.
 */
export async function runDemo({ log = console.log, pauseMs = 700, stepTimeoutMs = 10_000 } = {}) {
  const server = await startFakeApiServer({ tls: { names: ['cluster.condi.me'] }, bookmarkIntervalMs: 2000 });
  const dir = mkdtempSync(join(tmpdir(), 'endpoint-watch-demo-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, server.kubeconfig({ namespace: 'shop' }));
  const config = loadKubeConfig({ kubeconfig, tlsServerName: 'cluster.condi.me', env: {} });
  const client = createKubeClient(config);
  const started = Date.now();
  const stamp = () => `[+${((Date.now() - started) / 1000).toFixed(1)}s]`;
  const sets = [];
  // Everything the watcher reports, in order, and who waits for what.
  const seen = [];
  const waiters = new Set();
  const record = (what) => {
    seen.push(what);
    for (const waiter of waiters) waiter();
  };

  const options = { service: 'web', watch: { backoff: { initialMs: 100, maxMs: 1000 } } };
  const subscription = watchEndpoints(client, options).subscribe((set) => {
    sets.push(set);
    record({ set });
    const terminating = set.all.filter((e) => e.terminating).length;
    const notReady = set.all.filter((e) => !e.ready && !e.terminating).length;
    log(
      `${stamp()} ${set.namespace}/${set.service}:${set.port?.name ?? '-'} → ${set.endpoints.length} to use` +
        ` [${set.endpoints.map((e) => `${e.address}:${e.port}`).join(', ')}]` +
        (terminating ? `, ${terminating} terminating` : '') +
        (notReady ? `, ${notReady} not ready` : '') +
        ` (rv ${set.resourceVersion})`,
    );
  });
  subscription.add(
    watchEndpointsHealth(client, options).subscribe((health) => {
      record({ health });
      const detail =
        health.state === 'retrying' ? ` ${health.error?.code ?? ''} ${health.error?.message ?? ''}` : '';
      log(`${stamp()} watch: ${health.state}${detail}`);
    }),
  );

  /** Resolves once what the watcher reported since `from` satisfies `done`. */
  const observed = (from, done, what) =>
    new Promise((resolve, reject) => {
      const check = () => {
        if (!done(seen.slice(from))) return;
        finish();
        resolve();
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`the watcher did not see "${what}" within ${stepTimeoutMs} ms`));
      }, stepTimeoutMs);
      const finish = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  const toUse = (count) => (reports) => reports.some((r) => r.set?.endpoints.length === count);
  const step = async (what, change, done) => {
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
    log(`${stamp()} ── ${what}`);
    const from = seen.length;
    change();
    await observed(from, done, what);
  };
  const slice = (name, endpoints) => endpointSlice({ namespace: 'shop', service: 'web', name, endpoints });

  try {
    await observed(0, (reports) => reports.some((r) => r.health?.state === 'synced'), 'the first sync');
    await step(
      'deploy web with 3 pods',
      () => server.upsert(slice('web-abc12', [pod(1), pod(2), pod(3)])),
      toUse(3),
    );
    await step(
      'scale to 5 (the controller adds a second slice)',
      () => server.upsert(slice('web-def34', [pod(4), pod(5)])),
      toUse(5),
    );
    await step(
      'rolling update: pod 1 terminates (still serving), pod 6 starts, not ready yet',
      () =>
        server.batch(() => {
          server.upsert(
            slice('web-abc12', [pod(1, { ready: false, serving: true, terminating: true }), pod(2), pod(3)]),
          );
          server.upsert(slice('web-def34', [pod(4), pod(5), pod(6, { ready: false })]));
        }),
      (reports) => reports.some((r) => r.set?.endpoints.length === 4 && r.set.all.some((e) => e.terminating)),
    );
    await step(
      'pod 6 ready, pod 1 gone',
      () =>
        server.batch(() => {
          server.upsert(slice('web-abc12', [pod(2), pod(3)]));
          server.upsert(slice('web-def34', [pod(4), pod(5), pod(6)]));
        }),
      (reports) => reports.some((r) => r.set?.endpoints.length === 5 && r.set.all.length === 5),
    );
    await step(
      'network blip: the watch connection is cut mid-event',
      () => {
        server.faults.cutWatches({ midEvent: true });
        server.upsert(slice('web-def34', [pod(4), pod(5), pod(6), pod(7)]));
      },
      toUse(6),
    );
    await step(
      'etcd compaction: the apiserver expires the watch (410), the SDK relists atomically',
      () => {
        server.compact();
        server.faults.expireWatches();
      },
      // the relist finds what the watcher already holds: health shows it, no new set is emitted
      (reports) => {
        const retried = reports.findIndex((r) => r.health?.state === 'retrying');
        return retried >= 0 && reports.slice(retried).some((r) => r.health?.state === 'synced');
      },
    );
    await step(
      'scale to zero',
      () =>
        server.batch(() => {
          server.delete('EndpointSlice', 'shop', 'web-abc12');
          server.delete('EndpointSlice', 'shop', 'web-def34');
        }),
      toUse(0),
    );
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  } finally {
    subscription.unsubscribe();
    await client.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  log(`${stamp()} done: ${sets.length} endpoint sets observed`);
  return { sets };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runDemo().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
