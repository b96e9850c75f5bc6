#!/usr/bin/env node
// Where the balanced agent's client CPU per request stands against the cheapest dispatchers built the
// same way (issue 11, docs/PERFORMANCE.md "The last per-request items"). A diagnostic, not part of
// `pnpm bench`: no threshold, nothing in CI.
//
// Peers, all over the same 4 pods (one child process, as in agent-overhead.mjs), rotated per round:
// - `balancedPool`: undici `BalancedPool`;
// - `rewrite`: the floor of the agent's approach: round robin over one `Pool` per endpoint, each
//   request's options copied with the endpoint's origin, the Service's `host` and a server name (what
//   the agent makes undici do), and no bookkeeping at all (no pick, no lease, no retries);
// - `picked`: `rewrite` with the endpoint picked by a round-robin `Balancer` and the lease released at
//   once (the balancer's own cost, without the handler that holds the lease);
// - `serviceOrigin`: round robin over one `Pool` per endpoint created with the Service's origin (undici
//   precomputes the Host line and needs no copy of the options) and a `connect` that dials the pod;
// - `agent`: `createBalancedAgent` (default options: least-request);
// - `agentRoundRobin`: the same with the round-robin strategy (spreads over the pods as `picked` does).
// Figures: client CPU µs per request (`process.cpuUsage`), medians over rounds of the per-round ratios.
//
//   pnpm build && BENCH_ROUNDS=11 node benchmarks/agent-floor.mjs
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { createBalancer } from '@endpoint-watch/balancer';
import { createBalancedAgent } from '@endpoint-watch/undici';
import { BalancedPool, buildConnector, Dispatcher, Pool, request } from 'undici';
import { readyEndpoints, staticEndpoints } from './lib/static-endpoints.mjs';

const BODY = Buffer.alloc(64, 'x');
const PODS = 4;
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 11);
const CONCURRENCY = 64;

async function servePods() {
  let port = 0;
  for (let i = 0; i < PODS; i++) {
    const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length });
        res.end(BODY);
      });
    });
    server.listen(port, `127.0.0.${i + 2}`);
    await once(server, 'listening');
    port = server.address().port;
  }
  process.send({ port });
  process.on('disconnect', () => process.exit(0));
}

/** Round robin over `pools`; `rewrite(options, i)` makes the options of the i-th pool's request. */
class RoundRobin extends Dispatcher {
  #next = 0;
  constructor(pools, choose, rewrite) {
    super();
    this.pools = pools;
    this.choose = choose;
    this.rewrite = rewrite;
  }
  dispatch(options, handler) {
    const i = this.choose ? this.choose() : this.#next++ % this.pools.length;
    return this.pools[i].dispatch(this.rewrite ? this.rewrite(options, i) : options, handler);
  }
}

async function drive(dispatcher, url) {
  let sent = 0;
  const worker = async () => {
    while (sent < REQUESTS) {
      sent++;
      const { body } = await request(url, { dispatcher });
      await body.dump();
    }
  };
  const cpu0 = process.cpuUsage();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const cpu = process.cpuUsage(cpu0);
  return (cpu.user + cpu.system) / REQUESTS;
}

async function main() {
  const child = fork(fileURLToPath(import.meta.url), ['--pods'], { stdio: 'inherit' });
  const [{ port }] = await once(child, 'message');
  const addresses = Array.from({ length: PODS }, (_, i) => `127.0.0.${i + 2}`);
  const origins = addresses.map((address) => `http://${address}:${port}`);
  const service = `http://web.default.svc:${port}`;
  const { endpoints$ } = staticEndpoints(readyEndpoints(PODS, port, (i) => addresses[i]));
  const hostOnly = Object.freeze({ host: `web.default.svc:${port}` });
  const rewrite = (options, i) => {
    const copy = { ...options };
    copy.origin = origins[i];
    copy.headers = hostOnly;
    copy.servername = 'web.default.svc';
    return copy;
  };
  // Round robin, so that `picked` spreads over the pods as `rewrite` does: least-request with the lease
  // released at once would pick at random, and an uneven spread changes the client's CPU per request.
  const balancer = createBalancer(endpoints$, { strategy: 'round-robin' });
  const indexOf = new Map(addresses.map((address, i) => [`${address}:${port}`, i]));
  const pick = () => {
    const lease = balancer.pick();
    lease.release({ ok: true, latencyMs: 1 });
    return indexOf.get(lease.key);
  };
  const dial = buildConnector({});
  const endpointPools = () => origins.map((origin) => new Pool(origin));
  const peers = {
    balancedPool: { dispatcher: new BalancedPool(origins), url: `${origins[0]}/` },
    rewrite: { dispatcher: new RoundRobin(endpointPools(), undefined, rewrite), url: `${service}/` },
    picked: { dispatcher: new RoundRobin(endpointPools(), pick, rewrite), url: `${service}/` },
    serviceOrigin: {
      dispatcher: new RoundRobin(
        addresses.map(
          (address) =>
            new Pool(service, {
              connect: (options, callback) => dial({ ...options, hostname: address }, callback),
            }),
        ),
      ),
      url: `${service}/`,
    },
    agent: { dispatcher: createBalancedAgent({ endpoints: endpoints$ }), url: `${service}/` },
    agentRoundRobin: {
      dispatcher: createBalancedAgent({ endpoints: endpoints$ }, { balancer: { strategy: 'round-robin' } }),
      url: `${service}/`,
    },
  };
  const names = Object.keys(peers);
  for (const name of names) await drive(peers[name].dispatcher, peers[name].url); // warm-up
  const cpu = Object.fromEntries(names.map((name) => [name, []]));
  const pairs = [
    ['rewrite', 'balancedPool'],
    ['serviceOrigin', 'rewrite'],
    ['picked', 'rewrite'],
    ['agent', 'picked'],
    ['agent', 'rewrite'],
    ['agent', 'balancedPool'],
    ['agentRoundRobin', 'picked'],
  ];
  const ratios = Object.fromEntries(pairs.map(([a, b]) => [`${a}/${b}`, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const current = {};
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + round) % names.length];
      current[name] = await drive(peers[name].dispatcher, peers[name].url);
      cpu[name].push(current[name]);
    }
    for (const [a, b] of pairs) ratios[`${a}/${b}`].push(current[a] / current[b]);
  }
  const median = (values) => [...values].sort((x, y) => x - y)[values.length >> 1];
  console.log(
    `# client CPU µs per request, ${REQUESTS} requests at ${CONCURRENCY}, median of ${ROUNDS} rounds`,
  );
  for (const name of names) console.log(`${name}: ${median(cpu[name]).toFixed(2)} µs`);
  for (const [key, values] of Object.entries(ratios)) {
    console.log(
      `${key}: ${median(values).toFixed(2)} (rounds ${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)})`,
    );
  }
  balancer.close();
  child.disconnect();
  process.exit(0);
}

if (process.argv.includes('--pods')) await servePods();
else await main();
