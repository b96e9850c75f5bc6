/**
 * The embedded cluster of the demo: a fake apiserver (TLS certificate only valid for
 * `cluster.condi.me`, bearer token) and a Deployment-like set of pods that are real HTTP servers on
 * 127.0.0.2, 127.0.0.3, … Each change of the pods is published the way the EndpointSlice controller
 * would, as one EndpointSlice of the Service. A crashed pod stays in the slice until `forget`: the
 * controller has not noticed yet.
 */
import { endpointSlice, type FakeApiServer, startFakeApiServer } from '@endpoint-watch/testing';
import { PodServer } from './pods.js';

export const DEMO_TLS_NAME = 'cluster.condi.me';

/** `starting`: not ready yet; `crashed`: its server is gone but the slice still lists it as ready. */
export type PodPhase = 'starting' | 'ready' | 'terminating' | 'crashed' | 'gone';

export interface DemoPod {
  readonly name: string;
  readonly address: string;
  readonly zone: string;
  readonly node: string;
  readonly version: string;
  phase: PodPhase;
  /** Listed in the EndpointSlice. */
  inSlice: boolean;
  /** What happened to it, for the view and the summary (`slow +150 ms`, `crashed`, `replaced by v2`). */
  notes: string[];
  readonly server: PodServer;
}

export interface DemoClusterOptions {
  readonly namespace: string;
  readonly service: string;
  /** Name of the Service port. */
  readonly portName: string;
}

const ZONES = ['zone-a', 'zone-b', 'zone-c'] as const;
const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789'; // the characters Kubernetes uses for generated names

export class DemoCluster {
  readonly apiserver: FakeApiServer;
  readonly namespace: string;
  readonly service: string;
  readonly portName: string;
  /** Every pod ever started, oldest first. */
  readonly pods: DemoPod[] = [];
  #port = 0;
  #nextHost = 2;
  #closed = false;

  private constructor(apiserver: FakeApiServer, options: DemoClusterOptions) {
    this.apiserver = apiserver;
    this.namespace = options.namespace;
    this.service = options.service;
    this.portName = options.portName;
  }

  static async start(options: DemoClusterOptions): Promise<DemoCluster> {
    const apiserver = await startFakeApiServer({
      tls: { names: [DEMO_TLS_NAME] },
      bookmarkIntervalMs: 2_000,
    });
    const cluster = new DemoCluster(apiserver, options);
    cluster.publish(); // the Service exists before its pods: an empty slice
    return cluster;
  }

  /** The port every pod listens on (0 before the first pod). */
  get port(): number {
    return this.#port;
  }

  /** Starts `count` pods of `version`: their servers listen, the slice lists them as not ready. */
  async startPods(count: number, version: string): Promise<DemoPod[]> {
    const started: DemoPod[] = [];
    for (let i = 0; i < count; i++) {
      const host = this.#nextHost++;
      if (host > 254) throw new Error('the demo ran out of 127.0.0.x addresses');
      const address = `127.0.0.${host}`;
      const name = `${this.service}-${templateHash(version)}-${suffix(host)}`;
      const server = await PodServer.start({ name, address }, this.#port);
      this.#port = server.port;
      const zone = ZONES[(host - 2) % ZONES.length] ?? 'zone-a';
      const pod: DemoPod = {
        name,
        address,
        zone,
        node: `node-${zone.slice(-1)}${1 + (Math.floor((host - 2) / ZONES.length) % 2)}`,
        version,
        phase: 'starting',
        inSlice: true,
        notes: [],
        server,
      };
      this.pods.push(pod);
      started.push(pod);
    }
    this.publish();
    return started;
  }

  /** Readiness probes pass. */
  setReady(pods: readonly DemoPod[]): void {
    for (const pod of pods) if (pod.phase === 'starting') pod.phase = 'ready';
    this.publish();
  }

  /** Deleted: terminating, still serving the requests it has, no longer ready. */
  terminate(pods: readonly DemoPod[]): void {
    for (const pod of pods) if (pod.phase !== 'gone' && pod.phase !== 'crashed') pod.phase = 'terminating';
    this.publish();
  }

  /** Terminated pods leave the slice, then their servers shut down gracefully. */
  async remove(pods: readonly DemoPod[]): Promise<void> {
    for (const pod of pods) pod.inSlice = false;
    this.publish();
    await Promise.all(
      pods.map(async (pod) => {
        await pod.server.stop();
        pod.phase = 'gone';
      }),
    );
  }

  /** The process dies: connections cut, nothing listens; the slice still says ready. */
  async crash(pod: DemoPod): Promise<void> {
    pod.phase = 'crashed';
    pod.notes.push('crashed');
    await pod.server.kill();
  }

  /** The endpoints controller notices the crash: the pod leaves the slice. */
  forget(pod: DemoPod): void {
    pod.inSlice = false;
    this.publish();
  }

  slow(pod: DemoPod, delayMs: number): void {
    pod.server.delayMs = delayMs;
    pod.notes.push(`slow +${delayMs} ms`);
  }

  /** Pods of the Deployment still running (not terminating, crashed or gone). */
  running(version?: string): DemoPod[] {
    return this.pods.filter(
      (pod) =>
        (pod.phase === 'ready' || pod.phase === 'starting') &&
        (version === undefined || pod.version === version),
    );
  }

  podByAddress(address: string): DemoPod | undefined {
    return this.pods.find((pod) => pod.address === address);
  }

  /** Writes the Service's EndpointSlice as the controller would see the pods now. */
  publish(): void {
    if (this.#closed) return;
    this.apiserver.upsert(
      endpointSlice({
        namespace: this.namespace,
        service: this.service,
        name: `${this.service}-x7k2p`,
        addressType: 'IPv4',
        ports: [{ name: this.portName, port: this.#port || 80, protocol: 'TCP' }],
        endpoints: this.pods
          .filter((pod) => pod.inSlice)
          .map((pod) => ({
            addresses: [pod.address],
            ready: pod.phase === 'ready' || pod.phase === 'crashed',
            serving: pod.phase === 'ready' || pod.phase === 'crashed' || pod.phase === 'terminating',
            terminating: pod.phase === 'terminating',
            nodeName: pod.node,
            zone: pod.zone,
            targetRef: { kind: 'Pod', namespace: this.namespace, name: pod.name },
          })),
      }),
    );
  }

  /** Kills every pod still running and stops the apiserver. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.pods.map((pod) => pod.server.kill()));
    await this.apiserver.close();
  }
}

/** A stable pod-template-hash per version, like a ReplicaSet's (8 characters here). */
function templateHash(version: string): string {
  let hash = 0x811c9dc5;
  for (const char of `pod-template:${version}`)
    hash = Math.imul(hash ^ (char.codePointAt(0) ?? 0), 0x01000193);
  return generated(hash, 8);
}

/** Five generated characters, distinct per host. */
function suffix(host: number): string {
  return generated(Math.imul(host + 7, 0x9e3779b1), 5);
}

/** `length` characters of Kubernetes' name alphabet from a 32-bit seed (xorshift32). */
function generated(seed: number, length: number): string {
  let x = seed >>> 0 || 1;
  let out = '';
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out += SUFFIX_ALPHABET[x % SUFFIX_ALPHABET.length];
  }
  return out;
}
