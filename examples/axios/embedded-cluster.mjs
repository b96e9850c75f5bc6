// A cluster on loopback for trying the example without one: the fake apiserver of
// @endpoint-watch/testing and real HTTP "pods" on 127.0.0.2, 127.0.0.3, … (Linux routes all of 127/8
// to the loopback interface) sharing one port, published as the EndpointSlices of Service demo/web.
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { endpointSlice, startFakeApiServer } from '@endpoint-watch/testing';

async function startPods(addresses) {
  for (let attempt = 1; ; attempt++) {
    const pods = addresses.map((address) => {
      const pod = { address, served: 0 };
      pod.server = createServer((req, res) => {
        pod.served += 1;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ pod: address, path: req.url }));
      });
      return pod;
    });
    try {
      let port = 0;
      for (const pod of pods) {
        pod.server.listen(port, pod.address);
        await once(pod.server, 'listening');
        port = pod.server.address().port;
      }
      return { pods, port };
    } catch (error) {
      for (const pod of pods) pod.server.close();
      // The port picked on the first address may be taken on another one: pick again.
      if (error.code !== 'EADDRINUSE' || attempt === 5) throw error;
    }
  }
}

/** Starts the pods and the apiserver; `kubeconfig` is a file pointing at it (namespace demo). */
export async function startEmbeddedCluster({ pods: count = 3 } = {}) {
  const { pods, port } = await startPods(Array.from({ length: count }, (_, i) => `127.0.0.${i + 2}`));
  const server = await startFakeApiServer({
    tls: true,
    initialObjects: [
      endpointSlice({
        namespace: 'demo',
        service: 'web',
        ports: [{ name: 'http', port, protocol: 'TCP' }],
        endpoints: pods.map((pod) => ({ addresses: [pod.address], targetRef: 'pod' })),
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
    served: () => Object.fromEntries(pods.map((pod) => [`${pod.address}:${port}`, pod.served])),
    async close() {
      await server.close();
      for (const pod of pods) {
        pod.server.close();
        pod.server.closeAllConnections();
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
