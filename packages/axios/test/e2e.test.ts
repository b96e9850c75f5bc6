import {
  createKubeClient,
  KubeApiError,
  type KubeClient,
  loadKubeConfig,
  watchEndpoints,
} from '@endpoint-watch/core';
import { endpointSlice, type FakeApiServer, startFakeApiServer } from '@endpoint-watch/testing';
import axios, { type AxiosError, type AxiosInstance, isAxiosError } from 'axios';
import { afterEach, describe, expect, it } from 'vitest';
import { watchForbiddenService } from '../../core/test/support/forbidden-watch.js';
import {
  detachEndpointBalancing,
  type EndpointBalancing,
  getEndpointBalancing,
  NoEndpointsError,
  withEndpointBalancing,
} from '../src/index.js';
import { ADAPTERS, eventually, type PodRequest, type Pods, startPods } from './support.js';

let server: FakeApiServer | undefined;
let client: KubeClient | undefined;
let instance: AxiosInstance | undefined;
let pods: Pods | undefined;
afterEach(async () => {
  if (instance) await detachEndpointBalancing(instance);
  await client?.close().catch(() => undefined);
  await server?.close();
  await pods?.close();
  instance = undefined;
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

describe.each(ADAPTERS)(
  'end to end (%s adapter): fake apiserver → watchEndpoints → axios → pods',
  (adapter) => {
    it('follows the Service’s EndpointSlices as pods come and go, and ends the watch on detach', async () => {
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
      const api = axios.create({ baseURL: `http://web.shop.svc.cluster.local:${pods.port}`, adapter });
      instance = withEndpointBalancing(api, { endpoints }, { noEndpointsTimeoutMs: 5_000 });
      const handle = getEndpointBalancing(instance)[0] as EndpointBalancing;
      const get = async (path: string) => (await api.get<PodRequest>(path)).data;
      const openTo = (address: string) =>
        adapter === 'http'
          ? handle.agents().some((agent) => agent.endpoint.startsWith(`${address}:`))
          : (handle.fetchDispatcher?.pools() ?? []).some((pool) => pool.endpoint.startsWith(`${address}:`));

      // the first request waits for the initial list
      const seen = new Set<string>();
      for (let i = 0; i < 40; i++) seen.add((await get(`/first/${i}`)).pod);
      expect([...seen].sort()).toEqual([a, b]);
      expect((await get('/host')).host).toBe(`web.shop.svc.cluster.local:${pods.port}`);
      expect(server.openWatches).toBe(1);

      // scale up: a third pod joins through a new slice
      server.upsert(slice('web-3', [c], pods.port));
      await eventually(() => handle.balancer.stats().totals.endpoints === 3, 'the new pod to be watched');
      const podC = pods.byAddress(c);
      for (let i = 0; i < 60; i++) await get(`/up/${i}`);
      expect(podC.count()).toBeGreaterThanOrEqual(5);

      // scale down: pod a's slice is deleted; it gets no traffic and its connections are closed
      server.delete('EndpointSlice', 'shop', 'web-1');
      await eventually(() => handle.balancer.stats().totals.endpoints === 2, 'the removal to be watched');
      const podA = pods.byAddress(a);
      await eventually(
        () => !openTo(a) && podA.sockets.size === 0,
        'the departed pod’s connections to close',
      );
      const before = podA.count();
      for (let i = 0; i < 40; i++) await get(`/down/${i}`);
      expect(podA.count()).toBe(before);

      // detach: the watch ends, every connection to the pods is closed
      await detachEndpointBalancing(api);
      expect(handle.balancer.stats().closed).toBe(true);
      await eventually(() => server?.openWatches === 0, 'the watch to end');
      await eventually(
        () => pods?.pods.every((pod) => pod.sockets.size === 0) === true,
        'the pods’ sockets to close',
      );
    });

    it('fails a request with no endpoints as ERR_NO_ENDPOINTS naming the Service, the watch’s 403 as its cause', async () => {
      const forbidden = await watchForbiddenService();
      ({ server, client } = forbidden);
      const { endpoints } = forbidden;
      const api = axios.create({ baseURL: 'http://web.shop.svc.cluster.local:8080', adapter });
      instance = withEndpointBalancing(api, { endpoints }, { noEndpointsTimeoutMs: 1_000 });
      const error = await api.get('/').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isAxiosError(error)).toBe(true);
      expect((error as AxiosError).code).toBe('ERR_NO_ENDPOINTS');
      const noEndpoints = (error as AxiosError).cause as NoEndpointsError;
      expect(noEndpoints).toBeInstanceOf(NoEndpointsError);
      expect(noEndpoints.service).toBe('shop/web');
      expect(noEndpoints.message).toMatch(
        /the watch is retrying: .*403 Forbidden.*To fix it, grant list and watch on endpointslices\.discovery\.k8s\.io/,
      );
      expect(noEndpoints.cause).toBeInstanceOf(KubeApiError);
    });
  },
);
