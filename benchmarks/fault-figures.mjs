#!/usr/bin/env node
// The figures of issue 9, items 1-5: what a watch does under each fault, measured on real sockets
// (loopback only). Each item runs in a child process of its own, so that its memory figures are
// its own. Run it in another checkout (copy this file there) to get that code's figures: the
// closing note of issue 9 gives both. Not a test: it asserts nothing, it prints what it saw.
//
//   node benchmarks/fault-figures.mjs            # every item
//   ITEMS=1,3 ITEM1_SECONDS=120 node benchmarks/fault-figures.mjs
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { createKubeClient, loadKubeConfig, watchEndpoints, watchEndpointsHealth } from '@endpoint-watch/core';
import { endpointSlice, startFakeApiServer } from '@endpoint-watch/testing';

const ITEMS = (process.env.ITEMS ?? '1,2,3,4,5').split(',');
const item = process.argv[2];

const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
const slice = (service, name, ips) =>
  endpointSlice({ service, name, endpoints: ips.map((ip) => ({ addresses: [ip] })) });

/** Share of time in each health state, and the longest stretch not synced, from a health log. */
function healthFigures(log, from, to) {
  const time = {};
  let longest = 0;
  let staleFrom;
  for (let i = 0; i < log.length; i++) {
    const { at, state } = log[i];
    const end = i + 1 < log.length ? log[i + 1].at : to;
    const start = Math.max(at, from);
    if (end > start) time[state] = (time[state] ?? 0) + (end - start);
    if (state !== 'synced') staleFrom ??= Math.max(at, from);
    else if (staleFrom !== undefined) {
      longest = Math.max(longest, at - staleFrom);
      staleFrom = undefined;
    }
  }
  if (staleFrom !== undefined) longest = Math.max(longest, to - staleFrom);
  const total = to - from;
  const share = Object.entries(time)
    .map(([state, ms]) => `${state} ${((100 * ms) / total).toFixed(1)} %`)
    .join(', ');
  return { syncedShare: (time.synced ?? 0) / total, longest, share };
}

function record(observable) {
  const log = [];
  const subscription = observable.subscribe((value) => log.push({ at: performance.now(), value }));
  return { log, subscription };
}

async function fakeCluster({ client: clientOptions, ...options } = {}) {
  const server = await startFakeApiServer(options);
  const client = createKubeClient(loadKubeConfig({ server: server.url, token: server.token }), clientOptions);
  return { server, client };
}

