#!/usr/bin/env node
// `pnpm bench`: issue 11's benchmark suite. Each metric runs in a child process of its own (a fresh
// heap and JIT; its servers are that child's children), one after another; the figures are written
// to bench/results/latest.{json,md,svg}. Benchmarks are never CI tests.
//
//   pnpm bench                      # every metric, writes the results
//   pnpm bench --check              # ... and exits 1 naming every figure that misses its target
//   pnpm bench --only initial-sync  # one metric (repeatable or comma-separated); prints, writes nothing
//   pnpm bench --only connections --write   # ... and merges its figures into the results
//   pnpm bench --list               # the metrics' names
//   pnpm bench --render             # only rewrites latest.md and latest.svg from latest.json
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, type } from 'node:os';
import { startChild } from './lib/children.mjs';
import { evaluate, flattenMetrics, format, renderMarkdown, renderSvg } from './lib/report.mjs';

const here = (path) => new URL(path, import.meta.url);

/**
 * The suite: name → module (relative to this file), the options its run() gets here, and `select`
 * when its run() returns plain figures rather than metrics (see lib/report.mjs, flattenMetrics).
 */
const METRICS = {
  'watch-decode': { module: './endpoints-throughput.mjs', options: { rounds: 15 } },
  'watch-decode-cold': { module: './endpoints-throughput.mjs', options: { rounds: 11, cold: true } },
  'initial-sync': { module: './metrics/initial-sync.mjs', options: { rounds: 15 } },
  'retained-heap': { module: './metrics/retained-heap.mjs', options: { rounds: 3, endpoints: 50_000 } },
  'change-cost': { module: './change-cost.mjs', options: { sizes: [1_000, 50_000, 100_000], minMs: 500 } },
  connections: { module: './metrics/connections.mjs', options: { services: 2_000 } },
  'registry-memory': { module: './registry-memory.mjs', options: { services: 10_000 } },
  // The balanced agent's figures come from modules of their own (included when present).
  'agent-overhead': {
    module: './agent-overhead.mjs',
    // 15, not 5: over 5 rounds one quiet run gave 0.92-1.15 × BalancedPool, over 15 0.95-0.99 ×.
    options: { rounds: 15 },
    optional: true,
    select: selectAgentOverhead,
  },
  'pick-release': { module: './pick-release.mjs', options: {}, optional: true, select: selectPickRelease },
  axios: { module: './metrics/axios.mjs', options: { rounds: 5 } },
  'slow-pod': { module: './metrics/slow-pod.mjs', options: { rounds: 3 } },
};

/** agent-overhead.mjs returns medians of per-round ratios by name, and the peers' absolute figures. */
function selectAgentOverhead(result) {
  const labels = {
    agentVsBalancedPool: 'createBalancedAgent / undici BalancedPool: requests per second',
    agentVsPool: 'createBalancedAgent / undici Pool (one pod): requests per second',
    cpuPerRequestVsBalancedPool: 'createBalancedAgent / undici BalancedPool: CPU per request',
    cpuPerRequestVsPool: 'createBalancedAgent / undici Pool: CPU per request',
    balancedPoolVsPool: 'undici BalancedPool / Pool: requests per second (the peers between themselves)',
  };
  const detail = {
    requestsPerSecond: result.requestsPerSecond,
    cpuUsPerRequest: result.cpuUsPerRequest,
    requests: result.requests,
    concurrency: result.concurrency,
    pods: result.pods,
    rounds: result.rounds,
  };
  const metrics = {};
  for (const [key, label] of Object.entries(labels)) {
    if (typeof result[key] === 'number') metrics[key] = { value: result[key], unit: '×', label, detail };
  }
  return metrics;
}

/** pick-release.mjs returns `pickReleaseNs[strategy][size]` and the peer's `balancedPoolNs[size]`. */
function selectPickRelease(result) {
  const metrics = {};
  for (const [strategy, bySize] of Object.entries(result.pickReleaseNs ?? {})) {
    for (const [size, ns] of Object.entries(bySize)) {
      metrics[`pickReleaseNs.${strategy}.${size}`] = {
        value: ns,
        unit: 'ns',
        label: `pick + release, ${strategy}, ${size} endpoints`,
      };
    }
  }
  for (const [size, ns] of Object.entries(result.balancedPoolNs ?? {})) {
    metrics[`balancedPoolPickNs.${size}`] = {
      value: ns,
      unit: 'ns',
      label: `undici BalancedPool's choice, ${size} upstreams (peer)`,
    };
  }
  return metrics;
}

const METRIC_TIMEOUT_MS = 6 * 60_000;

const args = process.argv.slice(2).filter((arg) => arg !== '--');

/** In a child: run one metric and hand its result (or its error) to the parent. */
async function runOne(name) {
  const { serveChild } = await import('./lib/children.mjs');
  const { module, options, select } = METRICS[name];
  try {
    const imported = await import(here(module).href);
    if (typeof imported.run !== 'function') throw new Error(`${module} exports no run()`);
    const result = await imported.run(options);
    serveChild({ metrics: flattenMetrics(select ? select(result) : result) });
  } catch (error) {
    serveChild({ error: String(error?.stack ?? error) });
  }
}

function selected() {
  const only = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--only') only.push(...(args[++i] ?? '').split(','));
    else if (args[i].startsWith('--only=')) only.push(...args[i].slice(7).split(','));
  }
  for (const name of only) {
    if (!METRICS[name]) throw new Error(`unknown metric ${name}; known: ${Object.keys(METRICS).join(', ')}`);
  }
  return only.length ? only.filter((name, i) => only.indexOf(name) === i) : Object.keys(METRICS);
}

