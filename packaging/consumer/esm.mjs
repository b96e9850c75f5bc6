// A user's ESM program against the installed tarballs: a Service of two loopback pods behind the
// fake apiserver, its endpoint set, and requests balanced over both through undici and axios.
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detachEndpointBalancing, withEndpointBalancing } from '@endpoint-watch/axios';
import { createBalancer } from '@endpoint-watch/balancer';
import {
  createKubeClient,
  instrumentEndpointWatch,
  loadKubeConfig,
  watchEndpoints,
} from '@endpoint-watch/core';
import { endpointSlice, startFakeApiServer } from '@endpoint-watch/testing';
import { createBalancedAgent } from '@endpoint-watch/undici';
import axios from 'axios';
import { filter, firstValueFrom, Observable } from 'rxjs';
import { request } from 'undici';

const pods = [];
let port = 0;
for (const address of ['127.0.0.2', '127.0.0.3']) {
  const pod = createServer((_req, res) => res.end(address));
  pod.listen(port, address);
  await once(pod, 'listening');
  port = pod.address().port;
  pods.push(pod);
}
const server = await startFakeApiServer({
  initialObjects: ['127.0.0.2', '127.0.0.3'].map((address, i) =>
    endpointSlice({
      service: 'web',
      name: `web-${i}`,
      ports: [{ name: 'http', port, protocol: 'TCP' }],
      endpoints: [{ addresses: [address] }],
    }),
  ),
});
const dir = mkdtempSync(join(tmpdir(), 'ew-consumer-'));
writeFileSync(join(dir, 'kubeconfig'), server.kubeconfig());
const client = createKubeClient(loadKubeConfig({ kubeconfig: join(dir, 'kubeconfig'), env: {} }));
const endpoints = watchEndpoints(client, { service: 'web', port: 'http' });
// One rxjs: the SDK's observables are the user's.
if (!(endpoints instanceof Observable)) throw new Error('two copies of rxjs');
const set = await firstValueFrom(endpoints.pipe(filter((s) => s.endpoints.length === 2)));

const agent = createBalancedAgent({ endpoints });
const seen = new Set();
for (let i = 0; i < 20; i++) {
  const { body } = await request(`http://web.default.svc:${port}/`, { dispatcher: agent });
  seen.add(await body.text());
}
const api = withEndpointBalancing(axios.create({ baseURL: `http://web.default.svc:${port}` }), { endpoints });
const viaAxios = new Set();
for (let i = 0; i < 20; i++) viaAxios.add((await api.get('/', { responseType: 'text' })).data);
await detachEndpointBalancing(api);
const balancer = createBalancer(endpoints);
const lease = await balancer.waitForPick();
lease?.release({ ok: true });
balancer.close();

// @opentelemetry/api is an optional peer that npm did not install: asking for metrics (the global
// provider's) records nothing and fails nothing.
const otel = await import('@opentelemetry/api').then(
  () => 'installed',
  (error) => error.code,
);
const recording = instrumentEndpointWatch(client, { service: 'web', port: 'http' });
const measured = createBalancer(endpoints, { metrics: true });
const measuredLease = await measured.waitForPick();
measuredLease.release({ ok: true });
measured.close();
recording.unsubscribe();

await agent.close();
await client.close();
await server.close();
for (const pod of pods) pod.close();
console.log(
  JSON.stringify({
    endpoints: set.endpoints.map((e) => e.address).sort(),
    seen: [...seen].sort(),
    axios: [...viaAxios].sort(),
    balancer: lease?.endpoint.address ?? null,
    otel,
    measured: measuredLease.endpoint.address,
  }),
);
