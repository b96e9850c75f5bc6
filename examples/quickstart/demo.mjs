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

/** Runs the scripted story; resolves with what the watcher saw. `pauseMs` paces the steps. */
export async function runDemo({ log = console.log, pauseMs = 700 } = {}) {
  const server = await startFakeApiServer({ tls: { names: ['cluster.condi.me'] }, bookmarkIntervalMs: 2000 });
  const dir = mkdtempSync(join(tmpdir(), 'endpoint-watch-demo-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, server.kubeconfig({ namespace: 'shop' }));
  const config = loadKubeConfig({ kubeconfig, tlsServerName: 'cluster.condi.me', env: {} });
  const client = createKubeClient(config);
  const started = Date.now();
  const stamp = () => `[+${((Date.now() - started) / 1000).toFixed(1)}s]`;
  const sets = [];

  const options = { service: 'web', watch: { backoff: { initialMs: 100, maxMs: 1000 } } };
  const subscription = watchEndpoints(client, options).subscribe((set) => {
    sets.push(set);
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
      const detail =
        health.state === 'retrying' ? ` ${health.error?.code ?? ''} ${health.error?.message ?? ''}` : '';
      log(`${stamp()} watch: ${health.state}${detail}`);
    }),
  );

  const step = async (what, change) => {
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
    log(`${stamp()} ── ${what}`);
    change();
  };
  const slice = (name, endpoints) => endpointSlice({ namespace: 'shop', service: 'web', name, endpoints });

  try {
    await step('deploy web with 3 pods', () => server.upsert(slice('web-abc12', [pod(1), pod(2), pod(3)])));
    await step('scale to 5 (the controller adds a second slice)', () =>
      server.upsert(slice('web-def34', [pod(4), pod(5)])),
    );
    await step('rolling update: pod 1 terminates (still serving), pod 6 starts, not ready yet', () =>
      server.batch(() => {
        server.upsert(
          slice('web-abc12', [pod(1, { ready: false, serving: true, terminating: true }), pod(2), pod(3)]),
        );
        server.upsert(slice('web-def34', [pod(4), pod(5), pod(6, { ready: false })]));
      }),
    );
    await step('pod 6 ready, pod 1 gone', () =>
      server.batch(() => {
        server.upsert(slice('web-abc12', [pod(2), pod(3)]));
        server.upsert(slice('web-def34', [pod(4), pod(5), pod(6)]));
      }),
    );
    await step('network blip: the watch connection is cut mid-event', () => {
      server.faults.cutWatches({ midEvent: true });
      server.upsert(slice('web-def34', [pod(4), pod(5), pod(6), pod(7)]));
    });
    await step('etcd compaction: the apiserver expires the watch (410), the SDK relists atomically', () => {
      server.compact();
      server.faults.expireWatches();
    });
    await step('scale to zero', () =>
      server.batch(() => {
        server.delete('EndpointSlice', 'shop', 'web-abc12');
        server.delete('EndpointSlice', 'shop', 'web-def34');
      }),
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
