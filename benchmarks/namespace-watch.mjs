#!/usr/bin/env node
// Per-Service watches vs the namespace-wide watch (issue 11, "2,000 Services on ≤ 2 connections").
// One client watches SERVICES Services of ENDPOINTS endpoints each (realistic slices, managedFields
// included) from the fake apiserver over TLS + HTTP/2 with 100 streams per connection, as
// kube-apiserver allows. For each scope: connections opened, time until every Service has its first
// set, and heap per watched Service (after full GCs, minus the heap before subscribing). The fake runs
// in a child process so only the client is measured; scopes are rotated over ROUNDS rounds and the
// medians reported. Run: node --expose-gc benchmarks/namespace-watch.mjs (SERVICES=2000 ENDPOINTS=10 ROUNDS=3).
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createKubeClient, loadKubeConfig, watchEndpoints } from '@endpoint-watch/core';

const SERVICES = Number(process.env.SERVICES ?? 2000);
const ENDPOINTS = Number(process.env.ENDPOINTS ?? 10);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const SCOPES = ['service', 'namespace', 'auto'];

if (process.argv[2] === 'server') {
  const { realisticEndpointSlices, startFakeApiServer } = await import('@endpoint-watch/testing');
  const server = await startFakeApiServer({
    tls: true,
    http2: { maxConcurrentStreams: 100 },
    initialObjects: Array.from({ length: SERVICES }, (_, i) =>
      realisticEndpointSlices({ service: `svc-${i}`, endpoints: ENDPOINTS, seed: i + 1 }),
    ).flat(),
  });
  process.on('message', () => process.send?.({ stats: server.connectionStats() }));
  process.send?.({ kubeconfig: server.kubeconfig() });
} else {
  if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
  const child = fork(fileURLToPath(import.meta.url), ['server'], { stdio: 'inherit' });
  const nextMessage = () => new Promise((resolve) => child.once('message', resolve));
  const { kubeconfig } = await nextMessage();
  const path = join(tmpdir(), `namespace-watch-${process.pid}.kubeconfig`);
  writeFileSync(path, kubeconfig);
  const serverStats = async () => {
    child.send('stats');
    return (await nextMessage()).stats;
  };
  const heap = async () => {
    for (let i = 0; i < 3; i++) {
      globalThis.gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
    return process.memoryUsage().heapUsed;
  };

  const measure = async (scope) => {
    const acceptedBefore = (await serverStats()).accepted;
    const client = createKubeClient(loadKubeConfig({ kubeconfig: path }));
    const before = await heap();
    const started = performance.now();
    const subscriptions = [];
    await new Promise((resolve) => {
      let pending = SERVICES;
      for (let i = 0; i < SERVICES; i++) {
        let first = true;
        subscriptions.push(
          watchEndpoints(client, {
            service: `svc-${i}`,
            namespace: 'default',
            scope,
            watch: { initialList: 'list' },
          }).subscribe((set) => {
            if (first && set.endpoints.length === ENDPOINTS) {
              first = false;
              if (--pending === 0) resolve();
            }
          }),
        );
      }
    });
    const syncedMs = performance.now() - started;
    const perService = ((await heap()) - before) / SERVICES;
    const opened = client.transportStats().http2?.opened ?? Number.NaN;
    const accepted = (await serverStats()).accepted - acceptedBefore;
    for (const s of subscriptions) s.unsubscribe();
    await client.close();
    return { scope, syncedMs, perService, opened, accepted };
  };

  // Warm-up: code paths and JIT, one unmeasured run of each scope.
  for (const scope of SCOPES) await measure(scope);
  const results = Object.fromEntries(SCOPES.map((s) => [s, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = SCOPES.map((_, k) => SCOPES[(k + round) % SCOPES.length]);
    for (const scope of order) results[scope].push(await measure(scope));
  }
  const median = (values) => {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
  };
  const base = median(results.service.map((r) => r.syncedMs));
  const rows = SCOPES.map((scope) => {
    const runs = results[scope];
    const synced = median(runs.map((r) => r.syncedMs));
    return {
      scope,
      'connections (client / server)': `${median(runs.map((r) => r.opened))} / ${median(runs.map((r) => r.accepted))}`,
      'all synced (ms)': synced.toFixed(0),
      'vs service': (synced / base).toFixed(2),
      'heap per Service (KB)': (median(runs.map((r) => r.perService)) / 1024).toFixed(1),
    };
  });
  console.log(`${SERVICES} Services × ${ENDPOINTS} endpoints, ${ROUNDS} rounds (medians):`);
  console.table(rows);
  child.kill();
}
