#!/usr/bin/env node
// Issue 11, rows "initial sync" and "retained heap per endpoint".
//
// Initial sync: one Service of 10k / 50k / 100k endpoints (realistic slices of 100, managedFields,
// fixed seeds). Ours: `watchEndpoints` subscribe → first EndpointSet (its `endpoints` read), through
// the LIST path (`initialList: 'list'`) and the streaming list (`initialList: 'streaming'`). The
// floor: the same LIST fetched with undici and JSON.parse'd. One warmed client per side (keep-alive
// connections on both), ABBA rounds, verdict = median of the per-round ratios.
//
// Heap: after full GCs, the heap a subscribed Service of N endpoints holds (its set's `endpoints`
// read), per endpoint, against the LIST's items as JSON.parse makes them (lib/heap.mjs, the same
// measure as metrics/retained-heap.mjs's, on the same fixture: lib/controller-slices.mjs); then
// again after every endpoint changed (each slice MODIFIED twice, content back to the start).
//
// The stand-in apiserver runs in a child process. `run(options)` returns plain JSON figures;
// run directly it prints a table: node benchmarks/core-sync.mjs [--rounds 9] [--sizes 10000,50000]
import { createKubeClient, loadKubeConfig, watchEndpoints } from '@endpoint-watch/core';
import { firstValueFrom } from 'rxjs';
import { Agent, request } from 'undici';
import { withCpu } from './lib/cpu.mjs';
import { parsedListBytes, settledHeap } from './lib/heap.mjs';
import { startReplayServer } from './lib/replay-server.mjs';
import { median, SLICES_PATH } from './lib/scenarios.mjs';

export const DEFAULT_SIZES = [10_000, 50_000, 100_000];

const selector = (service) => `labelSelector=${encodeURIComponent(`kubernetes.io/service-name=${service}`)}`;

async function initialSync({ sizes, rounds }) {
  const server = await startReplayServer({
    services: sizes.map((endpoints) => ({ name: `svc-${endpoints}`, endpoints })),
  });
  const dispatcher = new Agent();
  const client = createKubeClient(loadKubeConfig({ server: server.origin }));
  const floor = async (service) => {
    const started = performance.now();
    const response = await request(`${server.origin}${SLICES_PATH}?${selector(service)}`, { dispatcher });
    const list = JSON.parse(await response.body.text());
    const elapsed = performance.now() - started;
    if (list.items.length === 0) throw new Error('empty list');
    return elapsed;
  };
  const ours = async (service, initialList, expected) => {
    const started = performance.now();
    const set = await firstValueFrom(
      watchEndpoints(client, { namespace: 'default', service, watch: { initialList } }),
    );
    const count = set.endpoints.length;
    const elapsed = performance.now() - started;
    if (count !== expected) throw new Error(`expected ${expected} endpoints, got ${count}`);
    return elapsed;
  };
  const result = {};
  try {
    for (const size of sizes) {
      const service = `svc-${size}`;
      const sides = {
        floor: () => floor(service),
        list: () => ours(service, 'list', size),
        streaming: () => ours(service, 'streaming', size),
      };
      const order = Object.keys(sides);
      const times = { floor: [], list: [], streaming: [] };
      const cpu = { floor: [], list: [], streaming: [] };
      for (let warm = 0; warm < 2; warm++) for (const side of order) await sides[side]();
      for (let round = 0; round < rounds; round++) {
        // Rotated order: whatever one run leaves behind weighs on every side alike.
        for (let k = 0; k < order.length; k++) {
          const side = order[(round + k) % order.length];
          const run = await withCpu(sides[side]);
          times[side].push(run.wall);
          cpu[side].push(run.cpu);
        }
      }
      const ratio = (side, of = times) => median(of[side].map((t, i) => t / of.floor[i]));
      result[size] = {
        floorMs: median(times.floor),
        listMs: median(times.list),
        streamingMs: median(times.streaming),
        listVsFloor: ratio('list'),
        streamingVsFloor: ratio('streaming'),
        listCpuVsFloor: ratio('list', cpu),
        streamingCpuVsFloor: ratio('streaming', cpu),
      };
    }
  } finally {
    await client.close();
    await dispatcher.close();
    await server.close();
  }
  return result;
}

