/**
 * gRPC pods on loopback addresses (127.0.0.2, 127.0.0.3, … on one port, like the pods of a Service)
 * serving a proto-less echo service (raw Buffers), the fake apiserver, and a client registered as
 * the `kubernetes:` resolver. For the end-to-end tests of this package.
 */

import { createKubeClient, type KubeClient, loadKubeConfig, watchEndpoints } from '@endpoint-watch/core';
import {
  type EndpointSpec,
  endpointSlice,
  type FakeApiServer,
  startFakeApiServer,
  within,
} from '@endpoint-watch/testing';
import * as grpc from '@grpc/grpc-js';
import { getChannelzHandlers } from '@grpc/grpc-js/build/src/channelz.js';
import { filter, firstValueFrom } from 'rxjs';
import { afterEach } from 'vitest';
import {
  type KubernetesResolverOptions,
  LeastRequestConfig,
  LeastRequestLoadBalancer,
  registerKubernetesResolver,
} from '../src/index.js';

export { eventually, rejection, within } from '@endpoint-watch/testing';

const raw = {
  requestSerialize: (value: Buffer) => value,
  requestDeserialize: (value: Buffer) => value,
  responseSerialize: (value: Buffer) => value,
  responseDeserialize: (value: Buffer) => value,
};

/** `Who` answers the pod's address; `Count` streams it N times; `Hold` answers when the test releases it. */
export const echoService = {
  who: { path: '/test.Echo/Who', requestStream: false, responseStream: false, ...raw },
  count: { path: '/test.Echo/Count', requestStream: false, responseStream: true, ...raw },
  hold: { path: '/test.Echo/Hold', requestStream: false, responseStream: false, ...raw },
} satisfies grpc.ServiceDefinition;

export const EchoClient = grpc.makeGenericClientConstructor(echoService, 'Echo');
export type EchoClient = InstanceType<typeof EchoClient>;

export interface GrpcPod {
  readonly address: string;
  readonly server: grpc.Server;
  /** Calls this pod received, by method. */
  readonly calls: { who: number; count: number; hold: number };
  /** Answers every held call. */
  release(): void;
  readonly held: number;
  /** Client connections (HTTP/2 sessions) open on the pod now, from grpc-js' channelz. */
  sessions(): Promise<number>;
  /** Stops the pod at once: its connections are reset and its calls in flight fail. */
  kill(): void;
}

export interface GrpcPods {
  readonly pods: readonly GrpcPod[];
  readonly port: number;
  readonly addresses: readonly string[];
  byAddress(address: string): GrpcPod;
  /** Calls of `method` by pod address. */
  counts(method?: keyof GrpcPod['calls']): Record<string, number>;
  close(): Promise<void>;
}

export async function startGrpcPods(count: number, first = 2): Promise<GrpcPods> {
  const pods: GrpcPod[] = [];
  let port = 0;
  for (let i = 0; i < count; i++) {
    const address = `127.0.0.${first + i}`;
    const server = new grpc.Server();
    const calls = { who: 0, count: 0, hold: 0 };
    const held: (() => void)[] = [];
    const answer = Buffer.from(address);
    server.addService(echoService, {
      who: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        calls.who += 1;
        callback(null, answer);
      },
      count: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
        calls.count += 1;
        const n = Math.min(call.request.readUInt8(0), 50);
        for (let k = 0; k < n; k++) call.write(answer);
        call.end();
      },
      hold: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        calls.hold += 1;
        held.push(() => callback(null, answer));
      },
    });
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${address}:${port}`, grpc.ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    pods.push({
      address,
      server,
      calls,
      release: () => {
        for (const answerHeld of held.splice(0)) answerHeld();
      },
      get held() {
        return held.length;
      },
      sessions: () => serverSessions(server),
      kill: () => server.forceShutdown(),
    });
  }
  return {
    pods,
    port,
    addresses: pods.map((pod) => pod.address),
    byAddress: (address) => {
      const pod = pods.find((candidate) => candidate.address === address);
      if (!pod) throw new Error(`no pod ${address}`);
      return pod;
    },
    counts: (method = 'who') => Object.fromEntries(pods.map((pod) => [pod.address, pod.calls[method]])),
    close: async () => {
      for (const pod of pods) pod.server.forceShutdown();
    },
  };
}

function serverSessions(server: grpc.Server): Promise<number> {
  const handlers = getChannelzHandlers();
  return new Promise((resolve, reject) => {
    const request = { server_id: String(server.getChannelzRef().id), start_socket_id: '0', max_results: 0 };
    handlers.GetServerSockets(
      { request } as never,
      ((error: Error | null, value?: { socket_ref?: unknown[] }) =>
        error ? reject(error) : resolve(value?.socket_ref?.length ?? 0)) as never,
    );
  });
}

/** An EndpointSlice of Service shop/web, port `grpc`. */
export function webSlice(name: string, endpoints: readonly (string | EndpointSpec)[], port: number) {
  return endpointSlice({
    namespace: 'shop',
    service: 'web',
    name,
    ports: [{ name: 'grpc', port, protocol: 'TCP' }],
    endpoints: endpoints.map((endpoint) =>
      typeof endpoint === 'string' ? { addresses: [endpoint], targetRef: 'pod' as const } : endpoint,
    ),
  });
}

export function who(client: EchoClient): Promise<string> {
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(
      echoService.who.path,
      raw.requestSerialize,
      raw.responseDeserialize,
      Buffer.alloc(0),
      (error, value) => (error ? reject(error) : resolve(String(value))),
    ),
  );
}

/** `n` calls one after another; the answering pods in order. */
export async function whoTimes(client: EchoClient, n: number): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < n; i++) seen.push(await who(client));
  return seen;
}

export function tally(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

export interface Cluster {
  readonly server: FakeApiServer;
  readonly client: KubeClient;
  readonly pods: GrpcPods;
  /** A channel to `target` (default `kubernetes:///web.shop:grpc`), closed after the test. */
  channel(target?: string, options?: grpc.ChannelOptions): EchoClient;
}

