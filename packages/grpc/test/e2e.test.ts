import { watchEndpoints, watchEndpointsHealth } from '@endpoint-watch/core';
import type * as grpc from '@grpc/grpc-js';
import { filter, firstValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { endpointLocality, registerKubernetesResolver } from '../src/index.js';
import {
  type EchoClient,
  echoService,
  eventually,
  type GrpcPod,
  policyOptions,
  REF_COUNTING_POLICY,
  serviceConfig,
  subchannelRefs,
  tally,
  useCluster,
  watched,
  webSlice,
  who,
  whoTimes,
  within,
} from './support.js';

const start = useCluster();

/** Pods a and b, in one slice of shop/web. */
async function twoPods() {
  const cluster = await start(2, ([a, b], port) => [webSlice('web-1', [a as string, b as string], port)]);
  const [a, b] = cluster.pods.addresses as [string, string];
  return { ...cluster, a, b };
}

/** A server-streaming call of `n` messages; the pods that sent them. */
function count(client: EchoClient, n: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const got: string[] = [];
    const stream = client.makeServerStreamRequest(
      echoService.count.path,
      (value: Buffer) => value,
      (value: Buffer) => value,
      Buffer.from([n]),
    );
    stream.on('data', (value: Buffer) => got.push(String(value)));
    stream.on('error', reject);
    stream.on('end', () => resolve(got));
  });
}

/** A call the pod holds until the test releases it. */
function hold(client: EchoClient): Promise<string> {
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(
      echoService.hold.path,
      (value: Buffer) => value,
      (value: Buffer) => value,
      Buffer.alloc(0),
      (error, value) => (error ? reject(error) : resolve(String(value))),
    ),
  );
}

/**
 * Held calls until one lands on `target`; those landing on `other` are answered at once. Returns
 * them all, the one held on `target` last.
 */
async function holdOneOn(client: EchoClient, target: GrpcPod, other: GrpcPod): Promise<Promise<string>[]> {
  const held: Promise<string>[] = [];
  for (let i = 0; i < 100 && target.held === 0; i++) {
    const before = target.calls.hold + other.calls.hold;
    held.push(hold(client));
    await eventually(() => target.calls.hold + other.calls.hold > before, 'the call to arrive');
    other.release();
  }
  expect(target.held).toBe(1);
  return held;
}

/** Calls until the answering pods satisfy `done` (the resolver has seen a change); at most 300. */
async function callUntil(client: EchoClient, done: (pod: string) => boolean, what: string): Promise<void> {
  for (let i = 0; i < 300; i++) if (done(await who(client))) return;
  throw new Error(`300 calls and still not ${what}`);
}

const failure = (promise: Promise<unknown>) =>
  within(
    promise.then(
      () => {
        throw new Error('expected the call to fail');
      },
      (error: unknown) => error as grpc.ServiceError,
    ),
    10_000,
    'the failing call',
  );

const UNAVAILABLE = 14;
const CANCELLED = 1;

