#!/usr/bin/env node
// Cost of ONE endpoint change, end to end, as the Service grows (issue 11, "O(changed) end to end"):
// core aggregator (upsert of the changed EndpointSlice + snapshot) → EndpointSet → balancer absorbs
// it → one pick (+ release). Not a test: nothing in CI; `pnpm bench` checks its ratios (bench/thresholds.json).
//
// Scenario per size: a Service of N endpoints in EndpointSlices of 100 (realistic objects, fixed
// seed), a balancer per strategy over its sets. Each measured change flips the readiness of one
// endpoint chosen by a seeded PRNG (not ready, then ready again on its next turn: the size stays
// N ± 1). The raw slice of each change is built before the clock starts (the watch decoder's work is
// not part of this); everything after it is timed, one change at a time. Median of the iterations
// (at least MIN_ITERATIONS and MIN_MS per cell, after a warm-up), and the 99th percentile at 100k
// (a deferred Maglev build shows there: its steps run at the next keyed picks).
//
//   node benchmarks/change-cost.mjs                    # this checkout (build it first: pnpm build)
//   node benchmarks/change-cost.mjs --root /work/wt-before   # another checkout's dist (e.g. main)
//   BENCH_SIZES=1000,10000 BENCH_STRATEGIES=least-request node benchmarks/change-cost.mjs
//   BENCH_ZONE=zone-a node benchmarks/change-cost.mjs  # with zone preference (local zone zone-a)
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isMain, metric } from './lib/stats.mjs';

const WARMUP = 30;
let core;
let createBalancer;
let realisticEndpointSlices;
let seededRandom;

/** Loads the packages' dist from `root` (this checkout by default). */
async function load(root) {
  const from = (pkg) => import(pathToFileURL(`${root}/packages/${pkg}/dist/index.js`).href);
  core = await from('core');
  ({ createBalancer } = await from('balancer'));
  ({ realisticEndpointSlices, seededRandom } = await from('testing'));
}

