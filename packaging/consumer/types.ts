// Compiled by the user's tsc with strict + exactOptionalPropertyTypes and skipLibCheck: false,
// under node16, nodenext and bundler resolution: the shipped declarations must hold.
import { detachEndpointBalancing, withEndpointBalancing } from '@endpoint-watch/axios';
import { type Balancer, createBalancer, type Lease } from '@endpoint-watch/balancer';
import {
  createKubeClient,
  type Endpoint,
  type EndpointSet,
  loadKubeConfig,
  type WatchHealth,
  watchEndpoints,
  watchEndpointsHealth,
} from '@endpoint-watch/core';
import {
  type KubernetesResolverRegistration,
  leastRequestChannelOptions,
  registerKubernetesResolver,
} from '@endpoint-watch/grpc';
import { endpointSlice, startFakeApiServer } from '@endpoint-watch/testing';
import { createBalancedAgent, endpointBalancing } from '@endpoint-watch/undici';
import axios from 'axios';
import type { Observable } from 'rxjs';
import { Agent } from 'undici';

export async function main(): Promise<string[]> {
  const server = await startFakeApiServer({
    initialObjects: [
      endpointSlice({ service: 'web', name: 'web-a', endpoints: [{ addresses: ['10.0.0.1'] }] }),
    ],
  });
  const token = server.token === undefined ? {} : { token: server.token };
  const client = createKubeClient(loadKubeConfig({ server: server.url, ...token }));
  const endpoints: Observable<EndpointSet> = watchEndpoints(client, { service: 'web', port: 'http' });
  const health: Observable<WatchHealth> = watchEndpointsHealth(client, { service: 'web' });
  const balancer: Balancer = createBalancer(endpoints, { strategy: 'peak-ewma' });
  const lease: Lease | undefined = balancer.pick();
  const zone: string | undefined = lease?.endpoint.zone;
  const agent = createBalancedAgent({ endpoints }, { maxAttempts: 2 });
  const composed = new Agent().compose(endpointBalancing({ endpoints }));
  const api = withEndpointBalancing(axios.create(), { endpoints });
  await detachEndpointBalancing(api);
  const registration: KubernetesResolverRegistration = registerKubernetesResolver(client, {
    watch: { scope: 'service' },
  });
  const target: string = registration.target('web', 'default', 'grpc');
  const grpcOptions = leastRequestChannelOptions(3);
  const addresses = (e: Endpoint): string => `${e.address}:${e.port}`;
  void health;
  void target;
  void grpcOptions;
  await agent.close();
  await composed.close();
  return [zone ?? '', addresses.name];
}
