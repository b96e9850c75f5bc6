import type { EndpointSet } from '@endpoint-watch/core';
import axios, { type AxiosInstance } from 'axios';
import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { BehaviorSubject } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  BalancingOptionsError,
  detachEndpointBalancing,
  type EndpointBalancing,
  getEndpointBalancing,
  kEndpointBalancing,
  withEndpointBalancing,
} from '../src/index.js';
import { ADAPTERS, endpointSet, type PodRequest, type Pods, startPods } from './support.js';

/** What msw answered instead of the network: the URL and Host it saw. */
interface Mocked {
  readonly mocked: true;
  readonly url: string;
  readonly host: string | null;
}

// Requests msw answers: they must never reach a network. Balanced requests to the pods (127.0.0.N)
// pass through to the real sockets; any other unhandled request fails before it is dialled.
const mocked = setupServer(
  http.all('http://10.1.2.3/*', ({ request }) =>
    HttpResponse.json({ mocked: true, url: request.url, host: request.headers.get('host') }),
  ),
  http.all(/^http:\/\/(web|api)\.shop\.svc(:\d+)?\//, ({ request }) =>
    HttpResponse.json({ mocked: true, url: request.url, host: request.headers.get('host') }),
  ),
);
beforeAll(() =>
  mocked.listen({
    onUnhandledRequest(request) {
      if (!new URL(request.url).hostname.startsWith('127.'))
        throw new Error(`unexpected request ${request.url}`);
    },
  }),
);
afterAll(() => mocked.close());

let pods: Pods[] = [];
let instance: AxiosInstance | undefined;
afterEach(async () => {
  if (instance) await detachEndpointBalancing(instance);
  await Promise.all(pods.map((p) => p.close()));
  instance = undefined;
  pods = [];
});

const served = (p: Pods) => p.pods.reduce((n, pod) => n + pod.count(), 0);

describe.each(ADAPTERS)('which requests are balanced, %s adapter', (adapter) => {
  it('leaves requests to other hosts (and other ports of the logical host) untouched', async () => {
    const web = await startPods(2);
    pods = [web];
    const sets = new BehaviorSubject<EndpointSet>(endpointSet(web.addresses, web.port));
    instance = withEndpointBalancing(axios.create({ baseURL: `http://web.shop.svc:${web.port}`, adapter }), {
      endpoints: sets,
    });
    const handle = getEndpointBalancing(instance)[0] as EndpointBalancing;

    const other = await instance.get<Mocked>('http://10.1.2.3/other?x=1', { params: { y: 2 } });
    expect(other.data).toMatchObject({ mocked: true, url: 'http://10.1.2.3/other?x=1&y=2' });
    const otherPort = web.port === 65_535 ? 65_534 : web.port + 1;
    const sideways = await instance.get<Mocked>(`http://web.shop.svc:${otherPort}/side`);
    expect(sideways.data).toMatchObject({ mocked: true, url: `http://web.shop.svc:${otherPort}/side` });
    expect(handle.balancer.stats().totals.picks).toBe(0);
    expect(served(web)).toBe(0);

    // the logical host itself is balanced (msw never sees it under its logical name)
    const { data } = await instance.get<PodRequest>('/mine');
    expect(data).toMatchObject({ url: '/mine', host: `web.shop.svc:${web.port}` });
    expect(web.addresses).toContain(data.pod);
    expect(handle.balancer.stats().totals.picks).toBe(1);
  });

  it('serves several Services from one instance, one attachment per Service', async () => {
    const web = await startPods(2);
    const api = await startPods(2, { addresses: ['127.0.0.6', '127.0.0.7'] });
    pods = [web, api];
    const webSets = new BehaviorSubject<EndpointSet>(endpointSet(web.addresses, web.port));
    const apiSets = new BehaviorSubject<EndpointSet>(endpointSet(api.addresses, api.port, 'api'));
    instance = withEndpointBalancing(axios.create({ baseURL: `http://web.shop.svc:${web.port}`, adapter }), {
      endpoints: webSets,
    });
    withEndpointBalancing(instance, { endpoints: apiSets }, { host: 'api.shop.svc' });
    withEndpointBalancing(
      instance,
      { endpoints: apiSets },
      { match: (url) => url.pathname.startsWith('/never/') },
    );
    const [webHandle, apiHandle, third] = getEndpointBalancing(instance) as EndpointBalancing[];
    expect((instance as unknown as Record<symbol, unknown>)[kEndpointBalancing]).toHaveLength(3);
    await detachEndpointBalancing(instance, third);

    for (let i = 0; i < 20; i++) {
      const apiData = (await instance.get<PodRequest>(`http://api.shop.svc:${api.port}/v1/${i}`)).data;
      expect(api.addresses).toContain(apiData.pod);
      expect(apiData.host).toBe(`api.shop.svc:${api.port}`);
      const webData = (await instance.get<PodRequest>(`/page/${i}`)).data;
      expect(web.addresses).toContain(webData.pod);
    }
    expect(served(api)).toBe(20);
    expect(served(web)).toBe(20);
    expect(apiHandle?.balancer.stats().totals.picks).toBe(20);
    expect(webHandle?.balancer.stats().totals.picks).toBe(20);

    // detaching one Service leaves the other balanced
    await detachEndpointBalancing(instance, apiHandle);
    const after = (await instance.get<Mocked>(`http://api.shop.svc:${api.port}/v1/x`)).data;
    expect(after).toMatchObject({ mocked: true, url: `http://api.shop.svc:${api.port}/v1/x` });
    expect(served(api)).toBe(20);
    expect(web.addresses).toContain((await instance.get<PodRequest>('/still')).data.pod);
  });
});

describe('options', () => {
  it('needs a match, a host or a baseURL, and validates the rest', () => {
    const sets = new BehaviorSubject<EndpointSet>(endpointSet([], 80));
    expect(() => withEndpointBalancing(axios.create(), { endpoints: sets })).toThrow(BalancingOptionsError);
    expect(() =>
      withEndpointBalancing(axios.create({ baseURL: 'http://web' }), { endpoints: sets }, { maxAttempts: 0 }),
    ).toThrow(/maxAttempts/);
    expect(() =>
      withEndpointBalancing(axios.create(), { endpoints: sets }, { host: 'web.shop.svc/path' }),
    ).toThrow(/options.host/);
    expect(() => withEndpointBalancing(axios.create({ baseURL: 'http://web' }), {} as never)).toThrow(
      /exactly one/,
    );
    expect(getEndpointBalancing(axios.create())).toEqual([]);
  });
});
