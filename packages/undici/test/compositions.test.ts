import { gzipSync } from 'node:zlib';
import type { Balancer, BalancerOptions } from '@endpoint-watch/balancer';
import type { EndpointSet } from '@endpoint-watch/core';
import type { LoopbackPodHandler } from '@endpoint-watch/testing';
import { BehaviorSubject } from 'rxjs';
import { type Dispatcher, interceptors, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { EndpointBalancingOptions } from '../src/index.js';
import {
  type BalancedDispatcher,
  balancedAgentWith,
  balancingOnAgent,
  endpointSet,
  eventually,
  type PodRequest,
  type Pods,
  rejection,
  startPods,
  within,
} from './support.js';

/**
 * Every undici 7.30 built-in interceptor composed with the balancer, in both orders: the table of the
 * README ("Composing with undici's interceptors"). In undici, `compose(a, b)` makes `b` the outermost
 * wrapper: `compose(X, endpointBalancing)` puts X below the balancer (it sees each attempt, whose
 * origin is a pod), `compose(endpointBalancing, X)` and `createBalancedAgent().compose(X)` put X
 * above it (it sees the Service's URL, and whatever it dispatches is picked anew).
 *
 * Two pods, 127.0.0.2 and 127.0.0.3, picked round-robin from 127.0.0.2 on, so where a request went
 * tells whether it was picked anew. Every request is bounded: a hung one fails its test.
 */

type Interceptor = Dispatcher.DispatcherComposeInterceptor;

interface Arrangement {
  readonly name: string;
  /** X wraps the balancer: it sees the Service's URL. */
  readonly above: boolean;
  make(
    x: Interceptor,
    endpoints: BehaviorSubject<EndpointSet>,
    options: EndpointBalancingOptions,
  ): BalancedDispatcher;
}

const arrangements: readonly Arrangement[] = [
  {
    name: 'new Agent().compose(X, endpointBalancing(…))',
    above: false,
    make: (x, endpoints, options) => balancingOnAgent(endpoints, options, (balancing) => [x, balancing]),
  },
  {
    name: 'new Agent().compose(endpointBalancing(…), X)',
    above: true,
    make: (x, endpoints, options) => balancingOnAgent(endpoints, options, (balancing) => [balancing, x]),
  },
  {
    name: 'createBalancedAgent(…).compose(X)',
    above: true,
    make: (x, endpoints, options) => balancedAgentWith(endpoints, options, [x]),
  },
];

const roundRobin: BalancerOptions = { strategy: 'round-robin', random: () => 0, outlierDetection: false };
const A = '127.0.0.2';
const B = '127.0.0.3';

interface Context {
  readonly pods: Pods;
  readonly port: number;
  readonly balancer: Balancer;
  /** GET through the composed dispatcher; the body read to the end. */
  get(path: string): Promise<{ status: number; headers: Record<string, unknown>; text: string }>;
  /** The error a GET through the composed dispatcher fails with. */
  failure(path: string): Promise<Error & Record<string, unknown>>;
  /** Per endpoint address: picks, successes, failures. */
  counters(): Record<string, { picks: number; successes: number; failures: number }>;
}

/** What one test of a row records. */
interface RowState {
  /** Host names the dns interceptor looked up. */
  readonly lookups: string[];
  /** Responses the pods hold back, to send when called. */
  readonly held: Array<() => void>;
}

interface Row {
  readonly interceptor: string;
  /** A fresh interceptor for one test. */
  make(state: RowState): Interceptor;
  /** How the pods answer (before their default JSON echo of the request). */
  readonly pods?: (state: RowState) => LoopbackPodHandler;
  readonly balancing?: EndpointBalancingOptions;
  run(context: Context, above: boolean, state: RowState): Promise<void>;
}

const echo = (text: string) => JSON.parse(text) as PodRequest;

/** 127.0.0.2 answers its first GET /flaky with a 503; every other request gets the echo. */
const flaky: Row['pods'] = () => (req, res, pod) => {
  if (req.url !== '/flaky' || pod.address !== A || pod.count((r) => r.url === '/flaky') > 1) return false;
  res.writeHead(503, { 'content-type': 'text/plain' });
  res.end('busy');
  return true;
};

async function retriedOnceAfter503({ get, pods, port, counters }: Context, above: boolean): Promise<void> {
  const response = await get('/flaky');
  expect(response.status).toBe(200);
  const seen = echo(response.text);
  expect(seen.host).toBe(`web.shop.svc:${port}`);
  if (above) {
    // The retry is a new request to the balancer: a new pick, here the other pod.
    expect(seen.pod).toBe(B);
    expect(pods.counts()).toEqual({ [A]: 1, [B]: 1 });
    expect(counters()).toMatchObject({ [A]: { picks: 1, failures: 1 }, [B]: { picks: 1, successes: 1 } });
  } else {
    // Retried below the balancer, within the attempt: on the same pod, under one lease.
    expect(seen.pod).toBe(A);
    expect(pods.counts()).toEqual({ [A]: 2, [B]: 0 });
    expect(counters()).toMatchObject({ [A]: { picks: 1, successes: 1, failures: 0 }, [B]: { picks: 0 } });
  }
}

const rows: readonly Row[] = [
  {
    interceptor: 'retry',
    make: () => interceptors.retry({ statusCodes: [503], minTimeout: 1, maxTimeout: 1 }),
    pods: flaky,
    run: retriedOnceAfter503,
  },
  {
    // Decides while the response is paused, then re-dispatches itself from inside onResponseEnd.
    interceptor: 'retry (throwOnError: false)',
    make: () => interceptors.retry({ statusCodes: [503], minTimeout: 1, maxTimeout: 1, throwOnError: false }),
    pods: flaky,
    run: retriedOnceAfter503,
  },
  {
    interceptor: 'redirect',
    make: () => interceptors.redirect({ maxRedirections: 2 }),
    pods: () => (req, res) => {
      if (req.url !== '/old') return false;
      res.writeHead(302, { location: '/new' });
      res.end();
      return true;
    },
    async run({ get, pods, port }, above) {
      const seen = echo((await get('/old')).text);
      expect(seen.url).toBe('/new');
      if (above) {
        // Each hop is a new request to the balancer: a new pick, with the Service's Host.
        expect(seen).toMatchObject({ pod: B, host: `web.shop.svc:${port}` });
        expect(pods.counts()).toEqual({ [A]: 1, [B]: 1 });
      } else {
        // Followed below the balancer, on the same pod; undici's RedirectHandler drops the Host
        // header, so the hop names the pod's address instead of the Service.
        expect(seen).toMatchObject({ pod: A, host: `${A}:${port}` });
        expect(pods.counts()).toEqual({ [A]: 2, [B]: 0 });
      }
    },
  },
  {
    // Both at once: redirect outermost, retry inside it (in the manner of compose(retry, redirect)).
    interceptor: 'redirect over retry',
    make: () => {
      const retry = interceptors.retry({ statusCodes: [503], minTimeout: 1, maxTimeout: 1 });
      const redirect = interceptors.redirect({ maxRedirections: 2 });
      return (dispatch) => redirect(retry(dispatch));
    },
    // /old redirects to /flaky; the first /flaky to reach any pod is answered 503.
    pods: () => {
      let failed = false;
      return (req, res) => {
        if (req.url === '/old') {
          res.writeHead(302, { location: '/flaky' });
          res.end();
          return true;
        }
        if (req.url !== '/flaky' || failed) return false;
        failed = true;
        res.writeHead(503);
        res.end();
        return true;
      };
    },
    async run({ get, pods, port }, above) {
      const seen = echo((await get('/old')).text);
      expect(seen.url).toBe('/flaky');
      if (above) {
        // /old on A, the hop on B (503), its retry back on A: three picks.
        expect(seen).toMatchObject({ pod: A, host: `web.shop.svc:${port}` });
        expect(pods.counts()).toEqual({ [A]: 2, [B]: 1 });
      } else {
        expect(seen).toMatchObject({ pod: A, host: `${A}:${port}` });
        expect(pods.counts()).toEqual({ [A]: 3, [B]: 0 });
      }
    },
  },
  {
    interceptor: 'dns',
    make: (state) =>
      interceptors.dns({
        lookup: (origin, _options, callback) => {
          state.lookups.push(origin.hostname);
          // Nothing listens there: a request sent to this answer would fail.
          callback(null, [{ address: '127.0.0.9', family: 4, ttl: 60_000 }]);
        },
      }),
    async run({ get, port, counters }, above, state) {
      const seen = echo((await get('/resolved')).text);
      expect(seen).toMatchObject({ pod: A, host: `web.shop.svc:${port}` });
      expect(counters()).toMatchObject({ [A]: { picks: 1 } });
      // Above: the Service name is resolved (it must resolve), then the balancer, which matches any
      // origin by default, replaces the answer with a pod. Below: origins are pod IPs already.
      expect(state.lookups).toEqual(above ? ['web.shop.svc'] : []);
    },
  },
  {
    interceptor: 'dns, with `match` on the Service’s host name',
    make: (state) =>
      interceptors.dns({
        lookup: (origin, _options, callback) => {
          state.lookups.push(origin.hostname);
          callback(null, [{ address: B, family: 4, ttl: 60_000 }]); // plays the Service's ClusterIP
        },
      }),
    balancing: { match: (origin) => origin.hostname === 'web.shop.svc' },
    async run({ get, pods, counters }, above, state) {
      const first = echo((await get('/one')).text);
      const second = echo((await get('/two')).text);
      if (above) {
        // The resolved origin is an IP the balancer does not match: the DNS answer gets every request.
        expect([first.pod, second.pod]).toEqual([B, B]);
        expect(counters()).toMatchObject({ [A]: { picks: 0 }, [B]: { picks: 0 } });
        expect(state.lookups).toEqual(['web.shop.svc']);
      } else {
        expect([first.pod, second.pod]).toEqual([A, B]);
        expect(counters()).toMatchObject({ [A]: { picks: 1 }, [B]: { picks: 1 } });
        expect(state.lookups).toEqual([]);
      }
      expect(pods.counts()).toEqual(above ? { [A]: 0, [B]: 2 } : { [A]: 1, [B]: 1 });
    },
  },
  {
    interceptor: 'cache',
    make: () => interceptors.cache(),
    pods: () => (req, res, pod) => {
      if (req.url !== '/cacheable') return false;
      res.writeHead(200, { 'cache-control': 'max-age=60', 'content-type': 'text/plain' });
      res.end(pod.address);
      return true;
    },
    async run({ get, pods, counters }, above) {
      const bodies = [];
      for (let i = 0; i < 3; i++) bodies.push((await get('/cacheable')).text);
      if (above) {
        // Keyed by the Service's URL: the 2nd and 3rd GET never reach the balancer.
        expect(bodies).toEqual([A, A, A]);
        expect(pods.counts()).toEqual({ [A]: 1, [B]: 0 });
        expect(counters()).toMatchObject({ [A]: { picks: 1 }, [B]: { picks: 0 } });
      } else {
        // Keyed by the pod's origin: a GET is served from the cache only when it is picked onto a
        // pod whose response is cached (the 3rd, back on 127.0.0.2); each takes a lease.
        expect(bodies).toEqual([A, B, A]);
        expect(pods.counts()).toEqual({ [A]: 1, [B]: 1 });
        expect(counters()).toMatchObject({ [A]: { picks: 2 }, [B]: { picks: 1 } });
      }
    },
  },
  {
    interceptor: 'responseError',
    make: () => interceptors.responseError(),
    pods: () => (req, res) => {
      const status = req.url === '/missing' ? 404 : req.url === '/broken' ? 500 : 0;
      if (status === 0) return false;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: req.url }));
      return true;
    },
    async run({ failure, counters }) {
      expect(await failure('/missing')).toMatchObject({
        name: 'ResponseError',
        code: 'UND_ERR_RESPONSE',
        statusCode: 404,
        body: { error: '/missing' },
      });
      expect(await failure('/broken')).toMatchObject({ code: 'UND_ERR_RESPONSE', statusCode: 500 });
      // In both orders the balancer learns the statuses: a 4xx is the caller's problem, a 5xx the pod's.
      expect(counters()).toMatchObject({
        [A]: { picks: 1, successes: 1, failures: 0 },
        [B]: { picks: 1, successes: 0, failures: 1 },
      });
    },
  },
  {
    interceptor: 'decompress',
    make: () => interceptors.decompress(),
    pods: () => (req, res, pod) => {
      if (req.url !== '/gzip') return false;
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'text/plain' });
      res.end(gzipSync(`hello from ${pod.address}`));
      return true;
    },
    async run({ get }) {
      const response = await get('/gzip');
      expect(response.text).toBe(`hello from ${A}`);
      expect(response.headers['content-encoding']).toBeUndefined();
    },
  },
  {
    interceptor: 'dump',
    make: () => interceptors.dump(),
    async run({ get, pods }) {
      const response = await get('/dumped');
      expect(response).toMatchObject({ status: 200, text: '' });
      expect(pods.counts()).toEqual({ [A]: 1, [B]: 0 });
    },
  },
  {
    interceptor: 'deduplicate',
    make: () => interceptors.deduplicate(),
    // Held until the test has sent every request, so that they are all in flight together.
    pods: (state) => (req, res, pod) => {
      if (req.url !== '/held') return false;
      state.held.push(() => res.end(pod.address));
      return true;
    },
    async run({ get, pods, counters }, above, state) {
      const all = Promise.all([get('/held'), get('/held'), get('/held')]);
      // Above: one request for the three. Below: one per pod picked (round-robin: A, B, A).
      const expected = above ? 1 : 2;
      await eventually(() => state.held.length === expected, `${expected} request(s) to reach the pods`);
      for (const answer of state.held) answer();
      const bodies = (await all).map((response) => response.text);
      expect(bodies).toEqual(above ? [A, A, A] : [A, B, A]);
      expect(pods.counts()).toEqual(above ? { [A]: 1, [B]: 0 } : { [A]: 1, [B]: 1 });
      expect(counters()).toMatchObject(
        above ? { [A]: { picks: 1 } } : { [A]: { picks: 2 }, [B]: { picks: 1 } },
      );
    },
  },
];

