#!/usr/bin/env node
// Peak memory of one initial sync (LIST path), each in a process of its own (cold: the peak of a
// first sync is what a client pays): the growth of the peak RSS (`maxRSS`) over the RSS before the
// request, for this checkout's core, `--base <checkout>`'s core and the floor (undici + `body.text()`
// + `JSON.parse`, the parsed list kept). The replay server (lib/watch-replay-server.mjs) runs in
// another process. Medians over the rounds, sides alternated.
//   node benchmarks/list-peak-memory.mjs [--size 100000] [--rounds 3] [--base /path/to/checkout]
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startChild } from './lib/children.mjs';
import { median } from './lib/stats.mjs';
import { SLICES_PATH } from './lib/watch-scenario.mjs';

const argument = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : process.argv[at + 1];
};

if (argument('child', undefined) !== undefined) {
  // One sync, then report: `--child <core dist index | floor> <origin> <expected endpoints>`.
  const [which, origin, expected] = process.argv.slice(process.argv.indexOf('--child') + 1);
  const { Pool } = await import('undici');
  const { firstValueFrom } = await import('rxjs');
  const core = which === 'floor' ? undefined : await import(pathToFileURL(which).href);
  globalThis.gc?.();
  const before = process.memoryUsage.rss();
  let kept;
  if (core === undefined) {
    const pool = new Pool(origin);
    const list = await pool.request({ method: 'GET', path: `${SLICES_PATH}?labelSelector=x` });
    kept = JSON.parse(await list.body.text());
    await pool.close();
  } else {
    const client = core.createKubeClient(core.loadKubeConfig({ server: origin }));
    const set = await firstValueFrom(
      core.watchEndpoints(client, { namespace: 'default', service: 'web', watch: { initialList: 'list' } }),
    );
    if (set.endpoints.length !== Number(expected)) throw new Error('wrong first set');
    kept = set;
    await client.close();
  }
  const peakGrowthMB = (process.resourceUsage().maxRSS * 1024 - before) / 1e6;
  process.send({ peakGrowthMB, kept: kept !== undefined });
  process.exit(0);
}

const size = Number(argument('size', 100_000));
const rounds = Number(argument('rounds', 3));
const base = argument('base', undefined);
const sides = { ours: fileURLToPath(import.meta.resolve('@endpoint-watch/core')), floor: 'floor' };
if (base !== undefined) sides.base = `${base}/packages/core/dist/index.js`;
const server = await startChild(new URL('./lib/watch-replay-server.mjs', import.meta.url), [size, 0]);
const peaks = Object.fromEntries(Object.keys(sides).map((side) => [side, []]));
try {
  for (let round = 0; round < rounds; round++) {
    for (const [side, which] of Object.entries(sides)) {
      const child = fork(
        fileURLToPath(import.meta.url),
        ['--child', which, server.info.origin, String(server.info.expectedReady)],
        { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
      );
      const [message] = await once(child, 'message');
      peaks[side].push(message.peakGrowthMB);
      await once(child, 'exit');
    }
  }
} finally {
  server.stop();
}
const listMB = server.info.listBytes / 1e6;
console.log(
  `${size} endpoints, LIST of ${listMB.toFixed(1)} MB; peak RSS growth of one cold sync, MB (median of ${rounds}):`,
);
for (const [side, values] of Object.entries(peaks))
  console.log(`  ${side}: ${median(values).toFixed(0)} (${values.map((v) => v.toFixed(0)).join(', ')})`);
