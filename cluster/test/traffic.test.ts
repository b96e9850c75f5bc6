/**
 * Real HTTP traffic to pods that are network namespaces (198.18.x.y, each with an HTTP server answering
 * `{"pod": name}`) whose IPs are the pod IPs registered in the cluster, balanced by the SDK from the
 * EndpointSlices the real controller writes: `@endpoint-watch/undici`, `@endpoint-watch/axios` (http and
 * fetch adapters) and the kind example's client. Pods scale up (new pods get traffic), turn unready (no
 * new requests), die (their server killed while the cluster still lists them: the balancer retries and
 * ejects) and are deleted. Every loop is bounded by a request count; no assertion reads the clock.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  detachEndpointBalancing,
  type EndpointBalancing,
  getEndpointBalancing,
  withEndpointBalancing,
} from '@endpoint-watch/axios';
import { type EndpointSet, watchEndpoints } from '@endpoint-watch/core';
import {
  type NetworkPod,
  type PodNetwork,
  podNetworkUnavailable,
  startPodNetwork,
} from '@endpoint-watch/testing';
import { type BalancedAgent, createBalancedAgent } from '@endpoint-watch/undici';
import axios from 'axios';
import type { Observable } from 'rxjs';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs example without type declarations
import { runClient } from '../../examples/kind/src/client.mjs';
import { clientFor, Recorder, targetsAre, until, useControlPlane } from './helpers.js';

const unavailable = podNetworkUnavailable();
if (unavailable !== undefined)
  console.warn(`[traffic.test] skipping the traffic tests: no pod network (${unavailable})`);

const NS = 'traffic';
const PORT = 8080;

type Balancer = BalancedAgent['balancer'];

/** How each client reports a connection reset after the request was sent (not retried for POST). */
const resetCodes = ['UND_ERR_SOCKET', 'ECONNRESET', 'ERR_NETWORK'];

/** One way of sending requests to the Service: the pod name that answered, or a rejection. */
interface Harness {
  readonly balancer: Balancer;
  send(path: string, method?: 'GET' | 'POST'): Promise<string>;
  close(): Promise<void>;
}

interface Traffic {
  counts: Record<string, number>;
  errors: unknown[];
}

