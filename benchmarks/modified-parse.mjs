#!/usr/bin/env node
// The MODIFIED path of the watch decode scenario in process (no server, no socket): the watch body
// of `benchmarks/lib/watch-scenario.mjs` (a 10 000-endpoint Service in slices of 100, 2 000
// MODIFIED events each flipping one endpoint) is JSON.parse'd line by line once; then, per round,
// each event's object is parsed by `parseEndpointSlice` against the previous version of its slice
// (what the list+watch transform does for every event). `--base <checkout>` adds that checkout's
// core, run in alternation with ours; reports medians of the later half of the rounds and the
// median of per-round ratios.
//   node benchmarks/modified-parse.mjs [--rounds 30] [--base /path/to/checkout]
import { pathToFileURL } from 'node:url';
import * as ours from '@endpoint-watch/core';
import { median } from './lib/stats.mjs';
import { watchScenario } from './lib/watch-scenario.mjs';

const argument = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : process.argv[at + 1];
};
const rounds = Number(argument('rounds', 30));
const base = argument('base', undefined);
const cores = { floor: undefined, ours };
if (base !== undefined) cores.base = await import(pathToFileURL(`${base}/packages/core/dist/index.js`).href);

const scenario = watchScenario({ endpoints: 10_000, modifications: 2_000 });
const listItems = JSON.parse(scenario.listBody.toString()).items;
const lines = scenario.watchBody
  .toString()
  .split('\n')
  .filter((line) => line.length > 0);

/**
 * Parses the list, then every event line (`JSON.parse`, as the watch does, so that the objects are
 * as fresh in the caches as they are there) and its object against the previous version of its
 * slice; ms for the events. `floor`: `JSON.parse` alone.
 */
function once(core) {
  if (core === undefined) {
    const started = performance.now();
    for (const line of lines) JSON.parse(line);
    return performance.now() - started;
  }
  const byName = new Map();
  for (let i = 0; i < listItems.length; i++) {
    const parsed = core.parseEndpointSlice(listItems[i], undefined, i);
    byName.set(parsed.metadata.name, parsed);
  }
  const started = performance.now();
  for (const line of lines) {
    const object = JSON.parse(line).object;
    const name = object.metadata.name;
    byName.set(name, core.parseEndpointSlice(object, byName.get(name)));
  }
  return performance.now() - started;
}

const times = Object.fromEntries(Object.keys(cores).map((name) => [name, []]));
for (let round = 0; round < rounds; round++)
  for (const [name, core] of Object.entries(
    round % 2 === 0 ? cores : Object.fromEntries(Object.entries(cores).reverse()),
  ))
    times[name].push(once(core));
const later = (list) => list.slice(Math.floor(list.length / 2));
for (const [name, list] of Object.entries(times))
  console.log(`${name}: ${median(later(list)).toFixed(2)} ms for ${lines.length} MODIFIED lines`);
/** Median over the later rounds of what `name` adds to `JSON.parse` alone, in ms. */
const added = (name) => median(later(times[name]).map((t, i) => t - later(times.floor)[i]));
console.log(`ours: +${added('ours').toFixed(2)} ms over JSON.parse`);
if (times.base !== undefined) {
  console.log(`base: +${added('base').toFixed(2)} ms over JSON.parse`);
  const ratios = later(times.ours).map((t, i) => t / later(times.base)[i]);
  console.log(`ours / base (JSON.parse included): ${median(ratios).toFixed(3)} (median of per-round ratios)`);
}
