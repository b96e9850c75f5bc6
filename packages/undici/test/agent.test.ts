import { once } from 'node:events';
import { Readable, Writable } from 'node:stream';
import { pipeline as pipelineCallback } from 'node:stream/promises';
import { createBalancer } from '@endpoint-watch/balancer';
import { BehaviorSubject } from 'rxjs';
import { type Dispatcher, fetch, interceptors, pipeline, request, stream } from 'undici';
import { describe, expect, it } from 'vitest';
import { BalancingOptionsError, createBalancedAgent } from '../src/index.js';
import { counts, endpointSet, type Pod, type PodRequest, startPods, useBalancedAgent } from './support.js';

const setup = useBalancedAgent();

async function json(dispatcher: Dispatcher, url: string, options: Partial<Dispatcher.RequestOptions> = {}) {
  const response = await request(url, { dispatcher, ...options });
  return { status: response.statusCode, body: (await response.body.json()) as PodRequest };
}

describe('createBalancedAgent', () => {
  it('spreads sequential requests over every pod over kept-alive connections', async () => {
    const { pods, agent, url } = await setup(3);
    for (let i = 0; i < 300; i++) {
      const { status } = await json(agent, `${url}/item/${i}`);
      expect(status).toBe(200);
    }
    const perPod = counts(pods);
    expect(Object.values(perPod).reduce((a, b) => a + b, 0)).toBe(300);
    // least-request with nothing in flight is uniform: 100 each expected; below 60 is ~1e-6 likely.
    for (const n of Object.values(perPod)) expect(n).toBeGreaterThanOrEqual(60);
    // keep-alive: a few connections per pod (undici's Pool may open a second one), not one per request
    for (const pod of pods.pods) expect(pod.connections).toBeLessThanOrEqual(4);
    expect(
      agent
        .pools()
        .map((pool) => pool.endpoint)
        .sort(),
    ).toEqual(pods.addresses.map((a) => `${a}:${pods.port}`));
  });

  it('keeps path, query, method, headers, body and the Host header of the URL', async () => {
    const { pods, agent, url } = await setup(2);
    const { body } = await json(agent, `${url}/orders/7?expand=lines&x=%20y`, {
      method: 'PUT',
      headers: { 'x-request-id': 'abc', 'content-type': 'text/plain' },
      body: 'quantity=3',
    });
    expect(pods.addresses).toContain(body.pod);
    expect(body).toMatchObject({
      method: 'PUT',
      url: '/orders/7?expand=lines&x=%20y',
      host: `web.shop.svc:${pods.port}`,
      body: 'quantity=3',
    });
    expect(body.headers['x-request-id']).toBe('abc');

    // headers as an array and with `query`: Host is still added once
    const second = await json(agent, `${url}/q`, { headers: ['x-a', '1'], query: { b: '2' } });
    expect(second.body).toMatchObject({ url: '/q?b=2', host: `web.shop.svc:${pods.port}` });
    expect(second.body.headers['x-a']).toBe('1');

    // an explicit Host header wins, as with undici itself
    const third = await json(agent, `${url}/h`, { headers: { host: 'override.example' } });
    expect(third.body.host).toBe('override.example');
  });

  it('works with request, stream, pipeline and fetch from the same undici', async () => {
    const { pods, agent, url } = await setup(3);
    const host = `web.shop.svc:${pods.port}`;

    const viaRequest = await json(agent, `${url}/request`);
    expect(viaRequest.body).toMatchObject({ url: '/request', host });

    let streamed = '';
    await stream(`${url}/stream`, { dispatcher: agent, method: 'GET', opaque: null }, ({ statusCode }) => {
      expect(statusCode).toBe(200);
      return new Writable({
        write(chunk, _encoding, callback) {
          streamed += chunk.toString();
          callback();
        },
      });
    });
    expect(JSON.parse(streamed)).toMatchObject({ url: '/stream', host });

    let piped = '';
    await pipelineCallback(
      Readable.from(['piped ', 'body']),
      pipeline(`${url}/pipeline`, { dispatcher: agent, method: 'POST' }, ({ body }) => body),
      new Writable({
        write(chunk, _encoding, callback) {
          piped += chunk.toString();
          callback();
        },
      }),
    );
    expect(JSON.parse(piped)).toMatchObject({ url: '/pipeline', method: 'POST', body: 'piped body', host });

    const response = await fetch(`${url}/fetch?a=1`, {
      dispatcher: agent,
      method: 'POST',
      body: JSON.stringify({ n: 1 }),
      headers: { 'content-type': 'application/json' },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ url: '/fetch?a=1', method: 'POST', body: '{"n":1}', host });

    // the agent's own Dispatcher methods too
    const own = await agent.request({ origin: url, path: '/own', method: 'GET' });
    expect(await own.body.json()).toMatchObject({ url: '/own', host });

    expect(pods.pods.reduce((sum, pod) => sum + pod.requests.length, 0)).toBe(5);
  });

  it('drives a controller-API (onRequestStart/onResponse*) handler, hiding retries from it', async () => {
    // a dead endpoint first (round-robin from index 0): the handler must see one clean exchange
    const { agent, url } = await setup(
      1,
      { balancer: { strategy: 'round-robin', random: () => 0, outlierDetection: false } },
      { initial: ([live]) => ['127.0.0.5', live as string] },
    );
    const events: string[] = [];
    const chunks: Buffer[] = [];
    const done = new Promise<void>((resolve, reject) => {
      agent.dispatch(
        { origin: url, path: '/raw', method: 'GET' },
        {
          onRequestStart: () => events.push('start'),
          onResponseStart: (_controller, statusCode) => events.push(`headers ${statusCode}`),
          onResponseData: (_controller, chunk) => {
            chunks.push(chunk);
          },
          onResponseEnd: () => {
            events.push('end');
            resolve();
          },
          onResponseError: (_controller, error) => reject(error),
        },
      );
    });
    await done;
    expect(events).toEqual(['start', 'headers 200', 'end']);
    expect(JSON.parse(Buffer.concat(chunks).toString())).toMatchObject({ url: '/raw' });
    expect(agent.balancer.stats().endpoints.find((e) => e.address === '127.0.0.5')?.failures).toBe(1);
  });

  it('passes backpressure through: a large body read slowly arrives whole', async () => {
    const { pods, agent, url } = await setup(1);
    (pods.pods[0] as Pod).bodyBytes = 8 * 1024 * 1024;
    const response = await request(`${url}/big`, { dispatcher: agent, highWaterMark: 16 * 1024 });
    let received = 0;
    for await (const chunk of response.body) {
      received += (chunk as Buffer).length;
      if (received % (1024 * 1024) < 65_536) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(received).toBe(8 * 1024 * 1024);
    expect(agent.balancer.stats().totals).toMatchObject({ inFlight: 0, successes: 1 });
  });

  it('applies pause() and resume() of the caller’s controller to the attempt', async () => {
    const { pods, agent, url } = await setup(1);
    (pods.pods[0] as Pod).bodyBytes = 4 * 1024 * 1024;
    let received = 0;
    let whilePaused = -1;
    await new Promise<void>((resolve, reject) => {
      agent?.dispatch(
        { origin: url, path: '/paused', method: 'GET' },
        {
          // undici 7 tells the controller API from the legacy one by onRequestStart
          onRequestStart: () => {},
          onResponseStart: (controller) => {
            controller.pause();
            expect(controller.paused).toBe(true);
            setTimeout(() => {
              whilePaused = received;
              controller.resume();
            }, 50);
          },
          onResponseData: (_controller, chunk) => {
            received += chunk.length;
          },
          onResponseEnd: () => resolve(),
          onResponseError: (_controller, error) => reject(error),
        },
      );
    });
    expect(whilePaused).toBe(0);
    expect(received).toBe(4 * 1024 * 1024);
  });

  it('dials IPv6 endpoints in brackets ([::1])', async () => {
    const { pods, agent } = await setup(1, {}, { addresses: ['::1'] });
    const { body } = await json(agent, `http://web.shop.svc:${pods.port}/v6`);
    expect(body).toMatchObject({ pod: '::1', host: `web.shop.svc:${pods.port}` });
    expect(agent.pools()[0]).toMatchObject({
      origin: `http://[::1]:${pods.port}`,
      endpoint: `[::1]:${pods.port}`,
    });
  });

  it('passes protocol upgrades through to one pod', async () => {
    const { pods, agent, url } = await setup(2);
    const { socket, headers } = await agent.upgrade({ origin: url, path: '/ws', protocol: 'echo' } as never);
    expect(headers.upgrade).toBe('echo');
    socket.write('ping');
    const [echoed] = (await once(socket, 'data')) as [Buffer];
    expect(echoed.toString()).toBe('ping');
    socket.destroy();
    const seen = pods.pods.flatMap((pod) => pod.requests);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ url: '/ws', host: `web.shop.svc:${pods.port}` });
    expect(agent.balancer.stats().totals).toMatchObject({ picks: 1, successes: 1, inFlight: 0 });
  });

  it('re-emits connect and disconnect events of its pools, with itself first in the targets', async () => {
    const { pods, agent, url } = await setup(2);
    const connected: string[] = [];
    agent.on('connect', (origin, targets) => {
      expect(targets[0]).toBe(agent);
      connected.push(String(origin));
    });
    for (let i = 0; i < 20; i++) await json(agent, `${url}/e`);
    expect(new Set(connected)).toEqual(new Set(pods.addresses.map((a) => `http://${a}:${pods.port}/`)));
  });

  it('balances only the origins `match` accepts; the others go straight through', async () => {
    const { pods, agent, url } = await setup(2, {
      match: (origin) => origin.hostname === 'web.shop.svc',
    });
    // a plain server on 127.0.0.1, reached directly
    const direct = await startPods(1, { first: 1 });
    try {
      const before = agent.balancer.stats().totals.picks;
      const answer = await json(agent, `http://127.0.0.1:${direct.port}/direct`);
      expect(answer.body).toMatchObject({ pod: '127.0.0.1', host: `127.0.0.1:${direct.port}` });
      expect(agent.balancer.stats().totals.picks).toBe(before);
      expect(agent.pools()).toEqual([]);

      const balanced = await json(agent, `${url}/balanced`);
      expect(pods.addresses).toContain(balanced.body.pod);
      expect(agent.balancer.stats().totals.picks).toBe(before + 1);
    } finally {
      await direct.close();
    }
  });

  it('balances every request by default, whatever the host name', async () => {
    const { pods, agent } = await setup(2);
    const answer = await json(agent, `http://anything.example:${pods.port}/x`);
    expect(pods.addresses).toContain(answer.body.pod);
    expect(answer.body.host).toBe(`anything.example:${pods.port}`);
  });

  it('counts 5xx as failures and 4xx as successes, without retrying either', async () => {
    const { pods, agent, url } = await setup(2, { balancer: { outlierDetection: false } });
    for (const pod of pods.pods) {
      pod.mode = 'status';
      pod.status = 503;
    }
    for (let i = 0; i < 5; i++) expect((await json(agent, `${url}/down`)).status).toBe(503);
    for (const pod of pods.pods) pod.status = 404;
    for (let i = 0; i < 7; i++) expect((await json(agent, `${url}/missing`)).status).toBe(404);
    const { totals } = agent.balancer.stats();
    expect(totals).toMatchObject({ picks: 12, failures: 5, successes: 7, inFlight: 0 });
    expect(pods.pods.reduce((sum, pod) => sum + pod.requests.length, 0)).toBe(12);
  });

  it('keeps the lease in flight until the response body has arrived', async () => {
    const { pods, agent, url } = await setup(1);
    (pods.pods[0] as Pod).bodyDelayMs = 200;
    const response = await request(`${url}/slow-body`, { dispatcher: agent });
    // headers are in, the body is not read yet: still in flight for least-request
    expect(agent.balancer.stats().totals.inFlight).toBe(1);
    await response.body.text();
    expect(agent.balancer.stats().totals).toMatchObject({ inFlight: 0, successes: 1 });
  });

  it('shares a balancer it does not own, and leaves it open on close', async () => {
    const { pods, url } = await setup(2);
    const balancer = createBalancer(new BehaviorSubject(endpointSet(pods.addresses, pods.port)));
    const shared = createBalancedAgent({ balancer });
    await json(shared, `${url}/`);
    await shared.close();
    expect(balancer.stats().closed).toBe(false);
    expect(balancer.pick()).toBeDefined();
    balancer.close();
  });

  it('is closed, destroyed and inspected through what compose() returns', async () => {
    // undici's compose() returns a Proxy of the agent: its methods run with the Proxy as `this`.
    const { pods, agent, sets, url } = await setup(2);
    const composed = agent
      .compose(interceptors.retry({ statusCodes: [503] }))
      .compose(interceptors.redirect({ maxRedirections: 1 }));
    expect((await json(composed, `${url}/`)).status).toBe(200);
    expect(composed.pools()).toHaveLength(1);
    expect(composed.balancer).toBe(agent.balancer);
    await composed.close();
    expect(agent.closed).toBe(true);
    expect(agent.balancer.stats().closed).toBe(true);
    await expect(json(composed, `${url}/`)).rejects.toMatchObject({ code: 'UND_ERR_CLOSED' });

    const other = createBalancedAgent({ endpoints: sets }).compose(interceptors.dump());
    await new Promise<void>((resolve) => other.close(resolve));
    const destroyed = createBalancedAgent({ endpoints: sets });
    await destroyed.compose(interceptors.retry()).destroy();
    expect(destroyed.destroyed).toBe(true);
    // Only the first request reached a pod: the one after close() failed before any pick.
    expect(Object.values(counts(pods)).reduce((a, b) => a + b, 0)).toBe(1);
  });

  it('rejects bad sources and options with ERR_BALANCING_OPTIONS', () => {
    const sets = new BehaviorSubject(endpointSet([], 1));
    const balancer = createBalancer(sets);
    expect(() => createBalancedAgent({} as never)).toThrow(BalancingOptionsError);
    expect(() => createBalancedAgent({ endpoints: sets, balancer } as never)).toThrow(/exactly one/);
    expect(() => createBalancedAgent({ balancer }, { balancer: { strategy: 'random' } })).toThrow(
      expect.objectContaining({ code: 'ERR_BALANCING_OPTIONS' }),
    );
    expect(() => createBalancedAgent({ balancer }, { maxAttempts: 0 })).toThrow(/maxAttempts/);
    // Past 2^31 - 1 ms Node fires a timer after 1 ms: refused here, not at each request.
    for (const noEndpointsTimeoutMs of [-1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31]) {
      expect(() => createBalancedAgent({ balancer }, { noEndpointsTimeoutMs })).toThrow(
        /noEndpointsTimeoutMs/,
      );
    }
    balancer.close();
  });
});
