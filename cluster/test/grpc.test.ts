/**
 * gRPC against the real control plane: Greeter servers (examples/grpc/server.mjs) in pod network
 * namespaces (198.18.x.y) registered as the pods of Service grpc/greeter, the EndpointSlices written
 * by the real controller, and a grpc-js client on `kubernetes:///greeter.grpc:grpc` through
 * `@endpoint-watch/grpc` (least-request). Calls spread over the pods, a new pod gets calls, a pod
 * turned unready gets none, a deleted one neither; closing the channel ends its watch. Every loop is
 * bounded by a call count; no assertion reads the clock.
 */
import { fileURLToPath } from 'node:url';
import { watchEndpoints } from '@endpoint-watch/core';
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

    async function startPod(name: string): Promise<NetworkPod> {
      const pod = await network.addPod(name, {
        port: PORT,
        server: { script: SERVER, args: ['--host', '0.0.0.0', '--port', String(PORT), '--pod', name] },
      });
      await plane().admin.createPod({
        name,
        namespace: NS,
        labels: { app: 'greeter' },
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
  },
);
