// Retained heap per endpoint (issue 11, row 4). One client watches one Service of N endpoints
// (lib/controller-slices.mjs: the slices the real controller writes, fixed seed) served by the fake
// apiserver in a child process. Measured after full GCs: the heap the watch retains once synced,
// divided by N, against the heap the LIST's items retain as `JSON.parse` makes them (what a plain
// client keeps; lib/heap.mjs, the same measure as core-sync.mjs's); then the heap retained after
// 1 000 one-endpoint changes against the heap after sync (flat = 1.0).
//   node --expose-gc benchmarks/metrics/retained-heap.mjs
import { createKubeClient, loadKubeConfig, watchEndpoints } from '@endpoint-watch/core';
import { filter, firstValueFrom, map, ReplaySubject } from 'rxjs';
import { request } from 'undici';
import { startChild } from '../lib/children.mjs';
import { settledHeap as heapUsed, parsedListBytes } from '../lib/heap.mjs';
import { isMain, median, metric } from '../lib/stats.mjs';
import { SLICES_PATH } from '../lib/watch-scenario.mjs';

/** One measurement: the three heap figures in bytes per endpoint. */
async function measureOnce(url, call, endpoints, changes) {
  const listUrl = `${url}${SLICES_PATH}?labelSelector=kubernetes.io/service-name=web`;
  const rawBytes = await parsedListBytes(async () => (await request(listUrl)).body.text());

  const client = createKubeClient(loadKubeConfig({ server: url }));
  const latest = new ReplaySubject(1);
  const before = await heapUsed();
  const subscription = watchEndpoints(client, { namespace: 'default', service: 'web' }).subscribe(latest);
  // Only the count: a set kept here would hold every Endpoint the changes below replace.
  const count = await firstValueFrom(latest.pipe(map((set) => set.all.length)));
  if (count !== endpoints) throw new Error(`retained heap: ${count} endpoints, not ${endpoints}`);
  const synced = (await heapUsed()) - before;
  const lastRv = await call({ cmd: 'flip', service: 'web', count: changes });
  await firstValueFrom(latest.pipe(filter((set) => BigInt(set.resourceVersion) >= BigInt(lastRv))));
  const changed = (await heapUsed()) - before;
  subscription.unsubscribe();
  await client.close();
  return { raw: rawBytes / endpoints, synced: synced / endpoints, changed: changed / endpoints };
}

export async function run({
  endpoints = Number(process.env.BENCH_ENDPOINTS ?? 10_000),
  changes = 1_000,
  rounds = Number(process.env.BENCH_ROUNDS ?? 3),
  log = console.log,
} = {}) {
  const spec = { realistic: true, services: [{ name: 'web', endpoints }] };
  const server = await startChild(new URL('../lib/fake-apiserver.mjs', import.meta.url), [
    JSON.stringify(spec),
  ]);
  try {
    await measureOnce(server.info.url, server.call, endpoints, 10); // warm-up: code, JIT, pools
    const samples = [];
    for (let round = 0; round < rounds; round++)
      samples.push(await measureOnce(server.info.url, server.call, endpoints, changes));
    const per = (key) => median(samples.map((s) => s[key]));
    const detail = {
      bytesPerEndpoint: { rawJsonParse: per('raw'), synced: per('synced'), afterChanges: per('changed') },
      endpoints,
      changes,
      rounds,
    };
    log(
      `retained heap per endpoint (${endpoints / 1000}k): the LIST's items (JSON.parse) ${per('raw').toFixed(0)} B, ` +
        `synced ${per('synced').toFixed(0)} B, after ${changes} changes ${per('changed').toFixed(0)} B`,
    );
    return {
      retainedHeapVsJsonParse: metric(median(samples.map((s) => s.synced / s.raw)), {
        label: "retained heap per endpoint after sync / the LIST's items as JSON.parse makes them",
        detail,
      }),
      retainedHeapAfterChanges: metric(median(samples.map((s) => s.changed / s.synced)), {
        label: `retained heap after ${changes} changes / after sync`,
        detail,
      }),
    };
  } finally {
    server.stop();
  }
}

if (isMain(import.meta.url)) console.log(await run());
