/**
 * gRPC against the real control plane: Greeter servers (examples/grpc/server.mjs) in pod network
 * namespaces (198.18.x.y) registered as the pods of Service grpc/greeter, the EndpointSlices written
 * by the real controller, and a grpc-js client on `kubernetes:///greeter.grpc:grpc` through
 * `@endpoint-watch/grpc` (least-request). Calls spread over the pods, a new pod gets calls, a pod
 * turned unready gets none, a deleted one neither; closing the channel ends its watch. A pod whose
 * server is killed hard (SIGKILL) while calls run: its calls fail at once, later calls go to the
 * others. Every loop is bounded by a call count; no assertion reads the clock.
 */
import { fileURLToPath } from 'node:url';
import { type EndpointSet, watchEndpoints } from '@endpoint-watch/core';
import { registerKubernetesResolver } from '@endpoint-watch/grpc';
import {
  type NetworkPod,
  type PodNetwork,
  podNetworkUnavailable,
  startPodNetwork,
} from '@endpoint-watch/testing';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs example without type declarations
import { GreeterClient } from '../../examples/grpc/greeter.mjs';
import { clientFor, Recorder, targetsAre, until, useControlPlane } from './helpers.js';

const unavailable = podNetworkUnavailable();
if (unavailable !== undefined) console.warn(`[grpc.test] skipping: no pod network (${unavailable})`);

const NS = 'grpc';
const PORT = 8080;
const SERVER = fileURLToPath(new URL('../../examples/grpc/server.mjs', import.meta.url));
const HOLD_SERVER = fileURLToPath(new URL('./pods/hold-server.mjs', import.meta.url));

const raw = {
  requestSerialize: (value: Buffer) => value,
  requestDeserialize: (value: Buffer) => value,
  responseSerialize: (value: Buffer) => value,
  responseDeserialize: (value: Buffer) => value,
};
/** pods/hold-server.mjs: `Who` answers the pod's name; `Hold` names the pod in headers, never answers. */
const holdService = {
  who: { path: '/test.Pod/Who', requestStream: false, responseStream: false, ...raw },
  hold: { path: '/test.Pod/Hold', requestStream: false, responseStream: false, ...raw },
} satisfies grpc.ServiceDefinition;
const HoldClient = grpc.makeGenericClientConstructor(holdService, 'Pod');
type HoldClient = InstanceType<typeof HoldClient>;

/** How a call ended: the answering pod, or the status code of its failure. */
type Outcome = { readonly pod: string } | { readonly code: grpc.status; readonly details: string };