describe('kubernetes:/// resolver with the least-request policy (default)', () => {
  it('spreads unary and streaming calls over the pods, and follows scale up and down', async () => {
    const {
      server,
      client: kube,
      pods,
      channel,
    } = await start(3, ([a, b], port) => [
      webSlice('web-1', [a as string], port),
      webSlice('web-2', [b as string], port),
    ]);
    const [a, b, c] = pods.addresses as [string, string, string];
    const client = channel();

    const unary = tally(await whoTimes(client, 60));
    expect(Object.keys(unary).sort()).toEqual([a, b]);
    expect(Math.min(unary[a] ?? 0, unary[b] ?? 0)).toBeGreaterThanOrEqual(10);
    // Each stream stays on one pod; streams spread.
    const streams = await Promise.all(Array.from({ length: 20 }, () => count(client, 3)));
    for (const messages of streams) expect(new Set(messages).size).toBe(1);
    expect(new Set(streams.map((messages) => messages[0])).size).toBe(2);

    server.upsert(webSlice('web-3', [c], pods.port));
    await callUntil(client, (pod) => pod === c, 'calling the new pod');
    const up = tally(await whoTimes(client, 90));
    expect(Object.keys(up).sort()).toEqual([a, b, c]);
    expect(up[c]).toBeGreaterThanOrEqual(10);
    // Kept pods keep their one connection across updates: the zones and nodes the resolver attaches
    // to every update stay out of the subchannel arguments (else each update would connect anew).
    expect(await pods.byAddress(a).sessions()).toBe(1);
    expect(await pods.byAddress(b).sessions()).toBe(1);

    server.delete('EndpointSlice', 'shop', 'web-1');
    await watched(kube, (addresses) => !addresses.includes(a), 'the removal');
    const podA = pods.byAddress(a);
    const before = podA.calls.who;
    const down = tally(await whoTimes(client, 40));
    expect(Object.keys(down).sort()).toEqual([b, c]);
    expect(podA.calls.who).toBe(before);
  });

  it('releases the subchannel of a removed pod, and stops calling a pod that is no longer ready', async () => {
    subchannelRefs.clear();
    const { server, pods, channel, a, b } = await twoPods();
    const client = channel(undefined, serviceConfig(REF_COUNTING_POLICY));
    await callUntil(client, (pod) => pod === a, 'calling a');
    await callUntil(client, (pod) => pod === b, 'calling b');
    const key = `${a}:${pods.port}`;
    expect(subchannelRefs.get(key)).toBeGreaterThan(0);

    // Readiness flips off: a stays in the slice, not ready; no more calls, subchannel released.
    server.upsert(webSlice('web-1', [{ addresses: [a], ready: false }, b], pods.port));
    await eventually(() => subchannelRefs.get(key) === 0, 'a’s subchannel to be unref’d');
    const before = pods.byAddress(a).calls.who;
    expect(tally(await whoTimes(client, 30))).toEqual({ [b]: 30 });
    expect(pods.byAddress(a).calls.who).toBe(before);

    // And back: ready again, called again.
    server.upsert(webSlice('web-1', [a, b], pods.port));
    await callUntil(client, (pod) => pod === a, 'calling a again');
    expect(subchannelRefs.get(key)).toBeGreaterThan(0);
  });

  it('lets a call in flight finish on a pod that left the ready set (terminating), with no new call there', async () => {
    const { server, client: kube, pods, channel, a, b } = await twoPods();
    const podA = pods.byAddress(a);
    const client = channel();
    const held = await holdOneOn(client, podA, pods.byAddress(b));
    // a terminates: not ready, still serving (its call in flight must finish).
    server.upsert(
      webSlice('web-1', [{ addresses: [a], ready: false, serving: true, terminating: true }, b], pods.port),
    );
    await watched(kube, (addresses) => !addresses.includes(a), 'a to leave the ready set');
    const before = podA.calls.who;
    expect(tally(await whoTimes(client, 30))).toEqual({ [b]: 30 });
    expect(podA.calls.who).toBe(before);
    podA.release();
    const answers = await within(Promise.all(held), 5_000, 'the held calls');
    expect(answers).toContain(a);
  });

  it('fails the call of a pod that dies mid-call, and keeps serving calls from the other pods', async () => {
    const { pods, channel, a, b } = await twoPods();
    const podA = pods.byAddress(a);
    const client = channel();
    const held = await holdOneOn(client, podA, pods.byAddress(b));
    const dying = held.at(-1) as Promise<string>;
    podA.kill();
    const error = await failure(dying);
    // A killed process resets its connections (UNAVAILABLE); grpc-js' forceShutdown, which stands
    // in for it here, cancels its streams first (CANCELLED).
    expect([UNAVAILABLE, CANCELLED]).toContain(error.code);
    // The slice still lists a: the policy skips it as its connection is not READY.
    expect(tally(await whoTimes(client, 30))).toEqual({ [b]: 30 });
  });

  it('balances by outstanding calls: a pod holding its calls gets few new ones', async () => {
    const { pods, channel, a, b } = await twoPods();
    const slow = pods.byAddress(a);
    const fast = pods.byAddress(b);
    const run = async (client: EchoClient) => {
      const start = { slow: slow.calls.hold, fast: fast.calls.hold };
      const held: Promise<string>[] = [];
      for (let i = 0; i < 30; i++) {
        const before = slow.calls.hold + fast.calls.hold;
        const fastBefore = fast.calls.hold;
        const call = hold(client);
        held.push(call);
        await eventually(() => slow.calls.hold + fast.calls.hold > before, 'the call to arrive');
        if (fast.calls.hold > fastBefore) {
          fast.release();
          await call;
        }
      }
      slow.release();
      await within(Promise.all(held), 5_000, 'the held calls');
      return { slow: slow.calls.hold - start.slow, fast: fast.calls.hold - start.fast };
    };
    // choiceCount 10: a pod with calls outstanding loses to an idle one unless all 10 samples hit it.
    const leastRequest = await run(
      channel(undefined, serviceConfig('endpoint_watch_least_request', { choiceCount: 10 })),
    );
    expect(leastRequest.slow).toBeLessThanOrEqual(3);
    // round_robin through service config: every other call, whatever the load (its first calls may
    // all go to the pod that connected first).
    const roundRobin = await run(channel(undefined, serviceConfig('round_robin')));
    expect(roundRobin.slow).toBeGreaterThanOrEqual(12);
  });

  it('works with grpc-js’ pick_first and outlier_detection (around least-request) through service config', async () => {
    const {
      server,
      client: kube,
      pods,
      channel,
    } = await start(3, ([a, b], port) => [webSlice('web-1', [a as string, b as string], port)]);
    const [a, b, c] = pods.addresses as [string, string, string];
    const pickFirst = channel(undefined, serviceConfig('pick_first'));
    expect(Object.keys(tally(await whoTimes(pickFirst, 20)))).toHaveLength(1);
    const ejecting = channel(
      undefined,
      serviceConfig('outlier_detection', {
        child_policy: [{ endpoint_watch_least_request: {} }],
        failure_percentage_ejection: {},
      }),
    );
    expect(Object.keys(tally(await whoTimes(ejecting, 60))).sort()).toEqual([a, b]);
    server.upsert(webSlice('web-1', [b, c], pods.port));
    await watched(kube, (addresses) => !addresses.includes(a), 'a to leave');
    expect(Object.keys(tally(await whoTimes(ejecting, 60))).sort()).toEqual([b, c]);
    // pick_first moves off a pod that left.
    expect(Object.keys(tally(await whoTimes(pickFirst, 20)))).not.toContain(a);
  });

  it('calls the serving, terminating pods when none is ready (kube-proxy’s fallback), and leaves them when one is', async () => {
    const terminating = (address: string) => ({
      addresses: [address],
      ready: false,
      serving: true,
      terminating: true,
    });
    const {
      server,
      client: kube,
      pods,
      channel,
    } = await start(3, ([a, b], port) => [
      webSlice('web-1', [terminating(a as string), terminating(b as string)], port),
    ]);
    const [a, b, c] = pods.addresses as [string, string, string];
    const client = channel();
    expect(Object.keys(tally(await whoTimes(client, 40))).sort()).toEqual([a, b]);
    server.upsert(webSlice('web-1', [terminating(a), terminating(b), c], pods.port));
    await watched(kube, (addresses) => addresses.length === 1, 'c to be the one ready pod');
    expect(tally(await whoTimes(client, 20))).toEqual({ [c]: 20 });
  });

  it('fails calls with UNAVAILABLE naming the Service when it has no ready endpoint', async () => {
    const { pods, channel } = await start(1, ([a], port) => [
      webSlice('web-1', [{ addresses: [a as string], ready: false, serving: false }], port),
    ]);
    expect(pods.addresses).toHaveLength(1);
    const error = await failure(who(channel()));
    expect(error.code).toBe(UNAVAILABLE);
    expect(error.details).toMatch(
      /service shop\/web port grpc has no endpoints to call: none of its 1 endpoint\(s\) is ready or serving/,
    );
    // round_robin says it too, through the resolution note.
    const viaRoundRobin = await failure(who(channel(undefined, serviceConfig('round_robin'))));
    expect(viaRoundRobin.code).toBe(UNAVAILABLE);
    expect(viaRoundRobin.details).toMatch(/service shop\/web port grpc has no endpoints to call/);
  });

  it('says the Service has no EndpointSlice at all when the name is wrong', async () => {
    const { channel } = await start(1, () => []);
    const error = await failure(who(channel('kubernetes:///wbe.shop:grpc')));
    expect(error.code).toBe(UNAVAILABLE);
    expect(error.details).toMatch(
      /service shop\/wbe port grpc has no endpoints to call|no EndpointSlice in namespace shop carries kubernetes\.io\/service-name=wbe/,
    );
    await eventually(() => true, 'nothing');
    const again = await failure(who(channel('kubernetes:///wbe.shop:grpc')));
    expect(again.details).toMatch(
      /no EndpointSlice in namespace shop carries kubernetes\.io\/service-name=wbe/,
    );
  });

  it('fails calls with the watch’s 403 and the grant to add while no set has arrived', async () => {
    const { server, channel } = await start(1, () => [], {
      watch: { watch: { backoff: { initialMs: 20, maxMs: 50 } } },
    });
    server.faults.failNext(Number.POSITIVE_INFINITY, 403, {
      reason: 'Forbidden',
      message: 'endpointslices.discovery.k8s.io is forbidden: User "client" cannot list resource',
    });
    const error = await failure(who(channel()));
    expect(error.code).toBe(UNAVAILABLE);
    expect(error.details).toMatch(
      /service shop\/web:grpc: no endpoint set has arrived yet; the watch is retrying/,
    );
    expect(error.details).toMatch(/403 Forbidden/);
    expect(error.details).toMatch(
      /grant list and watch on endpointslices\.discovery\.k8s\.io in namespace shop .*kubectl create role endpoint-watch -n shop --verb=list,watch/,
    );
  });

  it('keeps serving the last set while the watch fails after it (a 403 on every retry)', async () => {
    const { server, client: kube, channel, a, b } = await twoPods();
    const client = channel();
    await callUntil(client, (pod) => pod === a, 'calling a');
    const health = watchEndpointsHealth(kube, { namespace: 'shop', service: 'web', port: 'grpc' });
    const retrying = firstValueFrom(health.pipe(filter((h) => h.state === 'retrying')));
    server.faults.failNext(Number.POSITIVE_INFINITY, 403, { reason: 'Forbidden' });
    server.faults.cutWatches();
    await within(retrying, 10_000, 'the watch to retry');
    expect(Object.keys(tally(await whoTimes(client, 40))).sort()).toEqual([a, b]);
  });

  it('hands each address’ zone and node to the policy, and serves other schemes with the channel’s own policy', async () => {
    const {
      client: kube,
      pods,
      channel,
    } = await start(2, ([a, b], port) => [
      webSlice(
        'web-1',
        [
          { addresses: [a as string], zone: 'zone-a', nodeName: 'node-1' },
          { addresses: [b as string], zone: 'zone-b', nodeName: 'node-2' },
        ],
        port,
      ),
    ]);
    const [a, b] = pods.addresses as [string, string];
    await whoTimes(channel(undefined, serviceConfig(REF_COUNTING_POLICY)), 4);
    const options = policyOptions.last ?? {};
    expect(endpointLocality(options, { host: a, port: pods.port })).toEqual({
      zone: 'zone-a',
      nodeName: 'node-1',
    });
    expect(endpointLocality(options, { host: b, port: pods.port })).toEqual({
      zone: 'zone-b',
      nodeName: 'node-2',
    });

    // A second scheme, without the least-request default: grpc-js' pick_first keeps to one pod.
    const east = registerKubernetesResolver(kube, { scheme: 'k8s-east', loadBalancing: 'channel' });
    expect(east.target('web', 'shop', 'grpc')).toBe('k8s-east:///web.shop:grpc');
    expect(Object.keys(tally(await whoTimes(channel(east.target('web', 'shop', 'grpc')), 30)))).toHaveLength(
      1,
    );
  });

  it('shares the watch with other users of the Service, and releases it when the channel closes', async () => {
    const { server, client, pods, channel } = await start(1, ([a], port) => [
      webSlice('web-1', [a as string], port),
    ]);
    const grpcClient = channel();
    expect(await who(grpcClient)).toBe(pods.addresses[0]);
    expect(server.openWatches).toBe(1);
    // An undici or axios user of the same client and Service rides on the same watch.
    const other = watchEndpoints(client, { namespace: 'shop', service: 'web', port: 'grpc' });
    const subscription = other.subscribe();
    expect((await firstValueFrom(other)).endpoints).toHaveLength(1);
    expect(server.openWatches).toBe(1);
    subscription.unsubscribe();
    expect(server.openWatches).toBe(1);

    grpcClient.close();
    await eventually(() => server.openWatches === 0, 'the watch to close with the channel');
  });
});
