import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { endpointSlice } from '@endpoint-watch/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { loadKubeConfig } from '../../src/config/index.js';
import type { EndpointSet } from '../../src/endpoints/types.js';
import {
  type WatchEndpointsOptions,
  watchEndpoints,
  watchEndpointsHealth,
} from '../../src/endpoints/watch-endpoints.js';
import { KubeApiError } from '../../src/transport/kube-api-error.js';
import { createKubeClient, type KubeClient } from '../../src/transport/kube-client.js';
import { WatchConnectionLostError, WatchIdleError } from '../../src/watch/errors.js';
import type { WatchHealth } from '../../src/watch/watch-health.js';
import { eventually, recorderPool, startCluster, type TestCluster } from '../support/cluster.js';

/**
 * Issue 9: a watch must never stay stale or stuck. Each test here failed against the engine before
 * its fix (named in the test), and passes after.
 */

const { record, unsubscribeAll } = recorderPool();
let cluster: TestCluster | undefined;
let stub: StubApiServer | undefined;
const clients: KubeClient[] = [];
afterEach(async () => {
  unsubscribeAll();
  for (const client of clients.splice(0)) await client.close();
  await cluster?.close();
  await stub?.close();
  cluster = undefined;
  stub = undefined;
});

const webSlice = (ips: string[], service = 'web') =>
  endpointSlice({ service, name: `${service}-a`, endpoints: ips.map((ip) => ({ addresses: [ip] })) });
const size = (n: number) => (set: EndpointSet) => set.endpoints.length === n;
const isState =
  (state: WatchHealth['state']) =>
  (h: WatchHealth): boolean =>
    h.state === state;

const options = (extra: Partial<WatchEndpointsOptions> = {}): WatchEndpointsOptions => ({
  service: 'web',
  namespace: 'default',
  ...extra,
});

describe('a healthy watch that is cut (item 1)', () => {
  it('is reopened at once from its resourceVersion, every time: resuming → synced, never a backoff', async () => {
    cluster = await startCluster({ initialObjects: [webSlice(['10.0.0.1'])] });
    const opts = options({ watch: { initialList: 'list' } }); // default backoff: 0.8 s → 30 s
    const sets = record(watchEndpoints(cluster.client, opts));
    const health = record(watchEndpointsHealth(cluster.client, opts));
    await health.waitFor(isState('synced'));
    const watchesBefore = cluster.server.requests.filter((r) => r.watch).length;
    for (let i = 2; i <= 5; i++) {
      // The watch delivers an event (it is healthy), then its connection is reset.
      cluster.server.upsert(webSlice(Array.from({ length: i }, (_, k) => `10.0.0.${k + 1}`)));
      await sets.waitFor(size(i));
      const synced = health.values.length;
      cluster.server.faults.cutWatches();
      await health.waitNext(isState('synced'), 8000, `synced again after cut ${i - 1}`);
      const since = health.values.slice(synced);
      expect(since.map((h) => h.state)).toEqual(['resuming', 'synced']);
      expect(since[0]).toMatchObject({ state: 'resuming', error: expect.any(WatchConnectionLostError) });
    }
    // One new watch per cut, each from the last resourceVersion: no relist.
    const watches = cluster.server.requests.filter((r) => r.watch).slice(watchesBefore);
    expect(watches).toHaveLength(4);
    expect(cluster.server.requests.filter((r) => !r.watch && r.path.endsWith('endpointslices'))).toHaveLength(
      1,
    );
    expect(health.values.some((h) => h.state === 'retrying')).toBe(false);
  });
});

