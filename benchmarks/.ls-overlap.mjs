import * as core from '@endpoint-watch/core';
import { firstValueFrom } from 'rxjs';
import { Pool } from 'undici';
import { SLICES_PATH } from './lib/watch-scenario.mjs';
import { startChild } from './lib/children.mjs';
import { median } from './lib/stats.mjs';
const size = Number(process.argv[2] ?? 10000);
const server = await startChild(new URL('./lib/watch-replay-server.mjs', import.meta.url), [size, 0]);
const { origin, expectedReady } = server.info;
const rows = [];
for (let r = 0; r < 15; r++) {
  const client = core.createKubeClient(core.loadKubeConfig({ server: origin }));
  const read = client.readBody.bind(client);
  let first, last, busy = 0, chunks = 0;
  client.readBody = (path, options, onChunk) =>
    read(path, options, (chunk) => {
      const t = performance.now();
      first ??= t;
      onChunk(chunk);
      last = performance.now();
      busy += last - t;
      chunks++;
    });
  const started = performance.now();
  const set = await firstValueFrom(core.watchEndpoints(client, { namespace: 'default', service: 'web', watch: { initialList: 'list' } }));
  const n = set.endpoints.length;
  const done = performance.now();
  await client.close();
  if (n !== expectedReady) throw new Error('bad');
  const pool = new Pool(origin);
  const fs = performance.now();
  const res = await pool.request({ method: 'GET', path: `${SLICES_PATH}?labelSelector=x` });
  const parts = []; let ff, fl;
  for await (const c of res.body) { ff ??= performance.now(); parts.push(c); fl = performance.now(); }
  JSON.parse(Buffer.concat(parts).toString());
  const fe = performance.now();
  await pool.close();
  if (r >= 3) rows.push({ floor: fe - fs, floorTransfer: fl - ff, floorChunks: parts.length, total: done - started, toFirst: first - started, transfer: last - first, busy, after: done - last, chunks });
}
server.stop();
const m = (k) => median(rows.map((x) => x[k])).toFixed(1);
console.log(`${size}: total ${m('total')} ms; to first chunk ${m('toFirst')}; first→last chunk ${m('transfer')} (feeding ${m('busy')}); after the last chunk ${m('after')}; chunks ${m('chunks')}; floor ${m('floor')} (first→last chunk ${m('floorTransfer')}, ${m('floorChunks')} chunks)`);
