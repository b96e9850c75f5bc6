import { afterEach, describe, expect, it } from 'vitest';
import {
  endpointSlice,
  type FakeApiServer,
  type FakeApiServerOptions,
  startFakeApiServer,
} from '../src/index.js';
import { get, type Json, RawWatch, SLICES, sleep } from './helpers.js';

const slice = (name: string, labels: Record<string, string> = {}, ip = '10.0.0.1') =>
  endpointSlice({ service: 'web', name, labels, endpoints: [{ addresses: [ip] }] });

let server: FakeApiServer;
const watches: RawWatch[] = [];
async function start(options: FakeApiServerOptions = {}): Promise<FakeApiServer> {
  server = await startFakeApiServer({ token: false, ...options });
  return server;
}
async function watch(query: Record<string, string> = {}, path = SLICES): Promise<RawWatch> {
  const w = await RawWatch.open(server, path, query);
  watches.push(w);
  return w;
}
afterEach(async () => {
  for (const w of watches.splice(0)) w.close();
  await server.close();
});

const summary = (events: Json[]) =>
  events.map((e) =>
    `${e.type} ${e.object.metadata?.name ?? ''}@${e.object.metadata?.resourceVersion}`.trim(),
  );

describe('WATCH', () => {
  it('without resourceVersion (or "0") sends synthetic ADDED for current objects, then live events', async () => {
    await start();
    const a = server.upsert(slice('a'));
    const b = server.upsert(slice('b'));
    for (const query of [{}, { resourceVersion: '0' }] as Record<string, string>[]) {
      const w = await watch(query);
      expect(w.status).toBe(200);
      expect(w.headers['content-type']).toBe('application/json');
      expect(w.headers['transfer-encoding']).toBe('chunked');
      const events = await w.waitForEvents(2);
      expect(summary(events)).toEqual([
        `ADDED a@${a.metadata.resourceVersion}`,
        `ADDED b@${b.metadata.resourceVersion}`,
      ]);
      expect(events[0].object.kind).toBe('EndpointSlice');
    }
    await server.waitForWatches(2);
    const a2 = server.upsert(slice('a', {}, '10.0.0.2'));
    server.delete('EndpointSlice', 'default', 'b');
    for (const w of watches) {
      const events = await w.waitForEvents(4);
      expect(summary(events.slice(2))).toEqual([
        `MODIFIED a@${a2.metadata.resourceVersion}`,
        `DELETED b@${server.resourceVersion}`,
      ]);
      expect(events[2].object.metadata.uid).toBe(a.metadata.uid);
      expect(events[3].object.endpoints[0].addresses).toEqual(['10.0.0.1']); // last state
    }
  });

  it('replays history after an exact resourceVersion, with selector transitions', async () => {
    await start();
    server.upsert(slice('a', { tier: 'front' }));
    const from = server.resourceVersion;
    server.upsert(slice('b', { tier: 'front' }));
    server.upsert(slice('a', { tier: 'back' })); // leaves the selection
    server.upsert(slice('c', { tier: 'back' }));
    server.upsert(slice('c', { tier: 'front' })); // enters it
    const all = await watch({ resourceVersion: from });
    expect(summary(await all.waitForEvents(4)).map((s) => s.split('@')[0])).toEqual([
      'ADDED b',
      'MODIFIED a',
      'ADDED c',
      'MODIFIED c',
    ]);
    const front = await watch({ resourceVersion: from, labelSelector: 'tier=front' });
    const events = await front.waitForEvents(3);
    expect(summary(events).map((s) => s.split('@')[0])).toEqual(['ADDED b', 'DELETED a', 'ADDED c']);
    // DELETED for an object leaving the selection carries its previous state at the new resourceVersion.
    expect(events[1].object.metadata.labels.tier).toBe('front');
    expect(Number(events[1].object.metadata.resourceVersion)).toBeGreaterThan(Number(from));
    // An RV equal to the current one replays nothing; live events follow.
    const now = await watch({ resourceVersion: server.resourceVersion });
    server.upsert(slice('d'));
    expect(summary(await now.waitForEvents(1))[0]).toMatch(/^ADDED d@/);
  });

  it('filters live events by namespace, labelSelector and fieldSelector (and by name on a named path)', async () => {
    await start();
    const w = await watch({ labelSelector: 'tier=front', fieldSelector: 'metadata.name!=skip' });
    const named = await watch({}, `${SLICES}/x`);
    server.upsert({
      ...slice('other-ns', { tier: 'front' }),
      metadata: { name: 'o', namespace: 'other', labels: { tier: 'front' } },
    });
    server.upsert(slice('skip', { tier: 'front' }));
    server.upsert(slice('back', { tier: 'back' }));
    server.upsert(slice('x', { tier: 'front' }));
    expect(summary(await w.waitForEvents(1)).map((s) => s.split('@')[0])).toEqual(['ADDED x']);
    expect(summary(await named.waitForEvents(1)).map((s) => s.split('@')[0])).toEqual(['ADDED x']);
    server.upsert(slice('x', { tier: 'back' }));
    await w.until(() => w.events.length === 2, 'DELETED x');
    expect(w.events[1].type).toBe('DELETED');
  });

  it('accepts a resourceVersion ahead of the server (200) and sends only the changes past it', async () => {
    await start({ bookmarkIntervalMs: 20 });
    const ahead = Number(server.resourceVersion) + 2;
    const w = await watch({ resourceVersion: String(ahead), allowWatchBookmarks: 'true' });
    expect(w.status).toBe(200);
    await server.waitForWatches(1);
    server.upsert(slice('a'));
    server.upsert(slice('b'));
    await sleep(100);
    expect(w.events).toEqual([]);
    server.upsert(slice('c'));
    await w.until(() => w.events.some((e) => e.type === 'ADDED'), 'the ADDED past the resourceVersion');
    expect(summary(w.events.filter((e) => e.type === 'ADDED'))).toEqual([`ADDED c@${ahead + 1}`]);
  });

  it('after compact(), a watch from an older resourceVersion gets 200 + in-stream 410 Expired, then ends', async () => {
    await start();
    server.upsert(slice('a'));
    const old = server.resourceVersion;
    server.upsert(slice('b'));
    server.compact();
    const w = await watch({ resourceVersion: old });
    expect(w.status).toBe(200);
    await w.waitForClose();
    expect(w.cleanEnd).toBe(true);
    expect(w.events).toHaveLength(1);
    expect(w.events[0]).toMatchObject({
      type: 'ERROR',
      object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Expired', code: 410 },
    });
    expect(w.events[0].object.message).toContain('too old resource version');
    // The current RV is fine.
    const fresh = await watch({ resourceVersion: server.resourceVersion });
    server.upsert(slice('c'));
    expect((await fresh.waitForEvents(1))[0].type).toBe('ADDED');
  });

  it('sends BOOKMARKs every bookmarkIntervalMs only to watches that allow them', async () => {
    await start({ bookmarkIntervalMs: 30 });
    server.upsert(slice('a'));
    const plain = await watch({ resourceVersion: server.resourceVersion });
    const w = await watch({ resourceVersion: server.resourceVersion, allowWatchBookmarks: 'true' });
    const events = await w.waitForEvents(2);
    for (const e of events) {
      expect(e).toEqual({
        type: 'BOOKMARK',
        object: {
          kind: 'EndpointSlice',
          apiVersion: 'discovery.k8s.io/v1',
          metadata: { resourceVersion: server.resourceVersion },
          // The fields of an empty EndpointSlice, as the apiserver serializes its bookmarks.
          addressType: '',
          endpoints: null,
          ports: null,
        },
      });
    }
    server.upsert(slice('b'));
    await plain.waitForEvents(1);
    await w.until(() => w.events.some((e) => e.type === 'ADDED'), 'the ADDED event');
    expect(plain.events.map((e) => e.type)).toEqual(['ADDED']);
    await w.until(() => w.events.at(-1)?.type === 'BOOKMARK', 'a bookmark after the ADDED');
    expect(w.events.at(-1).object.metadata.resourceVersion).toBe(server.resourceVersion);
  });

  it('ends the response cleanly at timeoutSeconds (with a last bookmark when allowed)', async () => {
    await start();
    const w = await watch({
      timeoutSeconds: '1',
      allowWatchBookmarks: 'true',
      resourceVersion: server.resourceVersion,
    });
    await server.waitForWatches(1);
    await w.waitForClose(5000);
    expect(w.cleanEnd).toBe(true);
    expect(w.events.map((e) => e.type)).toEqual(['BOOKMARK']);
    expect(server.openWatches).toBe(0);
  });

  it('streams a watch-list: ADDED for current objects, the initial-events-end BOOKMARK, then live', async () => {
    await start();
    server.upsert(slice('a'));
    server.upsert(slice('b', { tier: 'x' }));
    const rv = server.resourceVersion;
    const w = await watch({
      sendInitialEvents: 'true',
      allowWatchBookmarks: 'true',
      resourceVersionMatch: 'NotOlderThan',
      resourceVersion: '',
    });
    const events = await w.waitForEvents(3);
    expect(events.map((e) => e.type)).toEqual(['ADDED', 'ADDED', 'BOOKMARK']);
    expect(events[2].object).toEqual({
      kind: 'EndpointSlice',
      apiVersion: 'discovery.k8s.io/v1',
      metadata: { resourceVersion: rv, annotations: { 'k8s.io/initial-events-end': 'true' } },
      addressType: '',
      endpoints: null,
      ports: null,
    });
    server.upsert(slice('c'));
    expect((await w.waitForEvents(4))[3]).toMatchObject({
      type: 'ADDED',
      object: { metadata: { name: 'c' } },
    });
  });

  it('streams a watch-list without bookmarks allowed: the initial ADDED without an end bookmark', async () => {
    await start();
    server.upsert(slice('a'));
    const w = await watch({ sendInitialEvents: 'true', resourceVersionMatch: 'NotOlderThan' });
    expect(w.status).toBe(200);
    await w.waitForEvents(1);
    server.upsert(slice('b'));
    expect(summary(await w.waitForEvents(2)).map((s) => s.split('@')[0])).toEqual(['ADDED a', 'ADDED b']);
  });

  it('ends the synthetic ADDED of a legacy watch (rv unset or 0) with the initial-events-end bookmark when allowed', async () => {
    await start();
    server.upsert(slice('a'));
    const rv = server.resourceVersion;
    for (const query of [
      { allowWatchBookmarks: 'true' },
      { allowWatchBookmarks: 'true', resourceVersion: '0' },
    ] as Record<string, string>[]) {
      const w = await watch(query);
      const events = await w.waitForEvents(2);
      expect(events[0]).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'a' } } });
      expect(events[1]).toMatchObject({
        type: 'BOOKMARK',
        object: { metadata: { resourceVersion: rv, annotations: { 'k8s.io/initial-events-end': 'true' } } },
      });
    }
  });

  it('rejects a watch with a continue token (422, blaming resourceVersionMatch as kube-apiserver does)', async () => {
    await start();
    const w = await watch({ continue: 'abc' });
    await w.waitForClose();
    expect(w.status).toBe(422);
    expect(w.json.message).toBe(
      'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden when continue is provided',
    );
  });

  it('rejects invalid watch-list requests with 422 Invalid', async () => {
    await start();
    const noMatch = await watch({ sendInitialEvents: 'true', allowWatchBookmarks: 'true' });
    await noMatch.waitForClose();
    expect(noMatch.status).toBe(422);
    expect(noMatch.json.message).toContain(
      'sendInitialEvents requires setting resourceVersionMatch to NotOlderThan',
    );
    const matchOnly = await watch({ resourceVersionMatch: 'NotOlderThan', resourceVersion: '5' });
    await matchOnly.waitForClose();
    expect(matchOnly.status).toBe(422);
  });

  it('sendInitialEvents=false starts from now (or replays from an RV); garbage resourceVersion is 400', async () => {
    await start();
    server.upsert(slice('a'));
    const rv = server.resourceVersion;
    server.upsert(slice('b'));
    const base = {
      sendInitialEvents: 'false',
      resourceVersionMatch: 'NotOlderThan',
      allowWatchBookmarks: 'true',
    };
    const fromNow = await watch({ ...base, resourceVersion: '' });
    const fromRv = await watch({ ...base, resourceVersion: rv });
    await fromRv.waitForEvents(1);
    expect(fromRv.events[0].object.metadata.name).toBe('b');
    server.upsert(slice('c'));
    expect((await fromNow.waitForEvents(1))[0].object.metadata.name).toBe('c');
    // The watch path answers a malformed resourceVersion with a bare 500 (no reason), the list 400.
    const bad = await watch({ resourceVersion: 'abc' });
    await bad.waitForClose();
    expect(bad.status).toBe(500);
    expect(bad.json).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'resourceVersion: Invalid value: "abc": strconv.ParseUint: parsing "abc": invalid syntax',
      code: 500,
    });
  });

  it('with watchList: false rejects sendInitialEvents like a server whose WatchList gate is off', async () => {
    await start({ watchList: false });
    const w = await watch({
      sendInitialEvents: 'true',
      allowWatchBookmarks: 'true',
      resourceVersionMatch: 'NotOlderThan',
    });
    await w.waitForClose();
    expect(w.status).toBe(422);
    expect(w.json).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'ListOptions.meta.k8s.io "" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled',
      reason: 'Invalid',
      details: {
        group: 'meta.k8s.io',
        kind: 'ListOptions',
        causes: [
          {
            reason: 'FieldValueForbidden',
            message:
              'Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled',
            field: 'sendInitialEvents',
          },
        ],
      },
      code: 422,
    });
    // Plain watches still work.
    const plain = await watch();
    expect(plain.status).toBe(200);
  });

  it('writes the changes of one batch() to each watch in one HTTP chunk, single changes one per chunk', async () => {
    await start();
    const w = await watch({ resourceVersion: server.resourceVersion });
    await server.waitForWatches(1);
    server.batch(() => {
      for (const n of ['a', 'b', 'c']) server.upsert(slice(n));
      server.delete('EndpointSlice', 'default', 'b');
    });
    await w.waitForEvents(4);
    expect(w.chunks).toHaveLength(1);
    expect(w.chunks[0]?.toString().split('\n')).toHaveLength(5);
    server.upsert(slice('d'));
    server.upsert(slice('e'));
    await w.waitForEvents(6);
    expect(w.chunks).toHaveLength(3);
    expect(summary(w.events).map((s) => s.split('@')[0])).toEqual([
      'ADDED a',
      'ADDED b',
      'ADDED c',
      'DELETED b',
      'ADDED d',
      'ADDED e',
    ]);
  });

  it('supports the deprecated /watch/ path prefix and all-namespaces watches of Endpoints', async () => {
    await start();
    const w = await RawWatch.open(server, '/api/v1/watch/namespaces/default/endpoints', {});
    watches.push(w);
    const all = await watch({}, '/api/v1/endpoints');
    expect(all.headers.warning).toContain('v1 Endpoints is deprecated');
    server.upsert({ apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'web' }, subsets: [] });
    expect((await w.waitForEvents(1))[0].object.kind).toBe('Endpoints');
    expect((await all.waitForEvents(1))[0].type).toBe('ADDED');
    expect(server.requests.filter((r) => r.watch)).toHaveLength(2);
  });

  it('counts open watches, closes them on close() and clears their timers', async () => {
    await start({ bookmarkIntervalMs: 10 });
    const w1 = await watch({ allowWatchBookmarks: 'true' });
    await watch({ timeoutSeconds: '600' });
    await server.waitForWatches(2);
    expect(server.openWatches).toBe(2);
    w1.close();
    await expect.poll(() => server.openWatches).toBe(1);
    await expect(server.waitForWatches(5, 50)).rejects.toThrow(/timed out/);
    await server.close();
    expect(server.openWatches).toBe(0);
    const list = await get(server, SLICES).catch((e: Error) => e);
    expect(list).toBeInstanceOf(Error);
  });
});
