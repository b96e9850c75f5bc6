import { afterEach, describe, expect, it } from 'vitest';
import { endpointSlice, type FakeApiServer, startFakeApiServer } from '../src/index.js';
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
