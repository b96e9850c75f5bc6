import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { endpointSlice, type FakeApiServer, service, startFakeApiServer, v1Endpoints } from '../src/index.js';
import { ALL_SLICES, ENDPOINTS, get, type Json, SLICES } from './helpers.js';

const slice = (name: string, namespace = 'default', labels: Record<string, string> = {}) =>
  endpointSlice({ service: 'web', name, namespace, labels, endpoints: [{ addresses: ['10.0.0.1'] }] });

let server: FakeApiServer;
beforeEach(async () => {
  server = await startFakeApiServer();
});
afterEach(async () => {
  await server.close();
});

const names = (body: Json): string[] => body.items.map((i: Json) => i.metadata.name);

describe('LIST', () => {
  it('answers an EndpointSliceList sorted by namespace/name, items without kind/apiVersion', async () => {
    server.upsert(slice('b'));
    server.upsert(slice('a', 'zeta'));
    server.upsert(slice('a'));
    const res = await get(server, ALL_SLICES);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.json.kind).toBe('EndpointSliceList');
    expect(res.json.apiVersion).toBe('discovery.k8s.io/v1');
    expect(res.json.metadata).toEqual({ resourceVersion: server.resourceVersion });
    expect(res.json.items.map((i: Json) => `${i.metadata.namespace}/${i.metadata.name}`)).toEqual([
      'default/a',
      'default/b',
      'zeta/a',
    ]);
    expect(res.json.items[0].kind).toBeUndefined();
    expect(res.json.items[0].apiVersion).toBeUndefined();
    expect(res.json.items[0].metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    const ns = await get(server, SLICES);
    expect(names(ns.json)).toEqual(['a', 'b']);
  });

  it('pages with limit/continue over a consistent snapshot even when objects change between pages', async () => {
    for (const n of ['a', 'b', 'c', 'd', 'e']) server.upsert(slice(n));
    const first = await get(server, SLICES, { limit: '2' });
    expect(names(first.json)).toEqual(['a', 'b']);
    expect(first.json.metadata.remainingItemCount).toBe(3);
    const snapshotRv = first.json.metadata.resourceVersion;
    // Changes after the first page: none of them may show up in later pages.
    server.delete('EndpointSlice', 'default', 'c');
    server.upsert({ ...slice('d'), addressType: 'IPv6' });
    server.upsert(slice('bb'));
    const second = await get(server, SLICES, { limit: '2', continue: first.json.metadata.continue });
    expect(names(second.json)).toEqual(['c', 'd']);
    expect(second.json.items[1].addressType).toBe('IPv4');
    expect(second.json.metadata.resourceVersion).toBe(snapshotRv);
    const third = await get(server, SLICES, { limit: '2', continue: second.json.metadata.continue });
    expect(names(third.json)).toEqual(['e']);
    expect(third.json.metadata.continue).toBeUndefined();
    expect(third.json.metadata.remainingItemCount).toBeUndefined();
    // A fresh list sees the new state.
    expect(names((await get(server, SLICES)).json)).toEqual(['a', 'b', 'bb', 'd', 'e']);
  });

  it('ignores limit with resourceVersion=0, served whole as from the watch cache', async () => {
    for (const n of ['a', 'b', 'c']) server.upsert(slice(n));
    const cached = await get(server, SLICES, { limit: '1', resourceVersion: '0' });
    expect(names(cached.json)).toEqual(['a', 'b', 'c']);
    expect(cached.json.metadata.continue).toBeUndefined();
    const consistent = await get(server, SLICES, { limit: '1' });
    expect(names(consistent.json)).toEqual(['a']);
    expect(consistent.json.metadata.continue).toBeDefined();
    // With a continue token too: the rest of the list in one page.
    const rest = await get(server, SLICES, {
      limit: '1',
      resourceVersion: '0',
      continue: consistent.json.metadata.continue,
    });
    expect(names(rest.json)).toEqual(['b', 'c']);
    expect(rest.json.metadata.continue).toBeUndefined();
  });

  it('words malformed parameters as kube-apiserver does (400 BadRequest)', async () => {
    const message = async (query: Record<string, string>) => {
      const res = await get(server, SLICES, query);
      expect(res.status).toBe(400);
      expect(res.json.reason).toBe('BadRequest');
      return res.json.message;
    };
    expect(await message({ resourceVersion: 'abc' })).toBe(
      'invalid resource version: resourceVersion: Invalid value: "abc": strconv.ParseUint: parsing "abc": invalid syntax',
    );
    expect(await message({ limit: 'abc' })).toBe('strconv.ParseInt: parsing "abc": invalid syntax');
    expect(await message({ continue: 'garbage' })).toMatch(
      /^invalid continue token: continue key is not valid: /,
    );
  });

  it('a continue token issued before compact() answers 410 Expired with an inconsistent continuation', async () => {
    for (const n of ['a', 'b', 'c']) server.upsert(slice(n));
    const first = await get(server, SLICES, { limit: '1' });
    server.compact();
    const res = await get(server, SLICES, { limit: '1', continue: first.json.metadata.continue });
    expect(res.status).toBe(410);
    expect(res.json).toMatchObject({
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      reason: 'Expired',
      code: 410,
    });
    expect(res.json.message).toMatch(
      /^The provided continue parameter is too old to display a consistent list result/,
    );
    const resumed = await get(server, SLICES, { limit: '5', continue: res.json.metadata.continue });
    expect(names(resumed.json)).toEqual(['b', 'c']);
  });

  it('filters with label selectors', async () => {
    server.upsert(slice('a', 'default', { tier: 'front', env: 'prod' }));
    server.upsert(slice('b', 'default', { tier: 'back', env: 'prod' }));
    server.upsert(slice('c', 'default', { tier: 'front' }));
    const sel = async (labelSelector: string) => names((await get(server, SLICES, { labelSelector })).json);
    expect(await sel('tier=front')).toEqual(['a', 'c']);
    expect(await sel('tier==front,env=prod')).toEqual(['a']);
    expect(await sel('env!=prod')).toEqual(['c']);
    expect(await sel('tier in (back, front),env')).toEqual(['a', 'b']);
    expect(await sel('tier notin (front)')).toEqual(['b']);
    expect(await sel('!env')).toEqual(['c']);
    expect(await sel('kubernetes.io/service-name=web')).toEqual(['a', 'b', 'c']);
    const paged = await get(server, SLICES, { labelSelector: 'tier=front', limit: '1' });
    expect(paged.json.metadata.continue).toBeDefined();
    expect(paged.json.metadata.remainingItemCount).toBeUndefined(); // not given with a selector
    const bad = await get(server, SLICES, { labelSelector: 'tier in (a' });
    expect(bad.status).toBe(400);
    expect(bad.json.reason).toBe('BadRequest');
  });

  it('filters with field selectors', async () => {
    server.upsert(slice('a'));
    server.upsert(slice('b'));
    server.upsert(slice('a', 'other'));
    const sel = async (fieldSelector: string, path = ALL_SLICES) =>
      (await get(server, path, { fieldSelector })).json.items.map(
        (i: Json) => `${i.metadata.namespace}/${i.metadata.name}`,
      );
    expect(await sel('metadata.name=a')).toEqual(['default/a', 'other/a']);
    expect(await sel('metadata.name==a,metadata.namespace=other')).toEqual(['other/a']);
    expect(await sel('metadata.name!=a')).toEqual(['default/b']);
    expect(await sel('metadata.namespace!=default', SLICES)).toEqual([]);
    const bad = await get(server, SLICES, { fieldSelector: 'spec.nodeName=x' });
    expect(bad.status).toBe(400);
    // kube-apiserver's wording, which names the fields endpointslices support.
    expect(bad.json.message).toBe(
      '"spec.nodeName" is not a known field selector: only "metadata.name", "metadata.namespace"',
    );
  });

  it('honours resourceVersion and resourceVersionMatch', async () => {
    server.upsert(slice('a'));
    const rvA = server.resourceVersion;
    server.upsert(slice('b'));
    const current = server.resourceVersion;
    const queries: Record<string, string>[] = [
      {},
      { resourceVersion: '0' },
      { resourceVersion: rvA, resourceVersionMatch: 'NotOlderThan' },
    ];
    for (const q of queries) {
      const res = await get(server, SLICES, q);
      expect(res.json.metadata.resourceVersion).toBe(current);
      expect(names(res.json)).toEqual(['a', 'b']);
    }
    const exact = await get(server, SLICES, { resourceVersion: rvA, resourceVersionMatch: 'Exact' });
    expect(exact.json.metadata.resourceVersion).toBe(rvA);
    expect(names(exact.json)).toEqual(['a']);

    const tooLarge = await get(server, SLICES, { resourceVersion: String(Number(current) + 10) });
    expect(tooLarge.status).toBe(504);
    expect(tooLarge.headers['retry-after']).toBe('1');
    expect(tooLarge.json).toMatchObject({ reason: 'Timeout', code: 504 });
    expect(tooLarge.json.message).toBe(
      `Timeout: Too large resource version: ${Number(current) + 10}, current: ${current}`,
    );

    const invalid = await get(server, SLICES, { resourceVersionMatch: 'Exact' });
    expect(invalid.status).toBe(422);
    expect(invalid.json.reason).toBe('Invalid');

    server.compact();
    const expired = await get(server, SLICES, { resourceVersion: rvA, resourceVersionMatch: 'Exact' });
    expect(expired.status).toBe(410);
    expect(expired.json.reason).toBe('Expired');
  });

  it('gets one object, 404 NotFound Status otherwise', async () => {
    server.upsert(slice('a'));
    const res = await get(server, `${SLICES}/a`);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1' });
    const missing = await get(server, `${SLICES}/nope`);
    expect(missing.status).toBe(404);
    expect(missing.json).toMatchObject({
      kind: 'Status',
      reason: 'NotFound',
      code: 404,
      message: 'endpointslices.discovery.k8s.io "nope" not found',
      details: { name: 'nope', group: 'discovery.k8s.io', kind: 'endpointslices' },
    });
  });

  it('serves v1 Endpoints with the deprecation Warning header', async () => {
    server.upsert(
      v1Endpoints({ service: 'web', subsets: [{ addresses: ['10.0.0.1'], ports: [{ port: 80 }] }] }),
    );
    const res = await get(server, ENDPOINTS);
    expect(res.json.kind).toBe('EndpointsList');
    expect(res.json.apiVersion).toBe('v1');
    expect(res.json.items[0].subsets[0].addresses).toEqual([{ ip: '10.0.0.1' }]);
    expect(res.headers.warning).toBe(
      '299 - "v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice"',
    );
    expect((await get(server, '/api/v1/endpoints')).json.items).toHaveLength(1);
    expect((await get(server, ALL_SLICES)).headers.warning).toBeUndefined();
  });

  it('answers unknown paths 404 (Status JSON under a known API, plain text elsewhere) and other methods 405', async () => {
    const unknown = await get(server, '/api/v1/pods');
    expect(unknown.status).toBe(404);
    expect(unknown.json).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404 });
    for (const path of ['/apis/widgets.example.com/v1/namespaces/default/widgets', '/nope']) {
      const page = await get(server, path);
      expect(page.status).toBe(404);
      expect(page.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(page.text).toBe('404 page not found\n');
    }
    const post = await get(server, SLICES, {}, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.json.reason).toBe('MethodNotAllowed');
    const protobufOnly = await get(
      server,
      SLICES,
      {},
      { headers: { accept: 'application/vnd.kubernetes.protobuf' } },
    );
    expect(protobufOnly.status).toBe(406);
  });

  it('serves discovery documents', async () => {
    expect((await get(server, '/version')).json).toMatchObject({
      major: '1',
      minor: '34',
      gitVersion: 'v1.34.1',
    });
    expect((await get(server, '/api')).json).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
    const core = (await get(server, '/api/v1')).json;
    expect(core.resources.map((r: Json) => r.name)).toEqual(['endpoints', 'services']);
    expect(core.resources[1]).toMatchObject({ kind: 'Service', shortNames: ['svc'], namespaced: true });
    const groups = (await get(server, '/apis')).json;
    expect(groups.groups[0].preferredVersion.groupVersion).toBe('discovery.k8s.io/v1');
    const gv = (await get(server, '/apis/discovery.k8s.io/v1')).json;
    expect(gv.resources[0]).toMatchObject({
      name: 'endpointslices',
      kind: 'EndpointSlice',
      namespaced: true,
    });
    expect(gv.resources[0].verbs).toEqual(expect.arrayContaining(['list', 'watch']));
  });
});

