#!/usr/bin/env node
// Issue 11, rows "watch decode" and "same, cold heap": the whole pipeline (socket → line decoder →
// list+watch machine → parse → store → slice aggregation → EndpointSet) against the floor, the same
// bytes fetched with undici, split into lines and JSON.parse'd.
//
// Scenario (as endpoints-throughput.mjs): a Service of 10 000 endpoints in 100 realistic slices
// (managedFields, ownerReferences, targetRefs, fixed seed) listed, then 2 000 MODIFIED events (one
// endpoint's readiness flips in each, ~55 MB of watch body). Ours: subscribe → the EndpointSet that
// holds the last modification. Warm: as the process runs; cold: a full GC before each run, so that
// young- and old-generation work caused by a run is charged to it. One warmed client per side,
// ABBA rounds, verdict = median of the per-round ratios; the stand-in apiserver is a child process.
// `run(options)` returns plain JSON figures; run directly it prints a table:
//   node benchmarks/core-decode.mjs [--rounds 11]
import { PerformanceObserver } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createKubeClient, loadKubeConfig, watchEndpoints } from '@endpoint-watch/core';
import { filter, firstValueFrom } from 'rxjs';
import { Agent, request } from 'undici';
import { withCpu } from './lib/cpu.mjs';
import { parseWatchLines } from './lib/floor.mjs';
import { startReplayServer } from './lib/replay-server.mjs';
import { median, SLICES_PATH } from './lib/scenarios.mjs';

function collector() {
  if (typeof globalThis.gc === 'function') return globalThis.gc;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc');
}

export async function run(options = {}) {
  const endpoints = options.endpoints ?? 10_000;
  const modifications = options.modifications ?? 2_000;
  const rounds = options.rounds ?? 11;
  const gc = collector();
  const service = 'web';
  const server = await startReplayServer({ services: [{ name: service, endpoints, replay: modifications }] });
  const facts = server.meta[service];
  const query = `labelSelector=${encodeURIComponent(`kubernetes.io/service-name=${service}`)}`;
  const dispatcher = new Agent();
  const client = createKubeClient(loadKubeConfig({ server: server.origin }));

  /** The floor: the same two requests with undici, every line JSON.parse'd. */
  const floor = async () => {
    const started = performance.now();
    const list = await request(`${server.origin}${SLICES_PATH}?${query}`, { dispatcher });
    JSON.parse(await list.body.text());
    const watch = await request(`${server.origin}${SLICES_PATH}?${query}&watch=true`, { dispatcher });
    await parseWatchLines(watch.body, modifications);
    return performance.now() - started;
  };
  const ours = async () => {
    const started = performance.now();
    const set = await firstValueFrom(
      watchEndpoints(client, { namespace: 'default', service, watch: { initialList: 'list' } }).pipe(
        filter((s) => s.resourceVersion === facts.resourceVersion),
      ),
    );
    const elapsed = performance.now() - started;
    const last = set.all.find((e) => e.address === facts.lastAddress);
    if (set.endpoints.length !== facts.readyCount || last?.ready !== facts.lastReady)
      throw new Error('wrong final set');
    return elapsed;
  };

  // Main-thread garbage-collection time, charged to the run it happens in.
  let gcMs = 0;
  const observer = new PerformanceObserver((entries) => {
    for (const entry of entries.getEntries()) gcMs += entry.duration;
  });
  observer.observe({ entryTypes: ['gc'] });
  const measure = async (side, cold, out) => {
    if (cold) gc();
    gcMs = 0;
    const run = await withCpu(side);
    out.times.push(run.wall);
    out.cpu.push(run.cpu);
    // Collections that belong to this run are reported on the next turn.
    await new Promise((resolve) => setImmediate(resolve));
    out.gc.push(gcMs);
  };
  const figures = {};
  try {
    for (let warm = 0; warm < 2; warm++) {
      await floor();
      await ours();
    }
    for (const cold of [false, true]) {
      const base = { times: [], cpu: [], gc: [] };
      const mine = { times: [], cpu: [], gc: [] };
      for (let round = 0; round < rounds; round++) {
        // ABBA: whatever one run leaves behind (garbage, a grown heap) weighs on both sides alike.
        if (round % 2 === 0) {
          await measure(floor, cold, base);
          await measure(ours, cold, mine);
        } else {
          await measure(ours, cold, mine);
          await measure(floor, cold, base);
        }
      }
      figures[cold ? 'cold' : 'warm'] = {
        floorMs: median(base.times),
        oursMs: median(mine.times),
        floorGcMs: median(base.gc),
        oursGcMs: median(mine.gc),
        ratio: median(mine.times.map((t, i) => t / base.times[i])),
        cpuRatio: median(mine.cpu.map((t, i) => t / base.cpu[i])),
      };
    }
  } finally {
    observer.disconnect();
    await client.close();
    await dispatcher.close();
    await server.close();
  }
  return {
    decodeVsFloor: figures.warm.ratio,
    decodeColdVsFloor: figures.cold.ratio,
    decodeCpuVsFloor: figures.warm.cpuRatio,
    decodeColdCpuVsFloor: figures.cold.cpuRatio,
    decode: {
      endpoints,
      modifications,
      listBytes: facts.listBytes,
      watchBytes: facts.replayBytes,
      ...figures,
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const at = process.argv.indexOf('--rounds');
  const figures = await run(at === -1 ? {} : { rounds: Number(process.argv[at + 1]) });
  const d = figures.decode;
  console.log(
    `${d.endpoints} endpoints (list ${(d.listBytes / 1e6).toFixed(1)} MB) + ${d.modifications} MODIFIED (${(d.watchBytes / 1e6).toFixed(1)} MB); medians`,
  );
  console.log(
    '| heap | floor (undici + split + JSON.parse) | watchEndpoints → final set | ratio | CPU ratio | GC ms floor / ours |',
  );
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const kind of ['warm', 'cold']) {
    const f = d[kind];
    console.log(
      `| ${kind} | ${f.floorMs.toFixed(1)} ms | ${f.oursMs.toFixed(1)} ms | ${f.ratio.toFixed(3)} × | ${f.cpuRatio.toFixed(3)} × | ${f.floorGcMs.toFixed(0)} / ${f.oursGcMs.toFixed(0)} |`,
    );
  }
}
