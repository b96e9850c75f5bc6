/**
 * The fake apiserver against the real one: the same raw HTTP requests (undici, bearer token, the
 * server's CA) go to kube-apiserver v1.37.2 and to `startFakeApiServer`, both holding the same
 * EndpointSlices and Endpoints, and the answers must agree once what legitimately differs is
 * normalized away (resourceVersion numbers, uids, timestamps, managedFields, continue-token bytes,
 * audit ids). Where the SDK does not depend on a message and the real text comes from Go internals
 * (the label-selector parser, strconv), only the code, reason and Status shape are compared; the
 * differences kept on purpose are asserted as such at the end.
 */
import { type FakeApiServer, startFakeApiServer } from '@endpoint-watch/testing';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readResponse } from '../../packages/testing/test/helpers.js';
import { useControlPlane } from './helpers.js';

const plane = useControlPlane();
const NS = 'diff';
const SLICES = `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`;
const ENDPOINTS = `/api/v1/namespaces/${NS}/endpoints`;
const MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
const FAKE_TOKEN = 'fake-token';
const READER = `system:serviceaccount:${NS}:reader`;

// biome-ignore lint/suspicious/noExplicitAny: raw JSON answers
type Json = any;

/** One of the two servers, as a client sees it. */
interface Target {
  readonly name: 'real' | 'fake';
  readonly url: string;
  readonly token: string;
  readonly agent: Agent;
  /** Token of a principal allowed only `get` on endpointslices (real: a ServiceAccount). */
  readerToken: string;
}

let fake: FakeApiServer;
let real: Target;
let fakeTarget: Target;

function slice(name: string, ip: string): Json {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name,
      namespace: NS,
      // Another manager than the controller's: the EndpointSlice controller leaves these alone.
      labels: { 'kubernetes.io/service-name': 'web', [MANAGED_BY]: 'differential.endpoint-watch.test' },
    },
    addressType: 'IPv4',
    endpoints: [{ addresses: [ip], conditions: { ready: true } }],
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  };
}

const ENDPOINTS_OBJECT: Json = {
  apiVersion: 'v1',
  kind: 'Endpoints',
  metadata: { name: 'legacy', namespace: NS },
  subsets: [{ addresses: [{ ip: '198.19.1.1' }], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] }],
};

// ---- writes, applied to both servers ----

async function createBoth(obj: Json): Promise<void> {
  const path = obj.kind === 'Endpoints' ? ENDPOINTS : SLICES;
  await plane().admin.create(path, obj);
  fake.upsert(obj);
}

async function replaceBoth(obj: Json): Promise<void> {
  const path = `${obj.kind === 'Endpoints' ? ENDPOINTS : SLICES}/${obj.metadata.name}`;
  const current = await plane().admin.get(path);
  await plane().admin.request('PUT', path, {
    ...obj,
    metadata: { ...obj.metadata, resourceVersion: current.metadata.resourceVersion },
  });
  fake.upsert(obj);
}

async function deleteBoth(kind: 'EndpointSlice' | 'Endpoints', name: string): Promise<void> {
  await plane().admin.delete(`${kind === 'Endpoints' ? ENDPOINTS : SLICES}/${name}`);
  fake.delete(kind, NS, name);
}

// ---- raw requests ----

interface Answer {
  status: number;
  contentType: string | undefined;
  headers: Record<string, string>;
  text: string;
  json: Json;
}

function url(target: Target, path: string, query: Record<string, string>): string {
  const qs = new URLSearchParams(query).toString();
  return `${target.url}${path}${qs === '' ? '' : `?${qs}`}`;
}

function authorization(target: Target, token: string | null | undefined): Record<string, string> {
  const value = token === undefined ? target.token : token;
  return value === null ? {} : { authorization: `Bearer ${value}` };
}

async function send(
  target: Target,
  path: string,
  query: Record<string, string> = {},
  token?: string | null,
): Promise<Answer> {
  const res = await request(url(target, path, query), {
    headers: { ...authorization(target, token), accept: 'application/json', 'user-agent': 'fake-vs-real' },
    dispatcher: target.agent,
    headersTimeout: 20_000,
    bodyTimeout: 20_000,
  });
  const answer = await readResponse(res);
  return { ...answer, contentType: answer.headers['content-type'] };
}

