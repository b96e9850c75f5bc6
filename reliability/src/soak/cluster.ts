/**
 * The soak's cluster, in a worker thread: the fake apiserver, loopback pods, the churn and the
 * periodic faults. A worker has its own heap and its own handles, so the main thread's samples
 * show the client (watches, balancer, pools) and not the server that feeds it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { endpointSlice, seededRandom, startFakeApiServer, startLoopbackPods } from '@endpoint-watch/testing';
import { Churn, type ChurnService } from '../model/churn.js';

export interface ClusterConfig {
  readonly seed: number;
  readonly namespace: string;
  readonly services: readonly string[];
  readonly podsService: string;
  readonly writesPerSecond: number;
  readonly cutEveryMs: number;
  readonly compactEveryMs: number;
  readonly bookmarkIntervalMs: number;
}

export type ClusterMessage =
  | { readonly type: 'ready'; readonly url: string; readonly token: string; readonly podsPort: number }
  | {
      readonly type: 'stopped';
      readonly writes: number;
      readonly cuts: number;
      readonly compactions: number;
    };

const config = workerData as ClusterConfig;
const port = parentPort!;

const server = await startFakeApiServer({ bookmarkIntervalMs: config.bookmarkIntervalMs });
const pods = await startLoopbackPods({ count: 3 });
const services: ChurnService[] = [
  ...config.services.map((name, i) => ({
    name,
    addresses: Array.from({ length: 20 }, (_, j) => `10.${100 + i}.0.${j + 1}`),
    port: 8080,
  })),
  { name: config.podsService, addresses: pods.addresses, port: pods.port, minReady: 2 },
];
const churn = new Churn(seededRandom(config.seed), config.namespace, services);
let writes = 0;
const apply = (mutation: ReturnType<Churn['next']>) => {
  const writeAll = () => {
    for (const write of mutation.writes) {
      if (write.kind === 'upsert') server.upsert(endpointSlice(write.spec));
      else server.delete('EndpointSlice', write.namespace, write.name);
      writes++;
    }
  };
  if (mutation.batch) server.batch(writeAll);
  else writeAll();
};
for (const mutation of churn.initial()) apply(mutation);

// Steady churn: every 20 ms, the writes due by now (a mutation may be several writes).
const startedAt = Date.now();
const churnTimer = setInterval(() => {
  const due = ((Date.now() - startedAt) / 1000) * config.writesPerSecond;
  while (writes < due) apply(churn.next());
}, 20);
let cuts = 0;
const cutTimer = setInterval(() => {
  server.faults.cutWatches();
  cuts++;
}, config.cutEveryMs);
let compactions = 0;
const compactTimer = setInterval(() => {
  server.compact();
  compactions++;
}, config.compactEveryMs);

port.on('message', async (message: { type: 'stop' }) => {
  if (message.type !== 'stop') return;
  clearInterval(churnTimer);
  clearInterval(cutTimer);
  clearInterval(compactTimer);
  await Promise.all([server.close(), pods.close()]);
  port.postMessage({ type: 'stopped', writes, cuts, compactions } satisfies ClusterMessage);
  port.close();
});
port.postMessage({
  type: 'ready',
  url: server.url,
  token: server.token!,
  podsPort: pods.port,
} satisfies ClusterMessage);
