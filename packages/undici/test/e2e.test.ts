import { NoEndpointsError } from '@endpoint-watch/balancer';
import {
  createKubeClient,
  KubeApiError,
  type KubeClient,
  loadKubeConfig,
  watchEndpoints,
} from '@endpoint-watch/core';
import { endpointSlice, type FakeApiServer, startFakeApiServer } from '@endpoint-watch/testing';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { watchForbiddenService } from '../../core/test/support/forbidden-watch.js';
import { type BalancedAgent, createBalancedAgent } from '../src/index.js';
import { eventually, type PodRequest, type Pods, startPods } from './support.js';

let server: FakeApiServer | undefined;
let client: KubeClient | undefined;
let agent: BalancedAgent | undefined;
let pods: Pods | undefined;
afterEach(async () => {
  await agent?.close();
  await client?.close().catch(() => undefined);
  await server?.close();
  await pods?.close();
  agent = undefined;
  client = undefined;
  server = undefined;
  pods = undefined;
});

const slice = (name: string, addresses: readonly string[], port: number) =>
  endpointSlice({
    namespace: 'shop',
    service: 'web',
    name,
    ports: [{ name: 'http', port, protocol: 'TCP' }],
    endpoints: addresses.map((address) => ({ addresses: [address], targetRef: 'pod' as const })),
  });

describe('end to end: fake apiserver → watchEndpoints → createBalancedAgent → pods', () => {
  it('follows the Service’s EndpointSlices as pods come and go', async () => {
    pods = await startPods(3);
    const [a, b, c] = pods.addresses as [string, string, string];
    server = await startFakeApiServer({
      tls: true,
      initialObjects: [slice('web-1', [a], pods.port), slice('web-2', [b], pods.port)],
    });
    client = createKubeClient(
      loadKubeConfig({ server: server.url, token: server.token, ca: server.tls?.ca }),
    );
    const endpoints = watchEndpoints(client, { namespace: 'shop', service: 'web', port: 'http' });
    agent = createBalancedAgent({ endpoints }, { noEndpointsTimeoutMs: 5_000 });
    const url = `http://web.shop.svc.cluster.local:${pods.port}`;
    const get = async (path: string) => {
      const response = await request(`${url}${path}`, { dispatcher: agent });
      return (await response.body.json()) as PodRequest;
    };

    // the first request waits for the initial list
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) seen.add((await get(`/first/${i}`)).pod);
    expect([...seen].sort()).toEqual([a, b]);
    expect((await get('/host')).host).toBe(`web.shop.svc.cluster.local:${pods.port}`);

    // scale up: a third pod joins through a new slice
    server.upsert(slice('web-3', [c], pods.port));
    await eventually(() => agent?.balancer.stats().totals.endpoints === 3, 'the new pod to be watched');
    const podC = pods.byAddress(c);
    for (let i = 0; i < 60; i++) await get(`/up/${i}`);
    expect(podC.count()).toBeGreaterThanOrEqual(5);

    // scale down: pod a's slice is deleted; its pool and connections go away, and it gets no traffic
    server.delete('EndpointSlice', 'shop', 'web-1');
    await eventually(() => agent?.balancer.stats().totals.endpoints === 2, 'the removal to be watched');
    const podA = pods.byAddress(a);
    await eventually(
      () => !agent?.pools().some((pool) => pool.endpoint.startsWith(`${a}:`)) && podA.sockets.size === 0,
      'the departed pod’s pool to close',
    );
    const before = podA.count();
    for (let i = 0; i < 40; i++) await get(`/down/${i}`);
    expect(podA.count()).toBe(before);
    expect(
      agent
        .pools()
        .map((pool) => pool.endpoint)
        .sort(),
    ).toEqual([b, c].map((x) => `${x}:${pods?.port}`));
  });

  it('fails a request with no endpoints naming the Service and carrying the watch’s real error (a 403) as cause', async () => {
    const forbidden = await watchForbiddenService();
    ({ server, client } = forbidden);
    const { endpoints } = forbidden;
    agent = createBalancedAgent({ endpoints }, { noEndpointsTimeoutMs: 1_000 });
    const error = await request('http://web.shop.svc.cluster.local:8080/', { dispatcher: agent }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(NoEndpointsError);
    const noEndpoints = error as NoEndpointsError;
    expect(noEndpoints.service).toBe('shop/web');
    expect(noEndpoints.message).toMatch(
      /no endpoint set has arrived yet .*the watch is retrying: .*403 Forbidden.*To fix it, grant list and watch on endpointslices\.discovery\.k8s\.io in namespace shop .*kubectl create role/,
    );
    expect(noEndpoints.cause).toBeInstanceOf(KubeApiError);
    expect((noEndpoints.cause as KubeApiError).statusCode).toBe(403);
  });

  it('says why a set is empty when the Service has no EndpointSlice at all', async () => {
    server = await startFakeApiServer({ tls: true });
    client = createKubeClient(
      loadKubeConfig({ server: server.url, token: server.token, ca: server.tls?.ca }),
    );
    const endpoints = watchEndpoints(client, { namespace: 'shop', service: 'wbe' });
    agent = createBalancedAgent({ endpoints }, { noEndpointsTimeoutMs: 300 });
    const error = await request('http://wbe.shop.svc.cluster.local:8080/', { dispatcher: agent }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(NoEndpointsError);
    expect((error as Error).message).toMatch(
      /service shop\/wbe: the endpoint set is empty .*no EndpointSlice in namespace shop carries kubernetes\.io\/service-name=wbe/,
    );
  });
});
