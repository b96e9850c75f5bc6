// A cluster on loopback for trying the example without one: the fake apiserver of
// @endpoint-watch/testing and Greeter "pods" on 127.0.0.2, 127.0.0.3, … (Linux routes all of 127/8
// to the loopback interface) sharing one port, published as the EndpointSlices of Service
// demo/greeter, port "grpc".
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { endpointSlice, startFakeApiServer } from '@endpoint-watch/testing';
import { startGreeter } from './server.mjs';

/** Starts the pods and the apiserver; `kubeconfig` is a file pointing at it (namespace demo). */
export async function startEmbeddedCluster({ pods: count = 3 } = {}) {
  const pods = [];
  let port = 0;
  for (let i = 0; i < count; i++) {
    const address = `127.0.0.${2 + i}`;
    const pod = await startGreeter({ host: address, port, pod: `greeter-${i}` });
    port = pod.port;
    pods.push({ ...pod, address });
  }
  const server = await startFakeApiServer({
    tls: true,
    initialObjects: [
      endpointSlice({
        namespace: 'demo',
        service: 'greeter',
        ports: [{ name: 'grpc', port, protocol: 'TCP', appProtocol: 'kubernetes.io/h2c' }],
        endpoints: pods.map((pod) => ({
          addresses: [pod.address],
          targetRef: { kind: 'Pod', namespace: 'demo', name: pod.pod },
        })),
      }),
    ],
  });
  const dir = mkdtempSync(join(tmpdir(), 'endpoint-watch-example-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, server.kubeconfig({ namespace: 'demo' }));
  return {
    kubeconfig,
    service: 'greeter',
    /** Calls each pod served, by pod name. */
    served: () => Object.fromEntries(pods.map((pod) => [pod.pod, pod.served()])),
    async close() {
      await server.close();
      for (const pod of pods) pod.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