interface WatchAnswer {
  status: number;
  contentType: string | undefined;
  /** The Status of a refused watch. */
  json: Json;
  events: Json[];
  /** The server ended the response (rather than our deadline). */
  ended: boolean;
  elapsedMs: number;
}

/** Reads a watch until `done(events)` holds, the server ends it, or `maxMs` pass. */
async function watch(
  target: Target,
  path: string,
  query: Record<string, string>,
  options: { done?: (events: Json[]) => boolean; maxMs?: number; token?: string | null } = {},
): Promise<WatchAnswer> {
  const started = Date.now();
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.maxMs ?? 3_000);
  const events: Json[] = [];
  let status = 0;
  let contentType: string | undefined;
  let json: Json;
  let ended = false;
  try {
    const res = await request(url(target, path, { watch: 'true', ...query }), {
      headers: { ...authorization(target, options.token), 'user-agent': 'fake-vs-real' },
      dispatcher: target.agent,
      signal: controller.signal,
      bodyTimeout: 0,
    });
    status = res.statusCode;
    contentType = res.headers['content-type'] as string | undefined;
    if (status !== 200) {
      json = JSON.parse(await res.body.text());
      return { status, contentType, json, events, ended: true, elapsedMs: Date.now() - started };
    }
    let buffer = '';
    try {
      for await (const chunk of res.body) {
        buffer += chunk.toString();
        let nl = buffer.indexOf('\n');
        while (nl >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          if (line.trim() !== '') events.push(JSON.parse(line));
          nl = buffer.indexOf('\n');
        }
        if (options.done?.(events)) break;
      }
      if (buffer.trim() !== '') events.push(JSON.parse(buffer));
      ended = !controller.signal.aborted && !options.done?.(events);
    } catch (error) {
      if (!controller.signal.aborted) throw error;
    }
    if (!res.body.destroyed) res.body.destroy();
  } finally {
    clearTimeout(timer);
  }
  return { status, contentType, json, events, ended, elapsedMs: Date.now() - started };
}

// ---- normalization ----

/** An object without what each server assigns itself. */
function normalizeObject(obj: Json): Json {
  if (obj === null || typeof obj !== 'object') return obj;
  const {
    resourceVersion: _rv,
    uid: _uid,
    creationTimestamp: _ts,
    managedFields: _mf,
    generation: _gen,
    ...metadata
  } = obj.metadata ?? {};
  return { ...obj, metadata };
}

/** Replaces numbers of 2+ digits (resourceVersions) in a message. */
const numbersOut = (message: string) => message.replace(/\d{2,}/g, 'N');

/** A Status as compared: every field, with resourceVersions in the message and a continue token normalized. */
function normalizeStatus(status: Json, options: { message?: boolean } = {}): Json {
  if (status?.kind !== 'Status') return status;
  const { metadata, message, ...rest } = status;
  return {
    ...rest,
    metadata: metadata?.continue === undefined ? metadata : { ...metadata, continue: 'TOKEN' },
    ...(options.message === false ? {} : { message: numbersOut(message) }),
  };
}

function normalizeEvent(event: Json): Json {
  if (event.type === 'ERROR') return { type: 'ERROR', object: normalizeStatus(event.object) };
  if (event.type === 'BOOKMARK') {
    const { resourceVersion, ...metadata } = event.object.metadata;
    return {
      type: 'BOOKMARK',
      object: { ...event.object, metadata: { ...metadata, resourceVersion: typeof resourceVersion } },
    };
  }
  return { type: event.type, object: normalizeObject(event.object) };
}

function normalizeWatch(answer: WatchAnswer): Json {
  return {
    status: answer.status,
    contentType: answer.contentType,
    ...(answer.status === 200
      ? { events: answer.events.map(normalizeEvent), ended: answer.ended }
      : { body: normalizeStatus(answer.json) }),
  };
}