/**
 * Call once per test file: returns a function that starts `count` pods, a fake apiserver holding the
 * slices `initial` makes of their addresses, a client and the resolver; all closed after each test.
 */
export function useCluster() {
  const open: { clients: EchoClient[]; cluster?: Cluster } = { clients: [] };
  afterEach(async () => {
    for (const client of open.clients.splice(0)) client.close();
    await open.cluster?.client.close().catch(() => undefined);
    await open.cluster?.server.close();
    await open.cluster?.pods.close();
    open.cluster = undefined;
  });
  return async (
    count: number,
    initial: (addresses: readonly string[], port: number) => ReturnType<typeof webSlice>[],
    resolver: KubernetesResolverOptions = {},
  ): Promise<Cluster> => {
    const pods = await startGrpcPods(count);
    const server = await startFakeApiServer({
      tls: true,
      initialObjects: initial(pods.addresses, pods.port),
    });
    const client = createKubeClient(
      loadKubeConfig({ server: server.url, token: server.token, ca: server.tls?.ca }),
    );
    registerKubernetesResolver(client, resolver);
    const cluster: Cluster = {
      server,
      client,
      pods,
      channel: (target = 'kubernetes:///web.shop:grpc', options = {}) => {
        const channel = new EchoClient(target, grpc.credentials.createInsecure(), options);
        open.clients.push(channel);
        return channel;
      },
    };
    open.cluster = cluster;
    return cluster;
  };
}

/**
 * References the channel holds on each pod's subchannel, by `host:port`: a test policy wraps the
 * least-request policy with a helper that counts `ref`/`unref` of the subchannels it creates.
 * (The connection itself closes later: grpc-js' subchannel pool drops unused subchannels every 10 s.)
 */
export const subchannelRefs = new Map<string, number>();
/** The channel options the test policy was last given (resolver attributes included). */
export const policyOptions: { last?: grpc.ChannelOptions } = {};
export const REF_COUNTING_POLICY = 'test_ref_counting_least_request';

class RefCountingConfig implements grpc.experimental.TypedLoadBalancingConfig {
  getLoadBalancerName(): string {
    return REF_COUNTING_POLICY;
  }
  toJsonObject(): object {
    return { [REF_COUNTING_POLICY]: {} };
  }
  static createFromJson(): RefCountingConfig {
    return new RefCountingConfig();
  }
}

class CountedSubchannel extends grpc.experimental.BaseSubchannelWrapper {
  override ref(): void {
    subchannelRefs.set(this.getAddress(), (subchannelRefs.get(this.getAddress()) ?? 0) + 1);
    super.ref();
  }
  override unref(): void {
    subchannelRefs.set(this.getAddress(), (subchannelRefs.get(this.getAddress()) ?? 0) - 1);
    super.unref();
  }
}

class RefCountingBalancer implements grpc.experimental.LoadBalancer {
  readonly #inner: LeastRequestLoadBalancer;
  // grpc-js before 1.13 passes the channel options (and in 1.12 the credentials) after the helper.
  constructor(helper: grpc.experimental.ChannelControlHelper, ...grpcJsArgs: unknown[]) {
    this.#inner = new LeastRequestLoadBalancer(
      grpc.experimental.createChildChannelControlHelper(helper, {
        createSubchannel: (address, args) => new CountedSubchannel(helper.createSubchannel(address, args)),
      }),
      ...grpcJsArgs,
    );
  }
  updateAddressList(
    endpoints: grpc.experimental.StatusOr<grpc.experimental.Endpoint[]>,
    _config: grpc.experimental.TypedLoadBalancingConfig,
    options: grpc.ChannelOptions,
    note: string,
  ): boolean {
    policyOptions.last = options;
    return this.#inner.updateAddressList(endpoints, new LeastRequestConfig(), options, note);
  }
  exitIdle(): void {
    this.#inner.exitIdle();
  }
  resetBackoff(): void {
    this.#inner.resetBackoff();
  }
  destroy(): void {
    this.#inner.destroy();
  }
  getTypeName(): string {
    return REF_COUNTING_POLICY;
  }
}

grpc.experimental.registerLoadBalancerType(REF_COUNTING_POLICY, RefCountingBalancer, RefCountingConfig);

export const serviceConfig = (policy: string, config: object = {}): grpc.ChannelOptions => ({
  'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ [policy]: config }] }),
});

/**
 * Waits until the client's watch of shop/web (shared with the resolver's) emits a set that `done`
 * accepts, then lets the resolver hand it to grpc-js (it does so on the next microtask).
 */
export async function watched(
  client: KubeClient,
  done: (addresses: readonly string[]) => boolean,
  what: string,
): Promise<void> {
  const sets = watchEndpoints(client, { namespace: 'shop', service: 'web', port: 'grpc' });
  await within(
    firstValueFrom(sets.pipe(filter((set) => done(set.endpoints.map((endpoint) => endpoint.address))))),
    5_000,
    what,
  );
  await new Promise((resolve) => setImmediate(resolve));
}
