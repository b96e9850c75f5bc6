// Initial sync (issue 11, row 3): one Service of 10k / 50k / 100k endpoints, from subscribe to the
// first EndpointSet, against the floor's LIST (undici fetch + JSON.parse of the same bytes). The
// server (lib/watch-replay-server.mjs, a child process) answers the LIST and keeps the watch silent.
// Same footing for both sides: each round opens its own connection (ours makes a new client, the
// floor a new undici Pool: an initial sync is a client's first request), the clock stops once the
// result is usable (the set's `endpoints` read; the list parsed). No `gc()` between rounds: with
// full collections between them the client's functions ran 5-10× slower (their optimized code
// dropped; ours 2-3× the usual time at 10k) while the floor, JSON.parse, is native code.
// `--base <checkout>` (or `run({ base })`) adds that checkout's core (its built dist) as a third
// contender in the same rounds, for before/after figures taken side by side.
//   node --expose-gc benchmarks/metrics/initial-sync.mjs [--base /path/to/other/checkout]
import { pathToFileURL } from 'node:url';
import * as ours from '@endpoint-watch/core';
import { firstValueFrom } from 'rxjs';
import { Pool } from 'undici';
import { startChild } from '../lib/children.mjs';
import { isMain, median, medianRatio, metric, rotatedRounds } from '../lib/stats.mjs';
import { SLICES_PATH as path } from '../lib/watch-scenario.mjs';

/** subscribe → first set (its `endpoints` read) with the given core, on a new client. */
async function firstSetWith(core, origin, expectedReady) {
  const client = core.createKubeClient(core.loadKubeConfig({ server: origin }));
  const started = performance.now();
  const set = await firstValueFrom(
    core.watchEndpoints(client, { namespace: 'default', service: 'web', watch: { initialList: 'list' } }),
  );
  const ready = set.endpoints.length;
  const elapsed = performance.now() - started;
  await client.close();
  if (ready !== expectedReady) throw new Error('initial sync: wrong first set');
  return elapsed;
}

export async function run({
  sizes = [10_000, 50_000, 100_000],
  rounds = Number(process.env.BENCH_ROUNDS ?? 7),
  base,
  log = console.log,
} = {}) {
  const baseCore =
    base === undefined ? undefined : await import(pathToFileURL(`${base}/packages/core/dist/index.js`).href);
  const metrics = {};
  for (const size of sizes) {
    const server = await startChild(new URL('../lib/watch-replay-server.mjs', import.meta.url), [size, 0]);
    try {
      const { origin, expectedReady } = server.info;
      const floorList = async () => {
        const pool = new Pool(origin);
        const started = performance.now();
        const list = await pool.request({ method: 'GET', path: `${path}?labelSelector=x` });
        JSON.parse(await list.body.text());
        const elapsed = performance.now() - started;
        await pool.close();
        return elapsed;
      };
      const contenders = { floorList, firstSet: () => firstSetWith(ours, origin, expectedReady) };
      if (baseCore !== undefined)
        contenders.firstSetBase = () => firstSetWith(baseCore, origin, expectedReady);
      const times = await rotatedRounds(contenders, { rounds, warmup: 1 });
      const key = `${size / 1000}k`;
      log(
        `initial sync ${key}: floor LIST ${median(times.floorList).toFixed(1)} ms, first set ${median(times.firstSet).toFixed(1)} ms ` +
          `(list ${(server.info.listBytes / 1e6).toFixed(1)} MB)` +
          (baseCore === undefined
            ? ''
            : `; base's first set ${median(times.firstSetBase).toFixed(1)} ms, ${medianRatio(times.firstSetBase, times.floorList).toFixed(2)} × the floor`),
      );
      metrics[`initialSyncVsFloorList.${key}`] = metric(medianRatio(times.firstSet, times.floorList), {
        label: `initial sync, ${key} endpoints: first EndpointSet / floor's LIST (fetch + JSON.parse)`,
        detail: {
          medianMs: { floorList: median(times.floorList), firstSet: median(times.firstSet) },
          ...(baseCore === undefined
            ? {}
            : { base, baseVsFloorList: medianRatio(times.firstSetBase, times.floorList) }),
          rounds,
        },
      });
    } finally {
      server.stop();
    }
  }
  return metrics;
}

if (isMain(import.meta.url)) {
  const at = process.argv.indexOf('--base');
  console.log(await run({ base: at === -1 ? undefined : process.argv[at + 1] }));
}
