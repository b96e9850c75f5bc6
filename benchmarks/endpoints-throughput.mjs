#!/usr/bin/env node
// Throughput of the whole pipeline (socket → decoder → list+watch machine → store → slice
// aggregation → EndpointSet) against the floor: fetching the same bytes with undici and
// JSON.parse-ing them line by line in one process.
//
// Scenario: a 10 000-endpoint Service (100 EndpointSlices of 100, as the controller writes them:
// managedFields, ownerReferences, targetRefs) receives 2 000 MODIFIED events (one pod's readiness
// flips in each, round-robin over the slices, ~55 MB of watch body). Measured: from subscribe to the
// EndpointSet that holds the last modification. Server: a plain loopback HTTP server replaying
// pre-serialized bytes, so only the client is measured.
import { once } from 'node:events';
import { createServer } from 'node:http';
import { PerformanceObserver } from 'node:perf_hooks';
import {
  createKubeClient,
  listWatch,
  loadKubeConfig,
  SharedResourceWatch,
  stripManagedFields,
  watchEndpoints,
} from '@endpoint-watch/core';
import { realisticEndpointSlices } from '@endpoint-watch/testing';
import { filter, firstValueFrom, tap } from 'rxjs';
import { request } from 'undici';
import { parseWatchLines } from './lib/floor.mjs';
import { readinessFlips } from './lib/scenarios.mjs';

const ENDPOINTS = Number(process.env.BENCH_ENDPOINTS ?? 10_000);
const MODIFICATIONS = Number(process.env.BENCH_MODIFICATIONS ?? 2_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 21);
const TARGET_RATIO = 1.25;

const slices = realisticEndpointSlices({ service: 'web', endpoints: ENDPOINTS, perSlice: 100, seed: 42 });
let rv = 1000;
for (const slice of slices) slice.metadata.resourceVersion = String(++rv);
const listRv = String(rv);
const listBody = Buffer.from(
  JSON.stringify({
    kind: 'EndpointSliceList',
    apiVersion: 'discovery.k8s.io/v1',
    metadata: { resourceVersion: listRv },
    items: slices,
  }),
);

// Each modification flips one endpoint's readiness; the last one makes 10.x "not ready" for good.
const {
  body: watchBody,
  resourceVersion: finalRv,
  lastAddress,
  lastReady,
  readyCount: expectedReady,
} = readinessFlips(slices, MODIFICATIONS, rv);

const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  res.setHeader('content-type', 'application/json');
  if (url.searchParams.get('watch') !== 'true') {
    res.end(listBody);
    return;
  }
  // Written in 64 KiB slices, as a real apiserver flushes; then the watch stays open.
  res.writeHead(200);
  for (let offset = 0; offset < watchBody.length; offset += 65_536)
    res.write(watchBody.subarray(offset, offset + 65_536));
  req.on('close', () => res.destroy());
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const origin = `http://127.0.0.1:${server.address().port}`;
const path = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices';

/** The floor: the same two requests with undici, every line JSON.parse'd. */
async function baseline() {
  const started = performance.now();
  const list = await request(`${origin}${path}?labelSelector=x`);
  JSON.parse(await list.body.text());
  const watch = await request(`${origin}${path}?watch=true`);
  await parseWatchLines(watch.body, MODIFICATIONS);
  return performance.now() - started;
}

async function endpointWatch() {
  const config = loadKubeConfig({ server: origin });
  const client = createKubeClient(config);
  const started = performance.now();
  let count = 0;
  const set = await firstValueFrom(
    watchEndpoints(client, { namespace: 'default', service: 'web', watch: { initialList: 'list' } }).pipe(
      tap(() => count++),
      filter((s) => s.resourceVersion === finalRv),
    ),
  );
  const elapsed = performance.now() - started;
  await client.close();
  emissions.push(count);
  const last = set.all.find((e) => e.address === lastAddress);
  if (set.endpoints.length !== expectedReady || last?.ready !== lastReady) throw new Error('wrong final set');
  return elapsed;
}

/** Diagnosis: the engine alone (decoder + machine, no store or aggregation), until the last event. */
async function engineOnly() {
  const client = createKubeClient(loadKubeConfig({ server: origin }));
  const started = performance.now();
  await firstValueFrom(
    listWatch(client, { path, labelSelector: 'kubernetes.io/service-name=web', initialList: 'list' }).pipe(
      filter((n) => n.kind === 'events' && n.events.at(-1)?.resourceVersion === finalRv),
    ),
  );
  const elapsed = performance.now() - started;
  await client.close();
  return elapsed;
}

async function storeOnly() {
  const client = createKubeClient(loadKubeConfig({ server: origin }));
  const started = performance.now();
  const shared = new SharedResourceWatch(client, {
    path,
    labelSelector: 'kubernetes.io/service-name=web',
    initialList: 'list',
    transform: stripManagedFields,
  });
  await firstValueFrom(shared.changes$.pipe(filter((c) => c.resourceVersion === finalRv)));
  const elapsed = performance.now() - started;
  await client.close();
  return elapsed;
}

