/**
 * The namespace-wide watch against the real kube-apiserver (100 HTTP/2 streams per connection):
 * 2,000 Services, their slices written by the real EndpointSlice controller, watched by one client
 * through a TCP proxy that counts its connections.
 */
import { type EndpointSet, type KubeClient, watchEndpoints } from '@endpoint-watch/core';
import { startTcpProxy, type TcpProxy } from '@endpoint-watch/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientFor, dataPodIps, Recorder, targetsAre, useControlPlane } from './helpers.js';

// The controller's default client rate (20 QPS) would take 100 s to write 2,000 slices.
const plane = useControlPlane({
  controllerManagerArgs: [
    '--kube-api-qps=1000',
    '--kube-api-burst=2000',
    '--concurrent-service-endpoint-syncs=20',
  ],
});
const NS = 'many';
const SERVICES = 2000;
const PORT = 8080;
const ips = dataPodIps(SERVICES);
const spare = dataPodIps(2, SERVICES);

let proxy: TcpProxy;
let client: KubeClient;
const recorders: Recorder<EndpointSet>[] = [];

/** Runs `work` for 0..count-1, at most `parallel` at a time. */
async function inBatches(
  count: number,
  parallel: number,
  work: (i: number) => Promise<unknown>,
): Promise<void> {
  for (let start = 0; start < count; start += parallel) {
    await Promise.all(Array.from({ length: Math.min(parallel, count - start) }, (_, k) => work(start + k)));
  }
}

beforeAll(async () => {
  const { admin } = plane();
  await admin.createNamespace(NS);
  await admin.createNode('node-a');
  const started = performance.now();
  await inBatches(SERVICES, 50, async (i) => {
    await admin.createService({
      name: `svc-${i}`,
      namespace: NS,
      ports: [{ name: 'http', port: 80, targetPort: PORT }],
    });
    await admin.createPod({
      name: `svc-${i}-pod`,
      namespace: NS,
      labels: { app: `svc-${i}` },
      nodeName: 'node-a',
      ips: [ips[i]!],
    });
  });
  console.log(
    `[namespace-watch] created ${SERVICES} Services and pods in ${Math.round(performance.now() - started)} ms`,
  );
  proxy = await startTcpProxy({ host: '127.0.0.1', port: plane().port });
  client = clientFor(plane(), {
    server: `https://127.0.0.1:${proxy.port}`,
    tlsServerName: plane().clusterName,
  });
}, 180_000);
afterAll(async () => {
  for (const r of recorders.splice(0)) r.close();
  await client?.close();
  await proxy?.close();
});

/** A second pod for Service `i`; waits until its set holds both. */
async function addPod(i: number, ip: string, mark: number): Promise<void> {
  await plane().admin.createPod({
    name: `svc-${i}-extra`,
    namespace: NS,
    labels: { app: `svc-${i}` },
    nodeName: 'node-a',
    ips: [ip],
  });
  await recorders[i]!.until(
    (set) => targetsAre(set, [ips[i]!, ip], PORT),
    `svc-${i} with 2 pods`,
    60_000,
    mark,
  );
}

describe('2,000 Services on one client against the real apiserver', () => {
  it('are served over ≤ 2 TCP connections, every set right, and one Service’s change reaches it alone', async () => {
    const started = performance.now();
    for (let i = 0; i < SERVICES; i++) {
      recorders.push(
        new Recorder(watchEndpoints(client, { service: `svc-${i}`, namespace: NS, port: 'http' })),
      );
    }
    // The controller writes the slices as the test goes: wait for each Service's pod to show up.
    await Promise.all(
      recorders.map((r, i) => r.until((set) => targetsAre(set, [ips[i]!], PORT), `svc-${i}`, 150_000)),
    );
    const stats = client.transportStats();
    console.log(
      `[namespace-watch] ${SERVICES} Services synced in ${Math.round(performance.now() - started)} ms over ${proxy.accepted} TCP connections; client ${JSON.stringify(stats)}`,
    );
    expect(stats.protocol).toBe('h2');
    expect(proxy.accepted).toBeLessThanOrEqual(2);
    expect(stats.http2?.opened).toBeLessThanOrEqual(2);

    // A pod added to one Service: its set changes; a later change to another Service, on the same
    // namespace stream, proves the first was handled everywhere.
    const marks = recorders.map((r) => r.mark());
    await addPod(7, spare[0]!, marks[7]!);
    await addPod(8, spare[1]!, marks[8]!);
    const emitted = recorders
      .map((r, i) => r.mark() - marks[i]!)
      .filter((n, i) => n > 0 && i !== 7 && i !== 8);
    expect(emitted).toEqual([]);
    expect(proxy.accepted).toBeLessThanOrEqual(2);
  }, 240_000);
});
