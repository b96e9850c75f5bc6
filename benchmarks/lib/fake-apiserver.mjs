#!/usr/bin/env node
// Child process: @endpoint-watch/testing's fake apiserver holding generated Services (fixed seed),
// driven over IPC. Arguments: a JSON spec
//   { services?: [{ name, endpoints } | { name, addresses, port }], manyServices?: { count, endpoints },
//     realistic?: boolean, tls?: boolean, maxConcurrentStreams?: number }
// (`realistic`: the slices the real controller writes, lib/controller-slices.mjs.)
// (`manyServices`: svc-0 … svc-<count-1>, so that thousands of Services fit in an argument.)
// Commands: `flip` { service, count } flips the readiness of `count` endpoints of a Service, one
// change (one MODIFIED) each, and answers the last resourceVersion; `stats` answers the connection
// stats.
import { endpointSlice, seededRandom, startFakeApiServer } from '@endpoint-watch/testing';
import { serveChild } from './children.mjs';
import { controllerEndpointSlices, withKind } from './controller-slices.mjs';

const spec = JSON.parse(process.argv[2]);
const services = [...(spec.services ?? [])];
for (let i = 0; i < (spec.manyServices?.count ?? 0); i++)
  services.push({ name: `svc-${i}`, endpoints: spec.manyServices.endpoints });
const objects = [];
for (const { name, endpoints, addresses, port } of services) {
  if (addresses)
    objects.push(
      endpointSlice({
        service: name,
        name: `${name}-a`,
        ports: [{ name: 'http', port, protocol: 'TCP' }],
        endpoints: addresses.map((address) => ({ addresses: [address] })),
      }),
    );
  else if (spec.realistic)
    objects.push(...controllerEndpointSlices({ service: name, endpoints, seed: 42 }).map(withKind));
  else
    objects.push(
      endpointSlice({
        service: name,
        name: `${name}-a`,
        endpoints: Array.from({ length: endpoints }, (_, i) => ({
          addresses: [`10.0.${i >> 8}.${i & 255}`],
        })),
      }),
    );
}
const server = await startFakeApiServer({
  token: false,
  initialObjects: objects,
  ...(spec.tls ? { tls: true, http2: { maxConcurrentStreams: spec.maxConcurrentStreams ?? 100 } } : {}),
});
const random = seededRandom(7);

serveChild(
  { url: server.url, ca: server.tls?.ca, kubeconfig: server.kubeconfig() },
  {
    flip({ service, count }) {
      const slices = server
        .list('EndpointSlice', 'default')
        .filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === service);
      for (let n = 0; n < count; n++) {
        const slice = slices[n % slices.length];
        const j = Math.floor(random() * slice.endpoints.length);
        const e = slice.endpoints[j];
        slice.endpoints[j] = { ...e, conditions: { ...e.conditions, ready: e.conditions?.ready === false } };
        slices[n % slices.length] = server.upsert(slice);
      }
      return server.resourceVersion;
    },
    stats: () => server.connectionStats(),
  },
);
