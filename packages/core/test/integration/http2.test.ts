/**
 * HTTP/2 to the apiserver, on loopback against the fake over real sockets: ALPN, streams per
 * connection, refused streams, GOAWAY, the HTTP/1.1 fallback, and that every bound still holds
 * per stream without touching the shared connection.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  endpointSlice,
  type FakeApiServer,
  type FakeApiServerOptions,
  rejection,
  startFakeApiServer,
  startTcpProxy,
  type TcpProxy,
} from '@endpoint-watch/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { loadKubeConfig } from '../../src/config/index.js';
import type { EndpointSet } from '../../src/endpoints/types.js';
import { watchEndpoints, watchEndpointsHealth } from '../../src/endpoints/watch-endpoints.js';
import { KubeApiError, KubeTransportError } from '../../src/transport/kube-api-error.js';
import {
  createKubeClient,
  type KubeClient,
  type KubeClientOptions,
} from '../../src/transport/kube-client.js';
import type { WatchHealth } from '../../src/watch/watch-health.js';
import { type Recorder, recorderPool } from '../support/cluster.js';

const cleanups: Array<() => Promise<void> | void> = [];
const { record, unsubscribeAll } = recorderPool();
afterEach(async () => {
  unsubscribeAll();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(
  serverOptions: FakeApiServerOptions = {},
  clientOptions: KubeClientOptions = {},
  /** Puts something in front of the server (a proxy): the client connects to the port it gives. */
  via?: (server: FakeApiServer) => Promise<{ port: number }>,
): Promise<{ server: FakeApiServer; client: KubeClient }> {
  const server = await startFakeApiServer({ tls: true, ...serverOptions });
  cleanups.push(() => server.close());
  const dir = mkdtempSync(join(tmpdir(), 'ew-h2-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'kubeconfig');
  const front = await via?.(server);
  writeFileSync(path, server.kubeconfig(front ? { server: `https://127.0.0.1:${front.port}` } : {}));
  const client = createKubeClient(
    loadKubeConfig({ kubeconfig: path, env: {}, inCluster: false }),
    clientOptions,
  );
  cleanups.push(() => client.close());
  return { server, client };
}

const WATCH_PATH = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices';
const serviceSlice = (service: string, ip: string) =>
  endpointSlice({ service, name: `${service}-a`, endpoints: [{ addresses: [ip] }] });
const addressesOf = (set: EndpointSet) => set.endpoints.map((e) => e.address).sort();
const FAST = { initialList: 'list' as const, backoff: { initialMs: 50, maxMs: 200 } };

/** Subscribes one endpoint watch per Service and waits until every set holds its address. */
async function watchServices(
  client: KubeClient,
  count: number,
): Promise<{ sets: Recorder<EndpointSet>[]; health: Recorder<WatchHealth>[] }> {
  const sets: Recorder<EndpointSet>[] = [];
  const health: Recorder<WatchHealth>[] = [];
  for (let i = 0; i < count; i++) {
    // One stream per Service: these tests are about streams and connections, not the namespace watch.
    const options = { service: `svc-${i}`, namespace: 'default', watch: FAST, scope: 'service' as const };
    sets.push(record(watchEndpoints(client, options)));
    health.push(record(watchEndpointsHealth(client, options)));
  }
  await Promise.all(sets.map((s, i) => s.waitFor((set) => addressesOf(set).join() === ipOf(i), 20_000)));
  return { sets, health };
}
const ipOf = (i: number) => `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}`;
const services = (count: number) =>
  Array.from({ length: count }, (_, i) => serviceSlice(`svc-${i}`, ipOf(i)));

describe('HTTP/2 to the apiserver', () => {
  it('is negotiated by ALPN over TLS', async () => {
    const { server, client } = await setup();
    await client.getJson('/version');
    expect(client.transportStats()).toMatchObject({ protocol: 'h2', http2: { connections: 1, opened: 1 } });
    expect(server.connectionStats()).toMatchObject({ accepted: 1, http2SessionsTotal: 1 });
  });

  it('multiplexes 250 watches and their lists over ⌈250 / maxConcurrentStreams⌉ connections', async () => {
    const { server, client } = await setup({
      initialObjects: services(250),
      http2: { maxConcurrentStreams: 100 },
    });
    await watchServices(client, 250);
    await server.waitForWatches(250, 10_000);
    expect(server.connectionStats()).toMatchObject({ accepted: 3, http2SessionsTotal: 3, refusedStreams: 0 });
    expect(client.transportStats().http2).toMatchObject({
      connections: 3,
      streams: 250,
      opened: 3,
      retried: 0,
    });
  }, 60_000);

  it('follows a lower advertised limit (maxStreamsPerConnection caps it further)', async () => {
    const { server, client } = await setup(
      { initialObjects: services(60), http2: { maxConcurrentStreams: 25 } },
      { maxStreamsPerConnection: 1000 },
    );
    await watchServices(client, 60);
    expect(server.connectionStats().accepted).toBe(3);
    const capped = await setup({ initialObjects: services(60) }, { maxStreamsPerConnection: 20 });
    await watchServices(capped.client, 60);
    expect(capped.server.connectionStats().accepted).toBe(3);
  }, 60_000);

  it('sends a refused stream again on another connection: no watch fails or reports an error', async () => {
    // The server advertises 1000 streams but refuses every one over 40 on a connection.
    const { server, client } = await setup({
      initialObjects: services(100),
      http2: { maxConcurrentStreams: 1000, refuseStreamsOver: 40 },
    });
    const { health } = await watchServices(client, 100);
    await server.waitForWatches(100, 10_000);
    const stats = server.connectionStats();
    expect(stats.refusedStreams).toBeGreaterThan(0);
    // The limit is learned from the refusal: ⌈100/40⌉ connections, one more at most while learning.
    expect(stats.accepted).toBeGreaterThanOrEqual(3);
    expect(stats.accepted).toBeLessThanOrEqual(4);
    for (const h of health)
      expect(h.values.filter((v) => v.state !== 'connecting' && v.state !== 'synced')).toEqual([]);
    expect(client.transportStats().http2?.retried).toBeGreaterThan(0);
  }, 60_000);

  it('retries a LIST whose stream is refused (faults.refuseStreams), invisibly', async () => {
    const { server, client } = await setup({ initialObjects: services(3) });
    server.faults.refuseStreams(3);
    const list = (await client.getJson(WATCH_PATH)) as { items: unknown[] };
    expect(list.items).toHaveLength(3);
    expect(server.connectionStats().refusedStreams).toBe(3);
  });

  it('survives a restart (GOAWAY, streams reset): every watch resumes on a new connection', async () => {
    const { server, client } = await setup({ initialObjects: services(30) });
    const { sets } = await watchServices(client, 30);
    await server.waitForWatches(30);
    await server.faults.restart();
    for (let i = 0; i < 30; i++) server.upsert(serviceSlice(`svc-${i}`, `10.9.0.${i + 1}`));
    await Promise.all(
      sets.map((s, i) => s.waitFor((set) => addressesOf(set).join() === `10.9.0.${i + 1}`, 15_000)),
    );
    await server.waitForWatches(30);
    expect(server.connectionStats().http2SessionsTotal).toBe(2);
    expect(client.transportStats().http2).toMatchObject({ connections: 1, opened: 2, goaways: 1 });
  }, 60_000);

  it('finds a half-open connection by PING and resumes its watches at once, long before their idle timeout', async () => {
    let proxy: TcpProxy | undefined;
    const { server, client } = await setup(
      { initialObjects: services(5) },
      { http2Health: { readIdleTimeoutMs: 200, pingTimeoutMs: 300 } },
      async (fake) => {
        proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(fake.url).port) });
        cleanups.push(() => proxy?.close());
        return proxy;
      },
    );
    if (!proxy) throw new Error('no proxy');
    const { sets, health } = await watchServices(client, 5);
    await server.waitForWatches(5);
    // Idle but alive: PINGs are answered, nothing is closed.
    await waitUntil(() => (client.transportStats().http2?.pingsAnswered ?? 0) >= 3, 'three PINGs answered');
    expect(client.transportStats().http2).toMatchObject({ opened: 1, pingTimeouts: 0 });

    proxy.freeze();
    for (let i = 0; i < 5; i++) server.upsert(serviceSlice(`svc-${i}`, `10.8.0.${i + 1}`));
    // The watches' own idle timeout is 150 s: only the PING can find the dead connection in time.
    await Promise.all(
      sets.map((s, i) => s.waitFor((set) => addressesOf(set).join() === `10.8.0.${i + 1}`, 10_000)),
    );
    expect(client.transportStats().http2).toMatchObject({ opened: 2, pingTimeouts: 1 });
    expect(proxy.accepted).toBe(2);
    for (const h of health) {
      expect(h.values.some((v) => v.state === 'resuming')).toBe(true);
      expect(h.values.at(-1)?.state).toBe('synced');
    }
  }, 30_000);

  it('speaks HTTP/1.1 to a TLS server without h2, to plain http, and when http2 is off', async () => {
    const noH2 = await setup({ http2: false, initialObjects: services(2) });
    await watchServices(noH2.client, 2);
    expect(noH2.client.transportStats()).toEqual({ protocol: 'http/1.1' });
    expect(noH2.server.connectionStats().http2SessionsTotal).toBe(0);

    const plain = await setup({ tls: false });
    await plain.client.getJson('/version');
    expect(plain.client.transportStats()).toEqual({ protocol: 'http/1.1' });

    const off = await setup({ initialObjects: services(2) }, { http2: false });
    await watchServices(off.client, 2);
    expect(off.client.transportStats()).toEqual({ protocol: 'http/1.1' });
    expect(off.server.connectionStats()).toMatchObject({ http2SessionsTotal: 0, accepted: 2 + 1 });
  }, 30_000);

  it('resets only the stream of a watch that is dropped; the connection and the other watches go on', async () => {
    const { server, client } = await setup({ initialObjects: services(2) });
    const first = await client.stream(WATCH_PATH, {
      query: { watch: true, labelSelector: 'kubernetes.io/service-name=svc-0' },
    });
    const second = await client.stream(WATCH_PATH, {
      query: { watch: true, labelSelector: 'kubernetes.io/service-name=svc-1' },
    });
    await server.waitForWatches(2);
    const received: string[] = [];
    second.body.on('data', (chunk: Buffer) => received.push(chunk.toString()));
    first.destroy();
    await waitUntil(() => server.openWatches === 1, 'the dropped watch to close on the server');
    server.upsert(serviceSlice('svc-1', '10.2.0.1'));
    await waitUntil(() => received.join('').includes('10.2.0.1'), 'the other watch to get its event');
    expect(server.connectionStats()).toMatchObject({ accepted: 1, open: 1, http2Sessions: 1 });
    second.destroy();
  });

  it('keeps the silence bounds per stream: headers and body timeouts end that stream only', async () => {
    const { server, client } = await setup({ initialObjects: services(1) });
    await client.getJson('/version');
    server.faults.stallHeaders(1, { match: (r) => r.path.endsWith('endpointslices') });
    const headers = await rejection(client.getJson(WATCH_PATH, { headersTimeoutMs: 200 }));
    expect(headers).toBeInstanceOf(KubeTransportError);
    expect(headers.code).toBe('ERR_KUBE_IDLE');

    const watch = await client.stream(WATCH_PATH, { query: { watch: true }, bodyTimeoutMs: 300 });
    server.faults.stallWatches(true);
    const error = await new Promise<Error & { code?: string }>((resolve) => {
      watch.body.on('error', resolve);
      watch.body.resume();
    });
    expect(error.code).toBe('UND_ERR_BODY_TIMEOUT');
    server.faults.stallWatches(false);
    await client.getJson('/version');
    expect(server.connectionStats().accepted).toBe(1);
  });

  it('keeps the body limits: an error body is read up to 64 KiB, a LIST up to maxBodyBytes', async () => {
    const { server, client } = await setup({ initialObjects: services(50) });
    server.faults.failNext(1, 500, { bodyBytes: 20 * 1024 * 1024 });
    const error = await rejection(client.getJson(WATCH_PATH));
    expect(error).toBeInstanceOf(KubeApiError);
    await waitUntil(() => server.faults.paddedAnswers()[0]?.done === true, 'the padded answer to end');
    expect(server.faults.paddedAnswers()[0]?.written).toBeLessThan(4 * 1024 * 1024);
    const tooLarge = await rejection(client.getJson(WATCH_PATH, { maxBodyBytes: 1000 }));
    expect(tooLarge.code).toBe('ERR_KUBE_RESPONSE_TOO_LARGE');
    // Each ended its own stream: the connection is still the first one.
    await client.getJson('/version');
    expect(server.connectionStats().accepted).toBe(1);
  });

  it('bounds one-shot requests in flight by `connections` (streams under h2)', async () => {
    const { server, client } = await setup({ initialObjects: services(1) }, { connections: 2 });
    server.faults.stallHeaders(4, { match: (r) => r.path.endsWith('endpointslices') });
    const lists = Array.from({ length: 4 }, () => client.getJson(WATCH_PATH));
    await waitUntil(() => server.faults.held().length === 2, 'two held LISTs');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.faults.held()).toHaveLength(2);
    server.faults.releaseStalls();
    await waitUntil(() => server.faults.held().length === 2, 'the next two');
    server.faults.releaseStalls();
    await Promise.all(lists);
    expect(server.connectionStats().accepted).toBe(1);
  });

  it('streams a 2,000-endpoint LIST and watch-list over h2 (flow control)', async () => {
    const slices = Array.from({ length: 20 }, (_, s) =>
      endpointSlice({
        service: 'big',
        name: `big-${s}`,
        endpoints: Array.from({ length: 100 }, (_, e) => ({ addresses: [`10.50.${s}.${e + 1}`] })),
        managedFields: true,
      }),
    );
    const { client } = await setup({ initialObjects: slices });
    for (const initialList of ['list', 'streaming'] as const) {
      const set = await record(
        watchEndpoints(client, { service: 'big', namespace: 'default', watch: { initialList } }),
      ).waitFor((s) => s.endpoints.length === 2000, 15_000);
      expect(new Set(addressesOf(set)).size).toBe(2000);
    }
    expect(client.transportStats().protocol).toBe('h2');
  }, 30_000);
});

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
