import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import {
  endpointSlice,
  type FakeApiServer,
  PADDING_ANNOTATION,
  startFakeApiServer,
  within,
} from '../src/index.js';
import { get, type Json, RawWatch, SLICES, sleep } from './helpers.js';

const slice = (name: string, ip = '10.0.0.1', annotations?: Record<string, string>) =>
  endpointSlice({
    service: 'web',
    name,
    endpoints: [{ addresses: [ip] }],
    ...(annotations ? { annotations } : {}),
  });

let server: FakeApiServer;
const watches: RawWatch[] = [];
async function start(options: Parameters<typeof startFakeApiServer>[0] = {}): Promise<FakeApiServer> {
  server = await startFakeApiServer({ token: false, ...options });
  return server;
}
async function watch(query: Record<string, string> = {}): Promise<RawWatch> {
  const w = await RawWatch.open(server, SLICES, query);
  watches.push(w);
  return w;
}
afterEach(async () => {
  for (const w of watches.splice(0)) w.close();
  await server.close();
});

describe('faults', () => {
  it('cutWatches destroys every watch socket without a terminating chunk', async () => {
    await start();
    server.upsert(slice('a'));
    const w1 = await watch();
    const w2 = await watch({ resourceVersion: server.resourceVersion });
    await w1.waitForEvents(1);
    await server.waitForWatches(2);
    server.faults.cutWatches();
    expect(server.openWatches).toBe(0);
    await w1.waitForClose();
    await w2.waitForClose();
    expect(w1.cleanEnd).toBe(false);
    expect(w2.cleanEnd).toBe(false);
    // The server keeps serving.
    expect((await get(server, SLICES)).status).toBe(200);
  });

  it('cutWatches({ midEvent: true }) writes half an event line first', async () => {
    await start();
    server.upsert(slice('a'));
    const w = await watch();
    await w.waitForEvents(1);
    server.faults.cutWatches({ midEvent: true });
    await w.waitForClose();
    expect(w.cleanEnd).toBe(false);
    expect(w.events).toHaveLength(1);
    const partial = w.partial.toString('utf8');
    expect(partial.length).toBeGreaterThan(10);
    expect(partial.startsWith('{"type":"MODIFIED","object":{')).toBe(true);
    expect(() => JSON.parse(partial)).toThrow();
  });

  it('cutWatches({ midEvent: true }) cuts the next queued event when one is pending (stalled)', async () => {
    await start();
    const w = await watch({ resourceVersion: server.resourceVersion });
    await server.waitForWatches(1);
    server.faults.stallWatches(true);
    server.upsert(slice('queued'));
    server.faults.cutWatches({ midEvent: true });
    await w.waitForClose();
    expect(w.events).toHaveLength(0);
    expect(w.partial.toString()).toMatch(/^\{"type":"ADDED","object":\{/);
    server.faults.clear();
  });

  it('splitWrites splits every write at random offsets, also inside multi-byte UTF-8 characters', async () => {
    await start();
    const w = await watch({ resourceVersion: server.resourceVersion });
    await server.waitForWatches(1);
    server.faults.splitWrites({ seed: 42, maxChunkBytes: 7 });
    const note = 'ünïcødé ✓ 🚀 '.repeat(8);
    server.batch(() => {
      for (let i = 0; i < 5; i++) server.upsert(slice(`s${i}`, `10.0.0.${i + 1}`, { note }));
    });
    await w.waitForEvents(5);
    expect(w.events.map((e: Json) => e.object.metadata.annotations.note)).toEqual(Array(5).fill(note));
    expect(w.chunks.length).toBeGreaterThan(50);
    expect(Math.max(...w.chunks.map((c) => c.length))).toBeLessThanOrEqual(7);
    const decoder = new TextDecoder('utf-8', { fatal: true });
    const brokenChars = w.chunks.filter((c) => {
      try {
        decoder.decode(c);
        return false;
      } catch {
        return true;
      }
    });
    expect(brokenChars.length).toBeGreaterThan(0);
    // Order is kept across writes while splitting.
    server.upsert(slice('after-1'));
    server.upsert(slice('after-2'));
    await w.waitForEvents(7);
    expect(w.events.slice(5).map((e: Json) => e.object.metadata.name)).toEqual(['after-1', 'after-2']);
    server.faults.splitWrites(false);
    const before = w.chunks.length;
    server.upsert(slice('whole'));
    await w.waitForEvents(8);
    expect(w.chunks.length).toBe(before + 1);
  });

  it('splitWrites is deterministic for a seed', async () => {
    await start();
    const sizes: number[][] = [];
    for (let run = 0; run < 2; run++) {
      server.delete('EndpointSlice', 'default', 'x');
      const w = await watch({ resourceVersion: server.resourceVersion });
      await server.waitForWatches(1);
      server.faults.splitWrites({ seed: 3, maxChunkBytes: 20 });
      server.upsert(slice('x'));
      await w.waitForEvents(1);
      sizes.push(w.chunks.map((c) => c.length));
      server.faults.splitWrites(false);
      w.close();
      await expect.poll(() => server.openWatches).toBe(0);
    }
    expect(sizes[0]).toEqual(sizes[1]);
  });

  it('failNext answers the next N matching requests with a Status, Retry-After and reason', async () => {
    await start();
    server.faults.failNext(2, 429, { retryAfterSeconds: 3 });
    for (let i = 0; i < 2; i++) {
      const res = await get(server, SLICES);
      expect(res.status).toBe(429);
      expect(res.headers['retry-after']).toBe('3');
      expect(res.json).toMatchObject({
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        reason: 'TooManyRequests',
        code: 429,
        details: { retryAfterSeconds: 3 },
      });
    }
    expect((await get(server, SLICES)).status).toBe(200);

    server.faults.failNext(1, 500, {
      reason: 'InternalError',
      message: 'etcdserver: leader changed',
      match: (r) => r.watch,
    });
    expect((await get(server, SLICES)).status).toBe(200); // not a watch: not matched
    const w = await watch();
    await w.waitForClose();
    expect(w.status).toBe(500);
    expect(w.json.message).toBe('etcdserver: leader changed');
    expect(server.requests.at(-1)?.status).toBe(500);

    server.faults.failNext(Number.POSITIVE_INFINITY, 503);
    for (let i = 0; i < 3; i++) expect((await get(server, SLICES)).json.reason).toBe('ServiceUnavailable');
    server.faults.clear();
    expect((await get(server, SLICES)).status).toBe(200);
  });

  it('failNext(403) words the denial as the RBAC authorizer does, for the verb, resource and scope asked', async () => {
    await start();
    const user = 'system:serviceaccount:team:reader';
    server.faults.failNext(3, 403, { user });
    const list = await get(server, SLICES);
    expect(list.status).toBe(403);
    expect(list.json).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `endpointslices.discovery.k8s.io is forbidden: User "${user}" cannot list resource "endpointslices" in API group "discovery.k8s.io" in the namespace "default"`,
      reason: 'Forbidden',
      details: { group: 'discovery.k8s.io', kind: 'endpointslices' },
      code: 403,
    });
    const one = await get(server, `${SLICES}/web`);
    expect(one.json.message).toBe(
      `endpointslices.discovery.k8s.io "web" is forbidden: User "${user}" cannot get resource "endpointslices" in API group "discovery.k8s.io" in the namespace "default"`,
    );
    expect(one.json.details).toEqual({ name: 'web', group: 'discovery.k8s.io', kind: 'endpointslices' });
    const w = await RawWatch.open(server, '/api/v1/endpoints', {});
    watches.push(w);
    await w.waitForClose();
    expect(w.json.message).toBe(
      `endpoints is forbidden: User "${user}" cannot watch resource "endpoints" in API group "" at the cluster scope`,
    );
    expect(w.json.details).toEqual({ kind: 'endpoints' });
  });

  it('stallWatches holds events and bookmarks (socket open) and flushes them as one burst', async () => {
    await start({ bookmarkIntervalMs: 20 });
    const w = await watch({ resourceVersion: server.resourceVersion, allowWatchBookmarks: 'true' });
    await w.until(() => w.events.length > 0, 'a first bookmark');
    server.faults.stallWatches(true);
    const rvBefore = Number(server.resourceVersion);
    const eventsBefore = w.events.length;
    server.upsert(slice('a'));
    server.upsert(slice('b'));
    await sleep(200); // a bounded wait for nothing to arrive
    // Only bookmarks written before the stall may still be in flight: their resourceVersion tells.
    for (const event of w.events.slice(eventsBefore)) {
      expect(event.type).toBe('BOOKMARK');
      expect(Number(event.object.metadata.resourceVersion)).toBeLessThanOrEqual(rvBefore);
    }
    expect(w.closed).toBe(false);
    expect(server.openWatches).toBe(1);
    server.faults.stallWatches(false);
    await w.until(() => w.events.some((e: Json) => e.object.metadata.name === 'b'), 'the queued events');
    const burst = w.chunks.find((chunk: Buffer) => chunk.toString().includes('"name":"a"'))?.toString() ?? '';
    expect(
      burst
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l).object.metadata.name),
    ).toEqual(['a', 'b']);
  });

  it('sendMalformedLine writes a garbage line to every open watch', async () => {
    await start();
    const w = await watch({ resourceVersion: server.resourceVersion });
    await server.waitForWatches(1);
    server.faults.sendMalformedLine();
    server.faults.sendMalformedLine('not json at all');
    server.upsert(slice('a'));
    await w.waitForEvents(3);
    expect(w.lines.slice(0, 2)).toEqual(['{"type":"ADDED","object":', 'not json at all']);
    expect(w.events[2].type).toBe('ADDED');
  });

  it('expireWatches sends an in-stream 410 Expired ERROR and ends every watch', async () => {
    await start();
    const w = await watch({ resourceVersion: server.resourceVersion });
    await server.waitForWatches(1);
    server.faults.expireWatches();
    await w.waitForClose();
    expect(w.cleanEnd).toBe(true);
    expect(w.events).toEqual([
      {
        type: 'ERROR',
        object: {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: 'The resourceVersion for the provided watch is too old.',
          reason: 'Expired',
          code: 410,
        },
      },
    ]);
  });
});