for (const row of rows) {
  describe(`interceptors.${row.interceptor} composed with the balancer`, () => {
    let pods: Pods | undefined;
    let bench: BalancedDispatcher | undefined;
    afterEach(async () => {
      await bench?.close().catch(() => undefined);
      await pods?.close();
      bench = undefined;
      pods = undefined;
    });

    for (const arrangement of arrangements) {
      it(`as X in ${arrangement.name}`, async () => {
        const state: RowState = { lookups: [], held: [] };
        const started = await startPods(2, row.pods ? { handler: row.pods(state) } : {});
        pods = started;
        const endpoints = new BehaviorSubject(endpointSet(started.addresses, started.port));
        const current = arrangement.make(row.make(state), endpoints, {
          balancer: roundRobin,
          ...row.balancing,
        });
        bench = current;
        const url = `http://web.shop.svc:${started.port}`;
        const what = (path: string) =>
          `GET ${path} through ${arrangement.name} with X = interceptors.${row.interceptor}`;
        const context: Context = {
          pods: started,
          port: started.port,
          balancer: current.balancer,
          async get(path) {
            const response = await within(
              request(`${url}${path}`, { dispatcher: current.dispatcher }),
              5_000,
              what(path),
            );
            const text = await within(response.body.text(), 5_000, `the body of ${what(path)}`);
            return { status: response.statusCode, headers: response.headers, text };
          },
          failure: (path) =>
            rejection(
              within(request(`${url}${path}`, { dispatcher: current.dispatcher }), 5_000, what(path)),
            ) as Promise<Error & Record<string, unknown>>,
          counters: () =>
            Object.fromEntries(
              current.balancer
                .stats()
                .endpoints.map((e) => [
                  e.address,
                  { picks: e.picks, successes: e.successes, failures: e.failures },
                ]),
            ),
        };

        await row.run(context, arrangement.above, state);

        // Nothing left behind: every lease released, and close() (which waits for the requests in
        // progress) returns.
        expect(current.balancer.stats().totals.inFlight).toBe(0);
        await within(current.close(), 5_000, `closing ${arrangement.name}: a request is still pending`);
      });
    }
  });
}

