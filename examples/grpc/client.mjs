#!/usr/bin/env node
// Calls the Greeter of a Kubernetes Service through grpc-js with the kubernetes:/// resolver: every
// call goes to one ready pod picked by the least-request policy (not to the one pod behind a
// ClusterIP connection), and the pods that answered are counted.
//
//   node client.mjs [--calls 30]                       a cluster on loopback, started here
//   node client.mjs --service greeter [--namespace demo] [--kubeconfig FILE] [--port grpc]
//                                                      a real cluster (run where pod IPs are reachable)
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createKubeClient, loadKubeConfig } from '@endpoint-watch/core';
import { registerKubernetesResolver } from '@endpoint-watch/grpc';
import * as grpc from '@grpc/grpc-js';
import { GreeterClient } from './greeter.mjs';

/** Runs the example with command-line `args`; resolves with the calls answered per pod. */
export async function main(args = process.argv.slice(2), { log = console.log } = {}) {
  const { values } = parseArgs({
    args,
    options: {
      calls: { type: 'string', default: '30' },
      kubeconfig: { type: 'string' },
      service: { type: 'string' },
      namespace: { type: 'string' },
      port: { type: 'string', default: 'grpc' },
    },
  });
  const calls = Number(values.calls);
  if (!Number.isInteger(calls) || calls < 1) throw new Error('--calls must be a positive integer');
  if (values.kubeconfig && !values.service) throw new Error('--kubeconfig needs --service');

  // Without --service: an embedded cluster (fake apiserver + Greeter pods on 127.0.0.2-4).
  const embedded = values.service
    ? undefined
    : await import('./embedded-cluster.mjs').then((m) => m.startEmbeddedCluster());
  const config = loadKubeConfig({ kubeconfig: values.kubeconfig ?? embedded?.kubeconfig });
  const kube = createKubeClient(config);
  const service = values.service ?? embedded.service;
  const namespace = values.namespace ?? config.namespace;

  // Once per process: kubernetes:/// targets now resolve through this client's watches.
  registerKubernetesResolver(kube);
  const target = `kubernetes:///${service}.${namespace}:${values.port}`;
  const greeter = new GreeterClient(target, grpc.credentials.createInsecure());
  try {
    const deadline = () => ({ deadline: Date.now() + 10_000 });
    const counts = {};
    for (let i = 0; i < calls; i++) {
      const reply = await new Promise((resolve, reject) =>
        greeter.sayHello({ name: `call ${i}` }, deadline(), (error, value) =>
          error ? reject(error) : resolve(value),
        ),
      );
      counts[reply.pod] = (counts[reply.pod] ?? 0) + 1;
    }
    // A server stream stays on the one pod it was picked for.
    const streamed = await new Promise((resolve, reject) => {
      const pods = new Set();
      const stream = greeter.sayHellos({ name: 'stream', times: 5 }, deadline());
      stream.on('data', (reply) => pods.add(reply.pod));
      stream.on('error', reject);
      stream.on('end', () => resolve([...pods]));
    });
    counts[streamed[0]] = (counts[streamed[0]] ?? 0) + 1;
    log(`${calls} calls and 1 stream to ${target}:`);
    for (const [pod, count] of Object.entries(counts).sort()) log(`  ${pod.padEnd(22)} ${count}`);
    return { counts, streamed, served: embedded?.served() };
  } finally {
    greeter.close();
    await kube.close();
    await embedded?.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error) => {
    console.error(error.message);
    process.exitCode = 1;
  });
}
