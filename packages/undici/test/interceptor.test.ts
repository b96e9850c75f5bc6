import { createBalancer } from '@endpoint-watch/balancer';
import type { EndpointSet } from '@endpoint-watch/core';
import { BehaviorSubject } from 'rxjs';
import { Agent, fetch, interceptors, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { endpointBalancing } from '../src/index.js';
import { counts, endpointSet, type PodRequest, type Pods, startPods } from './support.js';

let pods: Pods | undefined;
const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0)) await step();
  await pods?.close();
  pods = undefined;
});

describe('endpointBalancing interceptor', () => {
  it('balances requests of a composed Agent, keeping Host, and retries refused connections', async () => {
    pods = await startPods(3);
    const sets = new BehaviorSubject<EndpointSet>(endpointSet(['127.0.0.5', ...pods.addresses], pods.port));
    const balancing = endpointBalancing(
      { endpoints: sets },
      { balancer: { strategy: 'round-robin', outlierDetection: false } },
    );
    const base = new Agent();
    const dispatcher = base.compose(balancing);
    cleanup.push(
      () => base.close(),
      () => balancing.close(),
    );
    const url = `http://web.shop.svc:${pods.port}`;
    for (let i = 0; i < 60; i++) {
      const response = await request(`${url}/i/${i}`, {
        dispatcher,
        method: i % 2 ? 'POST' : 'GET',
        body: i % 2 ? 'b' : undefined,
      });
      const seen = (await response.body.json()) as PodRequest;
      expect(seen.host).toBe(`web.shop.svc:${pods.port}`);
    }
    const perPod = counts(pods);
    expect(Object.values(perPod).reduce((a, b) => a + b, 0)).toBe(60);
    for (const n of Object.values(perPod)) expect(n).toBeGreaterThanOrEqual(10);
    // round-robin drew the dead endpoint about every 4th pick; each time the request went on elsewhere
    expect(
      balancing.balancer.stats().endpoints.find((e) => e.address === '127.0.0.5')?.failures,
    ).toBeGreaterThanOrEqual(10);

    const viaFetch = await fetch(`${url}/fetch`, { dispatcher });
    expect(await viaFetch.json()).toMatchObject({ url: '/fetch', host: `web.shop.svc:${pods.port}` });

    balancing.close();
    expect(balancing.balancer.stats().closed).toBe(true);
  });

  it('leaves other origins to the next dispatcher, and composes with undici interceptors', async () => {
    pods = await startPods(2);
    const direct = await startPods(1, { first: 1 });
    cleanup.push(() => direct.close());
    const balancer = createBalancer(new BehaviorSubject(endpointSet(pods.addresses, pods.port)));
    const balancing = endpointBalancing(
      { balancer },
      { match: (origin) => origin.hostname.endsWith('.svc') },
    );
    const dispatcher = new Agent().compose(balancing, interceptors.responseError());
    cleanup.push(
      () => dispatcher.close(),
      () => balancer.close(),
    );
    const plain = await request(`http://127.0.0.1:${direct.port}/direct`, { dispatcher });
    expect(((await plain.body.json()) as PodRequest).pod).toBe('127.0.0.1');
    expect(balancer.stats().totals.picks).toBe(0);

    for (const pod of pods.pods) {
      pod.mode = 'status';
      pod.status = 500;
    }
    await expect(request(`http://web.shop.svc:${pods.port}/e`, { dispatcher })).rejects.toMatchObject({
      statusCode: 500,
    });
    expect(balancer.stats().totals).toMatchObject({ picks: 1, failures: 1 });
    balancing.close(); // not owned: the balancer stays open
    expect(balancer.stats().closed).toBe(false);
  });
});