function commit() {
  try {
    const git = (...a) => execFileSync('git', a, { cwd: here('..'), encoding: 'utf8' }).trim();
    const dirty = git('status', '--porcelain', '--', '.', ':!bench/results') !== '';
    return `${git('rev-parse', '--short', 'HEAD')}${dirty ? ' (with uncommitted changes)' : ''}`;
  } catch {
    return 'unknown';
  }
}

async function main() {
  if (args.includes('--list')) {
    for (const [name, { module }] of Object.entries(METRICS)) console.log(`${name.padEnd(18)} ${module}`);
    return 0;
  }
  if (args.includes('--render')) {
    const thresholds = JSON.parse(readFileSync(here('../bench/thresholds.json'), 'utf8'));
    const results = JSON.parse(readFileSync(here('../bench/results/latest.json'), 'utf8'));
    writeReports(results, thresholds, here('../bench/results/'));
    return 0;
  }
  const names = selected();
  const only = names.length < Object.keys(METRICS).length;
  const check = args.includes('--check');
  const thresholds = JSON.parse(readFileSync(here('../bench/thresholds.json'), 'utf8'));
  const started = performance.now();
  const results = {
    date: new Date().toISOString(),
    commit: commit(),
    node: process.version,
    machine: {
      cpu: cpus()[0]?.model.trim() ?? 'unknown',
      cores: cpus().length,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      os: `${type()} ${release()}`,
      // Other work on the machine at the start (1, 5, 15 min): the ratios hold up under load, the
      // absolute times in `detail` do not.
      loadAverage: loadavg().map((load) => Number(load.toFixed(2))),
    },
    ...(only ? { only: names } : {}),
    metrics: {},
    unavailable: [],
    errors: [],
    durationS: 0,
  };
  for (const name of names) {
    const { module, optional } = METRICS[name];
    if (optional && !existsSync(here(module))) {
      console.log(`\n== ${name}: not available (${module} does not exist yet)`);
      results.unavailable.push({ name, reason: `${module} does not exist yet` });
      continue;
    }
    console.log(`\n== ${name} (${module})`);
    const metricStarted = performance.now();
    let child;
    try {
      child = await startChild(here('./bench.mjs'), ['--metric', name], {
        timeoutMs: METRIC_TIMEOUT_MS,
        execArgv: ['--expose-gc'],
      });
      if (child.info.error) throw new Error(child.info.error);
      for (const [key, metric] of Object.entries(child.info.metrics))
        results.metrics[key] = { ...metric, metric: name };
      console.log(`   ${name} done in ${((performance.now() - metricStarted) / 1000).toFixed(0)} s`);
    } catch (error) {
      console.log(`   ${name} FAILED: ${error.message}`);
      results.errors.push({ name, error: String(error.message) });
    } finally {
      child?.stop();
    }
  }
  results.durationS = (performance.now() - started) / 1000;

  const { rows, misses } = evaluate(results.metrics, thresholds, { measuredOnly: only });
  console.log('\n== results');
  for (const row of rows) {
    const verdict = row.threshold ? (row.met ? 'ok  ' : 'MISS') : '    ';
    console.log(`${verdict} ${row.key.padEnd(38)} ${format(row.value, row.unit).padStart(16)}  ${row.label}`);
  }
  if (!only || args.includes('--write')) write(results, thresholds, only);
  console.log(`\n${results.durationS.toFixed(0)} s in all`);
  if (results.errors.length) console.log(`failed: ${results.errors.map((e) => e.name).join(', ')}`);
  if (check) {
    if (misses.length) {
      console.log(`\n--check: ${misses.length} target(s) missed:`);
      for (const miss of misses) console.log(`  ${miss}`);
    } else console.log('\n--check: every target met');
  }
  return results.errors.length || (check && misses.length) ? 1 : 0;
}

/** Writes latest.{json,md,svg}; a partial run (--only --write) merges into the last full results. */
function write(results, thresholds, only) {
  const dir = here('../bench/results/');
  mkdirSync(dir, { recursive: true });
  let written = results;
  const previousPath = new URL('latest.json', dir);
  if (only && existsSync(previousPath)) {
    const previous = JSON.parse(readFileSync(previousPath, 'utf8'));
    const kept = Object.fromEntries(
      Object.entries(previous.metrics).filter(([, metric]) => !results.only.includes(metric.metric)),
    );
    written = {
      ...previous,
      metrics: { ...kept, ...results.metrics },
      partialRuns: [
        ...(previous.partialRuns ?? []),
        { date: results.date, commit: results.commit, only: results.only },
      ],
    };
  }
  writeFileSync(new URL('latest.json', dir), `${JSON.stringify(written, null, 2)}\n`);
  console.log('\nwrote bench/results/latest.json');
  writeReports(written, thresholds, dir);
}

function writeReports(results, thresholds, dir) {
  writeFileSync(new URL('latest.md', dir), renderMarkdown({ ...results, only: undefined }, thresholds));
  writeFileSync(new URL('latest.svg', dir), renderSvg(results, thresholds));
  console.log('wrote bench/results/latest.md and latest.svg');
}

const metricArg = args.indexOf('--metric');
if (metricArg >= 0) await runOne(args[metricArg + 1]);
else process.exitCode = await main();