async function retainedHeap({ heapEndpoints }) {
  const service = `svc-${heapEndpoints}`;
  const server = await startReplayServer({
    services: [{ name: service, endpoints: heapEndpoints, change: true }],
  });
  const { changedResourceVersion } = server.meta[service];
  const dispatcher = new Agent();
  const client = createKubeClient(loadKubeConfig({ server: server.origin }));
  try {
    // Warm the client's code paths (and its connection) on the same Service first.
    await firstValueFrom(
      watchEndpoints(client, { namespace: 'default', service, watch: { initialList: 'list' } }),
    );
    const listUrl = `${server.origin}${SLICES_PATH}?${selector(service)}`;
    const raw = await parsedListBytes(async () => (await request(listUrl, { dispatcher })).body.text());

    const base = await settledHeap();
    let latest;
    const subscription = watchEndpoints(client, {
      namespace: 'default',
      service,
      watch: { initialList: 'list' },
    }).subscribe((set) => {
      latest = set;
      void set.endpoints.length;
    });
    while (latest === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
    const synced = (await settledHeap()) - base;
    const changed = new Promise((resolve) => {
      const check = setInterval(() => {
        if (latest.resourceVersion === changedResourceVersion) resolve(clearInterval(check));
      }, 5);
    });
    if ((await server.change(service)) !== 1) throw new Error('the watch is not open');
    await changed;
    const afterChanges = (await settledHeap()) - base;
    if (latest.endpoints.length !== heapEndpoints) throw new Error('wrong final set');
    subscription.unsubscribe();
    return {
      endpoints: heapEndpoints,
      rawBytesPerEndpoint: raw / heapEndpoints,
      syncedBytesPerEndpoint: synced / heapEndpoints,
      changedBytesPerEndpoint: afterChanges / heapEndpoints,
      heapPerEndpointVsRaw: synced / raw,
      heapAfterChangesVsAfterSync: afterChanges / synced,
    };
  } finally {
    await client.close();
    await dispatcher.close();
    await server.close();
  }
}

/** Plain JSON figures; keys as the `pnpm bench` orchestrator expects them. */
export async function run(options = {}) {
  const sizes = options.sizes ?? DEFAULT_SIZES;
  const rounds = options.rounds ?? 9;
  const heapEndpoints = options.heapEndpoints ?? 50_000;
  const sync = await initialSync({ sizes, rounds });
  const heap = await retainedHeap({ heapEndpoints });
  const per = (key) => Object.fromEntries(sizes.map((size) => [size, sync[size][key]]));
  return {
    initialSyncVsFloor: per('listVsFloor'),
    initialSyncStreamingVsFloor: per('streamingVsFloor'),
    initialSyncCpuVsFloor: per('listCpuVsFloor'),
    initialSyncStreamingCpuVsFloor: per('streamingCpuVsFloor'),
    initialSync: sync,
    heapPerEndpointVsRaw: heap.heapPerEndpointVsRaw,
    heapAfterChangesVsAfterSync: heap.heapAfterChangesVsAfterSync,
    heap,
  };
}

function argument(name) {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? undefined : process.argv[at + 1];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const sizes = argument('sizes')?.split(',').map(Number);
  const rounds = argument('rounds') === undefined ? undefined : Number(argument('rounds'));
  const heapEndpoints = argument('heap') === undefined ? undefined : Number(argument('heap'));
  const figures = await run({ sizes, rounds, heapEndpoints });
  const ms = (v) => `${v.toFixed(1)} ms`;
  console.log('initial sync, one Service (medians; ratios: median of per-round ratios)');
  console.log(
    '| endpoints | floor (LIST + JSON.parse) | ours, LIST | ratio (CPU ratio) | ours, streaming | ratio (CPU ratio) |',
  );
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const [size, f] of Object.entries(figures.initialSync)) {
    console.log(
      `| ${size} | ${ms(f.floorMs)} | ${ms(f.listMs)} | ${f.listVsFloor.toFixed(2)} × (${f.listCpuVsFloor.toFixed(2)} ×) | ${ms(f.streamingMs)} | ${f.streamingVsFloor.toFixed(2)} × (${f.streamingCpuVsFloor.toFixed(2)} ×) |`,
    );
  }
  const h = figures.heap;
  console.log(`\nretained heap, one Service of ${h.endpoints} endpoints (bytes per endpoint)`);
  console.log(
    "| the LIST's items (JSON.parse) | ours after sync | ratio | after every endpoint changed | after / sync |",
  );
  console.log('| --- | --- | --- | --- | --- |');
  const bytes = (v) => v.toFixed(0);
  const times = (v) => `${v.toFixed(2)} ×`;
  console.log(
    `| ${bytes(h.rawBytesPerEndpoint)} | ${bytes(h.syncedBytesPerEndpoint)} | ${times(h.heapPerEndpointVsRaw)} | ${bytes(h.changedBytesPerEndpoint)} | ${times(h.heapAfterChangesVsAfterSync)} |`,
  );
}
