// A CommonJS user (require of ESM, Node >= 20.19): every package loads, and an endpoint set arrives.
const { mkdtempSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { createKubeClient, loadKubeConfig, watchEndpoints } = require('@endpoint-watch/core');
const { endpointSlice, startFakeApiServer } = require('@endpoint-watch/testing');
const { createBalancer } = require('@endpoint-watch/balancer');
const { createBalancedAgent } = require('@endpoint-watch/undici');
const { withEndpointBalancing } = require('@endpoint-watch/axios');
const { registerKubernetesResolver } = require('@endpoint-watch/grpc');
const { firstValueFrom, filter } = require('rxjs');

(async () => {
  const server = await startFakeApiServer({
    initialObjects: [
      endpointSlice({ service: 'web', name: 'web-a', endpoints: [{ addresses: ['10.0.0.1'] }] }),
    ],
  });
  const dir = mkdtempSync(join(tmpdir(), 'ew-consumer-cjs-'));
  writeFileSync(join(dir, 'kubeconfig'), server.kubeconfig());
  const client = createKubeClient(loadKubeConfig({ kubeconfig: join(dir, 'kubeconfig'), env: {} }));
  const set = await firstValueFrom(
    watchEndpoints(client, { service: 'web' }).pipe(filter((s) => s.endpoints.length > 0)),
  );
  await client.close();
  await server.close();
  console.log(
    JSON.stringify({
      endpoints: set.endpoints.map((e) => e.address),
      loaded: [createBalancer, createBalancedAgent, withEndpointBalancing, registerKubernetesResolver].map(
        (f) => typeof f,
      ),
    }),
  );
})().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