/** Diagnosis of the initial list alone: a server whose watches stay silent after the headers. */
async function listPhase() {
  const quiet = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (new URL(req.url, 'http://x').searchParams.get('watch') !== 'true') return res.end(listBody);
    res.flushHeaders();
    req.on('close', () => res.destroy());
  });
  quiet.listen(0, '127.0.0.1');
  await once(quiet, 'listening');
  const quietOrigin = `http://127.0.0.1:${quiet.address().port}`;
  const floorList = async () => {
    const started = performance.now();
    const list = await request(`${quietOrigin}${path}?labelSelector=x`);
    JSON.parse(await list.body.text());
    return performance.now() - started;
  };
  const firstSet = async () => {
    const client = createKubeClient(loadKubeConfig({ server: quietOrigin }));
    const started = performance.now();
    await firstValueFrom(
      watchEndpoints(client, { namespace: 'default', service: 'web', watch: { initialList: 'list' } }),
    );
    const elapsed = performance.now() - started;
    await client.close();
    return elapsed;
  };
  const floorTimes = [];
  const oursTimes = [];
  for (let round = 0; round < 11; round++) {
    // ABBA, as below.
    if (round % 2 === 0) {
      floorTimes.push(await floorList());
      oursTimes.push(await firstSet());
    } else {
      oursTimes.push(await firstSet());
      floorTimes.push(await floorList());
    }
  }
  quiet.close();
  return { floor: median(floorTimes), ours: median(oursTimes) };
}

const emissions = [];
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const list = (values) => values.map((v) => v.toFixed(0)).join(', ');

// Main-thread garbage-collection time, charged to the run it happens in.
let gcMs = 0;
new PerformanceObserver((entries) => {
  for (const entry of entries.getEntries()) gcMs += entry.duration;
}).observe({ entryTypes: ['gc'] });
async function measured(run, times, gcTimes) {
  gcMs = 0;
  times.push(await run());
  // Collections that ran after the last event but belong to this run are reported in the next tick.
  await new Promise((resolve) => setImmediate(resolve));
  gcTimes.push(gcMs);
}

console.log(
  `${ENDPOINTS} endpoints in ${slices.length} slices (list ${(listBody.length / 1e6).toFixed(1)} MB), ` +
    `${MODIFICATIONS} MODIFIED events (${(watchBody.length / 1e6).toFixed(1)} MB watch body), ${ROUNDS} rounds`,
);
// Warm-up: JIT both paths and let the heap grow to its working size.
for (let i = 0; i < 2; i++) {
  await baseline();
  await endpointWatch();
}
emissions.length = 0;
const base = [];
const ours = [];
const baseGc = [];
const oursGc = [];
const engine = [];
const storeTimes = [];
for (let round = 0; round < ROUNDS; round++) {
  // ABBA order: whatever one run leaves behind (garbage, a grown heap) weighs on both sides alike.
  if (round % 2 === 0) {
    await measured(baseline, base, baseGc);
    await measured(endpointWatch, ours, oursGc);
  } else {
    await measured(endpointWatch, ours, oursGc);
    await measured(baseline, base, baseGc);
  }
  if (process.env.BENCH_ENGINE) engine.push(await engineOnly());
  if (process.env.BENCH_ENGINE) storeTimes.push(await storeOnly());
}
const initial = process.env.BENCH_ENGINE ? await listPhase() : undefined;
server.close();
// Each round ran both sides under the same machine conditions: the verdict is the median of the
// per-round ratios (each side's median is printed too).
const ratio = median(ours.map((value, i) => value / base[i]));
console.log(`undici + JSON.parse (floor): median ${median(base).toFixed(1)} ms  [${list(base)}]`);
console.log(`watchEndpoints → final set:  median ${median(ours).toFixed(1)} ms  [${list(ours)}]`);
console.log(
  `main-thread GC per run (median): floor ${median(baseGc).toFixed(0)} ms, watchEndpoints ${median(oursGc).toFixed(0)} ms`,
);
if (engine.length) console.log(`engine only (diagnosis):     median ${median(engine).toFixed(1)} ms`);
if (storeTimes.length) console.log(`engine + store (diagnosis):  median ${median(storeTimes).toFixed(1)} ms`);
if (initial) {
  console.log(
    `initial list (diagnosis):    floor (fetch + JSON.parse) ${initial.floor.toFixed(1)} ms, watchEndpoints → first set ${initial.ours.toFixed(1)} ms`,
  );
}
console.log(`sets emitted per run: ${emissions.join(', ')}`);
console.log(
  `median per-round ratio ${ratio.toFixed(3)} (target ≤ ${TARGET_RATIO})  ${ratio <= TARGET_RATIO ? 'OK' : 'OVER TARGET'}`,
);
