// The cluster a pod of seed-blog sees, on loopback, for running it without one: the fake apiserver
// of @endpoint-watch/testing reached by IP (127.0.0.1) with a certificate valid only for
// cluster.condi.me, a service-account directory (token, CA, namespace) and the variables the kubelet
// sets (KUBERNETES_SERVICE_HOST/_PORT). The `blog` pods' addresses (10.1.0.x) are data: nothing dials them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { endpointSlice, startFakeApiServer, v1Endpoints } from '@endpoint-watch/testing';

export const EMBEDDED_NAMESPACE = 'web';

/**
 * What the `blog` Service goes through, one state per step: the ready and the not-ready addresses.
 * Each state changes the ready list, so the program prints one line per step.
 */
export const BLOG_STORY = [
  { ready: ['10.1.0.4', '10.1.0.5'], notReady: ['10.1.0.6'] },
  { ready: ['10.1.0.4', '10.1.0.5', '10.1.0.6'], notReady: [] },
  { ready: [], notReady: ['10.1.0.4'] },
  { ready: ['10.1.0.7'], notReady: [] },
];

export async function startEmbeddedCluster() {
  const server = await startFakeApiServer({ tls: { names: ['cluster.condi.me'] } });
  const serviceAccountDir = mkdtempSync(join(tmpdir(), 'seed-blog-'));
  const { env } = server.writeServiceAccount(serviceAccountDir, { namespace: EMBEDDED_NAMESPACE });
  return {
    url: server.url,
    serviceAccountDir,
    /** KUBERNETES_SERVICE_HOST and _PORT, as in a pod. */
    env,
    /** Publishes a state of the Service as both v1 Endpoints and an EndpointSlice (either source works). */
    publish({ ready, notReady }) {
      const port = { name: 'http', port: 8080 };
      server.upsert(
        v1Endpoints({
          namespace: EMBEDDED_NAMESPACE,
          service: 'blog',
          subsets: [{ addresses: ready, notReadyAddresses: notReady, ports: [port] }],
        }),
      );
      server.upsert(
        endpointSlice({
          namespace: EMBEDDED_NAMESPACE,
          service: 'blog',
          name: 'blog-embedded',
          ports: [{ ...port, protocol: 'TCP' }],
          endpoints: [
            ...ready.map((address) => ({ addresses: [address] })),
            ...notReady.map((address) => ({ addresses: [address], ready: false })),
          ],
        }),
      );
    },
    async close() {
      await server.close();
      rmSync(serviceAccountDir, { recursive: true, force: true });
    },
  };
}
