/**
 * A Service watch that RBAC refuses: the fake apiserver answers every request with 403, as a real one
 * does for an identity without list and watch on endpointslices. For tests of what a user sees.
 */
import { type FakeApiServer, startFakeApiServer } from '@endpoint-watch/testing';
import type { Observable } from 'rxjs';
import { loadKubeConfig } from '../../src/config/index.js';
import type { EndpointSet } from '../../src/endpoints/types.js';
import { watchEndpoints } from '../../src/endpoints/watch-endpoints.js';
import { createKubeClient, type KubeClient } from '../../src/transport/kube-client.js';

/** shop/web, port http, retried quickly; the caller closes the client and the server. */
export async function watchForbiddenService(): Promise<{
  server: FakeApiServer;
  client: KubeClient;
  endpoints: Observable<EndpointSet>;
}> {
  const server = await startFakeApiServer({ tls: true });
  server.faults.failNext(Number.POSITIVE_INFINITY, 403, {
    reason: 'Forbidden',
    message: 'endpointslices.discovery.k8s.io is forbidden: User "client" cannot list resource',
  });
  const client = createKubeClient(
    loadKubeConfig({ server: server.url, token: server.token, ca: server.tls?.ca }),
  );
  const endpoints = watchEndpoints(client, {
    namespace: 'shop',
    service: 'web',
    port: 'http',
    watch: { backoff: { initialMs: 20, maxMs: 50 } },
  });
  return { server, client, endpoints };
}
