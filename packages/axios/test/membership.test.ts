import { seededRandom } from '@endpoint-watch/testing';
import { describe, expect, it } from 'vitest';
import { detachEndpointBalancing } from '../src/index.js';
import {
  ADAPTERS,
  eventually,
  type Pod,
  type PodRequest,
  rejection,
  useBalancedAxios,
  within,
} from './support.js';

const balancedAxios = useBalancedAxios();

describe.each(ADAPTERS)('membership, %s adapter', (adapter) => {
  async function setup(count: number) {
    const {
      pods,
      instance: api,
      handle,
      use,
    } = await balancedAxios(adapter, count, {
      noEndpointsTimeoutMs: 5_000,
    });
    /** Endpoints (`address:port`) this instance holds connections or agents for. */
    const open = (): string[] =>
      adapter === 'http'
        ? handle.agents().map((agent) => agent.endpoint)
        : (handle.fetchDispatcher?.pools() ?? []).map((pool) => pool.endpoint);
    return { pods, api, handle, use, open };
  }

  it('leaves no socket or agent behind as pods churn under load', async () => {
    const { pods, api, use, open } = await setup(4);
    const random = seededRandom(0x5eed); // seeded: a failing churn sequence can be replayed
    for (let round = 0; round < 50; round++) {
      const members = pods.addresses.filter(() => random() < 0.5);
      use(members.length > 0 ? members : [pods.addresses[round % 4] as string]);
      const results = await Promise.all(
        Array.from({ length: 4 }, (_, i) => api.get<PodRequest>(`/churn/${round}/${i}`)),
      );
      for (const [i, { data }] of results.entries()) expect(data.url).toBe(`/churn/${round}/${i}`);
    }
    const [a, b, c, d] = pods.pods as [Pod, Pod, Pod, Pod];
    use([a.address, b.address]);
    for (let i = 0; i < 10; i++) await api.get(`/settled/${i}`);
    await eventually(
      () => c.sockets.size === 0 && d.sockets.size === 0,
      'the departed pods’ connections to be closed',
    );
    await eventually(
      () =>
        open().every(
          (endpoint) => endpoint.startsWith(`${a.address}:`) || endpoint.startsWith(`${b.address}:`),
        ),
      'only the current pods to have agents',
    );
    expect(open().length).toBeGreaterThan(0);

    await detachEndpointBalancing(api);
    await eventually(() => pods.pods.every((pod) => pod.sockets.size === 0), 'every connection to be closed');
    expect(open()).toEqual([]);
  });

  it('lets a request in flight finish before detach closes the balancer', async () => {
    const { pods, api, handle } = await setup(1);
    const [a] = pods.pods as [Pod];
    a.mode = 'hang';
    const abort = new AbortController();
    const pending = rejection(api.get('/slow', { signal: abort.signal }));
    await within(a.received(1), 5_000, 'the request to reach the pod');
    let detached = false;
    const detaching = detachEndpointBalancing(api).then(() => {
      detached = true;
    });
    expect(handle.detached).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(detached).toBe(false);
    expect(handle.balancer.stats().closed).toBe(false);
    abort.abort();
    expect((await pending).code).toBe('ERR_CANCELED');
    await within(detaching, 5_000, 'detach');
    expect(handle.balancer.stats().closed).toBe(true);
    await eventually(() => a.sockets.size === 0, 'the connection to close');
  });
});
