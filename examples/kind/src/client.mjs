#!/usr/bin/env node
// The client of the kind demo: follows the endpoints of the `echo` Service with the SDK and sends
// steady requests through a balanced undici agent (straight to the pods, no kube-proxy hop),
// logging which pods answered every few seconds.
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { createKubeClient, loadKubeConfig, watchEndpoints, watchEndpointsHealth } from '@endpoint-watch/core';
import { createBalancedAgent } from '@endpoint-watch/undici';
import { request } from 'undici';

/**
 * Sends requests until `signal` aborts or `requests` were sent; resolves with the answers per pod.
 * Settings come from `env`: ECHO_SERVICE (echo), ECHO_PORT (port name, http), NAMESPACE (default: the
 * kubeconfig's or the service account's), CONCURRENCY (4), INTERVAL_MS (pause of each worker, 50),
 * REPORT_EVERY_MS (5000). The cluster: KUBECONFIG, ~/.kube/config, else the pod's service account.
 */
export async function runClient({
  env = process.env,
  requests = Number.POSITIVE_INFINITY,
  signal,
  log = console.log,
} = {}) {
  const config = loadKubeConfig({ env });
  const client = createKubeClient(config);
  const service = env.ECHO_SERVICE || 'echo';
  const namespace = env.NAMESPACE || config.namespace;
  const target = { namespace, service, port: env.ECHO_PORT || 'http' };

  // Both subscriptions share one watch of the Service's EndpointSlices.
  const agent = createBalancedAgent({ endpoints: watchEndpoints(client, target) });
  let shown;
  const subscription = watchEndpoints(client, target).subscribe((set) => {
    const list = set.endpoints.map((e) => `${e.address}:${e.port}`).join(' ') || '(none)';
    if (list !== shown) log(`endpoints: ${list}`);
    shown = list;
  });
  subscription.add(
    watchEndpointsHealth(client, target).subscribe((health) =>
      log(
        `watch: ${health.state}${health.error ? ` (${health.error.code ?? ''} ${health.error.message})` : ''}`,
      ),
    ),
  );

  const counts = {};
  let window = {};
  let errors = 0;
  let sent = 0;
  const report = () => {
    const answers = Object.values(window).reduce((a, b) => a + b, 0);
    const pods = Object.keys(window).sort();
    log(
      `distribution: ${answers} answers, ${errors} errors so far | ` +
        pods.map((pod) => `${pod} ${window[pod]} (${Math.round((100 * window[pod]) / answers)}%)`).join('  '),
    );
    window = {};
  };
  const timer = setInterval(report, Number(env.REPORT_EVERY_MS || 5000));

  // The host name is only sent as the Host header: the agent dials the picked pod's IP and target port.
  const url = `http://${service}.${namespace}.svc/`;
  const worker = async () => {
    while (sent < requests && !signal?.aborted) {
      sent += 1;
      try {
        const { body } = await request(url, { dispatcher: agent, signal });
        const { pod } = await body.json();
        counts[pod] = (counts[pod] ?? 0) + 1;
        window[pod] = (window[pod] ?? 0) + 1;
      } catch (error) {
        if (signal?.aborted) break;
        errors += 1;
        log(`request failed: ${error.code ?? ''} ${error.message}`);
      }
      await sleep(Number(env.INTERVAL_MS || 50), undefined, { signal }).catch(() => undefined);
    }
  };
  try {
    await Promise.all(Array.from({ length: Number(env.CONCURRENCY || 4) }, worker));
  } finally {
    clearInterval(timer);
    report();
    subscription.unsubscribe();
    await agent.close();
    await client.close();
  }
  return { counts, errors };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const controller = new AbortController();
  process.once('SIGTERM', () => controller.abort());
  process.once('SIGINT', () => controller.abort());
  runClient({ signal: controller.signal }).catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
