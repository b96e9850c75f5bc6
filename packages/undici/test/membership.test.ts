import { createBalancer, NoEndpointsError } from '@endpoint-watch/balancer';
import { BehaviorSubject } from 'rxjs';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { type BalancedAgent, createBalancedAgent } from '../src/index.js';
import {
  endpointSet,
  eventually,
  type Pod,
  type PodRequest,
  rejection,
  useBalancedAgent,
  within,
} from './support.js';

const setup = useBalancedAgent();

const openPoolsOf = (agent: BalancedAgent, pod: Pod) =>
  agent.pools().filter((pool) => pool.endpoint.startsWith(`${pod.address}:`));

describe('scaling', () => {
  it('sends traffic to a new pod, none to a removed one, and closes the removed pod’s pool', async () => {
    const { pods, agent, use, get } = await setup(3, {}, { initial: 2 });
    const [a, b, c] = pods.pods as [Pod, Pod, Pod];
    for (let i = 0; i < 30; i++) await get();
    expect(c.count()).toBe(0);

    use([a.address, b.address, c.address]);
    for (let i = 0; i < 90; i++) await get();
    expect(c.count()).toBeGreaterThanOrEqual(10);

    use([a.address, b.address]);
    await eventually(() => openPoolsOf(agent, c).length === 0, 'the pool of the removed pod to close');
    await eventually(() => c.sockets.size === 0, 'the removed pod’s connections to close');
    const before = c.count();
    for (let i = 0; i < 60; i++) await get();
    expect(c.count()).toBe(before);
    expect(
      agent
        .pools()
        .map((pool) => pool.endpoint)
        .sort(),
    ).toEqual([a, b].map((pod) => `${pod.address}:${pods.port}`));
  });

  it('lets a request in flight on a removed pod finish before closing its pool', async () => {
    const { pods, agent, use, url } = await setup(1);
    const [a] = pods.pods as [Pod];
    a.delayMs = 150;
    const pending = request(`${url}/slow`, { dispatcher: agent });
    await eventually(() => a.sockets.size === 1, 'the request to reach the pod');
    use([]);
    await eventually(() => agent.pools().every((pool) => pool.draining), 'the pool to drain');
    const response = await pending;
    expect(((await response.body.json()) as PodRequest).url).toBe('/slow');
    await eventually(() => agent.pools().length === 0 && a.sockets.size === 0, 'the drained pool to close');
  });

  it('fails with ERR_NO_ENDPOINTS quickly when the Service is scaled to zero', async () => {
    const { agent, use, url } = await setup(2, { noEndpointsTimeoutMs: 50 });
    use([]);
    const error = await within(rejection(request(`${url}/`, { dispatcher: agent })), 2_000, 'the request');
    expect(error).toBeInstanceOf(NoEndpointsError);
    expect(error.code).toBe('ERR_NO_ENDPOINTS');
    expect(error.message).toContain('shop/web');
    expect(agent.balancer.stats().totals.picks).toBe(0);
  });

  it('waits for endpoints (within the bound) and goes on when a pod appears', async () => {
    const { pods, agent, use, url } = await setup(1, { noEndpointsTimeoutMs: 5_000 }, { initial: 0 });
    const pending = request(`${url}/waiting`, { dispatcher: agent });
    await new Promise((resolve) => setImmediate(resolve));
    use(pods.addresses);
    const response = await within(pending, 4_000, 'the waiting request');
    expect(((await response.body.json()) as PodRequest).url).toBe('/waiting');
  });

  it('does not leak pools or sockets as pods churn', async () => {
    const { pods, agent, use, get } = await setup(6, {}, { initial: 3 });
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let round = 0; round < 150; round++) {
      const members = pods.addresses.filter(() => random() < 0.5);
      use(members.length > 0 ? members : [pods.addresses[round % 6] as string]);
      await Promise.all([get(), get(), get()]);
    }
    const final = [pods.addresses[1] as string, pods.addresses[4] as string];
    use(final);
    await Promise.all([get(), get(), get(), get()]);
    await eventually(
      () => agent.pools().length === final.length && agent.pools().every((pool) => !pool.draining),
      'only the current pods’ pools to stay open',
    );
    await eventually(
      () => pods.pods.every((pod) => final.includes(pod.address) || pod.sockets.size === 0),
      'every connection to a departed pod to close',
    );
    const open = pods.pods.reduce((n, pod) => n + pod.sockets.size, 0);
    expect(open).toBeGreaterThanOrEqual(1);
    expect(open).toBeLessThanOrEqual(final.length * 4);
    expect(agent.balancer.stats().totals.inFlight).toBe(0);
  });
});

describe('least-request under concurrency', () => {
  it('sends far fewer requests to a pod that answers 40 ms slower', async () => {
    const { pods, get } = await setup(3);
    const [fast1, fast2, slow] = pods.pods as [Pod, Pod, Pod];
    slow.delayMs = 40;
    // 16 concurrent loops, 480 requests in all
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let i = 0; i < 30; i++) await get();
      }),
    );
    expect(fast1.count() + fast2.count() + slow.count()).toBe(480);
    // Uniform spreading would give each 160. Least-request keeps the slow pod's share small (about a
    // third of a fast pod's here); the bound leaves room for a loaded machine.
    expect(slow.count() * 1.5).toBeLessThan(Math.min(fast1.count(), fast2.count()));
  });
});

