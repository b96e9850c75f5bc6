#!/usr/bin/env node
// Where an initial sync's CPU goes after the LIST arrived, in process (no server, no socket): the
// LIST body of one Service (lib/controller-slices.mjs) is `JSON.parse`d, each item parsed by
// `parseEndpointSlice` (the list+watch transform), then aggregated (`reset` + `snapshot` + reading
// `endpoints`), N times; medians of the later half of the rounds. `--base <checkout>` times that
// checkout's core instead (its built dist).
//   node benchmarks/sync-phases.mjs [--size 10000] [--rounds 40] [--base /path/to/checkout]
import { pathToFileURL } from 'node:url';
import { listBody, serviceSlices } from './lib/scenarios.mjs';
import { median } from './lib/stats.mjs';

const argument = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : process.argv[at + 1];
};
const size = Number(argument('size', 10_000));
const rounds = Number(argument('rounds', 40));
const base = argument('base', undefined);
const core = await import(
  base === undefined ? '@endpoint-watch/core' : pathToFileURL(`${base}/packages/core/dist/index.js`).href
);

const { slices, resourceVersion } = serviceSlices('web', size);
const text = listBody(slices, resourceVersion).toString();
const times = { parse: [], transform: [], aggregate: [] };
let endpoints = 0;
for (let round = 0; round < rounds; round++) {
  const t0 = performance.now();
  const items = JSON.parse(text).items;
  const t1 = performance.now();
  for (let i = 0; i < items.length; i++) items[i] = core.parseEndpointSlice(items[i], undefined, i);
  const t2 = performance.now();
  const aggregator = new core.EndpointSliceAggregator({ namespace: 'default', service: 'web' });
  aggregator.reset(items);
  endpoints = aggregator.snapshot(String(resourceVersion)).endpoints.length;
  const t3 = performance.now();
  times.parse.push(t1 - t0);
  times.transform.push(t2 - t1);
  times.aggregate.push(t3 - t2);
}
if (endpoints !== size) throw new Error(`${endpoints} endpoints, not ${size}`);
const late = (values) => median(values.slice(Math.floor(values.length / 2)));
console.log(
  `${base ?? 'this checkout'}, ${size} endpoints: JSON.parse ${late(times.parse).toFixed(2)} ms, ` +
    `parseEndpointSlice ${late(times.transform).toFixed(2)} ms, aggregate ${late(times.aggregate).toFixed(2)} ms`,
);