describe('a retry interceptor above the balancer avoids the pods that failed the request', () => {
  // A strategy that always picks 127.0.0.2 first (random over a set sorted by address, drawing 0).
  const stubborn: BalancerOptions = { strategy: 'random', random: () => 0, outlierDetection: false };
  let pods: Pods | undefined;
  let bench: BalancedDispatcher | undefined;
  afterEach(async () => {
    await bench?.close().catch(() => undefined);
    await pods?.close();
  });

  for (const arrangement of arrangements.filter((a) => a.above)) {
    it(`in ${arrangement.name}`, async () => {
      // 127.0.0.2 answers every /flaky with 503; 127.0.0.3 with the echo.
      pods = await startPods(2, {
        handler: (req, res, pod) => {
          if (req.url !== '/flaky' || pod.address !== A) return false;
          res.writeHead(503).end('busy');
          return true;
        },
      });
      const endpoints = new BehaviorSubject(endpointSet(pods.addresses, pods.port));
      const retry = interceptors.retry({ statusCodes: [503], minTimeout: 1, maxTimeout: 1, maxRetries: 3 });
      bench = arrangement.make(retry, endpoints, { balancer: stubborn });
      const url = `http://web.shop.svc:${pods.port}`;
      for (let i = 0; i < 3; i++) {
        const response = await within(
          request(`${url}/flaky`, { dispatcher: bench.dispatcher }),
          5_000,
          'GET /flaky',
        );
        expect(response.statusCode).toBe(200);
        expect(echo(await response.body.text()).pod).toBe(B);
      }
      // Each request tried the stubborn first pick once, then went elsewhere: 3 + 3 pod requests.
      expect(pods.counts()).toEqual({ [A]: 3, [B]: 3 });
      // A request of its own (another handler) starts from a clean slate: the first pick again.
      const plain = await within(
        request(`${url}/plain`, { dispatcher: bench.dispatcher }),
        5_000,
        'GET /plain',
      );
      expect(echo(await plain.body.text()).pod).toBe(A);
    });
  }
});