function normalizeList(answer: Answer, options: { message?: boolean } = {}): Json {
  const body = answer.json;
  if (body?.kind === 'Status')
    return { status: answer.status, contentType: answer.contentType, body: normalizeStatus(body, options) };
  if (body === undefined)
    return { status: answer.status, contentType: answer.contentType, text: answer.text };
  const { resourceVersion, continue: token, ...metadata } = body.metadata ?? {};
  return {
    status: answer.status,
    contentType: answer.contentType,
    body: {
      ...body,
      metadata: {
        ...metadata,
        resourceVersion: typeof resourceVersion,
        ...(token === undefined ? {} : { continue: 'TOKEN' }),
      },
      ...(Array.isArray(body.items) ? { items: body.items.map(normalizeObject) } : {}),
    },
  };
}

/** Both answers, real first. */
function both<T>(fn: (target: Target) => Promise<T>): Promise<[T, T]> {
  return Promise.all([fn(real), fn(fakeTarget)]);
}

/** The current list resourceVersion of each server. */
async function listRv(target: Target, path = SLICES): Promise<string> {
  return (await send(target, path)).json.metadata.resourceVersion;
}

/** The resourceVersion of one object on a server. */
async function objectRv(target: Target, name: string): Promise<string> {
  return (await send(target, `${SLICES}/${name}`)).json.metadata.resourceVersion;
}

const names = (events: Json[]) => events.map((e) => `${e.type} ${e.object.metadata?.name ?? ''}`.trim());
const has = (n: number) => (events: Json[]) => events.length >= n;

// ---- setup ----

