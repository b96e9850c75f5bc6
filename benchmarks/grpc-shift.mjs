#!/usr/bin/env node
// gRPC balancing after a change of a Service's pods (issue 13): endpoint-watch's kubernetes:///
// resolver against a DNS-like resolver and a kuberesolver-like one, all in grpc-js, all under the
// same traffic at once. Not a test: figures, no threshold.
//
// The cluster: the fake apiserver and grpc-js pods on 127.0.0.2–127.0.0.5 (one port). Service
// shop/web has its pods in two EndpointSlices, as a Service does past 100 pods or after the
// controller's churn: web-1 = [a, b], web-2 = [c]. Each round makes new channels, waits a random
// part of the refresh period (so the DNS timer's phase is random), then:
//   1. scale up: d joins web-2 → [c, d];
//   2. readiness: a turns not ready in web-1 (it stays in the slice, ready: false).
// Contenders (each a grpc-js channel; 2 loops of back-to-back unary calls with a 2 ms pause):
//   - endpoint-watch, least-request (the default) and round_robin: the resolver follows the watch;
//   - dns-30s + round_robin: a resolver that re-reads the Service's ready addresses (what a headless
//     Service's DNS record holds) on a timer, every REFRESH_MS (30 s in real life; scaled down here);
//   - kuberesolver-like + round_robin: follows the same EndpointSlice watch as kuberesolver does: the
//     addresses of the last slice it saw, DELETE ignored, a missing `ready` read as false.
// Figures per contender, medians over ROUNDS:
//   - shift up: from the slice change to the first call answered by d;
//   - share after scale-up: each pod's share of the calls made in the REFRESH_MS after it;
//   - shift off: from a's readiness change to the start of the last call a answered (0 if none);
//   - calls to a after it turned not ready.
//
//   node benchmarks/grpc-shift.mjs                        (pnpm build first)
//   REFRESH_MS=30000 ROUNDS=6 node benchmarks/grpc-shift.mjs    # real DNS timing, ~8 min
import { setTimeout as sleep } from 'node:timers/promises';
import { createKubeClient, listWatch, loadKubeConfig } from '@endpoint-watch/core';
import { registerKubernetesResolver } from '@endpoint-watch/grpc';
import { endpointSlice, startFakeApiServer } from '@endpoint-watch/testing';
import * as grpc from '@grpc/grpc-js';
import { median } from './lib/stats.mjs';

const REFRESH_MS = Number(process.env.REFRESH_MS ?? 3_000);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const SETTLE_MS = 1_000;
const LOOPS = 2;
const PAUSE_MS = 2;
const { experimental } = grpc;

const raw = { serialize: (value) => value, deserialize: (value) => value };
const service = {
  who: {
    path: '/bench.Echo/Who',
    requestStream: false,
    responseStream: false,
    requestSerialize: raw.serialize,
    requestDeserialize: raw.deserialize,
    responseSerialize: raw.serialize,
    responseDeserialize: raw.deserialize,
  },
};
const Echo = grpc.makeGenericClientConstructor(service, 'Echo');