/** Item 1: churn, a cut of every watch every 20 s, a compaction every 60 s. Default tuning. */
async function cutsAndCompactions() {
  const duration = Number(process.env.ITEM1_SECONDS ?? 120) * 1000;
  const { server, client } = await fakeCluster({ bookmarkIntervalMs: 60_000 });
  const ips = Array.from({ length: 50 }, (_, i) => `10.1.${i >> 8}.${i & 255}`);
  for (let s = 0; s < 5; s++) server.upsert(slice('web', `web-${s}`, ips.slice(s * 10, s * 10 + 10)));
  const health = record(watchEndpointsHealth(client, { service: 'web', namespace: 'default' }));
  const sets = record(watchEndpoints(client, { service: 'web', namespace: 'default' }));
  while (!health.log.some((h) => h.value.state === 'synced')) await new Promise((r) => setTimeout(r, 20));
  const start = performance.now();
  let writes = 0;
  // ~250 writes/s: one endpoint's readiness flips in one slice every 4 ms.
  const churn = setInterval(() => {
    const s = writes % 5;
    const flip = Math.floor(writes / 5) % 10;
    server.upsert(
      endpointSlice({
        service: 'web',
        name: `web-${s}`,
        endpoints: ips.slice(s * 10, s * 10 + 10).map((ip, i) => ({ addresses: [ip], ready: i !== flip })),
      }),
    );
    writes++;
  }, 4);
  const cuts = setInterval(() => server.faults.cutWatches({ midEvent: true }), 20_000);
  const compactions = setInterval(() => server.compact(), 60_000);
  await new Promise((resolve) => setTimeout(resolve, duration));
  clearInterval(churn);
  clearInterval(cuts);
  clearInterval(compactions);
  const faultsStopped = performance.now();
  // Catch-up: the time from the end of the faults until the set holds the server's last state.
  const finalRv = Number(server.resourceVersion);
  while (!sets.log.some((s) => Number(s.value.resourceVersion) >= finalRv)) {
    if (performance.now() - faultsStopped > 120_000) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  const caughtUp = performance.now() - faultsStopped;
  const log = health.log.map(({ at, value }) => ({ at, state: value.state }));
  const figures = healthFigures(log, start, faultsStopped);
  console.log(
    `item 1 (cut every 20 s, compaction every 60 s, ${Math.round((writes * 1000) / duration)} writes/s, ${seconds(duration)}): ` +
      `synced ${(100 * figures.syncedShare).toFixed(1)} % (${figures.share}), longest stale window ${seconds(figures.longest)}, ` +
      `caught up ${seconds(caughtUp)} after the faults stopped, ${health.log.length} health changes, ${sets.log.length} sets`,
  );
  health.subscription.unsubscribe();
  sets.subscription.unsubscribe();
  await client.close();
  await server.close();
}

/** A loopback server whose answers the item decides; counts requests by kind. */
async function stubServer(handlers) {
  const counts = { list: 0, watch: 0 };
  const server = createServer((req, res) => {
    const kind = /[?&]watch=(true|1)/.test(req.url) ? 'watch' : 'list';
    counts[kind]++;
    handlers[kind](req, res, counts[kind]);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${server.address().port}`;
  const client = createKubeClient(loadKubeConfig({ server: url, token: 't' }), handlers.client);
  return {
    counts,
    client,
    async close() {
      await client.close();
      server.closeAllConnections();
      server.close();
    },
  };
}

function listBody(ips, rv = '5') {
  return JSON.stringify({
    kind: 'EndpointSliceList',
    metadata: { resourceVersion: rv },
    items: ips.length
      ? [
          {
            ...slice('web', 'web-a', ips),
            metadata: { ...slice('web', 'web-a', ips).metadata, resourceVersion: rv },
          },
        ]
      : [],
  });
}

const quietWatch = (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.flushHeaders();
};

/** Item 2: streaming lists off (422), and the first LIST's body stalls after its headers. */
async function stalledList() {
  const limit = Number(process.env.ITEM2_SECONDS ?? 180) * 1000;
  const stub = await stubServer({
    list: (_req, res, n) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      if (n === 1) res.write('{"kind":"EndpointSliceList","metadata":{"resourceVersion":"5"},"items":[');
      else res.end(listBody(['10.0.0.1']));
    },
    watch: (req, res) => {
      if (/sendInitialEvents=true/.test(req.url)) {
        res.writeHead(422, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            kind: 'Status',
            code: 422,
            reason: 'Invalid',
            message: 'sendInitialEvents is forbidden',
          }),
        );
      } else quietWatch(req, res);
    },
  });
  const start = performance.now();
  const health = record(watchEndpointsHealth(stub.client, { service: 'web', namespace: 'default' }));
  while (performance.now() - start < limit && !health.log.some((h) => h.value.state === 'synced')) {
    await new Promise((r) => setTimeout(r, 50));
  }
  const synced = health.log.find((h) => h.value.state === 'synced');
  const last = health.log.at(-1)?.value;
  console.log(
    `item 2 (LIST body stalls after its headers): ${synced ? `recovered, synced after ${seconds(synced.at - start)}` : `still not synced after ${seconds(limit)}`}; ` +
      `${stub.counts.list} LIST requests; health: ${health.log.map((h) => h.value.state + (h.value.error?.code ? ` ${h.value.error.code}` : '')).join(' → ')}` +
      (synced ? '' : `; frozen at ${last?.state} retryInMs ${last?.retryInMs}`),
  );
  health.subscription.unsubscribe();
  await stub.close();
}

/** Item 3: a 1.5 GB error body, and a 600 MB LIST body. Peak RSS above the start. */
async function hugeBodies() {
  const errorBytes = Number(process.env.ITEM3_ERROR_MB ?? 1536) * 1024 * 1024;
  const listBytes = Number(process.env.ITEM3_LIST_MB ?? 600) * 1024 * 1024;
  const mb = (bytes) => Math.round(bytes / 1024 / 1024);
  for (const [what, status, total] of [
    [`an HTTP 500 with a ${mb(errorBytes)} MB body`, 500, errorBytes],
    [`a ${mb(listBytes)} MB LIST body`, 200, listBytes],
  ]) {
    let written = 0;
    const stub = await stubServer({
      client: undefined,
      list: (_req, res, n) => {
        if (n > 1) return res.end(listBody(['10.0.0.1']));
        res.writeHead(status, { 'content-type': 'application/json' });
        // A valid List whose one item carries a huge annotation; the error is one long message.
        const head =
          status === 200
            ? '{"kind":"EndpointSliceList","metadata":{"resourceVersion":"5"},"items":[{"metadata":{"name":"x","annotations":{"a":"'
            : '{"kind":"Status","code":500,"message":"';
        const tail = status === 200 ? '"}},"addressType":"IPv4","endpoints":[]}]}' : '"}';
        const chunk = Buffer.alloc(1024 * 1024, 'x');
        res.write(head);
        const pump = () => {
          while (written < total && !res.destroyed) {
            written += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          if (!res.destroyed) res.end(tail);
        };
        pump();
      },
      watch: quietWatch,
    });
    global.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 5);
    const start = performance.now();
    const health = record(
      watchEndpointsHealth(stub.client, {
        service: 'web',
        namespace: 'default',
        watch: { initialList: 'list' },
      }),
    );
    while (performance.now() - start < 120_000 && !health.log.some((h) => h.value.state !== 'connecting')) {
      await new Promise((r) => setTimeout(r, 20));
    }
    clearInterval(sampler);
    const first = health.log.find((h) => h.value.state !== 'connecting')?.value;
    const outcome =
      first?.state === 'retrying'
        ? `${first.error?.code} ${String(first.error?.message).slice(0, 90)}…`
        : first?.state;
    console.log(
      `item 3 (${what}): peak RSS +${Math.round((peak - before) / 1024 / 1024)} MB (from ${Math.round(before / 1024 / 1024)} MB), ` +
        `server wrote ${Math.round(written / 1024 / 1024)} MB of ${Math.round(total / 1024 / 1024)} MB, after ${seconds(performance.now() - start)}: ${outcome}`,
    );
    health.subscription.unsubscribe();
    await stub.close();
  }
}

/** Item 4: a watch asked to end after 2 s drips one byte a second of a line that never ends. */
async function drippingWatch() {
  const observeMs = Number(process.env.ITEM4_SECONDS ?? 20) * 1000;
  let opened;
  let closed;
  const stub = await stubServer({
    list: (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(listBody(['10.0.0.1']));
    },
    watch: (_req, res, n) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
      if (n > 1) return; // later watches stay quiet and open
      opened = performance.now();
      const timer = setInterval(() => res.write('x'), 1000);
      res.on('close', () => {
        clearInterval(timer);
        closed = performance.now();
      });
    },
  });
  const health = record(
    watchEndpointsHealth(stub.client, {
      service: 'web',
      namespace: 'default',
      watch: { initialList: 'list', watchTimeoutSeconds: [2, 2], idleTimeoutMs: 5000 },
    }),
  );
  await new Promise((r) => setTimeout(r, observeMs));
  const open = (closed ?? performance.now()) - opened;
  console.log(
    `item 4 (watch asked to end after 2 s, dripping 1 byte/s, idle timeout 5 s): the dripping watch stayed open ${seconds(open)}` +
      (closed === undefined
        ? ` (still open when observation ended, ${(open / 2000).toFixed(1)}× its timeoutSeconds)`
        : '') +
      `; health: ${health.log.map((h) => h.value.state + (h.value.error?.code ? ` ${h.value.error.code}` : '')).join(' → ')}`,
  );
  health.subscription.unsubscribe();
  await stub.close();
}

/** Item 5: six Services, `connections: 2`, a server without streaming lists. */
async function connectionBound() {
  const { server, client } = await fakeCluster({ watchList: false, client: { connections: 2 } });
  const services = ['a', 'b', 'c', 'd', 'e', 'f'];
  for (const service of services) server.upsert(slice(service, `${service}-1`, ['10.0.0.1']));
  const streams = services.map((service) => ({
    sets: record(watchEndpoints(client, { service, namespace: 'default' })),
    health: record(watchEndpointsHealth(client, { service, namespace: 'default' })),
  }));
  await new Promise((r) => setTimeout(r, 3000));
  for (const service of services) server.upsert(slice(service, `${service}-1`, ['10.0.0.1', '10.0.0.2']));
  await new Promise((r) => setTimeout(r, 10_000));
  const updated = streams.filter((s) => s.sets.log.some((e) => e.value.endpoints.length === 2)).length;
  const syncedNow = streams.filter((s) => s.health.log.at(-1)?.value.state === 'synced').length;
  console.log(
    `item 5 (6 Services, connections: 2, no streaming lists): ${updated} of 6 got their update within 10 s; ` +
      `${syncedNow} of 6 report synced; ${server.openWatches} watches open on the server`,
  );
  for (const s of streams) {
    s.sets.subscription.unsubscribe();
    s.health.subscription.unsubscribe();
  }
  await client.close();
  await server.close();
}

// Last: the functions above are defined by now.
if (item === undefined) {
  for (const name of ITEMS) {
    const child = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), name], {
      stdio: 'inherit',
      env: process.env,
    });
    if (child.status !== 0) console.log(`item ${name}: exited with ${child.status ?? child.signal}`);
  }
} else {
  const run = { 1: cutsAndCompactions, 2: stalledList, 3: hugeBodies, 4: drippingWatch, 5: connectionBound }[
    item
  ];
  await run();
  process.exit(0);
}