/** Calls by answering pod (failures by `code N`). */
function answeredBy(outcomes: readonly Outcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const outcome of outcomes) {
    const key = 'pod' in outcome ? outcome.pod : `code ${outcome.code}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** A unary call with a deadline; never rejects. `onHeaders` gets the pod named in response headers. */
function unary(
  client: HoldClient,
  method: keyof typeof holdService,
  deadlineMs: number,
  onHeaders?: (pod: string) => void,
): { readonly call: grpc.ClientUnaryCall; readonly outcome: Promise<Outcome> } {
  let call: grpc.ClientUnaryCall | undefined;
  const outcome = new Promise<Outcome>((resolve) => {
    call = client.makeUnaryRequest(
      holdService[method].path,
      raw.requestSerialize,
      raw.responseDeserialize,
      Buffer.alloc(0),
      { deadline: Date.now() + deadlineMs },
      (error, value) =>
        resolve(error ? { code: error.code, details: error.details } : { pod: String(value) }),
    );
  });
  const started = call as unknown as grpc.ClientUnaryCall;
  if (onHeaders) started.on('metadata', (headers) => onHeaders(String(headers.get('pod')[0] ?? '')));
  return { call: started, outcome };
}

interface Greeter {
  sayHello(
    request: { name: string },
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, reply?: { pod: string }) => void,
  ): void;
  close(): void;
}

/** `total` calls, 4 at a time; the answering pods' counts. Failures fail the test. */
async function calls(greeter: Greeter, total: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  let sent = 0;
  const worker = async () => {
    while (sent < total) {
      sent += 1;
      const reply = await new Promise<{ pod: string }>((resolve, reject) =>
        greeter.sayHello({ name: 'cluster' }, { deadline: Date.now() + 20_000 }, (error, value) =>
          error ? reject(error) : resolve(value as { pod: string }),
        ),
      );
      counts[reply.pod] = (counts[reply.pod] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return counts;
}

function expectSpread(counts: Record<string, number>, pods: readonly NetworkPod[], total: number): void {
  expect(Object.keys(counts).sort()).toEqual(pods.map((pod) => pod.name).sort());
  for (const pod of pods) expect(counts[pod.name]).toBeGreaterThanOrEqual(total / pods.length / 4);
}

describe.skipIf(unavailable !== undefined)(
  `gRPC to pod network namespaces${unavailable ? ` (skipped: ${unavailable})` : ''}`,
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

    async function startPod(name: string, app = 'greeter'): Promise<NetworkPod> {
      const pod = await network.addPod(name, {
        port: PORT,
        server:
          app === 'greeter'
            ? { script: SERVER, args: ['--host', '0.0.0.0', '--port', String(PORT), '--pod', name] }
            : { script: HOLD_SERVER, args: ['--port', String(PORT), '--pod', name] },
      });
      await plane().admin.createPod({
        name,
        namespace: NS,
        labels: { app },
        nodeName: 'node-a',
        ips: [pod.ip],
      });
      return pod;
    }

    it('spreads calls, follows a scale-up, an unready pod and a deletion, and ends its watch with the channel', async () => {
      const { admin } = plane();
      const kube = clientFor(plane(), { namespace: NS });
      registerKubernetesResolver(kube);
      // The same client's watch: the resolver shares it, so the set the recorder sees is the one
      // grpc-js is handed (a microtask later).
      const recorder = new Recorder(watchEndpoints(kube, { service: 'greeter', port: 'grpc' }));
      const settled = async (pods: readonly NetworkPod[], what: string) => {
        await recorder.until(
          (set) =>
            targetsAre(
              set,
              pods.map((pod) => pod.ip),
              PORT,
            ),
          what,
          30_000,
        );
        await new Promise((resolve) => setImmediate(resolve));
      };
      await admin.createService({
        name: 'greeter',
        namespace: NS,
        ports: [{ name: 'grpc', port: 50051, targetPort: PORT, appProtocol: 'kubernetes.io/h2c' }],
      });
      const p0 = await startPod('greeter-0');
      const p1 = await startPod('greeter-1');
      const greeter = new GreeterClient(
        `kubernetes:///greeter.${NS}:grpc`,
        grpc.credentials.createInsecure(),
      ) as Greeter;
      try {
        await settled([p0, p1], 'two pods');
        expectSpread(await calls(greeter, 60), [p0, p1], 60);

        const p2 = await startPod('greeter-2');
        await settled([p0, p1, p2], 'three pods');
        expectSpread(await calls(greeter, 90), [p0, p1, p2], 90);

        await admin.setPodReady(NS, p0.name, false);
        await settled([p1, p2], `${p0.name} unready`);
        expectSpread(await calls(greeter, 60), [p1, p2], 60);

        await admin.deletePod(NS, p1.name, { gracePeriodSeconds: 0 });
        await settled([p2], `${p1.name} deleted`);
        expect(await calls(greeter, 30)).toEqual({ [p2.name]: 30 });

        // The channel alone holds the watch now; closing it resets its HTTP/2 stream.
        recorder.close();
        expect(kube.transportStats().http2?.streams).toBeGreaterThan(0);
      } finally {
        greeter.close();
        recorder.close();
      }
      await until(() => kube.transportStats().http2?.streams === 0, 'the watch to end with the channel');
      await kube.close();
    });

    /** Service `name` of three hold-server pods (`name-0` is the victim), and a watch of it. */
    async function holders(name: string) {
      const kube = clientFor(plane(), { namespace: NS });
      registerKubernetesResolver(kube);
      await plane().admin.createService({
        name,
        namespace: NS,
        ports: [{ name: 'grpc', port: 50051, targetPort: PORT, appProtocol: 'kubernetes.io/h2c' }],
      });
      const pods: NetworkPod[] = [];
      for (let i = 0; i < 3; i++) pods.push(await startPod(`${name}-${i}`, name));
      const victim = pods[0] as NetworkPod;
      const recorder = new Recorder(watchEndpoints(kube, { service: name, port: 'grpc' }));
      const listed = (set: EndpointSet) =>
        targetsAre(
          set,
          pods.map((pod) => pod.ip),
          PORT,
        );
      await recorder.until(listed, 'three pods', 30_000);
      await new Promise((resolve) => setImmediate(resolve));
      return {
        kube,
        recorder,
        victim,
        survivors: pods.slice(1).map((pod) => pod.name),
        target: `kubernetes:///${name}.${NS}:grpc`,
        /** Whether the apiserver still lists every pod, the victim included. */
        stillListed: () => listed(recorder.values.at(-1) as EndpointSet),
      };
    }

    type Held = { pod?: string; readonly call: grpc.ClientUnaryCall; readonly outcome: Promise<Outcome> };

    /** Connects to every pod, then holds calls until `victim` holds one (bounded); the held calls. */
    async function holdOn(client: HoldClient, victim: string, deadlineMs: number): Promise<Held[]> {
      const warm = new Set<string>();
      for (let i = 0; i < 60 && warm.size < 3; i++) {
        const outcome = await unary(client, 'who', 20_000).outcome;
        if ('pod' in outcome) warm.add(outcome.pod);
      }
      const held: Held[] = [];
      for (let i = 0; i < 30 && !held.some((h) => h.pod === victim); i++) {
        const entry: Held = { ...unary(client, 'hold', deadlineMs, (pod) => (entry.pod = pod)) };
        held.push(entry);
        await until(() => entry.pod !== undefined, 'the held call to reach a pod', 20_000);
      }
      expect(held.some((h) => h.pod === victim)).toBe(true);
      return held;
    }

    type Outcomes = { readonly outcome: Outcome; readonly after: boolean }[];
    /**
     * `total` Who calls, 4 at a time; `during` runs alongside (given the outcomes so far), and the
     * calls sent once it has ended are marked `after`.
     */
    async function traffic(
      client: HoldClient,
      total: number,
      deadlineMs: number,
      during?: (outcomes: Outcomes) => Promise<void>,
    ): Promise<Outcomes> {
      const outcomes: { outcome: Outcome; after: boolean }[] = [];
      let done = during === undefined;
      let sent = 0;
      const worker = async () => {
        while (sent < total) {
          sent += 1;
          const after = done;
          outcomes.push({ outcome: await unary(client, 'who', deadlineMs).outcome, after });
        }
      };
      const alongside = async () => {
        await during?.(outcomes);
        done = true;
      };
      await Promise.all([...Array.from({ length: 4 }, worker), alongside()]);
      return outcomes;
    }

    it('fails over from a pod killed hard (SIGKILL) mid-call: its calls fail UNAVAILABLE at once, later ones go to the other pods', async () => {
      const { kube, recorder, victim, survivors, target, stillListed } = await holders('holder');
      const client = new HoldClient(target, grpc.credentials.createInsecure());
      let held: Held[] = [];
      try {
        held = await holdOn(client, victim.name, 60_000);
        // Calls 4 at a time; the victim's server is killed after 40 have ended.
        const outcomes = await traffic(client, 300, 20_000, async (sofar) => {
          await until(() => sofar.length >= 40, '40 calls before the kill');
          await victim.kill();
        });

        // The victim's held calls fail with UNAVAILABLE (a call left hanging would end at its 60 s
        // deadline with DEADLINE_EXCEEDED); the survivors' are untouched.
        const victimHeld = held.filter((h) => h.pod === victim.name);
        for (const h of victimHeld) expect(await h.outcome).toMatchObject({ code: grpc.status.UNAVAILABLE });
        const failures = outcomes.filter(({ outcome }) => 'code' in outcome);
        for (const { outcome } of failures) expect(outcome).toMatchObject({ code: grpc.status.UNAVAILABLE });
        // The calls in flight on the dead connection (at most 4, one per worker) and, per worker, at
        // most one more picked before grpc-js had read the connection's end (2–4 in 5 runs; a policy
        // that kept picking the dead pod failed 122).
        expect(failures.length).toBeLessThanOrEqual(8);
        const after = outcomes.filter((o) => o.after);
        expect(after.length).toBeGreaterThan(200);
        // After the kill every call is answered by a survivor, but for the few failures above.
        for (const { outcome } of after)
          expect('code' in outcome || survivors.includes(outcome.pod), JSON.stringify(outcome)).toBe(true);
        // The apiserver still lists the victim (no kubelet here fails its probe): the failover came
        // from the connection's state alone.
        expect(stillListed()).toBe(true);
        console.info(
          `[grpc.test] SIGKILL: ${victimHeld.length} held call(s) on ${victim.name} failed: ${JSON.stringify(
            (await victimHeld[0]?.outcome) ?? null,
          )}; ${failures.length} of ${outcomes.length} unary calls failed (${JSON.stringify(
            failures.map(({ outcome }) => outcome),
          )}); after the kill: ${JSON.stringify(answeredBy(after.map(({ outcome }) => outcome)))}`,
        );
      } finally {
        for (const h of held) h.call.cancel();
        client.close();
        recorder.close();
      }
      await kube.close();
    });

    it('a pod cut off without a reset: grpc-js keepalive fails its calls with UNAVAILABLE and moves on; without keepalive they wait for their deadline', async () => {
      const { kube, recorder, victim, survivors, target, stillListed } = await holders('cut');
      const creds = grpc.credentials.createInsecure();
      const keepalive = new HoldClient(target, creds, {
        'grpc.keepalive_time_ms': 1_000,
        'grpc.keepalive_timeout_ms': 1_000,
      });
      const plain = new HoldClient(target, creds);
      const held: Held[] = [];
      try {
        const heldKeepalive = await holdOn(keepalive, victim.name, 60_000);
        const heldPlain = await holdOn(plain, victim.name, 8_000);
        held.push(...heldKeepalive, ...heldPlain);
        await victim.isolate();

        // With keepalive: the unanswered ping ends the connection; the held call fails with
        // UNAVAILABLE long before its 60 s deadline, and later calls go to the other pods.
        for (const h of heldKeepalive.filter((h) => h.pod === victim.name))
          expect(await h.outcome).toMatchObject({ code: grpc.status.UNAVAILABLE });
        const withKeepalive = await traffic(keepalive, 100, 20_000);
        for (const { outcome } of withKeepalive)
          expect('pod' in outcome && survivors.includes(outcome.pod), JSON.stringify(outcome)).toBe(true);

        // Without: the connection still looks READY; the held call ends at its deadline, and so
        // does every call picked for the victim: P2C samples with replacement, and once its calls
        // have timed out the victim has fewer outstanding than pods that answer (7–13 of 60).
        const victimHeldPlain = heldPlain.filter((h) => h.pod === victim.name);
        for (const h of victimHeldPlain)
          expect(await h.outcome).toMatchObject({ code: grpc.status.DEADLINE_EXCEEDED });
        const withoutKeepalive = await traffic(plain, 60, 2_000);
        for (const { outcome } of withoutKeepalive)
          expect(
            'code' in outcome
              ? outcome.code === grpc.status.DEADLINE_EXCEEDED
              : survivors.includes(outcome.pod),
            JSON.stringify(outcome),
          ).toBe(true);
        expect(stillListed()).toBe(true);
        console.info(
          `[grpc.test] cut off: with keepalive 1 s, held call ${JSON.stringify(
            await heldKeepalive.find((h) => h.pod === victim.name)?.outcome,
          )}, then ${JSON.stringify(answeredBy(withKeepalive.map(({ outcome }) => outcome)))}; without keepalive, held call ${JSON.stringify(
            await victimHeldPlain[0]?.outcome,
          )}, then ${JSON.stringify(answeredBy(withoutKeepalive.map(({ outcome }) => outcome)))}`,
        );
      } finally {
        for (const h of held) h.call.cancel();
        keepalive.close();
        plain.close();
        recorder.close();
      }
      await kube.close();
    });
  },
);