/** Sends exactly `total` GETs, `concurrency` at a time; counts the answering pods and the failures. */
async function traffic(harness: Harness, total: number, path = '/', concurrency = 4): Promise<Traffic> {
  const result: Traffic = { counts: {}, errors: [] };
  let sent = 0;
  const worker = async () => {
    while (sent < total) {
      sent += 1;
      try {
        const pod = await harness.send(path);
        result.counts[pod] = (result.counts[pod] ?? 0) + 1;
      } catch (error) {
        result.errors.push(error);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return result;
}

/** Waits (bounded) until the pod's server holds as many requests as the balancer has in flight on it. */
async function arrived(pod: NetworkPod, inFlightByBalancer: () => number): Promise<void> {
  for (let attempt = 0; attempt < 500; attempt++) {
    if ((await pod.stats()).inFlight === inFlightByBalancer()) return;
    await sleep(10);
  }
  throw new Error(`${pod.name}'s server never held the ${inFlightByBalancer()} requests sent to it`);
}

const addressesOf = (balancer: Balancer) =>
  balancer
    .stats()
    .endpoints.map((e) => `${e.address}:${e.port}`)
    .sort();

/** The balancer's set is exactly these pods (on {@link PORT}). */
function expectBalancerSet(balancer: Balancer, pods: readonly NetworkPod[]): void {
  expect(addressesOf(balancer)).toEqual(pods.map((p) => `${p.ip}:${PORT}`).sort());
}

/** Every one of `pods` got at least a fair quarter of `total`, and no other pod answered. */
function expectSpread(result: Traffic, pods: readonly NetworkPod[], total: number): void {
  expect(result.errors).toEqual([]);
  expect(Object.keys(result.counts).sort()).toEqual(pods.map((p) => p.name).sort());
  const answered = Object.values(result.counts).reduce((a, b) => a + b, 0);
  expect(answered).toBe(total);
  for (const pod of pods) expect(result.counts[pod.name]).toBeGreaterThanOrEqual(total / pods.length / 4);
}

describe.skipIf(unavailable !== undefined)(
  `real traffic to pod network namespaces${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    const plane = useControlPlane();
    let network: PodNetwork;

    beforeAll(async () => {
      network = await startPodNetwork();
      await plane().admin.createNamespace(NS);
      await plane().admin.createNode('node-a', { zone: 'zone-a' });
    });
    afterAll(async () => {
      await network?.close();
    });

    /** A network pod registered as a running, ready pod of `service` with its namespace's IP. */
    async function startPod(service: string, name: string): Promise<NetworkPod> {
      const pod = await network.addPod(name, { port: PORT });
      await plane().admin.createPod({
        name,
        namespace: NS,
        labels: { app: service },
        nodeName: 'node-a',
        ips: [pod.ip],
      });
      return pod;
    }

    async function createService(name: string): Promise<void> {
      await plane().admin.createService({
        name,
        namespace: NS,
        ports: [{ name: 'http', port: 80, targetPort: PORT }],
      });
    }

    /**
     * The scenario every client goes through: spread over two pods, scale up, a pod unready and back,
     * a pod whose server dies while the cluster still lists it ready, a pod dying with requests in
     * flight, and deletion of the dead pods.
     */
    async function scaleUnreadyDie(
      service: string,
      makeHarness: (endpoints: Observable<EndpointSet>) => Harness,
      check?: (pods: NetworkPod[]) => Promise<void>,
    ) {
      const { admin } = plane();
      const client = clientFor(plane(), { namespace: NS });
      const endpoints = watchEndpoints(client, { service, port: 'http' });
      // The same client's watch feeds the harness' balancer and this recorder (one shared watch, so the
      // balancer has the set when the recorder does). Traffic, not the balancer's own state, is then
      // what the assertions check; the balancer's set is checked after it.
      const recorder = new Recorder(endpoints);
      let mark = 0;
      const settled = async (pods: readonly NetworkPod[], what: string) => {
        await recorder.until(
          (set) =>
            targetsAre(
              set,
              pods.map((p) => p.ip),
              PORT,
            ),
          what,
          30_000,
          mark,
        );
        await sleep(0);
      };
      await createService(service);
      const [p0, p1] = [await startPod(service, `${service}-0`), await startPod(service, `${service}-1`)] as [
        NetworkPod,
        NetworkPod,
      ];
      const harness = makeHarness(endpoints);
      try {
        // 1. Two pods: both get a share.
        await settled([p0, p1], 'two pods');
        expectSpread(await traffic(harness, 60), [p0, p1], 60);
        expectBalancerSet(harness.balancer, [p0, p1]);

        // 2. Scale up: the new pod gets traffic.
        mark = recorder.values.length;
        const p2 = await startPod(service, `${service}-2`);
        await settled([p0, p1, p2], 'three pods');
        expectSpread(await traffic(harness, 90), [p0, p1, p2], 90);
        expectBalancerSet(harness.balancer, [p0, p1, p2]);

        // 3. p0 turns unready: its server still answers, but it gets no new request; then ready again.
        mark = recorder.values.length;
        await admin.setPodReady(NS, p0.name, false);
        await settled([p1, p2], `${p0.name} unready`);
        expect(p0.serving).toBe(true);
        expectSpread(await traffic(harness, 60), [p1, p2], 60);
        expectBalancerSet(harness.balancer, [p1, p2]);
        mark = recorder.values.length;
        await admin.setPodReady(NS, p0.name, true);
        await settled([p0, p1, p2], `${p0.name} ready again`);
        expectSpread(await traffic(harness, 90), [p0, p1, p2], 90);

        // 4. p1's server dies; the cluster still lists it ready (no kubelet noticed yet). Connections to it
        // are refused: every GET is retried on another pod (the SDK's promise: nothing was sent), and after
        // consecutive failures outlier detection ejects it. Bounded: at most 300 requests.
        await p1.kill();
        const afterDeath: Traffic = { counts: {}, errors: [] };
        const p1Stats = () => harness.balancer.stats().endpoints.find((e) => e.address === p1.ip);
        for (let round = 0; round < 10 && p1Stats()?.ejected !== true; round++) {
          const batch = await traffic(harness, 30);
          afterDeath.errors.push(...batch.errors);
          for (const [pod, n] of Object.entries(batch.counts))
            afterDeath.counts[pod] = (afterDeath.counts[pod] ?? 0) + n;
        }
        expect(afterDeath.errors).toEqual([]);
        expect(afterDeath.counts[p1.name]).toBeUndefined();
        expect(afterDeath.counts[p0.name]).toBeGreaterThan(0);
        expect(afterDeath.counts[p2.name]).toBeGreaterThan(0);
        expect(p1Stats()).toMatchObject({ ejected: true });
        expect(p1Stats()?.failures).toBeGreaterThanOrEqual(5);
        // Ejected: new requests go to the two live pods only, none needs a retry.
        const failuresBefore = p1Stats()?.failures;
        expectSpread(await traffic(harness, 60), [p0, p2], 60);
        expect(p1Stats()?.failures).toBe(failuresBefore);

        // 5. p2 dies with requests in flight on it, held by the pod (`/delay/2000`): the kill resets their
        // connections after they were sent. POST is not idempotent: those on p2 fail, not retried (the
        // SDK's promise without `retryNonIdempotent`); those on p0 succeed. Then p2 restarts and dies
        // again under GETs, which are retried on p0 and all succeed.
        const onP2 = () => harness.balancer.stats().endpoints.find((e) => e.address === p2.ip)?.inFlight ?? 0;
        const posts = Array.from({ length: 4 }, () =>
          harness.send('/delay/2000', 'POST').then(
            (pod) => ({ pod }),
            (error: { code?: string }) => ({ error: error.code ?? String(error) }),
          ),
        );
        await until(() => onP2() > 0, `POSTs in flight on ${p2.name}`);
        // The kill must land mid-request: wait until p2's server holds every POST the balancer sent it.
        await arrived(p2, onP2);
        const postsOnP2 = onP2();
        await p2.kill();
        const postResults = await Promise.all(posts);
        const failed = postResults.filter((r) => 'error' in r);
        expect(postsOnP2).toBeGreaterThan(0);
        expect(failed).toHaveLength(postsOnP2);
        for (const result of failed) expect(resetCodes).toContain((result as { error: string }).error);
        expect(postResults.filter((r) => 'pod' in r)).toEqual(Array(4 - postsOnP2).fill({ pod: p0.name }));

        await p2.start();
        expectSpread(await traffic(harness, 60), [p0, p2], 60);
        const gets = Array.from({ length: 6 }, () => harness.send('/delay/2000'));
        await until(() => onP2() > 0, `GETs in flight on ${p2.name}`);
        await arrived(p2, onP2);
        expect(onP2()).toBeGreaterThan(0);
        await p2.kill();
        expect(await Promise.all(gets)).toEqual(Array(6).fill(p0.name));

        // 6. The dead pods are deleted: the set shrinks to p0, which takes every request.
        mark = recorder.values.length;
        await Promise.all([admin.deletePod(NS, p1.name), admin.deletePod(NS, p2.name)]);
        await settled([p0], 'only p0');
        expectSpread(await traffic(harness, 30), [p0], 30);
        expectBalancerSet(harness.balancer, [p0]);
        await check?.([p0, p1, p2]);
      } finally {
        recorder.close();
        await harness.close();
        await client.close();
      }
    }

    it('undici createBalancedAgent: spread, scale up, unready, death with retries and ejection, deletion', async () => {
      const service = 'web-undici';
      let agent: BalancedAgent | undefined;
      await scaleUnreadyDie(
        service,
        (endpoints) => {
          agent = createBalancedAgent({ endpoints });
          const dispatcher = agent;
          return {
            balancer: agent.balancer,
            async send(path, method = 'GET') {
              const { statusCode, body } = await request(`http://${service}.${NS}.svc${path}`, {
                dispatcher,
                method,
                ...(method === 'POST' ? { body: 'x' } : {}),
              });
              const answer = (await body.json()) as { pod: string };
              expect(statusCode).toBe(200);
              return answer.pod;
            },
            close: () => dispatcher.close(),
          };
        },
        async ([p0]) => {
          // The pools of the deleted pods are retired: only p0's is left.
          const live = agent as BalancedAgent;
          await until(() => live.pools().length === 1, 'only one pool left');
          expect(live.pools().map((pool) => pool.origin)).toEqual([`http://${p0?.ip}:${PORT}`]);
        },
      );
    });

    for (const adapter of ['http', 'fetch'] as const) {
      it(`axios (${adapter} adapter) withEndpointBalancing: spread, scale up, unready, death with retries and ejection, deletion`, async () => {
        const service = `web-axios-${adapter}`;
        const api = axios.create({ baseURL: `http://${service}.${NS}.svc`, adapter });
        let balancing: EndpointBalancing | undefined;
        await scaleUnreadyDie(
          service,
          (endpoints) => {
            withEndpointBalancing(api, { endpoints });
            const attached = getEndpointBalancing(api)[0];
            if (attached === undefined) throw new Error('not attached');
            balancing = attached;
            return {
              balancer: attached.balancer,
              async send(path, method = 'GET') {
                const response = await api.request<{ pod: string }>({
                  url: path,
                  method,
                  data: method === 'POST' ? 'x' : undefined,
                });
                expect(response.status).toBe(200);
                return response.data.pod;
              },
              close: () => detachEndpointBalancing(api),
            };
          },
          async ([p0]) => {
            if (adapter !== 'http' || balancing === undefined) return;
            const live = balancing;
            // The per-endpoint agents of the deleted pods are destroyed: only p0's is left.
            await until(() => live.agents().length === 1, 'only one agent left');
            expect(live.agents().map((a) => a.endpoint)).toEqual([`${p0?.ip}:${PORT}`]);
          },
        );
      });
    }

    it('the kind example client spreads its requests over the ready pods and follows scale-up, unready and death', async () => {
      const { admin } = plane();
      const service = 'echo';
      await createService(service);
      const pods = [
        await startPod(service, 'echo-0'),
        await startPod(service, 'echo-1'),
        await startPod(service, 'echo-2'),
      ];
      const kubeconfig = plane().writeKubeconfig('kind-client.kubeconfig', { namespace: NS });

      const lines: string[] = [];
      const controller = new AbortController();
      const running = runClient({
        env: {
          KUBECONFIG: kubeconfig,
          ECHO_SERVICE: service,
          ECHO_PORT: 'http',
          CONCURRENCY: '4',
          INTERVAL_MS: '2',
          REPORT_EVERY_MS: '250',
        },
        requests: 50_000, // a bound; the test aborts long before
        signal: controller.signal,
        log: (line: string) => lines.push(line),
      }) as Promise<{ counts: Record<string, number>; errors: number }>;

      /** The log index of the first line from `from` that satisfies `predicate` (bounded wait). */
      const lineIndex = async (predicate: (line: string) => boolean, what: string, from = 0) => {
        let found = -1;
        await until(
          () => {
            found = lines.findIndex((line, i) => i >= from && predicate(line));
            return found >= 0;
          },
          `${what}; log so far:\n${lines.slice(-20).join('\n')}`,
        );
        return found;
      };
      const endpointsLine = (want: readonly NetworkPod[]) => (line: string) =>
        line.startsWith('endpoints: ') &&
        JSON.stringify(line.slice('endpoints: '.length).split(' ').sort()) ===
          JSON.stringify(want.map((p) => `${p.ip}:${PORT}`).sort());
      /**
       * After the client logged the set `want`, the second distribution window that follows (the first
       * may straddle the change) holds exactly the `want` pods, each with a share, and no error so far.
       */
      const windowAfter = async (want: readonly NetworkPod[], what: string) => {
        const at = await lineIndex(endpointsLine(want), `the client's endpoints line for ${what}`);
        const first = await lineIndex(
          (l) => l.startsWith('distribution: '),
          `a window after ${what}`,
          at + 1,
        );
        const second = await lineIndex(
          (l) => l.startsWith('distribution: '),
          `a full window after ${what}`,
          first + 1,
        );
        const line = lines[second] as string;
        const match = /^distribution: (\d+) answers, (\d+) errors so far \|(.*)$/.exec(line);
        expect(match, line).not.toBeNull();
        const [, answers, errors, rest] = match as unknown as [string, string, string, string];
        const shares = Object.fromEntries(
          [...rest.matchAll(/(\S+) (\d+) \(\d+%\)/g)].map((m) => [m[1] as string, Number(m[2])]),
        );
        expect(Number(errors), line).toBe(0);
        expect(Object.keys(shares).sort(), line).toEqual(want.map((p) => p.name).sort());
        for (const pod of want)
          expect(shares[pod.name], line).toBeGreaterThanOrEqual(Number(answers) / want.length / 4);
        return at;
      };

      try {
        const [e0, e1, e2] = pods as [NetworkPod, NetworkPod, NetworkPod];
        await lineIndex((l) => l === 'watch: synced', 'watch: synced');
        await windowAfter([e0, e1, e2], 'three pods');

        const e3 = await startPod(service, 'echo-3');
        await windowAfter([e0, e1, e2, e3], 'scale up to four');

        await admin.setPodReady(NS, e1.name, false);
        await windowAfter([e0, e2, e3], 'echo-1 unready');
        expect(e1.serving).toBe(true);

        // echo-2 dies (refused connections, retried) and is then deleted.
        await e2.kill();
        await admin.deletePod(NS, e2.name);
        await windowAfter([e0, e3], 'echo-2 dead and deleted');
      } finally {
        controller.abort();
      }
      const { counts, errors } = await running;
      expect(errors).toBe(0);
      expect(lines.filter((l) => l.startsWith('request failed'))).toEqual([]);
      expect(Object.keys(counts).sort()).toEqual(['echo-0', 'echo-1', 'echo-2', 'echo-3']);
    });
  },
);
