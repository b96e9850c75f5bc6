#!/usr/bin/env node
// endpoint-watch's OpenTelemetry metrics in Prometheus format: the watch of a Service (health,
// staleness, relists, events and bytes decoded, endpoints by condition) and the balanced agent
// that sends it steady traffic (requests, failures, ejections and durations per pod), served on
// http://127.0.0.1:9464/metrics until Ctrl-C.
//
//   node main.mjs [--metrics-port 9464]              a cluster on loopback, started here
//   node main.mjs --service web [--namespace shop] [--kubeconfig FILE] [--port http] [--url URL]
//                                                    a real cluster (run where pod IPs are reachable)

import { once } from 'node:events';
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  createKubeClient,
  instrumentEndpointWatch,
  loadKubeConfig,
  watchEndpoints,
} from '@endpoint-watch/core';
import { createBalancedAgent } from '@endpoint-watch/undici';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { request } from 'undici';

/**
 * Starts the watch, the traffic and the /metrics server; resolves once /metrics is served, with its
 * URL and `stop()`.
 */
export async function start(args = process.argv.slice(2), { log = console.log } = {}) {
  const { values } = parseArgs({
    args,
    options: {
      'metrics-port': { type: 'string', default: '9464' },
      'interval-ms': { type: 'string', default: '100' },
      kubeconfig: { type: 'string' },
      service: { type: 'string' },
      namespace: { type: 'string' },
      port: { type: 'string' },
      url: { type: 'string' },
    },
  });
  const metricsPort = Number(values['metrics-port']);
  if (!Number.isInteger(metricsPort) || metricsPort < 0 || metricsPort > 65535)
    throw new Error('--metrics-port must be a port number (0 picks a free one)');
  const intervalMs = Number(values['interval-ms']);
  if (!Number.isInteger(intervalMs) || intervalMs < 1)
    throw new Error('--interval-ms must be a positive integer');
  if (values.kubeconfig && !values.service) throw new Error('--kubeconfig needs --service');

  // Without --service: an embedded cluster (fake apiserver + pods on 127.0.0.2-4), loaded on demand.
  const embedded = values.service
    ? undefined
    : await import('./embedded-cluster.mjs').then((m) => m.startEmbeddedCluster());
  const config = loadKubeConfig({ kubeconfig: values.kubeconfig ?? embedded?.kubeconfig });
  const service = values.service ?? embedded.service;
  const namespace = values.namespace ?? config.namespace;
  const port = /^\d+$/.test(values.port ?? '') ? Number(values.port) : values.port; // name or number

  // --- metrics setup (the core README's "Metrics" section shows this block) ---
  // The exporter is a reader of an OpenTelemetry SDK MeterProvider; endpoint-watch records into it.
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ readers: [exporter] });
  const client = createKubeClient(config);
  const watched = { service, namespace, port };
  // The watch's instruments, for as long as `recording` is subscribed (it shares the agent's watch).
  const recording = instrumentEndpointWatch(client, watched, { meterProvider });
  // The balancer's instruments, per pod: `metrics: true` would use @opentelemetry/api's global provider.
  const agent = createBalancedAgent(
    { endpoints: watchEndpoints(client, watched) },
    { balancer: { metrics: { meterProvider } } },
  );
  // /metrics on loopback only (the exporter's own server would listen on every interface).
  const server = createServer((req, res) => {
    if (req.url === '/metrics') exporter.getMetricsRequestHandler(req, res);
    else res.writeHead(404).end();
  });
  server.listen(metricsPort, '127.0.0.1');
  // --- end of metrics setup ---
  await once(server, 'listening');
  const metricsUrl = `http://127.0.0.1:${server.address().port}/metrics`;

  // Steady traffic, one request at a time, so that the per-pod series have something to count.
  const url = values.url ?? `http://${service}.${namespace}.svc/`;
  const stopped = new AbortController();
  const traffic = (async () => {
    while (!stopped.signal.aborted) {
      try {
        const { body } = await request(url, { dispatcher: agent, signal: stopped.signal });
        await body.dump();
      } catch (error) {
        // Counted as failures in the metrics; the loop goes on (a pod may be gone, or none ready yet).
        if (!stopped.signal.aborted) log(`request failed: ${error.message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();

  log(`metrics of ${namespace}/${service} on ${metricsUrl} (Ctrl-C to stop)`);
  return {
    metricsUrl,
    async stop() {
      stopped.abort();
      await traffic;
      recording.unsubscribe();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await agent.close();
      await meterProvider.shutdown();
      await client.close();
      await embedded?.close();
    },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  start().then(
    (running) => {
      const stop = () => {
        process.off('SIGINT', stop).off('SIGTERM', stop);
        running.stop().catch((error) => {
          console.error(error.message);
          process.exitCode = 1;
        });
      };
      process.on('SIGINT', stop).on('SIGTERM', stop);
    },
    (error) => {
      console.error(error.message);
      process.exitCode = 1;
    },
  );
}
