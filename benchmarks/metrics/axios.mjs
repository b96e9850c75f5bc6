// axios through @endpoint-watch/axios against plain axios (a peer the issue names). Four loopback
// pods run in one child process, the fake apiserver (naming them as one Service's endpoints) in
// another. Balanced: an axios instance with `withEndpointBalancing` (least-request) over the four
// pods; plain: a plain axios instance to one pod (Node's keep-alive global agent). Both send the
// same bounded number of GETs at the same concurrency, in rotated rounds; the figure is the median
// per-round ratio of requests per second. The pods' process has the same work either way.
//   node benchmarks/metrics/axios.mjs
import { detachEndpointBalancing, getEndpointBalancing, withEndpointBalancing } from '@endpoint-watch/axios';
import { createKubeClient, loadKubeConfig, watchEndpoints } from '@endpoint-watch/core';
import axios from 'axios';
import { filter, firstValueFrom } from 'rxjs';
import { startChild } from '../lib/children.mjs';
import { isMain, median, medianRatio, metric, rotatedRounds } from '../lib/stats.mjs';

/** Requests per second of `requests` GETs through `instance`, `concurrency` at a time. */
async function throughput(instance, requests, concurrency) {
  let next = 0;
  const worker = async () => {
    while (next < requests) {
      next += 1;
      const response = await instance.get('/items');
      if (response.status !== 200) throw new Error(`status ${response.status}`);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return requests / ((performance.now() - started) / 1000);
}

export async function run({
  requests = 3_000,
  concurrency = 32,
  rounds = Number(process.env.BENCH_ROUNDS ?? 5),
  log = console.log,
} = {}) {
  const pods = await startChild(new URL('../lib/pods.mjs', import.meta.url), ['4']);
  const { port, addresses } = pods.info;
  const spec = { services: [{ name: 'web', addresses, port }] };
  const apiserver = await startChild(new URL('../lib/fake-apiserver.mjs', import.meta.url), [
    JSON.stringify(spec),
  ]);
  const client = createKubeClient(loadKubeConfig({ server: apiserver.info.url }));
  const balanced = withEndpointBalancing(
    axios.create({ baseURL: `http://web.default.svc.cluster.local:${port}` }),
    { endpoints: watchEndpoints(client, { namespace: 'default', service: 'web', port: 'http' }) },
    { balancer: { strategy: 'least-request' } },
  );
  const plain = axios.create({ baseURL: `http://${addresses[0]}:${port}` });
  try {
    const [balancing] = getEndpointBalancing(balanced);
    await firstValueFrom(
      balancing.balancer.stats$.pipe(filter((s) => s.totals.endpoints === addresses.length)),
    );
    const rps = await rotatedRounds(
      {
        balanced: () => throughput(balanced, requests, concurrency),
        plain: () => throughput(plain, requests, concurrency),
      },
      { rounds, warmup: 1 },
    );
    log(
      `axios, ${requests} GETs at concurrency ${concurrency}: balanced over ${addresses.length} pods ` +
        `${median(rps.balanced).toFixed(0)} req/s, plain to one pod ${median(rps.plain).toFixed(0)} req/s`,
    );
    return {
      axiosBalancedVsPlain: metric(medianRatio(rps.balanced, rps.plain), {
        label: 'axios + @endpoint-watch/axios (4 pods) / plain axios (1 pod): requests per second',
        detail: {
          medianRps: { balanced: median(rps.balanced), plain: median(rps.plain) },
          requests,
          concurrency,
          rounds,
        },
      }),
    };
  } finally {
    await detachEndpointBalancing(balanced);
    await client.close();
    apiserver.stop();
    pods.stop();
  }
}

if (isMain(import.meta.url)) console.log(await run());
