// One pod slowed by 50 ms (issue 11, the "keep" row): four loopback pods (lib/slow-pods.mjs, a child
// process), the second of which answers every request 50 ms late. Each contender sends REQUESTS
// requests (`undici.request`, body read) at CONCURRENCY, from a fresh dispatcher (nothing learned
// before the round), in rotated rounds:
// - `leastRequest`: `createBalancedAgent` with its defaults (least-request, power of two choices);
// - `peakEwma`: the same with `{ balancer: { strategy: 'peak-ewma' } }`;
// - `balancedPool`: undici `BalancedPool` over the same pods (its weights move on errors only).
// Figures: the slow pod's share of the requests (counted from each response's `x-pod`) and the p99
// of the request latencies, medians over the rounds; the p99 is also taken against BalancedPool's
// in the same round. An even spread would send the slow pod 25 %.
//   node benchmarks/metrics/slow-pod.mjs
import { createBalancedAgent } from '@endpoint-watch/undici';
import { BalancedPool, request } from 'undici';
import { startChild } from '../lib/children.mjs';
import { readyEndpoints, staticEndpoints } from '../lib/static-endpoints.mjs';
import { isMain, median, medianRatio, metric, rotatedRounds } from '../lib/stats.mjs';

const PODS = 4;
const SLOW = 1;
const DELAY_MS = 50;

/** Sends `total` requests at `concurrency`; the slow pod's share and the p99 latency (ms). */
async function drive(dispatcher, url, slow, total, concurrency) {
  const latencies = [];
  let sent = 0;
  let toSlow = 0;
  const worker = async () => {
    while (sent < total) {
      sent++;
      const started = performance.now();
      const { statusCode, headers, body } = await request(url, { dispatcher });
      await body.dump();
      latencies.push(performance.now() - started);
      if (statusCode !== 200) throw new Error(`status ${statusCode}`);
      if (headers['x-pod'] === slow) toSlow++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  latencies.sort((a, b) => a - b);
  return { share: toSlow / total, p99: latencies[Math.ceil(latencies.length * 0.99) - 1] };
}

export async function run({
  requests = Number(process.env.BENCH_REQUESTS ?? 4_000),
  concurrency = 16,
  rounds = Number(process.env.BENCH_ROUNDS ?? 3),
  log = console.log,
} = {}) {
  const pods = await startChild(new URL('../lib/slow-pods.mjs', import.meta.url), [PODS, SLOW, DELAY_MS]);
  try {
    const { addresses, port, slow } = pods.info;
    const { endpoints$ } = staticEndpoints(readyEndpoints(addresses.length, port, (i) => addresses[i]));
    const origins = addresses.map((address) => `http://${address}:${port}`);
    const serviceUrl = `http://web.default.svc:${port}/`;
    const contender = (makeDispatcher, url) => async () => {
      const dispatcher = makeDispatcher();
      try {
        return await drive(dispatcher, url, slow, requests, concurrency);
      } finally {
        await dispatcher.close();
      }
    };
    const figures = await rotatedRounds(
      {
        leastRequest: contender(() => createBalancedAgent({ endpoints: endpoints$ }), serviceUrl),
        peakEwma: contender(
          () => createBalancedAgent({ endpoints: endpoints$ }, { balancer: { strategy: 'peak-ewma' } }),
          serviceUrl,
        ),
        balancedPool: contender(() => new BalancedPool(origins), `${origins[0]}/`),
      },
      { rounds, warmup: 1 },
    );
    const p99 = Object.fromEntries(
      Object.entries(figures).map(([name, results]) => [name, results.map((r) => r.p99)]),
    );
    const share = (name) => median(figures[name].map((f) => f.share));
    log(
      `one pod of ${PODS} slowed by ${DELAY_MS} ms, ${requests} requests at concurrency ${concurrency}, ${rounds} rounds: ` +
        Object.keys(p99)
          .map(
            (name) =>
              `${name} ${(100 * share(name)).toFixed(1)} % to it, p99 ${median(p99[name]).toFixed(1)} ms`,
          )
          .join('; '),
    );
    const detail = (name) => ({
      p99Ms: median(p99[name]),
      balancedPoolShare: share('balancedPool'),
      balancedPoolP99Ms: median(p99.balancedPool),
      requests,
      concurrency,
      rounds,
    });
    return {
      slowPodShare: {
        leastRequest: metric(100 * share('leastRequest'), {
          unit: '%',
          label: `one pod of ${PODS} slowed by ${DELAY_MS} ms: its share of the requests, least-request (even: 25 %)`,
          detail: detail('leastRequest'),
        }),
        peakEwma: metric(100 * share('peakEwma'), {
          unit: '%',
          label: `one pod of ${PODS} slowed by ${DELAY_MS} ms: its share of the requests, peak-EWMA (even: 25 %)`,
          detail: detail('peakEwma'),
        }),
      },
      slowPodP99VsBalancedPool: {
        leastRequest: metric(medianRatio(p99.leastRequest, p99.balancedPool), {
          label: `one pod slowed by ${DELAY_MS} ms: p99 latency, least-request agent / BalancedPool`,
          detail: detail('leastRequest'),
        }),
        peakEwma: metric(medianRatio(p99.peakEwma, p99.balancedPool), {
          label: `one pod slowed by ${DELAY_MS} ms: p99 latency, peak-EWMA agent / BalancedPool`,
          detail: detail('peakEwma'),
        }),
      },
    };
  } finally {
    pods.stop();
  }
}

if (isMain(import.meta.url)) console.log(JSON.stringify(await run(), null, 2));
