#!/usr/bin/env node
// Memory a client keeps for Services it no longer watches (issue 11, "memory after unsubscribing").
// One client watches N distinct Services one after another: subscribe, wait for the first set,
// unsubscribe. The heap is measured after a full GC at checkpoints; the slope is what each Service
// ever watched leaves behind. The fake apiserver runs in a child process so its own bookkeeping is
// not measured. Run: node --expose-gc benchmarks/registry-memory.mjs (SERVICES=10000).
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createKubeClient, loadKubeConfig, watchEndpoints } from '@endpoint-watch/core';
import { firstValueFrom } from 'rxjs';

const SERVICES = Number(process.env.SERVICES ?? 10_000);

if (process.argv[2] === 'server') {
  const { endpointSlice, startFakeApiServer } = await import('@endpoint-watch/testing');
  const server = await startFakeApiServer({
    initialObjects: Array.from({ length: SERVICES }, (_, i) =>
      endpointSlice({ service: `svc-${i}`, name: `svc-${i}-a`, endpoints: [{ addresses: ['10.0.0.1'] }] }),
    ),
  });
  process.send?.(server.kubeconfig());
} else {
  if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
  const child = fork(fileURLToPath(import.meta.url), ['server'], { stdio: 'inherit' });
  const kubeconfig = await new Promise((resolve) => child.once('message', resolve));
  const path = join(tmpdir(), `registry-memory-${process.pid}.kubeconfig`);
  writeFileSync(path, kubeconfig);
  const client = createKubeClient(loadKubeConfig({ kubeconfig: path }));
  const heap = async () => {
    for (let i = 0; i < 3; i++) {
      globalThis.gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
    return process.memoryUsage().heapUsed;
  };
  const watchOnce = (i) =>
    firstValueFrom(
      watchEndpoints(client, { service: `svc-${i}`, namespace: 'default', watch: { initialList: 'list' } }),
    );
  // Warm-up: code paths, connection pools, JIT.
  for (let i = 0; i < 200; i++) await watchOnce(i);
  const checkpoints = [0, SERVICES / 4, SERVICES / 2, SERVICES].map(Math.round);
  const rows = [];
  let done = 0;
  const base = await heap();
  for (const checkpoint of checkpoints) {
    for (; done < checkpoint; done++) await watchOnce(done);
    rows.push({ services: checkpoint, heapMiB: (await heap()) / 2 ** 20 });
  }
  const slope = ((await heap()) - base) / SERVICES;
  console.table(rows.map((r) => ({ services: r.services, 'heap (MiB)': r.heapMiB.toFixed(2) })));
  console.log(`retained per Service watched and dropped: ${slope.toFixed(0)} B (target: 0, flat)`);
  // Only this script's own pipes to the server process may remain: no socket, no timer.
  const resources = {};
  for (const kind of process.getActiveResourcesInfo()) resources[kind] = (resources[kind] ?? 0) + 1;
  console.log('active resources after the run:', JSON.stringify(resources));
  await client.close();
  child.kill();
}