describe('Services', () => {
  it('gets, lists and watches v1 Services, so that a client can map a Service port to target ports', async () => {
    server.upsert(service({ name: 'web', ports: [{ name: 'http', port: 80, targetPort: 8080 }] }));
    server.upsert(service({ name: 'api', namespace: 'other' }));
    const one = await get(server, '/api/v1/namespaces/default/services/web');
    expect(one.status).toBe(200);
    expect(one.json).toMatchObject({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        type: 'ClusterIP',
        selector: { app: 'web' },
        ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
      },
    });
    const list = await get(server, '/api/v1/namespaces/default/services');
    expect(list.json.kind).toBe('ServiceList');
    expect(names(list.json)).toEqual(['web']);
    expect(names((await get(server, '/api/v1/services')).json)).toEqual(['web', 'api']); // sorted by namespace/name
    const missing = await get(server, '/api/v1/namespaces/default/services/nosuch');
    expect(missing.status).toBe(404);
    expect(missing.json).toMatchObject({
      kind: 'Status',
      reason: 'NotFound',
      details: { name: 'nosuch', kind: 'services' },
    });
    // Services are not mixed into the other resources of the core group.
    expect((await get(server, ENDPOINTS)).json.items).toEqual([]);
  });
});

describe('historyLimit', () => {
  it('drops the oldest changes like a watch cache: older resourceVersions expire', async () => {
    const small = await startFakeApiServer({ token: false, historyLimit: 4 });
    try {
      small.upsert(slice('a'));
      const early = small.resourceVersion;
      for (let i = 0; i < 10; i++) small.upsert(slice(`n${i}`));
      const res = await get(small, SLICES, { resourceVersion: early, resourceVersionMatch: 'Exact' });
      expect(res.status).toBe(410);
      const recent = String(Number(small.resourceVersion) - 2);
      const ok = await get(small, SLICES, { resourceVersion: recent, resourceVersionMatch: 'Exact' });
      expect(ok.status).toBe(200);
      expect(ok.json.items).toHaveLength(9);
    } finally {
      await small.close();
    }
  });
});