beforeAll(async () => {
  const { admin } = plane();
  await admin.createNamespace(NS);
  await admin.createServiceAccount(NS, 'reader');
  await admin.grant({
    namespace: NS,
    name: 'reader',
    subject: { kind: 'ServiceAccount', name: 'reader' },
    rules: [{ apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get'] }],
  });
  fake = await startFakeApiServer({ tls: true, token: FAKE_TOKEN });
  real = {
    name: 'real',
    url: plane().url,
    token: plane().adminToken,
    agent: new Agent({ connect: { ca: plane().ca } }),
    readerToken: await admin.serviceAccountToken(NS, 'reader'),
  };
  fakeTarget = {
    name: 'fake',
    url: fake.url,
    token: FAKE_TOKEN,
    agent: new Agent({ connect: { ca: fake.tls?.ca } }),
    readerToken: FAKE_TOKEN,
  };
  for (const [i, name] of ['web-1', 'web-2', 'web-3'].entries())
    await createBoth(slice(name, `198.19.0.${i + 1}`));
  await createBoth(ENDPOINTS_OBJECT);
});

afterAll(async () => {
  await real?.agent.close();
  await fakeTarget?.agent.close();
  await fake?.close();
});

// ---- the comparisons ----

describe('LIST and GET', () => {
  it('lists the same objects with the same list shape', async () => {
    const [r, f] = await both((t) => send(t, SLICES));
    expect(normalizeList(f)).toEqual(normalizeList(r));
    expect(r.json.items).toHaveLength(3);
    const [re, fe] = await both((t) => send(t, ENDPOINTS));
    expect(normalizeList(fe)).toEqual(normalizeList(re));
    expect(fe.headers.warning).toBe(re.headers.warning);
  });

  it('gets one object, and 404 NotFound with details for a missing one', async () => {
    for (const path of [`${SLICES}/web-2`, `${SLICES}/nope`, `${ENDPOINTS}/nope`]) {
      const [r, f] = await both((t) => send(t, path));
      expect(r.status).toBe(path.endsWith('nope') ? 404 : 200);
      expect(f.status).toBe(r.status);
      expect(f.contentType).toBe(r.contentType);
      expect(path.endsWith('nope') ? normalizeStatus(f.json) : normalizeObject(f.json)).toEqual(
        path.endsWith('nope') ? normalizeStatus(r.json) : normalizeObject(r.json),
      );
    }
  });

  it('lists an unknown namespace as empty, and answers 404 for an unknown resource or group', async () => {
    for (const path of [
      '/apis/discovery.k8s.io/v1/namespaces/no-such-namespace/endpointslices',
      `/apis/discovery.k8s.io/v1/namespaces/${NS}/widgets`,
      `/api/v1/namespaces/${NS}/widgets`,
      `/apis/widgets.example.com/v1/namespaces/${NS}/widgets`,
    ]) {
      const [r, f] = await both((t) => send(t, path));
      expect({ path, ...normalizeList(f) }).toEqual({ path, ...normalizeList(r) });
    }
  });

  it('pages with limit/continue from one snapshot, with remainingItemCount only without selectors', async () => {
    const pages = async (t: Target, query: Record<string, string>) => {
      const out: Json[] = [];
      let token: string | undefined;
      do {
        const answer = await send(t, SLICES, { ...query, ...(token ? { continue: token } : {}) });
        out.push(normalizeList(answer));
        token = answer.json.metadata?.continue;
      } while (token);
      return out;
    };
    for (const query of [
      { limit: '1' },
      { limit: '2' },
      { limit: '1', labelSelector: 'kubernetes.io/service-name=web' },
      { limit: '1', fieldSelector: 'metadata.name!=web-1' },
      // resourceVersion=0 is served from the watch cache, which ignores limit.
      { limit: '1', resourceVersion: '0' },
      { limit: '-1' },
    ] as Record<string, string>[]) {
      const [r, f] = await both((t) => pages(t, query));
      expect({ query, pages: f }).toEqual({ query, pages: r });
    }
  });

  it('rejects continue with a resourceVersion or a resourceVersionMatch, and a garbled token', async () => {
    const [rToken, fToken] = await both(
      async (t) => (await send(t, SLICES, { limit: '1' })).json.metadata.continue,
    );
    const token = (t: Target) => (t === real ? rToken : fToken);
    for (const extra of [
      { resourceVersion: '5' },
      { resourceVersion: '0' },
      { resourceVersionMatch: 'NotOlderThan' },
    ] as Record<string, string>[]) {
      const [r, f] = await both((t) => send(t, SLICES, { limit: '1', continue: token(t), ...extra }));
      expect({ extra, ...normalizeList(f) }).toEqual({ extra, ...normalizeList(r) });
    }
    const [r, f] = await both((t) => send(t, SLICES, { continue: 'garbage' }));
    expect(normalizeList(f, { message: false })).toEqual(normalizeList(r, { message: false }));
    expect(f.json.message).toMatch(/^invalid continue token: continue key is not valid: /);
    expect(r.json.message).toMatch(/^invalid continue token: continue key is not valid: /);
  });

  it('honours resourceVersion / resourceVersionMatch: 0, NotOlderThan, Exact, too large', async () => {
    const cases = async (t: Target) => {
      const rv2 = await objectRv(t, 'web-2');
      const queries: Record<string, string>[] = [
        { resourceVersion: '0' },
        { resourceVersion: rv2, resourceVersionMatch: 'NotOlderThan' },
        { resourceVersion: rv2, resourceVersionMatch: 'Exact' },
        { resourceVersion: rv2 },
        { resourceVersionMatch: 'Exact' },
        { resourceVersion: '0', resourceVersionMatch: 'Exact' },
        { resourceVersion: '5', resourceVersionMatch: 'Bogus' },
        { sendInitialEvents: 'true' },
        { resourceVersion: '99999999' },
      ];
      const out: Json[] = [];
      for (const query of queries) {
        const answer = await send(t, SLICES, query);
        const normalized = normalizeList(answer);
        if (query.resourceVersionMatch === 'Exact' && answer.status === 200) {
          // The snapshot at web-2's creation: web-1 and web-2, at exactly that resourceVersion.
          expect(answer.json.metadata.resourceVersion).toBe(rv2);
        }
        if (query.resourceVersion === '99999999') expect(answer.headers['retry-after']).toBe('1');
        out.push({
          query: { ...query, ...(query.resourceVersion === rv2 ? { resourceVersion: 'rv2' } : {}) },
          ...normalized,
        });
      }
      return out;
    };
    const [r, f] = await both(cases);
    expect(f).toEqual(r);
  });

  it('answers 400 for malformed label and field selectors; endpointslices support only metadata.name/namespace', async () => {
    // The real messages come from the apiserver's parsers; where the SDK does not read them the
    // fake's own wording is accepted, every other field of the Status must match.
    const exact = [
      { fieldSelector: 'spec.x=1' },
      { fieldSelector: 'addressType=IPv4' },
      { fieldSelector: 'metadata.name' },
      { resourceVersion: 'abc' },
      { limit: 'abc' },
    ] as Record<string, string>[];
    const shapeOnly = [
      { labelSelector: 'a in (' },
      { labelSelector: '==x' },
      { labelSelector: 'a=b=c' },
    ] as Record<string, string>[];
    for (const query of exact) {
      const [r, f] = await both((t) => send(t, SLICES, query));
      expect({ query, ...normalizeList(f) }).toEqual({ query, ...normalizeList(r) });
    }
    for (const query of shapeOnly) {
      const [r, f] = await both((t) => send(t, SLICES, query));
      expect({ query, ...normalizeList(f, { message: false }) }).toEqual({
        query,
        ...normalizeList(r, { message: false }),
      });
    }
    for (const query of [
      { fieldSelector: 'metadata.name=web-1' },
      { fieldSelector: 'metadata.namespace=diff,metadata.name!=web-1' },
      { labelSelector: 'kubernetes.io/service-name in (web,other),!nope' },
    ] as Record<string, string>[]) {
      const [r, f] = await both((t) => send(t, SLICES, query));
      expect({ query, ...normalizeList(f) }).toEqual({ query, ...normalizeList(r) });
    }
  });

  it('401 for a wrong token; 403 with the RBAC text for a principal without list/watch', async () => {
    const [r401, f401] = await both((t) => send(t, SLICES, {}, 'not-a-token'));
    expect(normalizeList(f401)).toEqual(normalizeList(r401));
    for (const [path, verb, watchIt] of [
      [SLICES, 'list', false],
      [SLICES, 'watch', true],
      [`/apis/discovery.k8s.io/v1/endpointslices`, 'list', false],
      [`${ENDPOINTS}`, 'watch', true],
    ] as const) {
      fake.faults.failNext(1, 403, { user: READER });
      const [r, f] = await both(async (t) =>
        watchIt
          ? normalizeWatch(await watch(t, path, {}, { token: t.readerToken }))
          : normalizeList(await send(t, path, {}, t.readerToken)),
      );
      expect({ path, verb, ...f }).toEqual({ path, verb, ...r });
    }
  });
});

describe('WATCH', () => {
  it('rv unset or 0: synthetic ADDED; with bookmarks allowed, then the initial-events-end bookmark', async () => {
    for (const query of [
      {},
      { resourceVersion: '0' },
      { allowWatchBookmarks: 'true' },
      { resourceVersion: '0', allowWatchBookmarks: 'true' },
    ] as Record<string, string>[]) {
      const n = query.allowWatchBookmarks ? 4 : 3;
      const [r, f] = await both((t) => watch(t, SLICES, query, { done: has(n), maxMs: 2_000 }));
      expect({ query, ...normalizeWatch(f) }).toEqual({ query, ...normalizeWatch(r) });
    }
  });

  it('bookmark objects have the shape of their kind (EndpointSlice and Endpoints)', async () => {
    const query = { allowWatchBookmarks: 'true' };
    const [r, f] = await both((t) => watch(t, ENDPOINTS, query, { done: has(2), maxMs: 2_000 }));
    expect(normalizeWatch(f)).toEqual(normalizeWatch(r));
    expect(r.events.at(-1).type).toBe('BOOKMARK');
  });

  it('rv = an object’s resourceVersion replays what came after it, exactly', async () => {
    const [r, f] = await both(async (t) =>
      watch(t, SLICES, { resourceVersion: await objectRv(t, 'web-1') }, { done: has(2), maxMs: 2_000 }),
    );
    expect(normalizeWatch(f)).toEqual(normalizeWatch(r));
    expect(names(r.events)).toEqual(['ADDED web-2', 'ADDED web-3']);
  });

  it('streams a watch-list (sendInitialEvents) with and without bookmarks, and validates it', async () => {
    const base = { sendInitialEvents: 'true', resourceVersionMatch: 'NotOlderThan' };
    for (const query of [
      { ...base, allowWatchBookmarks: 'true', resourceVersion: '' },
      { ...base, allowWatchBookmarks: 'true', resourceVersion: '0' },
      // Without bookmarks the stream has no end marker: the initial ADDED only.
      base,
      { sendInitialEvents: 'true', allowWatchBookmarks: 'true' },
      { sendInitialEvents: 'true' },
      { resourceVersionMatch: 'NotOlderThan', resourceVersion: '1' },
      { resourceVersionMatch: 'Exact', resourceVersion: '1', sendInitialEvents: 'false' },
      { sendInitialEvents: 'false', resourceVersionMatch: 'NotOlderThan', allowWatchBookmarks: 'true' },
      { continue: 'abc' },
      { timeoutSeconds: 'abc' },
    ] as Record<string, string>[]) {
      const n = query.allowWatchBookmarks && query.sendInitialEvents === 'true' ? 4 : 3;
      const [r, f] = await both((t) => watch(t, SLICES, query, { done: has(n), maxMs: 1_500 }));
      expect({ query, ...normalizeWatch(f) }).toEqual({ query, ...normalizeWatch(r) });
    }
  });

  it('delivers live events in the same order with the same types (selector transitions included)', async () => {
    const query = { labelSelector: 'tier=front', allowWatchBookmarks: 'false' };
    const opened = await both(async (t) => ({
      t,
      answer: watch(
        t,
        SLICES,
        { ...query, resourceVersion: await listRv(t) },
        { done: has(5), maxMs: 15_000 },
      ),
    }));
    const plain = await both(async (t) => ({
      t,
      answer: watch(t, SLICES, { resourceVersion: await listRv(t) }, { done: has(5), maxMs: 15_000 }),
    }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const labeled = (name: string, ip: string, tier: string) => {
      const s = slice(name, ip);
      s.metadata.labels.tier = tier;
      return s;
    };
    await createBoth(labeled('live-1', '198.19.2.1', 'front'));
    await replaceBoth(labeled('live-1', '198.19.2.2', 'front'));
    await replaceBoth(labeled('live-1', '198.19.2.2', 'back'));
    await replaceBoth(labeled('live-1', '198.19.2.2', 'front'));
    await deleteBoth('EndpointSlice', 'live-1');
    const [r, f] = await Promise.all([opened[0].answer, opened[1].answer]);
    expect(normalizeWatch(f)).toEqual(normalizeWatch(r));
    expect(names(r.events)).toEqual([
      'ADDED live-1',
      'MODIFIED live-1',
      'DELETED live-1',
      'ADDED live-1',
      'DELETED live-1',
    ]);
    const [rp, fp] = await Promise.all([plain[0].answer, plain[1].answer]);
    expect(normalizeWatch(fp)).toEqual(normalizeWatch(rp));
    // A DELETED event carries the object's last state with the deletion's (newer) resourceVersion.
    for (const events of [rp.events, fp.events]) {
      const rvs = events.map((e: Json) => Number(e.object.metadata.resourceVersion));
      expect([...rvs].sort((a, b) => a - b)).toEqual(rvs);
    }
  });

  it('watches one object with fieldSelector=metadata.name', async () => {
    const query = { fieldSelector: 'metadata.name=web-2' };
    const [r, f] = await both((t) => watch(t, SLICES, query, { done: has(1), maxMs: 1_500 }));
    expect(normalizeWatch(f)).toEqual(normalizeWatch(r));
    expect(names(r.events)).toEqual(['ADDED web-2']);
  });

  it('ends the watch cleanly at timeoutSeconds', async () => {
    const [r, f] = await both(async (t) =>
      watch(t, SLICES, { resourceVersion: await listRv(t), timeoutSeconds: '2' }, { maxMs: 6_000 }),
    );
    expect(normalizeWatch(f)).toEqual(normalizeWatch(r));
    expect(r.ended).toBe(true);
    for (const answer of [r, f]) {
      expect(answer.elapsedMs).toBeGreaterThan(1_500);
      expect(answer.elapsedMs).toBeLessThan(4_000);
    }
  });

  it('a watch from a resourceVersion ahead of the server is accepted and waits for it', async () => {
    const [r, f] = await both((t) => watch(t, SLICES, { resourceVersion: '99999999' }, { maxMs: 4_000 }));
    expect(normalizeWatch(f)).toEqual(normalizeWatch(r));
    expect(r).toMatchObject({ status: 200, events: [], ended: false });
  });

  it('a malformed resourceVersion fails the watch with 500 (the list answers 400)', async () => {
    const [r, f] = await both((t) => watch(t, SLICES, { resourceVersion: 'abc' }));
    expect(normalizeWatch(f)).toEqual(normalizeWatch(r));
  });
});

describe('differences kept on purpose', () => {
  it('anonymous requests: real (--anonymous-auth default) 403 system:anonymous, fake 401', async () => {
    const [r, f] = await both((t) => send(t, SLICES, {}, null));
    expect(r.status).toBe(403);
    expect(r.json.message).toContain('User "system:anonymous" cannot list resource');
    expect(f.status).toBe(401);
  });
});

describe('after etcd compaction and a fresh watch cache', () => {
  it('expired resourceVersions: in-stream 410 Expired on watch, 410 on an Exact list and on an old continue token', async () => {
    const before = await both(async (t) => ({
      rv: await listRv(t),
      token: (await send(t, SLICES, { limit: '1' })).json.metadata.continue as string,
    }));
    await createBoth(slice('after-compaction', '198.19.3.1'));
    await plane().compactEtcd();
    // A restarted apiserver's watch cache starts at the current revision: older ones are gone.
    await plane().restartApiServer();
    fake.compact();
    const at = (t: Target) => before[t === real ? 0 : 1];
    const [rw, fw] = await both((t) => watch(t, SLICES, { resourceVersion: at(t).rv }, { maxMs: 5_000 }));
    expect(normalizeWatch(fw)).toEqual(normalizeWatch(rw));
    expect(rw.events).toHaveLength(1);
    expect(rw.events[0]).toMatchObject({ type: 'ERROR', object: { code: 410, reason: 'Expired' } });
    const [re, fe] = await both((t) =>
      send(t, SLICES, { resourceVersion: at(t).rv, resourceVersionMatch: 'Exact' }),
    );
    expect(normalizeList(fe)).toEqual(normalizeList(re));
    const [rc, fc] = await both((t) => send(t, SLICES, { limit: '1', continue: at(t).token }));
    expect(normalizeList(fc)).toEqual(normalizeList(rc));
  });

  it('with the WatchList gate off, sendInitialEvents is 422 Invalid', async () => {
    await plane().restartApiServer({ featureGates: { WatchList: false } });
    const noGate = await startFakeApiServer({ tls: true, token: FAKE_TOKEN, watchList: false });
    const target: Target = {
      ...fakeTarget,
      url: noGate.url,
      agent: new Agent({ connect: { ca: noGate.tls?.ca } }),
    };
    try {
      for (const query of [
        { sendInitialEvents: 'true', allowWatchBookmarks: 'true', resourceVersionMatch: 'NotOlderThan' },
        { sendInitialEvents: 'false', resourceVersionMatch: 'NotOlderThan' },
        { sendInitialEvents: 'true' },
      ] as Record<string, string>[]) {
        const [r, f] = await Promise.all([watch(real, SLICES, query), watch(target, SLICES, query)]);
        expect({ query, ...normalizeWatch(f) }).toEqual({ query, ...normalizeWatch(r) });
      }
    } finally {
      await target.agent.close();
      await noGate.close();
    }
  });
});