describe('cancellation', () => {
  it('aborts the attempt on `signal` and does not retry it', async () => {
    const { pods, agent, url } = await setup(2);
    for (const pod of pods.pods) pod.mode = 'hang';
    const controller = new AbortController();
    const pending = rejection(request(`${url}/hang`, { dispatcher: agent, signal: controller.signal }));
    await eventually(() => pods.pods.some((pod) => pod.count() === 1), 'the request to reach a pod');
    controller.abort();
    const error = await pending;
    expect(error.name).toBe('AbortError');
    await eventually(() => agent.balancer.stats().totals.inFlight === 0, 'the lease to be released');
    // nothing left running or queued: no retry (undici may reopen an idle connection after an abort)
    await eventually(
      () => agent.pools().every((pool) => pool.size === 0),
      'the aborted request to leave the pool',
    );
    expect(pods.pods.reduce((n, pod) => n + pod.count(), 0)).toBe(1);
    expect(pods.pods.reduce((n, pod) => n + pod.connections, 0)).toBeLessThanOrEqual(2);
    // a plain cancellation is not the pod's fault
    expect(agent.balancer.stats().totals.failures).toBe(0);
  });

  it('counts a timeout signal against the pod', async () => {
    const { pods, agent, url } = await setup(1, { balancer: { outlierDetection: false } });
    const pod = pods.pods[0] as Pod;
    pod.mode = 'hang';
    const controller = new AbortController();
    const pending = rejection(request(`${url}/hang`, { dispatcher: agent, signal: controller.signal }));
    await eventually(() => pod.count() === 1, 'the request to reach the pod');
    controller.abort(new DOMException('too slow', 'TimeoutError'));
    expect((await pending).name).toBe('TimeoutError');
    await eventually(() => agent.balancer.stats().totals.inFlight === 0, 'the lease to be released');
    expect(agent.balancer.stats().totals.failures).toBe(1);
  });

  it('aborts a request that is waiting for an endpoint', async () => {
    const { agent, url } = await setup(1, { noEndpointsTimeoutMs: 10_000 }, { initial: 0 });
    const controller = new AbortController();
    const pending = rejection(request(`${url}/`, { dispatcher: agent, signal: controller.signal }));
    await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    const error = await within(pending, 2_000, 'the aborted request');
    expect(error.name).toBe('AbortError');
    expect(agent.balancer.stats().totals.picks).toBe(0);
  });
});

describe('close and destroy', () => {
  it('close() waits for requests in progress, then closes every pool, socket and its balancer', async () => {
    const { pods, agent, get, url } = await setup(3);
    for (let i = 0; i < 30; i++) await get();
    expect(agent.pools()).toHaveLength(3);
    (pods.pods[0] as Pod).delayMs = 100;
    (pods.pods[1] as Pod).delayMs = 100;
    (pods.pods[2] as Pod).delayMs = 100;
    const pending = request(`${url}/last`, { dispatcher: agent });
    const closed = agent.close();
    const late = await rejection(request(`${url}/late`, { dispatcher: agent }));
    expect(late.code).toBe('UND_ERR_CLOSED');
    const response = await pending;
    expect(((await response.body.json()) as PodRequest).url).toBe('/last');
    await closed;
    expect(agent.closed).toBe(true);
    expect(agent.pools()).toEqual([]);
    expect(agent.balancer.stats().closed).toBe(true);
    await eventually(() => pods.pods.every((pod) => pod.sockets.size === 0), 'every connection to close');
  });

  it('destroy() fails requests in progress and closes every socket', async () => {
    const { pods, agent, url } = await setup(2);
    for (const pod of pods.pods) pod.mode = 'hang';
    const pending = rejection(request(`${url}/hang`, { dispatcher: agent }));
    await eventually(() => pods.pods.some((pod) => pod.count() === 1), 'the request to reach a pod');
    await agent.destroy();
    const error = await pending;
    expect(error.code).toBe('UND_ERR_DESTROYED');
    expect(agent.destroyed).toBe(true);
    expect(agent.pools()).toEqual([]);
    await eventually(() => pods.pods.every((pod) => pod.sockets.size === 0), 'every connection to close');
    expect(pods.pods.reduce((n, pod) => n + pod.count(), 0)).toBe(1);
  });
  it('destroy() fails a request waiting for an endpoint with its own error', async () => {
    const { agent, url } = await setup(1, { noEndpointsTimeoutMs: 10_000 }, { initial: 0 });
    const pending = rejection(request(`${url}/`, { dispatcher: agent }));
    await new Promise((resolve) => setImmediate(resolve));
    await agent.destroy();
    const error = await within(pending, 2_000, 'the waiting request');
    expect(error.code).toBe('UND_ERR_DESTROYED');
  });

  it('destroy(error) does not count the requests it fails against their pods', async () => {
    const { pods, url } = await setup(2);
    for (const pod of pods.pods) pod.mode = 'hang';
    const balancer = createBalancer(new BehaviorSubject(endpointSet(pods.addresses, pods.port)));
    const agent = createBalancedAgent({ balancer });
    const pending = rejection(request(`${url}/hang`, { dispatcher: agent }));
    await eventually(() => pods.pods.some((pod) => pod.count() === 1), 'the request to reach a pod');
    await agent.destroy(new Error('shutting down'));
    expect((await pending).message).toBe('shutting down');
    expect(balancer.stats().totals).toMatchObject({ inFlight: 0, failures: 0 });
    balancer.close();
  });
});
