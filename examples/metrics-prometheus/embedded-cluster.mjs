// A cluster on loopback for trying the example without one: the fake apiserver of
// @endpoint-watch/testing and real HTTP "pods" on 127.0.0.2, 127.0.0.3, … (Linux routes all of 127/8
// to the loopback interface) sharing one port, published as the EndpointSlices of Service demo/web.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { endpointSlice, startFakeApiServer, startLoopbackPods } from '@endpoint-watch/testing';

/** Starts the pods and the apiserver; `kubeconfig` is a file pointing at it (namespace demo). */
export async function startEmbeddedCluster({ pods: count = 3 } = {}) {
  const pods = await startLoopbackPods({ count });
  const server = await startFakeApiServer({
    tls: true,
    initialObjects: [
      endpointSlice({
        namespace: 'demo',
        service: 'web',
        ports: [{ name: 'http', port: pods.port, protocol: 'TCP' }],
        endpoints: pods.addresses.map((address) => ({ addresses: [address], targetRef: 'pod' })),
      }),
    ],
  });
  const dir = mkdtempSync(join(tmpdir(), 'endpoint-watch-example-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, server.kubeconfig({ namespace: 'demo' }));
  return {
    kubeconfig,
    service: 'web',
    /** Requests each pod answered, by `address:port`. */
    served: () => Object.fromEntries(pods.pods.map((pod) => [`${pod.address}:${pods.port}`, pod.count()])),
    async close() {
      await server.close();
      await pods.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
