#!/usr/bin/env node
// Per-request overhead of `createBalancedAgent` against undici's own dispatchers (issue 11, "the
// balanced agent's per-request overhead"). Not a test: no threshold, nothing in CI.
//
// Pods: PODS plain HTTP/1.1 keep-alive servers on 127.0.0.2, 127.0.0.3, … (one port), all in ONE
// child process, so that the client's figures (process.cpuUsage of this process) are the client's
// only. Each answers every request with 200 and a 64-byte body.
//
// Peers, each sending REQUESTS requests at concurrency CONCURRENCY with `undici.request` (body read
// to the end), in the same run, rotated between rounds:
// - `agent`: `createBalancedAgent` over the pods (default options: least-request, retries, outlier
//   detection, Host header of the Service URL);
// - `balancedPool`: undici `BalancedPool` over the same pods;
// - `pool`: one undici `Pool` to the first pod;
// - `plainAgent`: undici `Agent`, every request to the first pod.
// Figures: requests/s and CPU µs per request of the client; the ratios are taken within each round
// (same machine state for the peers being compared), then the median over rounds.
//
//   node benchmarks/agent-overhead.mjs                      # this checkout (build it first: pnpm build)
//   node benchmarks/agent-overhead.mjs --root /work/other   # another checkout's dist (e.g. main)
//   node benchmarks/agent-overhead.mjs --base /work/main    # also main's agent (`agentBase`), same rounds;
//                                                           # `cpuPerRequestVsBase` is the before/after
//   BENCH_PEERS=agent,agentBase,balancedPool BENCH_ROUNDS=15 node benchmarks/agent-overhead.mjs --base /work/main
//                                                           # fewer peers, more rounds: each ratio is reported
//                                                           # from the rounds that ran both of its peers
//   BENCH_ROUNDS=5 BENCH_REQUESTS=20000 node benchmarks/agent-overhead.mjs
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { readyEndpoints, staticEndpoints } from './lib/static-endpoints.mjs';

const BODY = Buffer.alloc(64, 'x');
const PEERS = ['agent', 'balancedPool', 'pool', 'plainAgent'];