async function startPods(addresses) {
  const servers = [];
  let port = 0;
  for (const address of addresses) {
    const server = new grpc.Server();
    const answer = Buffer.from(address);
    server.addService(service, { who: (_call, callback) => callback(null, answer) });
    port = await new Promise((resolve, reject) =>
      server.bindAsync(`${address}:${port}`, grpc.ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    servers.push(server);
  }
  return {
    port,
    close: () => {
      for (const server of servers) server.forceShutdown();
    },
  };
}

const slice = (name, endpoints, port) =>
  endpointSlice({
    namespace: 'shop',
    service: 'web',
    name,
    ports: [{ name: 'grpc', port, protocol: 'TCP' }],
    endpoints: endpoints.map((e) => (typeof e === 'string' ? { addresses: [e], ready: true } : e)),
  });

/** What a headless Service's DNS answers: the ready addresses of every slice, read from the store. */
function readyAddresses(server) {
  const out = [];
  for (const object of server.list('EndpointSlice', 'shop')) {
    if (object.metadata?.labels?.['kubernetes.io/service-name'] !== 'web') continue;
    const port = object.ports?.[0]?.port;
    for (const endpoint of object.endpoints ?? [])
      if (endpoint.conditions?.ready !== false) out.push({ host: endpoint.addresses[0], port });
  }
  return out;
}

const endpointsOf = (addresses) => experimental.statusOrFromValue(addresses.map((a) => ({ addresses: [a] })));

/** What both simulated resolvers share: the grpc-js resolver shape and a deferred report. */
class SimulatedResolver {
  listener;
  constructor(_target, listener) {
    this.listener = listener;
  }
  static getDefaultAuthority() {
    return 'web.shop.svc';
  }
  /** grpc-js forbids calling the listener synchronously within updateResolution. */
  report(addresses) {
    setImmediate(() => this.listener(endpointsOf(addresses), {}, null, ''));
  }
}

function registerDnsLike(server) {
  class DnsLike extends SimulatedResolver {
    #timer;
    updateResolution() {
      if (this.#timer) return;
      this.report(readyAddresses(server));
      this.#timer = setInterval(() => this.report(readyAddresses(server)), REFRESH_MS);
    }
    destroy() {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
  experimental.registerResolver('dnslike', DnsLike);
}

function registerKuberesolverLike(client) {
  class KuberesolverLike extends SimulatedResolver {
    #subscription;
    updateResolution() {
      if (this.#subscription) return;
      this.#subscription = listWatch(client, {
        path: '/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices',
        labelSelector: 'kubernetes.io/service-name=web',
      }).subscribe((notification) => {
        if (notification.kind !== 'events') return;
        let last;
        for (const event of notification.events)
          if (event.type === 'initApply' || event.type === 'apply') last = event.object; // DELETE ignored
        if (!last) return;
        const port = last.ports?.[0]?.port;
        this.report(
          (last.endpoints ?? [])
            .filter((endpoint) => endpoint.conditions?.ready === true) // a missing `ready` read as false
            .map((endpoint) => ({ host: endpoint.addresses[0], port })),
        );
      });
    }
    destroy() {
      this.#subscription?.unsubscribe();
      this.#subscription = undefined;
    }
  }
  experimental.registerResolver('kuberesolverlike', KuberesolverLike);
}

const roundRobin = { 'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }) };
const CONTENDERS = {
  'endpoint-watch, least-request': ['kubernetes:///web.shop:grpc', {}],
  'endpoint-watch, round_robin': ['kubernetes:///web.shop:grpc', roundRobin],
  [`dns ${REFRESH_MS / 1000} s refresh, round_robin`]: ['dnslike:///web.shop', roundRobin],
  'kuberesolver-like, round_robin': ['kuberesolverlike:///web.shop', roundRobin],
};

/** Back-to-back calls on `LOOPS` loops until stopped; every call as { start, pod }. */
function traffic(client) {
  const calls = [];
  let running = true;
  const call = () =>
    new Promise((resolve) => {
      const start = performance.now();
      client.makeUnaryRequest(
        service.who.path,
        raw.serialize,
        raw.deserialize,
        Buffer.alloc(0),
        (error, value) => {
          if (!error) calls.push({ start, pod: String(value) });
          resolve();
        },
      );
    });
  const loops = Array.from({ length: LOOPS }, async () => {
    while (running) {
      await call();
      await sleep(PAUSE_MS);
    }
  });
  return {
    calls,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

async function round(server, port, pods) {
  const [a, b, c, d] = pods;
  server.upsert(slice('web-1', [a, b], port));
  server.upsert(slice('web-2', [c], port));
  const runs = Object.entries(CONTENDERS).map(([name, [target, options]]) => {
    const client = new Echo(target, grpc.credentials.createInsecure(), options);
    return { name, client, traffic: traffic(client) };
  });
  // Every contender has its first addresses, then a random phase of the DNS timer.
  await sleep(SETTLE_MS + Math.random() * REFRESH_MS);
  const up = performance.now();
  server.upsert(slice('web-2', [c, d], port));
  await sleep(REFRESH_MS + SETTLE_MS);
  const off = performance.now();
  server.upsert(slice('web-1', [{ addresses: [a], ready: false }, b], port));
  await sleep(REFRESH_MS + SETTLE_MS);
  const result = {};
  for (const run of runs) {
    await run.traffic.stop();
    run.client.close();
    const calls = run.traffic.calls;
    const firstOnD = calls.find((call) => call.pod === d && call.start >= up);
    const window = calls.filter((call) => call.start >= up && call.start < up + REFRESH_MS);
    const share = Object.fromEntries(
      pods.map((pod) => [pod, window.filter((call) => call.pod === pod).length / Math.max(1, window.length)]),
    );
    const after = calls.filter((call) => call.start >= off && call.start < off + REFRESH_MS);
    const shareAfterOff = Object.fromEntries(
      pods.map((pod) => [pod, after.filter((call) => call.pod === pod).length / Math.max(1, after.length)]),
    );
    const toA = calls.filter((call) => call.pod === a && call.start >= off);
    result[run.name] = {
      shiftUpMs: firstOnD ? firstOnD.start - up : Number.POSITIVE_INFINITY,
      share,
      shareAfterOff,
      shiftOffMs: toA.length === 0 ? 0 : Math.max(...toA.map((call) => call.start)) - off,
      callsToA: toA.length,
      calls: calls.length,
    };
  }
  return result;
}

const fmt = (ms) => (Number.isFinite(ms) ? `${ms < 100 ? ms.toFixed(1) : Math.round(ms)} ms` : 'never');

async function main() {
  const pods = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];
  const cluster = await startPods(pods);
  const server = await startFakeApiServer({ tls: true });
  const client = createKubeClient(
    loadKubeConfig({ server: server.url, token: server.token, ca: server.tls.ca }),
  );
  registerKubernetesResolver(client);
  registerDnsLike(server);
  registerKuberesolverLike(client);
  const rounds = [];
  try {
    for (let i = 0; i < ROUNDS; i++) {
      rounds.push(await round(server, cluster.port, pods));
      process.stderr.write(`round ${i + 1}/${ROUNDS} done\n`);
    }
  } finally {
    await client.close();
    await server.close();
    cluster.close();
  }
  const [a, b, c, d] = pods;
  console.log(
    `REFRESH_MS=${REFRESH_MS} (DNS refresh; 30 s in real life), ${ROUNDS} rounds, medians (max in brackets)\n`,
  );
  console.log(
    '| contender | shift up: first call on d | share a / b / c / d, REFRESH_MS after scale-up | shift off: last call on a | calls to a after not ready | share a / b / c / d, REFRESH_MS after a not ready |',
  );
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const name of Object.keys(CONTENDERS)) {
    const of = (pick) => rounds.map((r) => pick(r[name]));
    const shareOf = (pod) => `${Math.round(median(of((r) => r.share[pod])) * 100)} %`;
    const offShareOf = (pod) => `${Math.round(median(of((r) => r.shareAfterOff[pod])) * 100)} %`;
    console.log(
      `| ${name} | ${fmt(median(of((r) => r.shiftUpMs)))} (${fmt(Math.max(...of((r) => r.shiftUpMs)))}) | ${[a, b, c, d].map(shareOf).join(' / ')} | ${fmt(median(of((r) => r.shiftOffMs)))} (${fmt(Math.max(...of((r) => r.shiftOffMs)))}) | ${median(of((r) => r.callsToA))} (${Math.max(...of((r) => r.callsToA))}) | ${[a, b, c, d].map(offShareOf).join(' / ')} |`,
    );
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