describe('synced means a watch is open and current (items 5 and 7)', () => {
  it('does not say synced for a resumed watch before an in-stream 410 can arrive; relists at once after it', async () => {
    cluster = await startCluster({ initialObjects: [webSlice(['10.0.0.1'])] });
    const opts = options({ watch: { initialList: 'list' } });
    const sets = record(watchEndpoints(cluster.client, opts));
    const health = record(watchEndpointsHealth(cluster.client, opts));
    await health.waitFor(isState('synced'));
    cluster.server.upsert(webSlice(['10.0.0.1', '10.0.0.2']));
    await sets.waitFor(size(2));
    const before = health.values.length;
    // A cut and a compaction together: the reopened watch's resourceVersion is gone.
    cluster.server.faults.cutWatches();
    cluster.server.compact();
    cluster.server.upsert(webSlice(['10.0.0.1', '10.0.0.2', '10.0.0.3']));
    await sets.waitFor(size(3));
    await health.waitFor((h) => h.state === 'synced' && health.values.indexOf(h) >= before);
    const states = health.values.slice(before);
    expect(states.map((h) => h.state)).toEqual(['resuming', 'retrying', 'synced']);
    // The 410 relisted at once: no second backoff after the cut.
    expect(states[1]).toMatchObject({ retryInMs: 0, error: expect.any(KubeApiError) });
    expect((states[1] as { error: KubeApiError }).error.isExpired).toBe(true);
  });

  it('never lets a watch queue behind the connections bound: six Services on two connections all follow', async () => {
    const services = ['a', 'b', 'c', 'd', 'e', 'f'];
    cluster = await startCluster({
      watchList: false, // LIST + WATCH: each LIST is a one-shot request, each watch holds a connection
      initialObjects: services.map((s) => webSlice(['10.0.0.1'], s)),
    });
    const client = createKubeClient(cluster.config, { connections: 2 });
    clients.push(client);
    const streams = services.map((service) => {
      const opts = { service, namespace: 'default' };
      return {
        sets: record(watchEndpoints(client, opts)),
        health: record(watchEndpointsHealth(client, opts)),
      };
    });
    for (const { health } of streams) await health.waitFor(isState('synced'));
    // Synced means open: six watches, though the bound is two.
    expect(cluster.server.openWatches).toBe(6);
    for (const service of services) cluster.server.upsert(webSlice(['10.0.0.1', '10.0.0.2'], service));
    for (const { sets } of streams) await sets.waitFor(size(2), 8000, 'the change of every Service');
  });

  it('says a streaming-list fallback once, calmly: connecting with a notice, never retrying (item 8)', async () => {
    cluster = await startCluster({ watchList: false, initialObjects: [webSlice(['10.0.0.1'])] });
    const health = record(watchEndpointsHealth(cluster.client, options()));
    await health.waitFor(isState('synced'));
    expect(health.values.map((h) => h.state)).toEqual(['connecting', 'connecting', 'synced']);
    expect(health.values[1]).toMatchObject({ notice: expect.stringMatching(/streaming lists .*422.*LIST/) });
  });
});

/** A hand-rolled apiserver for faults the fake one does not make: each test says what each request gets. */
interface StubApiServer {
  readonly url: string;
  readonly requests: { list: number; watch: number };
  /** Set by the test: how to answer. */
  list: (req: IncomingMessage, res: ServerResponse) => void;
  watch: (req: IncomingMessage, res: ServerResponse) => void;
  close(): Promise<void>;
}