/** Child process: the pods. Prints `{ addresses, port }` once listening; exits when the parent goes. */
async function servePods(count) {
  const addresses = Array.from({ length: count }, (_, i) => `127.0.0.${i + 2}`);
  const handler = (request, response) => {
    request.resume();
    request.on('end', () => {
      response.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length });
      response.end(BODY);
    });
  };
  let port = 0;
  const servers = [];
  for (const address of addresses) {
    const server = createServer({ keepAliveTimeout: 60_000 }, handler);
    server.listen(port, address);
    await once(server, 'listening');
    port = server.address().port;
    servers.push(server);
  }
  process.send({ addresses, port });
  process.on('disconnect', () => process.exit(0));
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Sends `total` requests at `concurrency`; returns wall ms and client CPU µs. */
async function drive(request, dispatcher, url, total, concurrency) {
  let sent = 0;
  const worker = async () => {
    while (sent < total) {
      sent++;
      const { statusCode, body } = await request(url, { dispatcher });
      await body.dump();
      if (statusCode !== 200) throw new Error(`status ${statusCode}`);
    }
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { wallMs, cpuUs: cpu.user + cpu.system };
}

/**
 * The figures as plain JSON: per peer `requestsPerSecond` and `cpuUsPerRequest` (medians), and the
 * ratios of the targets (medians of the per-round ratios): `agentVsBalancedPool` and
 * `agentVsPool` (throughput, higher is better), `cpuPerRequestVsBalancedPool` and `cpuPerRequestVsPool`
 * (lower is better), `balancedPoolVsPool`.
 */
export async function run(options = {}) {
  const root = resolve(options.root ?? new URL('..', import.meta.url).pathname);
  const pods = options.pods ?? 4;
  const requests = options.requests ?? 20_000;
  const concurrency = options.concurrency ?? 64;
  const rounds = options.rounds ?? 5;
  const undici = await import('undici');
  const load = async (at) =>
    (await import(pathToFileURL(`${resolve(at)}/packages/undici/dist/index.js`).href)).createBalancedAgent;
  const createBalancedAgent = await load(root);
  // Another checkout's agent (before/after), driven in the same rotated rounds as the peers.
  const createBaseAgent = options.base === undefined ? undefined : await load(options.base);

  const child = fork(fileURLToPath(import.meta.url), ['--pods', String(pods)], { stdio: 'inherit' });
  try {
    const [{ addresses, port }] = await once(child, 'message');
    const { endpoints$ } = staticEndpoints(readyEndpoints(addresses.length, port, (i) => addresses[i]));
    const origins = addresses.map((address) => `http://${address}:${port}`);
    const peers = {
      agent: {
        dispatcher: createBalancedAgent({ endpoints: endpoints$ }),
        url: `http://web.default.svc:${port}/`,
      },
      balancedPool: { dispatcher: new undici.BalancedPool(origins), url: `${origins[0]}/` },
      pool: { dispatcher: new undici.Pool(origins[0]), url: `${origins[0]}/` },
      plainAgent: { dispatcher: new undici.Agent(), url: `${origins[0]}/` },
    };
    const all = [...PEERS];
    if (createBaseAgent) {
      peers.agentBase = {
        dispatcher: createBaseAgent({ endpoints: endpoints$ }),
        url: `http://web.default.svc:${port}/`,
      };
      all.push('agentBase');
    }
    const names = options.peers ?? all;
    // Warm-up: connections opened and the JIT warm for every peer.
    for (const name of names) {
      const { dispatcher, url } = peers[name];
      await drive(undici.request, dispatcher, url, Math.min(requests, 4_000), concurrency);
    }
    const samples = Object.fromEntries(all.map((name) => [name, []]));
    const ratios = {
      agentVsBalancedPool: [],
      agentVsPool: [],
      cpuPerRequestVsBalancedPool: [],
      cpuPerRequestVsPool: [],
      balancedPoolVsPool: [],
      ...(createBaseAgent
        ? { baseVsBalancedPool: [], baseCpuPerRequestVsBalancedPool: [], cpuPerRequestVsBase: [] }
        : {}),
    };
    for (let round = 0; round < rounds; round++) {
      const order = names.map((_, i) => names[(i + round) % names.length]);
      const current = {};
      for (const name of order) {
        const { dispatcher, url } = peers[name];
        const { wallMs, cpuUs } = await drive(undici.request, dispatcher, url, requests, concurrency);
        current[name] = { rps: (requests * 1000) / wallMs, cpu: cpuUs / requests };
        samples[name].push(current[name]);
      }
      // Each ratio from the rounds that ran both of its peers (`BENCH_PEERS` may leave some out).
      const ratio = (name, a, b, field) => {
        if (current[a] && current[b]) ratios[name]?.push(current[a][field] / current[b][field]);
      };
      ratio('agentVsBalancedPool', 'agent', 'balancedPool', 'rps');
      ratio('agentVsPool', 'agent', 'pool', 'rps');
      ratio('cpuPerRequestVsBalancedPool', 'agent', 'balancedPool', 'cpu');
      ratio('cpuPerRequestVsPool', 'agent', 'pool', 'cpu');
      ratio('balancedPoolVsPool', 'balancedPool', 'pool', 'rps');
      ratio('baseVsBalancedPool', 'agentBase', 'balancedPool', 'rps');
      ratio('baseCpuPerRequestVsBalancedPool', 'agentBase', 'balancedPool', 'cpu');
      // The before/after itself: this checkout's agent against the base's, in the same round.
      ratio('cpuPerRequestVsBase', 'agent', 'agentBase', 'cpu');
    }
    await Promise.all(all.map((name) => peers[name].dispatcher.close()));
    const round2 = (x) => Math.round(x * 100) / 100;
    const result = { pods, requests, concurrency, rounds, requestsPerSecond: {}, cpuUsPerRequest: {} };
    for (const name of names) {
      result.requestsPerSecond[name] = Math.round(median(samples[name].map((s) => s.rps)));
      result.cpuUsPerRequest[name] = round2(median(samples[name].map((s) => s.cpu)));
    }
    for (const [name, values] of Object.entries(ratios)) {
      if (values.length === 0) continue;
      result[name] = round2(median(values));
      result[`${name}Range`] = [round2(Math.min(...values)), round2(Math.max(...values))];
    }
    return result;
  } finally {
    child.disconnect();
  }
}

function printTable(result) {
  console.log('| peer | requests/s | CPU µs per request |');
  console.log('| --- | --- | --- |');
  for (const name of Object.keys(result.requestsPerSecond)) {
    console.log(`| ${name} | ${result.requestsPerSecond[name]} | ${result.cpuUsPerRequest[name]} |`);
  }
  console.log('');
  for (const name of [
    'agentVsBalancedPool',
    'agentVsPool',
    'cpuPerRequestVsBalancedPool',
    'cpuPerRequestVsPool',
    'balancedPoolVsPool',
    'baseVsBalancedPool',
    'baseCpuPerRequestVsBalancedPool',
    'cpuPerRequestVsBase',
  ]) {
    if (result[name] === undefined) continue;
    const [low, high] = result[`${name}Range`];
    console.log(`${name}: ${result[name]} (rounds ${low}–${high})`);
  }
}

const args = process.argv.slice(2);
if (args[0] === '--pods') {
  await servePods(Number(args[1]));
} else if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rootAt = args.indexOf('--root');
  const baseAt = args.indexOf('--base');
  const number = (name) => (process.env[name] ? Number(process.env[name]) : undefined);
  const result = await run({
    root: rootAt >= 0 ? args[rootAt + 1] : undefined,
    base: baseAt >= 0 ? args[baseAt + 1] : undefined,
    rounds: number('BENCH_ROUNDS'),
    requests: number('BENCH_REQUESTS'),
    pods: number('BENCH_PODS'),
    peers: process.env.BENCH_PEERS?.split(','),
  });
  console.log(
    `# Balanced agent vs undici, ${result.requests} requests at concurrency ${result.concurrency}, ${result.pods} pods, median of ${result.rounds} rounds`,
  );
  console.log(`node ${process.version}\n`);
  printTable(result);
}
