#!/usr/bin/env node
// Memory a client keeps for Services it no longer watches (issue 11, "memory after unsubscribing").
// One client watches N distinct Services one after another: subscribe, wait for the first set,
// unsubscribe. The heap is measured after a full GC at checkpoints; the slope is what each Service
// ever watched leaves behind. The fake apiserver runs in a child process (lib/fake-apiserver.mjs) so
// its own bookkeeping is not measured.
//   node --expose-gc benchmarks/registry-memory.mjs          (SERVICES=10000)
import { createKubeClient, loadKubeConfig, watchEndpoints } from '@endpoint-watch/core';
import { firstValueFrom } from 'rxjs';
import { startChild } from './lib/children.mjs';
import { fullGc, isMain, metric } from './lib/stats.mjs';

export async function run({ services = Number(process.env.SERVICES ?? 10_000), log = console.log } = {}) {
  const spec = { services: Array.from({ length: services }, (_, i) => ({ name: `svc-${i}`, endpoints: 1 })) };
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
    for (let i = 0; i < Math.min(200, services); i++) await watchOnce(i);
    const checkpoints = [0, services / 4, services / 2, services].map(Math.round);
    const rows = [];
    let done = 0;
    const base = await heap();
    for (const checkpoint of checkpoints) {
      for (; done < checkpoint; done++) await watchOnce(done);
      rows.push({ services: checkpoint, heapMiB: Number(((await heap()) / 2 ** 20).toFixed(2)) });
    }
    const slope = ((await heap()) - base) / services;
    log(
      `memory after unsubscribing: heap ${rows.map((r) => `${r.heapMiB} MiB @ ${r.services}`).join(', ')}; ` +
        `${slope.toFixed(0)} B per Service watched and dropped`,
    );
    // Only the pipe to the server process may remain: no socket, no timer.
    const resources = {};
    for (const kind of process.getActiveResourcesInfo()) resources[kind] = (resources[kind] ?? 0) + 1;
    return {
      retainedBytesPerDroppedService: metric(slope, {
        unit: 'B',
        label: `heap retained per Service watched and dropped (${services} Services)`,
        detail: { checkpoints: rows, activeResourcesAfter: resources },
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