async function startStub(): Promise<StubApiServer> {
  const requests = { list: 0, watch: 0 };
  const sockets = new Set<import('node:net').Socket>();
  const stubServer: StubApiServer = {
    url: '',
    requests,
    list: (_req, res) => sendList(res, []),
    watch: (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders(); // an open, quiet watch
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
  const server: Server = createServer((req, res) => {
    const watch = /[?&]watch=(true|1)/.test(req.url ?? '');
    requests[watch ? 'watch' : 'list']++;
    (watch ? stubServer.watch : stubServer.list)(req, res);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return Object.assign(stubServer, { url: `http://127.0.0.1:${port}` });
}

function sendList(res: ServerResponse, ips: string[], resourceVersion = '5'): void {
  const items =
    ips.length > 0 ? [{ ...webSlice(ips), metadata: { ...webSlice(ips).metadata, resourceVersion } }] : [];
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ kind: 'EndpointSliceList', metadata: { resourceVersion }, items }));
}

function stubClient(server: StubApiServer): KubeClient {
  const client = createKubeClient(loadKubeConfig({ server: server.url, token: 't' }));
  clients.push(client);
  return client;
}

const errorCode = (h: WatchHealth) =>
  h.state === 'retrying' ? (h.error as { code?: string }).code : undefined;

describe('every request has a bound on silence (item 2)', () => {
  it('abandons a LIST whose body stalls, says so in health, and recovers', async () => {
    stub = await startStub();
    let stalls = 1;
    stub.list = (_req, res) => {
      if (stalls-- > 0) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"kind":"EndpointSliceList","metadata":{"resourceVersion":"5"},"items":['); // then nothing
        return;
      }
      sendList(res, ['10.0.0.1']);
    };
    const client = stubClient(stub);
    const opts = options({ watch: { initialList: 'list', silenceTimeoutMs: 300 } });
    const sets = record(watchEndpoints(client, opts));
    const health = record(watchEndpointsHealth(client, opts));
    const stalled = await health.waitFor(
      (h) => errorCode(h) === 'ERR_KUBE_IDLE',
      8000,
      'the stall in health',
    );
    expect((stalled as { error: Error }).error.message).toMatch(/response body stayed silent/);
    await sets.waitFor(size(1));
    await health.waitFor(isState('synced'));
    expect(stub.requests.list).toBe(2);
  });

  it('applies nothing of a LIST body cut short after whole items, and relists', async () => {
    stub = await startStub();
    // A body whose first slice is complete (and parsed as it arrives), ended cleanly then cut.
    const head = `{"kind":"EndpointSliceList","metadata":{"resourceVersion":"5"},"items":[${JSON.stringify(webSlice(['10.0.0.1']))},{"metadata":`;
    const endings = ['end', 'destroy'];
    stub.list = (_req, res) => {
      const ending = endings.shift();
      if (ending === undefined) return sendList(res, ['10.0.0.2', '10.0.0.3']);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(head);
      if (ending === 'end') res.end();
      else setImmediate(() => res.destroy());
    };
    const client = stubClient(stub);
    const opts = options({ watch: { initialList: 'list', backoff: { initialMs: 10, maxMs: 20 } } });
    const sets = record(watchEndpoints(client, opts));
    const health = record(watchEndpointsHealth(client, opts));
    await sets.waitFor(size(2));
    // The first slice of the cut bodies was never applied: the only set is the relist's.
    expect(sets.values.map((set) => set.endpoints.map((e) => e.address).sort())).toEqual([
      ['10.0.0.2', '10.0.0.3'],
    ]);
    const errors = health.values.map(errorCode).filter((code) => code !== undefined);
    expect(errors).toEqual(['ERR_KUBE_TRANSPORT', 'ERR_KUBE_TRANSPORT']);
    expect(stub.requests.list).toBe(3);
  });

  it('abandons a LIST whose headers never come', async () => {
    stub = await startStub();
    let stalls = 1;
    stub.list = (_req, res) => {
      if (stalls-- > 0) return; // no headers, the socket stays open
      sendList(res, ['10.0.0.1']);
    };
    const client = stubClient(stub);
    const opts = options({ watch: { initialList: 'list', silenceTimeoutMs: 300 } });
    const sets = record(watchEndpoints(client, opts));
    const health = record(watchEndpointsHealth(client, opts));
    await health.waitFor((h) => errorCode(h) === 'ERR_KUBE_IDLE', 8000, 'the stall in health');
    await sets.waitFor(size(1));
  });
});

describe('bodies other than watch lines are bounded (item 3)', () => {
  it('reads an error body only up to a small cap, then drops the connection instead of draining it', async () => {
    stub = await startStub();
    const total = 64 * 1024 * 1024;
    let written = 0;
    let closed: Promise<unknown> | undefined;
    let served = false;
    stub.list = (_req, res) => {
      if (served) return sendList(res, ['10.0.0.1']);
      served = true;
      res.writeHead(500, { 'content-type': 'text/plain' });
      const chunk = Buffer.alloc(1024 * 1024, 'x');
      chunk.write('upstream exploded: ');
      closed = once(res, 'close');
      const pump = () => {
        while (written < total && !res.destroyed) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        if (!res.destroyed) res.end();
      };
      pump();
    };
    const client = stubClient(stub);
    const opts = options({ watch: { initialList: 'list', backoff: { initialMs: 10 } } });
    const health = record(watchEndpointsHealth(client, opts));
    const failed = await health.waitFor((h) => h.state === 'retrying', 8000, 'the 500 in health');
    const error = (failed as { error: KubeApiError }).error;
    expect(error).toBeInstanceOf(KubeApiError);
    expect(error.statusCode).toBe(500);
    expect(error.message).toMatch(/upstream exploded/);
    expect(error.status.message).toMatch(/… \(a body over 65536 bytes, not read further\)$/);
    await closed;
    // The client stopped reading after 64 KiB: what was written is what fits in socket buffers.
    expect(written).toBeLessThan(16 * 1024 * 1024);
    await health.waitFor(isState('synced'));
  });

  it('fails a LIST page over maxListBytes with a typed error in health', async () => {
    stub = await startStub();
    stub.list = (_req, res) =>
      sendList(
        res,
        Array.from({ length: 1000 }, (_, i) => `10.0.${i >> 8}.${i & 255}`),
      );
    const client = stubClient(stub);
    const opts = options({ watch: { initialList: 'list', maxListBytes: 16 * 1024 } });
    const health = record(watchEndpointsHealth(client, opts));
    const failed = await health.waitFor((h) => h.state === 'retrying', 8000, 'the size error in health');
    expect(errorCode(failed)).toBe('ERR_KUBE_RESPONSE_TOO_LARGE');
    expect((failed as { error: Error }).error.message).toMatch(/exceeded 16384 bytes/);
  });
});

describe('liveness counts events, not bytes (item 4)', () => {
  for (const [what, drip] of [
    ['a line that never ends, one byte at a time', (i: number) => '{"type":"BOOKMARK"'.charAt(i % 18) || ' '],
    ['bare newlines', () => '\n'],
  ] as const) {
    it(`restarts a watch that sends ${what}`, async () => {
      stub = await startStub();
      stub.list = (_req, res) => sendList(res, ['10.0.0.1']);
      const timers: NodeJS.Timeout[] = [];
      stub.watch = (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        let i = 0;
        const timer = setInterval(() => res.write(drip(i++)), 30);
        timers.push(timer);
        res.on('close', () => clearInterval(timer));
      };
      const client = stubClient(stub);
      const opts = options({ watch: { initialList: 'list', idleTimeoutMs: 400 } });
      const health = record(watchEndpointsHealth(client, opts));
      const idle = await health.waitFor(
        (h) => (h.state === 'retrying' || h.state === 'resuming') && h.error instanceof WatchIdleError,
        8000,
        'the idle watch restarted',
      );
      expect(idle).toBeDefined();
      await eventually(() => stub!.requests.watch >= 2, 8000, 'a new watch');
      for (const timer of timers) clearInterval(timer);
    });
  }
});
