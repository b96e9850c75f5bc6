#!/usr/bin/env node
// Where the time of an initial sync (LIST path) goes against the wire: ours' first set, timed at the
// LIST body's first and last chunk (`KubeClient.readBody` wrapped: the time spent inside it feeding
// the chunks to the page reader, and what follows the last chunk), and the floor's LIST (undici +
// `JSON.parse`), timed at its first and last chunk, alternately on one replay server
// (lib/watch-replay-server.mjs, another process). Medians over the rounds after 3 warm-ups.
//   node benchmarks/list-timeline.mjs [--size 10000] [--rounds 15]
import * as core from '@endpoint-watch/core';
import { firstValueFrom } from 'rxjs';
import { Pool } from 'undici';
import { startChild } from './lib/children.mjs';
import { median } from './lib/stats.mjs';
import { SLICES_PATH } from './lib/watch-scenario.mjs';

const argument = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(process.argv[at + 1]);
};
const size = argument('size', 10_000);
const rounds = argument('rounds', 15);
const WARMUP = 3;

/** Ours: subscribe → first set, with the body's chunks timed. */
async function ours(origin, expectedReady) {
  const client = core.createKubeClient(core.loadKubeConfig({ server: origin }));
  const readBody = client.readBody.bind(client);
  const chunks = { first: 0, last: 0, feeding: 0, count: 0 };
  client.readBody = (path, options, onChunk) =>
    readBody(path, options, (chunk) => {
      const arrived = performance.now();
      if (chunks.count++ === 0) chunks.first = arrived;
      onChunk(chunk);
      chunks.last = performance.now();
      chunks.feeding += chunks.last - arrived;
    });
  const started = performance.now();
  const set = await firstValueFrom(
    core.watchEndpoints(client, { namespace: 'default', service: 'web', watch: { initialList: 'list' } }),
  );
  const endpoints = set.endpoints.length;
  const done = performance.now();
  await client.close();
  if (endpoints !== expectedReady) throw new Error('wrong first set');
  return {
    total: done - started,
    firstChunk: chunks.first - started,
    firstToLast: chunks.last - chunks.first,
    feeding: chunks.feeding,
    afterLast: done - chunks.last,
    chunks: chunks.count,
  };
}

/** The floor: undici + `JSON.parse`, with the body's chunks timed. */
async function floor(origin) {
  const pool = new Pool(origin);
  const started = performance.now();
  const response = await pool.request({ method: 'GET', path: `${SLICES_PATH}?labelSelector=x` });
  const parts = [];
  let first = 0;
  let last = 0;
  for await (const chunk of response.body) {
    last = performance.now();
    if (parts.length === 0) first = last;
    parts.push(chunk);
  }
  JSON.parse(Buffer.concat(parts).toString('utf8'));
  const done = performance.now();
  await pool.close();
  return {
    total: done - started,
    firstChunk: first - started,
    firstToLast: last - first,
    afterLast: done - last,
  };
}

const server = await startChild(new URL('./lib/watch-replay-server.mjs', import.meta.url), [size, 0]);
const rows = { ours: [], floor: [] };
try {
  const { origin, expectedReady } = server.info;
  for (let round = -WARMUP; round < rounds; round++) {
    const a = await ours(origin, expectedReady);
    const b = await floor(origin);
    if (round >= 0) {
      rows.ours.push(a);
      rows.floor.push(b);
    }
  }
} finally {
  server.stop();
}
const m = (side, key) => median(rows[side].map((row) => row[key])).toFixed(1);
console.log(
  `${size} endpoints (LIST ${(server.info.listBytes / 1e6).toFixed(1)} MB), medians of ${rounds} rounds, ms:\n` +
    `  ours:  total ${m('ours', 'total')}; first chunk at ${m('ours', 'firstChunk')}, first → last chunk ${m('ours', 'firstToLast')} ` +
    `(of which feeding the reader ${m('ours', 'feeding')}, ${m('ours', 'chunks')} chunks); after the last chunk ${m('ours', 'afterLast')}\n` +
    `  floor: total ${m('floor', 'total')}; first chunk at ${m('floor', 'firstChunk')}, first → last chunk ${m('floor', 'firstToLast')}; ` +
    `after the last chunk (concat, toString, JSON.parse) ${m('floor', 'afterLast')}`,
);
