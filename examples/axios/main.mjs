#!/usr/bin/env node
// Sends N requests to a Kubernetes Service with axios, balanced by withEndpointBalancing: each
// request goes straight to one of the Service's ready pods, picked per request, and the per-pod
// counts are printed at the end.
//
//   node main.mjs [--requests 20] [--adapter http|fetch]  a cluster on loopback, started here
//   node main.mjs --service web [--namespace shop] [--kubeconfig FILE] [--port http] [--url URL]
//                                                        a real cluster (run where pod IPs are reachable)
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { detachEndpointBalancing, getEndpointBalancing, withEndpointBalancing } from '@endpoint-watch/axios';
import { createKubeClient, loadKubeConfig, watchEndpoints } from '@endpoint-watch/core';
import axios from 'axios';

/** Runs the example with command-line `args`; resolves with the answers per endpoint. */
export async function main(args = process.argv.slice(2), { log = console.log } = {}) {
  const { values } = parseArgs({
    args,
    options: {
      requests: { type: 'string', default: '20' },
      adapter: { type: 'string', default: 'http' },
      kubeconfig: { type: 'string' },
      service: { type: 'string' },
      namespace: { type: 'string' },
      port: { type: 'string' },
      url: { type: 'string' },
    },
  });
  const requests = Number(values.requests);
  if (!Number.isInteger(requests) || requests < 1) throw new Error('--requests must be a positive integer');
  if (!['http', 'fetch'].includes(values.adapter)) throw new Error('--adapter must be http or fetch');
  if (values.kubeconfig && !values.service) throw new Error('--kubeconfig needs --service');

  // Without --service: an embedded cluster (fake apiserver + pods on 127.0.0.2-4), loaded on demand.
  const embedded = values.service
    ? undefined
    : await import('./embedded-cluster.mjs').then((m) => m.startEmbeddedCluster());
  const config = loadKubeConfig({ kubeconfig: values.kubeconfig ?? embedded?.kubeconfig });
  const client = createKubeClient(config);
  const service = values.service ?? embedded.service;
  const namespace = values.namespace ?? config.namespace;

  const port = /^\d+$/.test(values.port ?? '') ? Number(values.port) : values.port; // name or number
  const endpoints = watchEndpoints(client, { service, namespace, port });
  // Requests to the baseURL's host are balanced; axios dials the picked pod, Host stays the URL's.
  const baseURL = values.url ?? `http://${service}.${namespace}.svc/`;
  const api = withEndpointBalancing(axios.create({ baseURL, adapter: values.adapter }), { endpoints });
  try {
    for (let i = 0; i < requests; i++) await api.get('/');
    // What the balancer counted per endpoint (released when each response ended).
    const [balancing] = getEndpointBalancing(api);
    const counts = Object.fromEntries(
      balancing.balancer.stats().endpoints.map((e) => [`${e.address}:${e.port}`, e.successes]),
    );
    log(`${requests} requests to ${baseURL} (${namespace}/${service}, ${values.adapter} adapter):`);
    for (const [endpoint, count] of Object.entries(counts)) log(`  ${endpoint.padEnd(22)} ${count}`);
    return { counts, served: embedded?.served() };
  } finally {
    await detachEndpointBalancing(api); // closes the pods' connections and ends the watch
    await client.close();
    await embedded?.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error) => {
    console.error(error.message);
    process.exitCode = 1;
  });
}
