#!/usr/bin/env node
import { pathToFileURL } from 'node:url';
// Watch decode (issue 11, rows 1 and 2): throughput of the whole pipeline (socket → decoder →
// list+watch machine → store → slice aggregation → EndpointSet) against the floor, fetching the same
// bytes with undici and JSON.parse-ing them line by line, and against @kubernetes/client-node's
// `Watch` (its LIST through the generated DiscoveryV1Api, then its Watch callback; no cache).
//
// Scenario: a 10 000-endpoint Service (100 EndpointSlices of 100, realistic objects, fixed seed)
// receives 2 000 MODIFIED events (~56 MB of watch body). Measured: from the start to the point where
// each has seen the last modification (ours: the EndpointSet that holds it). The server replays
// pre-serialized bytes from a child process (lib/watch-replay-server.mjs). `cold`: a full GC before each
// run (node --expose-gc), so that no run starts on a heap grown by the one before.
//
//   node --expose-gc benchmarks/endpoints-throughput.mjs [--cold] [--base /path/to/other/checkout]
//   BENCH_ROUNDS=21 BENCH_ENGINE=1 node benchmarks/endpoints-throughput.mjs   # + engine/store diagnosis
import {
  createKubeClient,
  listWatch,
  loadKubeConfig,
  SharedResourceWatch,
  stripManagedFields,
  WatchStats,
  watchEndpoints,
} from '@endpoint-watch/core';
import { DiscoveryV1Api, KubeConfig, Watch } from '@kubernetes/client-node';
import { filter, firstValueFrom } from 'rxjs';
import { request } from 'undici';
import { startChild } from './lib/children.mjs';
import { parseWatchLines } from './lib/floor.mjs';
import { fullGc, isMain, median, medianRatio, metric, rotatedRounds } from './lib/stats.mjs';
import { SLICES_PATH as path } from './lib/watch-scenario.mjs';

/** A client-node KubeConfig for a plain-http loopback server. */
export function clientNodeConfig(origin) {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'bench', server: origin, skipTLSVerify: true }],
    users: [{ name: 'bench' }],
    contexts: [{ name: 'bench', cluster: 'bench', user: 'bench' }],
    currentContext: 'bench',
  });
  return kc;
}

function contendersFor(server, baseCore) {
  const { origin, modifications, finalRv, lastAddress, lastReady, expectedReady } = server;

  /** The floor: the same two requests with undici, every line JSON.parse'd. */
  async function floor() {
    const started = performance.now();
    const list = await request(`${origin}${path}?labelSelector=x`);
    JSON.parse(await list.body.text());
    const watch = await request(`${origin}${path}?watch=true`);
    await parseWatchLines(watch.body, modifications);
    return performance.now() - started;
  }

  /** Ours, with `core` (this checkout's, or another's with `--base`). */
  async function oursWith(core) {
    const client = core.createKubeClient(core.loadKubeConfig({ server: origin }));
    const started = performance.now();
    const set = await firstValueFrom(
      core
        .watchEndpoints(client, { namespace: 'default', service: 'web', watch: { initialList: 'list' } })
        .pipe(filter((s) => s.resourceVersion === finalRv)),
    );
    const elapsed = performance.now() - started;
    await client.close();
    const last = set.all.find((e) => e.address === lastAddress);
    if (set.endpoints.length !== expectedReady || last?.ready !== lastReady)
      throw new Error('wrong final set');
    return elapsed;
  }
  const ours = () => oursWith({ createKubeClient, loadKubeConfig, watchEndpoints });

  const kc = clientNodeConfig(origin);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  const watcher = new Watch(kc);
  async function clientNode() {
    const started = performance.now();
    const list = await discovery.listNamespacedEndpointSlice({
      namespace: 'default',
      labelSelector: 'kubernetes.io/service-name=web',
    });
    let seen = 0;
    let lastObject;
    let controller;
    await new Promise((resolve, reject) => {
      watcher
        .watch(
          path,
          { labelSelector: 'kubernetes.io/service-name=web', resourceVersion: list.metadata.resourceVersion },
          (_type, object) => {
            lastObject = object;
            if (++seen === modifications) resolve();
          },
          (error) => (seen < modifications ? reject(error ?? new Error('watch ended early')) : undefined),
        )
        .then((c) => (controller = c), reject);
    });
    const elapsed = performance.now() - started;
    controller?.abort();
    if (lastObject?.metadata?.resourceVersion !== finalRv) throw new Error('client-node: wrong last event');
    return elapsed;
  }

  /** Diagnosis: the engine alone (decoder + machine, no store or aggregation), until the last event. */
  async function engineOnly(stats) {
    const client = createKubeClient(loadKubeConfig({ server: origin }));
    const started = performance.now();
    await firstValueFrom(
      listWatch(client, {
        path,
        labelSelector: 'kubernetes.io/service-name=web',
        initialList: 'list',
        ...(stats ? { stats } : {}),
      }).pipe(filter((n) => n.kind === 'events' && n.events.at(-1)?.resourceVersion === finalRv)),
    );
    const elapsed = performance.now() - started;
    await client.close();
    return elapsed;
  }

  /** Diagnosis: the engine counting what it decodes (`WatchStats`, as every shared watch does). */
  const engineWithStats = () => engineOnly(new WatchStats());

  /** Diagnosis: engine + store, no aggregation. */
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

  return {
    floor,
    ours,
    ...(baseCore === undefined ? {} : { oursBase: () => oursWith(baseCore) }),
    clientNode,
    engineOnly: () => engineOnly(),
    engineWithStats,
    storeOnly,
  };
}

