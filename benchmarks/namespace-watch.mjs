#!/usr/bin/env node
// Per-Service watches vs the namespace-wide watch (issue 11, "2,000 Services on ≤ 2 connections").
// One client watches SERVICES Services of ENDPOINTS endpoints each (realistic slices, managedFields
// included) from the fake apiserver over TLS + HTTP/2 with 100 streams per connection, as
// kube-apiserver allows. For each scope: connections opened, time until every Service has its first
// set, and heap per watched Service (after full GCs, minus the heap before subscribing). The fake runs
// in a child process so only the client is measured; scopes are rotated over ROUNDS rounds and the
// medians reported. Run: node --expose-gc benchmarks/namespace-watch.mjs (SERVICES=2000 ENDPOINTS=10
// ROUNDS=3 WATCHED=SERVICES CHANGES=100 LATENCY=1).
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createKubeClient, loadKubeConfig, watchEndpoints } from '@endpoint-watch/core';

const SERVICES = Number(process.env.SERVICES ?? 2000);
const ENDPOINTS = Number(process.env.ENDPOINTS ?? 10);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
// Watch only the first WATCHED Services of the namespace (the threshold's trade-off: the namespace
// watch receives and keeps the unwatched ones too).
const WATCHED = Number(process.env.WATCHED ?? SERVICES);
const LATENCY = process.env.LATENCY !== '0';
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
  const slices = new Map();
  process.on('message', (message) => {
    if (message === 'stats') return process.send?.({ stats: server.connectionStats() });
    // Flips the readiness of the first endpoint of one Service's slice.
    const service = `svc-${message.flip}`;
    const slice = structuredClone(
      slices.get(service) ??
        realisticEndpointSlices({ service, endpoints: ENDPOINTS, seed: message.flip + 1 })[0],
    );
    const conditions = slice.endpoints[0].conditions;
    conditions.ready = !conditions.ready;
    slices.set(service, slice);
    server.upsert(slice);
  });
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

  const median = (values) => {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
  };

  const watchService = (client, i, scope) =>
    watchEndpoints(client, {
      service: `svc-${i}`,
      namespace: 'default',
      scope,
      watch: { initialList: 'list' },
    });

  const measure = async (scope) => {
    const acceptedBefore = (await serverStats()).accepted;
    const client = createKubeClient(loadKubeConfig({ kubeconfig: path }));
    const before = await heap();
    const started = performance.now();
    const subscriptions = [];
    await new Promise((resolve) => {
      let pending = WATCHED;
      for (let i = 0; i < WATCHED; i++) {
        let first = true;
        subscriptions.push(
          watchService(client, i, scope).subscribe((set) => {
            if (first && set.endpoints.length === ENDPOINTS) {
              first = false;
              if (--pending === 0) resolve();
            }
          }),
        );
      }
    });
    const syncedMs = performance.now() - started;
    const perService = ((await heap()) - before) / WATCHED;
    const opened = client.transportStats().http2?.opened ?? Number.NaN;
    const accepted = (await serverStats()).accepted - acceptedBefore;
    for (const s of subscriptions) s.unsubscribe();
    await client.close();
    return { scope, syncedMs, perService, opened, accepted };
  };

  /**
   * One endpoint change of svc-0 while `followed` Services are watched: the time from asking the
   * server to write it to the new set (IPC and the server included, the same in every case), and
   * how many sets the other Services emitted meanwhile (should be none).
   */
  const changeLatency = async (scope, followed, changes) => {
    const client = createKubeClient(loadKubeConfig({ kubeconfig: path }));
    let waiting;
    let others = 0;
    const synced = [];
    const subscriptions = [];
    for (let i = 0; i < followed; i++) {
      let first = true;
      synced.push(
        new Promise((resolve) => {
          subscriptions.push(
            watchService(client, i, scope).subscribe((set) => {
              if (first) {
                first = false;
                return resolve();
              }
              if (i === 0) waiting?.(set);
              else others++;
            }),
          );
        }),
      );
    }
    await Promise.all(synced);
    const times = [];
    for (let k = 0; k < changes; k++) {
      const started = performance.now();
      await new Promise((resolve) => {
        waiting = resolve;
        child.send({ flip: 0 });
      });
      times.push(performance.now() - started);
    }
    for (const s of subscriptions) s.unsubscribe();
    await client.close();
    return { ms: median(times), others };
  };

  // Warm-up: code paths and JIT, one unmeasured run of each scope.
  for (const scope of SCOPES) await measure(scope);
  const results = Object.fromEntries(SCOPES.map((s) => [s, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = SCOPES.map((_, k) => SCOPES[(k + round) % SCOPES.length]);
    for (const scope of order) results[scope].push(await measure(scope));
  }
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
  console.log(
    `${WATCHED} of ${SERVICES} Services watched, ${ENDPOINTS} endpoints each, ${ROUNDS} rounds (medians):`,
  );
  console.table(rows);

  if (!LATENCY) {
    child.kill();
    process.exit(0);
  }
  const CHANGES = Number(process.env.CHANGES ?? 100);
  const cases = [
    ['namespace', 1],
    ['namespace', SERVICES],
    ['service', SERVICES],
  ];
  await changeLatency('namespace', SERVICES, 20); // warm-up
  const latency = cases.map(([scope, followed]) => ({ scope, followed, ms: [], others: 0 }));
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < cases.length; k++) {
      const c = latency[(k + round) % cases.length];
      const { ms, others } = await changeLatency(c.scope, c.followed, CHANGES);
      c.ms.push(ms);
      c.others += others;
    }
  }
  const latencyBase = median(latency[0].ms);
  console.log(`one endpoint change of one Service, ${CHANGES} changes × ${ROUNDS} rounds (medians):`);
  console.table(
    latency.map((c) => ({
      scope: c.scope,
      'Services watched': c.followed,
      'change → set (ms)': median(c.ms).toFixed(2),
      'vs 1 watched': (median(c.ms) / latencyBase).toFixed(2),
      'sets from other Services': c.others,
    })),
  );
  child.kill();
}
