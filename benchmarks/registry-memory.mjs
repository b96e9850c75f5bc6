#!/usr/bin/env node
// Memory a client keeps for Services it no longer watches (issue 11, "memory after unsubscribing").
// One client watches N distinct Services one after another: subscribe, wait for the first set,
// unsubscribe. The heap is measured after a full GC at checkpoints; the slope is what each Service
// ever watched leaves behind. The fake apiserver runs in a child process (lib/fake-apiserver.mjs) so
// its own bookkeeping is not measured.
//   node --expose-gc benchmarks/registry-memory.mjs          (SERVICES=10000)
// (The fake apiserver scans every object per LIST, so a run costs O(N²) there: 10 000 Services, the
// issue's own N, take ~2.5 min of `pnpm bench`; 4 000 left the slope inside the heap's noise.)
import { createKubeClient, loadKubeConfig, watchEndpoints } from '@endpoint-watch/core';
import { firstValueFrom } from 'rxjs';
import { startChild } from './lib/children.mjs';
import { fullGc, isMain, metric } from './lib/stats.mjs';

export async function run({ services = Number(process.env.SERVICES ?? 10_000), log = console.log } = {}) {
  const WARMUP = 200; // Services svc-N … svc-(N+199): watched once before measuring, never again
  const spec = { manyServices: { count: services + WARMUP, endpoints: 1 } };
  const server = await startChild(new URL('./lib/fake-apiserver.mjs', import.meta.url), [
    JSON.stringify(spec),
  ]);
  const client = createKubeClient(loadKubeConfig({ server: server.info.url }));
  try {
    const heap = async () => {
      await fullGc();
      return process.memoryUsage().heapUsed;
    };
    const watchOnce = (i) =>
      firstValueFrom(
        watchEndpoints(client, { service: `svc-${i}`, namespace: 'default', watch: { initialList: 'list' } }),
      );
    // Warm-up: code paths, connection pools, JIT.
    for (let i = services; i < services + WARMUP; i++) await watchOnce(i);
    const checkpoints = [0, services / 4, services / 2, services].map(Math.round);
    const rows = [];
    let done = 0;
    for (const checkpoint of checkpoints) {
      for (; done < checkpoint; done++) await watchOnce(done);
      rows.push({ services: checkpoint, heapMiB: (await heap()) / 2 ** 20 });
    }
    // The slope from the first quarter on: the first Services also pay one-off costs (JIT, pools).
    const slope = ((rows[3].heapMiB - rows[1].heapMiB) * 2 ** 20) / (services - checkpoints[1]);
    const fromStart = ((rows[3].heapMiB - rows[0].heapMiB) * 2 ** 20) / services;
    log(
      `memory after unsubscribing: heap ${rows.map((r) => `${r.heapMiB.toFixed(2)} MiB @ ${r.services}`).join(', ')}; ` +
        `${slope.toFixed(0)} B per Service watched and dropped (${fromStart.toFixed(0)} B from the start)`,
    );
    // Only the pipe to the server process may remain: no socket, no timer.
    const resources = {};
    for (const kind of process.getActiveResourcesInfo()) resources[kind] = (resources[kind] ?? 0) + 1;
    return {
      retainedBytesPerDroppedService: metric(slope, {
        unit: 'B',
        label: `heap retained per Service watched and dropped (${services} Services)`,
        detail: { checkpoints: rows, bytesPerServiceFromStart: fromStart, activeResourcesAfter: resources },
      }),
    };
  } finally {
    await client.close();
    server.stop();
  }
}

if (isMain(import.meta.url)) {
  const metrics = await run();
  console.log(JSON.stringify(metrics, null, 2));
}
