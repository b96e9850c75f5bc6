#!/usr/bin/env node
// Cost of one `Balancer.pick()` + `lease.release(outcome)` as the Service grows (issue 11, "pick +
// release ≤ 300 ns at every size"). Not a test: no threshold, nothing in CI.
//
// Per size and strategy: a balancer over one set of N endpoints (default options: outlier detection
// on, the default clock), driven as an agent drives it at concurrency 64: each operation picks one
// lease and releases the one picked 64 operations earlier (success, a latency from a seeded PRNG),
// so the records touched by a release are not the ones just picked. Hash strategies pick with keys
// drawn from 1,024 fixed strings. Timed in batches of BATCH operations; a cell is the 10th percentile
// of a round's batches (see `cell`), the figure the median of ROUNDS rounds, the strategies rotated
// between rounds. The peer is
// undici's `BalancedPool` choosing its upstream (its internal `kGetDispatcher`, which is O(n)), up to
// `peerMaxSize` upstreams.
//
//   node benchmarks/pick-release.mjs                       # this checkout (build it first: pnpm build)
//   node benchmarks/pick-release.mjs --root /work/other    # another checkout's dist (e.g. main)
//   node benchmarks/pick-release.mjs --base /work/main     # also that checkout's, in the same rounds
//   BENCH_SIZES=10,10000 BENCH_STRATEGIES=least-request node benchmarks/pick-release.mjs
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readyEndpoints, staticEndpoints } from './lib/static-endpoints.mjs';

const DEFAULT_SIZES = [10, 100, 1_000, 10_000, 100_000];
const DEFAULT_STRATEGIES = ['least-request', 'peak-ewma', 'round-robin', 'random', 'ring', 'maglev'];
const WINDOW = 64;
const BATCH = 4_096;
const TARGET_NS = 300;

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** N distinct IPv4 endpoints in 10.0.0.0/8 (data only: nothing dials them). */
function endpointSet(size) {
  const address = (i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  return staticEndpoints(readyEndpoints(size, 8080, address));
}

function balancerOptions(strategy, seeded) {
  const hashed = strategy === 'maglev' || strategy === 'ring';
  return {
    strategy: hashed ? 'consistent-hash' : strategy,
    random: seeded(7),
    ...(hashed ? { hash: { algorithm: strategy } } : {}),
  };
}

/** A driver of one balancer: `batch()` runs BATCH pick+release operations and returns ns per op. */
function balancerDriver({ createBalancer, seeded }, endpoints$, strategy) {
  const balancer = createBalancer(endpoints$, balancerOptions(strategy, seeded));
  const hashed = strategy === 'maglev' || strategy === 'ring';
  const random = seeded(11);
  const keys = Array.from({ length: 1024 }, (_, i) => `user-${i}`);
  const latencies = Float64Array.from({ length: 1024 }, () => 1 + random() * 20);
  const outcomes = Array.from(latencies, (latencyMs) => ({ ok: true, latencyMs }));
  const window = new Array(WINDOW);
  for (let i = 0; i < WINDOW; i++) window[i] = balancer.pick(hashed ? keys[i] : undefined);
  // Compiled per driver, so that each balancer has call sites of its own: a shared loop would see
  // several balancer classes (with --base) and slow every one of them down unevenly.
  const batch = new Function(
    'balancer',
    'window',
    'outcomes',
    'keys',
    'hashed',
    `let n = 0;
    return () => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < ${BATCH}; i++, n++) {
        const slot = n & ${WINDOW - 1};
        window[slot].release(outcomes[n & 1023]);
        window[slot] = balancer.pick(hashed ? keys[(n * 7) & 1023] : undefined);
      }
      return Number(process.hrtime.bigint() - t0) / ${BATCH};
    };`,
  )(balancer, window, outcomes, keys, hashed);
  return { batch, close: () => balancer.close() };
}

/** undici's BalancedPool choosing an upstream (what its dispatch does per request; no I/O). */
function balancedPoolDriver(BalancedPool, size) {
  const upstreams = Array.from({ length: size }, (_, i) => `http://127.0.0.1:${10_000 + i}`);
  const pool = new BalancedPool(upstreams);
  const kGetDispatcher = Object.getOwnPropertySymbols(Object.getPrototypeOf(pool)).find(
    (symbol) => symbol.description === 'get dispatcher',
  );
  const batch = () => {
    const ops = Math.max(16, Math.min(BATCH, Math.floor(4e6 / size)));
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < ops; i++) pool[kGetDispatcher]();
    return Number(process.hrtime.bigint() - t0) / ops;
  };
  return { batch, close: () => pool.destroy().catch(() => undefined) };
}

/**
 * Runs batches for `ms`; returns the 10th percentile of the batches (ns per operation). Other
 * processes on the machine only ever add time to a batch (preemption, cache thrashing), so the
 * fast batches are the code's own cost; on a shared 2-core machine the median of a cell moved by 5×.
 */
function cell(driver, ms) {
  const values = [];
  const started = performance.now();
  while (values.length < 10 || performance.now() - started < ms) values.push(driver.batch());
  values.sort((a, b) => a - b);
  return values[Math.floor(values.length / 10)];
}

