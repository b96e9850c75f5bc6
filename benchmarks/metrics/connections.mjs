// Connections for 2 000 Services on one client (issue 11, row 6). The fake apiserver (child
// process) speaks HTTP/2 over TLS and allows 100 concurrent streams per connection, like
// kube-apiserver; one client subscribes to 2 000 Services (one EndpointSlice each) with the options
// a user would pass (`watchOptions`, by default none: whatever `watchEndpoints` does by default is
// what is measured), waits for every first set, and the server counts the TCP connections open.
// Re-point it without editing: BENCH_CONNECTIONS_WATCH='{"scope":"service"}' (JSON merged into the
// watchEndpoints options) measures one watch per Service (⌈2000/100⌉ = 20 connections).
//   node benchmarks/metrics/connections.mjs
import { createKubeClient, loadKubeConfig, watchEndpoints } from '@endpoint-watch/core';
import { firstValueFrom, ReplaySubject, timeout } from 'rxjs';
import { startChild } from '../lib/children.mjs';
import { isMain, metric } from '../lib/stats.mjs';

export async function run({
  services = 2_000,
  watchOptions = JSON.parse(process.env.BENCH_CONNECTIONS_WATCH ?? '{}'),
  log = console.log,
} = {}) {
  const spec = {
    tls: true,
    maxConcurrentStreams: 100,
    manyServices: { count: services, endpoints: 3 },
  };
  const server = await startChild(new URL('../lib/fake-apiserver.mjs', import.meta.url), [
    JSON.stringify(spec),
  ]);
  const client = createKubeClient(loadKubeConfig({ server: server.info.url, ca: server.info.ca }));
  const subscriptions = [];
  try {
    const started = performance.now();
    const firsts = [];
    for (let i = 0; i < services; i++) {
      const latest = new ReplaySubject(1);
      subscriptions.push(
        watchEndpoints(client, { namespace: 'default', service: `svc-${i}`, ...watchOptions }).subscribe(
          latest,
        ),
      );
      firsts.push(firstValueFrom(latest.pipe(timeout(120_000))));
    }
    await Promise.all(firsts);
    const syncedMs = performance.now() - started;
    const stats = await server.call({ cmd: 'stats' });
    log(
      `connections for ${services} Services: ${stats.open} open (${stats.accepted} accepted, ` +
        `${stats.http2Sessions} HTTP/2 sessions), all synced in ${(syncedMs / 1000).toFixed(1)} s, ` +
        `watch options ${JSON.stringify(watchOptions)}`,
    );
    return {
      connectionsFor2000Services: metric(stats.open, {
        unit: 'connections',
        label: `TCP connections to the apiserver for ${services} Services on one client (HTTP/2, 100 streams each)`,
        detail: { ...stats, services, syncedMs, watchOptions },
      }),
    };
  } finally {
    for (const subscription of subscriptions) subscription.unsubscribe();
    await client.close();
    server.stop();
  }
}

if (isMain(import.meta.url)) console.log(await run());