/**
 * Runs the rounds and returns the metrics: warm (`watchDecodeVsFloor`, `clientNodeWatchVsOurs`) or
 * cold (`watchDecodeColdVsFloor`, `clientNodeWatchColdVsOurs`).
 */
export async function run({
  rounds = Number(process.env.BENCH_ROUNDS ?? 9),
  cold = false,
  endpoints = Number(process.env.BENCH_ENDPOINTS ?? 10_000),
  modifications = Number(process.env.BENCH_MODIFICATIONS ?? 2_000),
  diagnosis = Boolean(process.env.BENCH_ENGINE),
  base,
  log = console.log,
} = {}) {
  const baseCore =
    base === undefined ? undefined : await import(pathToFileURL(`${base}/packages/core/dist/index.js`).href);
  const server = await startChild(new URL('./lib/watch-replay-server.mjs', import.meta.url), [
    endpoints,
    modifications,
  ]);
  try {
    const all = contendersFor(server.info, baseCore);
    const contenders = { floor: all.floor, ours: all.ours, clientNode: all.clientNode };
    // `--base`: another checkout's core as a fourth contender, in the same rotated rounds.
    if (all.oursBase !== undefined) contenders.oursBase = all.oursBase;
    if (diagnosis)
      Object.assign(contenders, {
        engineOnly: all.engineOnly,
        engineWithStats: all.engineWithStats,
        storeOnly: all.storeOnly,
      });
    log(
      `watch decode${cold ? ' (cold heap)' : ''}: ${endpoints} endpoints in ${server.info.slices} slices ` +
        `(list ${(server.info.listBytes / 1e6).toFixed(1)} MB), ${modifications} MODIFIED ` +
        `(${(server.info.watchBytes / 1e6).toFixed(1)} MB), ${rounds} rotated rounds`,
    );
    const times = await rotatedRounds(contenders, {
      rounds,
      warmup: cold ? 1 : 2,
      before: cold ? fullGc : undefined,
    });
    const medians = Object.fromEntries(Object.entries(times).map(([name, t]) => [name, median(t)]));
    for (const [name, ms] of Object.entries(medians)) log(`  ${name.padEnd(11)} median ${ms.toFixed(1)} ms`);
    if (diagnosis) {
      const ratio = medianRatio(times.engineWithStats, times.engineOnly);
      log(`  engine with WatchStats / engine alone: ${ratio.toFixed(3)} (median of per-round ratios)`);
    }
    if (baseCore !== undefined)
      log(
        `  base (${base}): ours / base ${medianRatio(times.ours, times.oursBase).toFixed(3)}, ` +
          `client-node / base ${medianRatio(times.clientNode, times.oursBase).toFixed(3)}, ` +
          `client-node / ours ${medianRatio(times.clientNode, times.ours).toFixed(3)} (medians of per-round ratios)`,
      );
    const detail = {
      medianMs: medians,
      rounds,
      endpoints,
      modifications,
      watchBytes: server.info.watchBytes,
    };
    const suffix = cold ? 'Cold' : '';
    return {
      [`watchDecode${suffix}VsFloor`]: metric(medianRatio(times.ours, times.floor), {
        label: `watch decode${cold ? ', cold heap' : ''}: ours / floor (undici + split + JSON.parse)`,
        detail,
      }),
      [`clientNodeWatch${suffix}VsOurs`]: metric(medianRatio(times.clientNode, times.ours), {
        label: `watch decode${cold ? ', cold heap' : ''}: client-node Watch / ours`,
        detail,
      }),
    };
  } finally {
    server.stop();
  }
}

if (isMain(import.meta.url)) {
  const cold = process.argv.includes('--cold');
  const at = process.argv.indexOf('--base');
  const base = at === -1 ? undefined : process.argv[at + 1];
  const metrics = await run({ cold, base, rounds: Number(process.env.BENCH_ROUNDS ?? 21) });
  for (const [key, m] of Object.entries(metrics))
    console.log(`${key}: ${m.value.toFixed(3)} ${m.unit}  (${m.label})`);
}