/**
 * The figures as plain JSON: `pickReleaseNs[strategy][size]` (median ns per pick + release),
 * `balancedPoolNs[size]` (the peer's upstream choice), `targetNs`, and `worst` per strategy.
 */
export async function run(options = {}) {
  const root = resolve(options.root ?? new URL('..', import.meta.url).pathname);
  const sizes = options.sizes ?? DEFAULT_SIZES;
  const strategies = options.strategies ?? DEFAULT_STRATEGIES;
  const rounds = options.rounds ?? 3;
  const cellMs = options.cellMs ?? 150;
  const peerMaxSize = options.peerMaxSize ?? 10_000;
  const packageOf = (at, name) => import(pathToFileURL(`${resolve(at)}/packages/${name}/dist/index.js`).href);
  // The PRNG of the measured checkout's testing package for both (the same seeded sequences).
  const { seededRandom: seeded } = await packageOf(root, 'testing');
  const load = async (at) => ({ createBalancer: (await packageOf(at, 'balancer')).createBalancer, seeded });
  const createBalancer = await load(root);
  // Another checkout's balancer (before/after), measured in the same rounds: figures taken minutes
  // apart on a shared machine are not comparable, memory-bound ones least.
  const createBase = options.base === undefined ? undefined : await load(options.base);
  const { BalancedPool } = await import('undici');

  const pickReleaseNs = Object.fromEntries(strategies.map((s) => [s, {}]));
  const balancedPoolNs = {};
  const baseNs = Object.fromEntries(strategies.map((s) => [s, {}]));
  for (const size of sizes) {
    const { endpoints$ } = endpointSet(size);
    const drivers = new Map(strategies.map((s) => [s, balancerDriver(createBalancer, endpoints$, s)]));
    if (createBase) {
      for (const s of strategies) drivers.set(`base:${s}`, balancerDriver(createBase, endpoints$, s));
    }
    const peer = size <= peerMaxSize ? balancedPoolDriver(BalancedPool, size) : undefined;
    const names = [...drivers.keys(), ...(peer ? ['balanced-pool'] : [])];
    const samples = new Map(names.map((name) => [name, []]));
    // Warm-up: every driver once (JIT, and a deferred Maglev build finishing at its first picks).
    for (const name of names) cell(name === 'balanced-pool' ? peer : drivers.get(name), 30);
    for (let round = 0; round < rounds; round++) {
      const order = names.map((_, i) => names[(i + round) % names.length]);
      for (const name of order) {
        samples.get(name).push(cell(name === 'balanced-pool' ? peer : drivers.get(name), cellMs));
      }
    }
    for (const s of strategies) pickReleaseNs[s][size] = round1(median(samples.get(s)));
    if (createBase) for (const s of strategies) baseNs[s][size] = round1(median(samples.get(`base:${s}`)));
    if (peer) balancedPoolNs[size] = round1(median(samples.get('balanced-pool')));
    for (const driver of drivers.values()) driver.close();
    await peer?.close();
  }
  const worst = Object.fromEntries(
    strategies.map((s) => [s, Math.max(...sizes.map((size) => pickReleaseNs[s][size]))]),
  );
  return {
    sizes,
    strategies,
    window: WINDOW,
    targetNs: TARGET_NS,
    pickReleaseNs,
    balancedPoolNs,
    worst,
    ...(createBase ? { base: options.base, basePickReleaseNs: baseNs } : {}),
  };
}

const round1 = (x) => Math.round(x * 10) / 10;

function printTable(result) {
  const fmt = (ns) => (ns === undefined ? '-' : ns >= 10_000 ? `${(ns / 1000).toFixed(1)} µs` : `${ns} ns`);
  const header = ['strategy', ...result.sizes.map((n) => (n >= 1000 ? `${n / 1000}k` : String(n))), 'worst'];
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map(() => ' --- ').join('|')}|`);
  for (const s of result.strategies) {
    const row = [s, ...result.sizes.map((n) => fmt(result.pickReleaseNs[s][n])), fmt(result.worst[s])];
    console.log(`| ${row.join(' | ')} |`);
    if (result.basePickReleaseNs) {
      const base = result.sizes.map((n) => result.basePickReleaseNs[s][n]);
      console.log(`| ${s} (base) | ${base.map(fmt).join(' | ')} | ${fmt(Math.max(...base))} |`);
    }
  }
  const peer = [
    'undici BalancedPool (choice only)',
    ...result.sizes.map((n) => fmt(result.balancedPoolNs[n])),
    '',
  ];
  console.log(`| ${peer.join(' | ')} |`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const rootAt = args.indexOf('--root');
  const baseAt = args.indexOf('--base');
  const env = (name) => process.env[name]?.split(',').filter(Boolean);
  const result = await run({
    root: rootAt >= 0 ? args[rootAt + 1] : undefined,
    base: baseAt >= 0 ? args[baseAt + 1] : undefined,
    sizes: env('BENCH_SIZES')?.map(Number),
    strategies: env('BENCH_STRATEGIES'),
    rounds: process.env.BENCH_ROUNDS ? Number(process.env.BENCH_ROUNDS) : undefined,
  });
  console.log(`# pick + release, ns per operation (median of rounds; window ${result.window} in flight)`);
  console.log(`node ${process.version}; target ≤ ${result.targetNs} ns at every size\n`);
  printTable(result);
}