/** Whether a promise settled within a bounded wait (it must not, while a stall holds it). */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await sleep(ms);
  return settled;
}

describe('stalls, huge and oversized answers, restarts', () => {
  it('stallHeaders holds the next N matching requests without headers until released, socket open', async () => {
    await start();
    server.upsert(slice('a'));
    server.faults.stallHeaders(1, { match: (r) => !r.watch });
    const held = get(server, SLICES);
    expect(await settlesWithin(held, 300)).toBe(false);
    expect(server.requests.at(-1)?.status).toBe(0);
    // The count is used up: the next request is served at once; a watch did not match.
    expect((await get(server, SLICES)).status).toBe(200);
    const w = await watch({ resourceVersion: server.resourceVersion });
    server.faults.releaseStalls();
    const res = await held;
    expect(res.status).toBe(200);
    expect(res.json.items.map((i: Json) => i.metadata.name)).toEqual(['a']);
    expect(w.closed).toBe(false);
    expect(server.faults.held()).toEqual([]);
  });

  it('held() lists the requests a stall holds, with the stage and since when', async () => {
    await start();
    const before = Date.now();
    server.faults.stallHeaders(1, { match: (r) => r.path.endsWith('/x') });
    server.faults.stallListBodies(1);
    const header = get(server, `${SLICES}/x`);
    const body = get(server, SLICES);
    await expect.poll(() => server.faults.held().length).toBe(2);
    const held = server.faults.held();
    expect(held.map((h) => [h.stage, h.request.path])).toEqual(
      expect.arrayContaining([
        ['headers', `${SLICES}/x`],
        ['body', SLICES],
      ]),
    );
    for (const h of held) {
      expect(h.since).toBeGreaterThanOrEqual(before);
      expect(h.request.receivedAt).toBeGreaterThanOrEqual(before);
    }
    server.faults.releaseStalls();
    expect((await header).status).toBe(404);
    expect((await body).status).toBe(200);
    expect(server.faults.held()).toEqual([]);
  });

  it('stallHeaders holds a watch; once released it streams from its resourceVersion', async () => {
    await start();
    server.faults.stallHeaders(Number.POSITIVE_INFINITY, { match: (r) => r.watch });
    const rv = server.resourceVersion;
    const opening = watch({ resourceVersion: rv });
    server.upsert(slice('during-stall'));
    expect(await settlesWithin(opening, 300)).toBe(false);
    expect(server.openWatches).toBe(0);
    server.faults.clear();
    const w = await opening;
    await w.waitForEvents(1);
    expect(w.events[0].object.metadata.name).toBe('during-stall');
  });

  it('stallListBodies writes the headers and part of a LIST body, the rest only when released', async () => {
    await start();
    for (let i = 0; i < 20; i++) server.upsert(slice(`s${i}`, `10.0.1.${i}`));
    server.faults.stallListBodies(1, { bytes: 100 });
    const res = await request(`${server.url}${SLICES}`);
    expect(res.statusCode).toBe(200);
    const length = Number(res.headers['content-length']);
    const chunks: Buffer[] = [];
    res.body.on('data', (chunk: Buffer) => chunks.push(chunk));
    const body = new Promise<void>((resolve, reject) => {
      res.body.on('end', resolve);
      res.body.on('error', reject);
    });
    expect(await settlesWithin(body, 300)).toBe(false);
    expect(Buffer.concat(chunks).length).toBe(100);
    expect(length).toBeGreaterThan(1000);
    // Only LISTs count: a single object is served whole meanwhile.
    server.faults.stallListBodies(1);
    expect((await get(server, `${SLICES}/s1`)).status).toBe(200);
    server.faults.releaseStalls();
    await body;
    const list = JSON.parse(Buffer.concat(chunks).toString());
    expect(list.items).toHaveLength(20);
    // The second rule is still pending (a single GET did not use it): half of the next LIST, then the rest.
    const next = get(server, SLICES);
    expect(await settlesWithin(next, 200)).toBe(false);
    server.faults.clear();
    expect((await next).json.items).toHaveLength(20);
  });

  it('failNext with bodyBytes streams a Status of that size, with Retry-After', async () => {
    await start();
    const size = 20 * 1024 * 1024;
    server.faults.failNext(1, 429, { retryAfterSeconds: 2, bodyBytes: size });
    const res = await get(server, SLICES);
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toBe('2');
    expect(Number(res.headers['content-length'])).toBe(size);
    expect(Buffer.byteLength(res.text)).toBe(size);
    expect(res.json).toMatchObject({ kind: 'Status', code: 429, reason: 'TooManyRequests' });
    expect(res.json.message.startsWith('Too many requests, please try again later. xxx')).toBe(true);
    expect((await get(server, SLICES)).status).toBe(200);
    expect(server.faults.paddedAnswers()).toMatchObject([{ bodyBytes: size, written: size, done: true }]);
  });

  it('failNext with a 1 GiB body survives a client that hangs up after the first megabyte', async () => {
    await start();
    const size = 1024 ** 3;
    server.faults.failNext(1, 503, { bodyBytes: size });
    const controller = new AbortController();
    const res = await request(`${server.url}${SLICES}`, { signal: controller.signal });
    expect(res.statusCode).toBe(503);
    expect(Number(res.headers['content-length'])).toBe(size);
    let read = 0;
    await new Promise<void>((resolve) => {
      res.body.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read >= 1024 * 1024) {
          controller.abort();
          resolve();
        }
      });
      res.body.on('error', () => resolve());
    });
    expect(read).toBeLessThan(size);
    // Still serving; it stopped writing soon after the client went away (backpressure).
    expect((await get(server, SLICES)).status).toBe(200);
    await expect.poll(() => server.faults.paddedAnswers()[0]?.done).toBe(true);
    const [answer] = server.faults.paddedAnswers();
    expect(answer!.written).toBeGreaterThanOrEqual(read);
    expect(answer!.written).toBeLessThan(64 * 1024 * 1024);
    expect(answer!.request.status).toBe(503);
  });

  it('sendOversizedEvent writes one BOOKMARK line of at least the given size to every watch', async () => {
    await start();
    const w = await watch({ resourceVersion: server.resourceVersion, allowWatchBookmarks: 'true' });
    await server.waitForWatches(1);
    server.faults.sendOversizedEvent(2 * 1024 * 1024);
    server.upsert(slice('after'));
    await w.waitForEvents(2, 10_000);
    expect(w.lines[0]!.length).toBeGreaterThanOrEqual(2 * 1024 * 1024);
    expect(w.events[0].type).toBe('BOOKMARK');
    expect(w.events[0].object.metadata.resourceVersion).toBe(String(Number(server.resourceVersion) - 1));
    expect(w.events[0].object.metadata.annotations[PADDING_ANNOTATION]).toMatch(/^x+$/);
    expect(w.events[1].object.metadata.name).toBe('after');
  });

  it('restart ends every watch and held request and loses the history; the objects stay', async () => {
    await start();
    server.upsert(slice('a'));
    const rvBefore = server.resourceVersion;
    const w = await watch({ resourceVersion: rvBefore });
    await server.waitForWatches(1);
    server.faults.stallHeaders(1);
    const arrived = server.waitForRequest((r) => !r.watch);
    const held = get(server, SLICES);
    await arrived;
    await server.faults.restart();
    await w.waitForClose();
    expect(w.cleanEnd).toBe(false);
    await expect(held).rejects.toThrow();
    // A watch from before the restart: 200, then the in-stream 410.
    const old = await watch({ resourceVersion: rvBefore });
    await old.waitForClose();
    expect(old.events.map((e: Json) => e.object.code)).toEqual([410]);
    const list = await get(server, SLICES);
    expect(list.json.items.map((i: Json) => i.metadata.name)).toEqual(['a']);
    // From the new list's resourceVersion, watches work.
    const fresh = await watch({ resourceVersion: list.json.metadata.resourceVersion });
    server.upsert(slice('b'));
    await fresh.waitForEvents(1);
    expect(fresh.events[0].object.metadata.name).toBe('b');
  });

  it('restart({ downMs }) refuses connections meanwhile, then listens on the same port; clear() ends it early', async () => {
    await start();
    const port = server.port;
    const back = server.faults.restart({ downMs: 300 });
    await expect
      .poll(async () => (await get(server, SLICES).catch((e: Error) => e)) instanceof Error)
      .toBe(true);
    await expect(get(server, SLICES)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await back;
    expect(server.port).toBe(port);
    expect((await get(server, SLICES)).status).toBe(200);

    const long = server.faults.restart({ downMs: 600_000 });
    await expect(get(server, SLICES)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    server.faults.clear();
    await within(long, 5_000, 'the restart to end after clear()');
    expect((await get(server, SLICES)).status).toBe(200);
  });

  it('listWatches and onWatchChange tell which watches are open, from whom, and how far they got', async () => {
    await start({ bookmarkIntervalMs: 60_000 });
    const changes: Array<[string, number, boolean]> = [];
    const closers: Record<number, string | undefined> = {};
    const stop = server.onWatchChange((info, change) => {
      changes.push([change, info.id, info.startedExpired]);
      if (change === 'closed') closers[info.id] = info.closedBy;
    });
    server.upsert(slice('a'));
    const rv = server.resourceVersion;
    const before = Date.now();
    const w1 = await watch({ resourceVersion: rv, labelSelector: 'kubernetes.io/service-name=web' });
    const w2 = await RawWatch.open(
      server,
      SLICES,
      { resourceVersion: rv },
      { headers: { 'user-agent': 'b' } },
    );
    watches.push(w2);
    await server.waitForWatches(2);
    let [first, second] = server.listWatches();
    expect(first).toMatchObject({
      path: SLICES,
      query: { watch: 'true', resourceVersion: rv, labelSelector: 'kubernetes.io/service-name=web' },
      lastResourceVersion: undefined,
      stalled: false,
      pendingBytes: 0,
      ending: false,
      startedExpired: false,
      closedAt: undefined,
    });
    expect(first!.openedAt).toBeGreaterThanOrEqual(before);
    expect(second!.headers['user-agent']).toBe('b');
    expect(second!.id).toBeGreaterThan(first!.id);

    const written = server.upsert(slice('b')).metadata.resourceVersion;
    await w1.waitForEvents(1);
    [first] = server.listWatches();
    expect(first!.lastResourceVersion).toBe(written);
    expect(first!.lastWriteAt).toBeGreaterThanOrEqual(first!.openedAt);

    server.faults.stallWatches(true);
    server.upsert(slice('c'));
    [first] = server.listWatches();
    expect(first).toMatchObject({ stalled: true, lastResourceVersion: written });
    expect(first!.pendingBytes).toBeGreaterThan(0);
    expect(first!.pendingSince).toBeDefined();
    server.faults.clear();
    await w1.waitForEvents(2);
    [first] = server.listWatches();
    expect(first).toMatchObject({ stalled: false, pendingBytes: 0, pendingSince: undefined });

    server.compact();
    const expired = await watch({ resourceVersion: rv });
    await expired.waitForClose();
    server.faults.cutWatches();
    await expect.poll(() => server.listWatches()).toEqual([]);
    w2.close();
    stop();
    expect(changes.filter(([c]) => c === 'opened').map(([, , e]) => e)).toEqual([false, false, true]);
    expect(changes.filter(([c]) => c === 'closed')).toHaveLength(3);
    expect(closers).toEqual({ [first!.id]: 'cut', [second!.id]: 'cut', [first!.id + 2]: 'expired' });
  });

  it('a watch tells whether the client, the server (cleanly or by a cut) or a restart closed it', async () => {
    await start();
    const closers: string[] = [];
    server.onWatchChange((info, change) => {
      if (change === 'closed') closers.push(`${info.query.resourceVersion} ${info.closedBy}`);
    });
    const rv = server.resourceVersion;
    (await watch({ resourceVersion: rv, timeoutSeconds: '1' })).close();
    await expect.poll(() => closers).toEqual([`${rv} client`]);
    const ends = await watch({ resourceVersion: rv, timeoutSeconds: '1' });
    await ends.waitForClose();
    await watch({ resourceVersion: rv });
    await server.waitForWatches(1);
    server.faults.cutWatches({ midEvent: true });
    await expect.poll(() => closers.length).toBe(3);
    await watch({ resourceVersion: rv });
    await server.waitForWatches(1);
    server.faults.expireWatches();
    await expect.poll(() => closers.length).toBe(4);
    await watch({ resourceVersion: rv });
    await server.waitForWatches(1);
    await server.faults.restart();
    await expect
      .poll(() => closers)
      .toEqual([`${rv} client`, `${rv} end`, `${rv} cut`, `${rv} expired`, `${rv} restart`]);
  });

  it('clear() heals everything at once: failures, stalls of every kind, split writes', async () => {
    await start();
    server.upsert(slice('a'));
    const w = await watch({ resourceVersion: server.resourceVersion });
    await server.waitForWatches(1);
    server.faults.stallWatches(true);
    server.faults.splitWrites({ seed: 1, maxChunkBytes: 1, delayMs: 1000 });
    server.upsert(slice('b'));
    server.faults.stallHeaders(1, { match: (r) => r.path.endsWith('/a') });
    const header = get(server, `${SLICES}/a`);
    server.faults.stallListBodies(1);
    const body = get(server, SLICES);
    await server.waitForRequest(() => true, { since: 0, timeoutMs: 1000 });
    expect(await settlesWithin(Promise.race([header, body]), 200)).toBe(false);
    server.faults.failNext(Number.POSITIVE_INFINITY, 500);
    server.faults.clear();
    expect((await header).status).toBe(200);
    expect((await body).json.items).toHaveLength(2);
    expect((await get(server, SLICES)).status).toBe(200);
    await w.waitForEvents(1);
    expect(w.events[0].object.metadata.name).toBe('b');
  });
});