/** An Observable as far as the balancer cares: we push the sets ourselves. */
function source() {
  let sink;
  return {
    next: (set) => sink.next(set),
    observable: {
      subscribe(observer) {
        sink = observer;
        return { unsubscribe() {} };
      },
    },
  };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/**
 * One cell: N endpoints, one strategy. Returns the median µs of a full change (core + balancer +
 * pick) and of its core part alone (upsert + snapshot), and whether sets carried a diff.
 */
function measure(size, strategy, { minIterations, minMs }) {
  const slices = realisticEndpointSlices({ service: 'web', endpoints: size, perSlice: 100, seed: 42 });
  const aggregator = new core.EndpointSliceAggregator({ namespace: 'default', service: 'web' });
  aggregator.reset(slices);
  const sets = source();
  const hashed = strategy === 'maglev' || strategy === 'ring';
  const balancer = createBalancer(sets.observable, {
    strategy: hashed ? 'consistent-hash' : strategy,
    random: seededRandom(7),
    ...(hashed ? { hash: { algorithm: strategy } } : {}),
    ...(process.env.BENCH_ZONE ? { zone: { local: process.env.BENCH_ZONE } } : {}),
  });
  let rv = 1_000_000;
  sets.next(aggregator.snapshot(String(rv)));
  balancer.pick('warm')?.release({ ok: true, latencyMs: 1 });

  const random = seededRandom(size);
  const current = slices.map((s) => s);
  /** The next change's raw slice (a new object, as the watch decoder would deliver). */
  const nextChange = () => {
    const i = Math.floor(random() * current.length);
    const slice = current[i];
    const j = Math.floor(random() * slice.endpoints.length);
    const endpoints = slice.endpoints.slice();
    const e = endpoints[j];
    const ready = e.conditions?.ready !== false;
    endpoints[j] = { ...e, conditions: { ...e.conditions, ready: !ready, serving: true } };
    const next = { ...slice, metadata: { ...slice.metadata, resourceVersion: String(++rv) }, endpoints };
    current[i] = next;
    return next;
  };

  const total = [];
  const coreOnly = [];
  let diffs = 0;
  const started = performance.now();
  for (let n = 0; ; n++) {
    const raw = nextChange();
    const t0 = process.hrtime.bigint();
    aggregator.upsert(raw);
    const set = aggregator.snapshot(raw.metadata.resourceVersion);
    const t1 = process.hrtime.bigint();
    sets.next(set);
    const lease = balancer.pick('user-42');
    lease.release({ ok: true, latencyMs: 1 });
    const t2 = process.hrtime.bigint();
    if (n < WARMUP) continue;
    if (set?.changes !== undefined) diffs++;
    total.push(Number(t2 - t0) / 1e3);
    coreOnly.push(Number(t1 - t0) / 1e3);
    if (total.length >= minIterations && performance.now() - started >= minMs) break;
  }
  balancer.close();
  const p99 = [...total].sort((a, b) => a - b)[Math.floor(total.length * 0.99)];
  return { total: median(total), p99, core: median(coreOnly), iterations: total.length, diffs };
}

const fmt = (us) => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} µs`);
const ratio = (a, b) => `${(a / b).toFixed(2)}×`;

/**
 * Measures every (strategy, size) cell; prints the table with `log` and returns the metrics
 * `changeCost50kVs1k.<strategy>` and `changeCost100kVs1k.<strategy>` (when those sizes are measured).
 */
export async function run({
  root = resolve(new URL('..', import.meta.url).pathname),
  sizes = (process.env.BENCH_SIZES ?? '1000,10000,50000,100000').split(',').map(Number),
  strategies = (process.env.BENCH_STRATEGIES ?? 'least-request,peak-ewma,round-robin,random,maglev,ring')
    .split(',')
    .filter(Boolean),
  minIterations = Number(process.env.BENCH_MIN_ITERATIONS ?? 30),
  minMs = Number(process.env.BENCH_MIN_MS ?? 1_000),
  log = console.log,
} = {}) {
  await load(root);
  const budget = { minIterations, minMs };
  // The JIT warms on a small Service first, so that the first cell is not the slowest.
  for (const strategy of strategies) measure(1000, strategy, budget);

  log(`# One endpoint change, end to end (${root})`);
  log(`node ${process.version}, median per change; core = upsert + snapshot only\n`);
  const header = [
    'strategy',
    ...sizes.map((n) => `${n / 1000}k`),
    '50k/1k',
    '100k/1k',
    'core 1k',
    'core 100k',
    'p99 100k',
    'sets with a diff',
  ];
  log(`| ${header.join(' | ')} |`);
  log(`|${header.map(() => ' --- ').join('|')}|`);
  const metrics = {};
  for (const strategy of strategies) {
    const cells = new Map();
    for (const size of sizes) cells.set(size, measure(size, strategy, budget));
    const at = (n) => cells.get(n);
    const base = at(1000)?.total;
    const row = [
      strategy,
      ...sizes.map((n) => fmt(at(n).total)),
      base && at(50000) ? ratio(at(50000).total, base) : '-',
      base && at(100000) ? ratio(at(100000).total, base) : '-',
      at(1000) ? fmt(at(1000).core) : '-',
      at(100000) ? fmt(at(100000).core) : '-',
      at(100000) ? fmt(at(100000).p99) : '-',
      `${sizes.reduce((sum, n) => sum + at(n).diffs, 0)}/${sizes.reduce((sum, n) => sum + at(n).iterations, 0)}`,
    ];
    log(`| ${row.join(' | ')} |`);
    for (const size of [50_000, 100_000]) {
      if (!base || !at(size)) continue;
      metrics[`changeCost${size / 1000}kVs1k.${strategy}`] = metric(at(size).total / base, {
        label: `one endpoint change end to end, ${strategy}: ${size / 1000}k / 1k endpoints`,
        detail: { medianUs: { '1k': base, [`${size / 1000}k`]: at(size).total }, p99Us: at(size).p99 },
      });
    }
  }
  return metrics;
}

if (isMain(import.meta.url)) {
  const args = process.argv.slice(2);
  const rootArg = args.indexOf('--root');
  await run(rootArg >= 0 ? { root: resolve(args[rootArg + 1]) } : {});
}
