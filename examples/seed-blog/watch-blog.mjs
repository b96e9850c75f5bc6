#!/usr/bin/env node
// The seed scenario, with the SDK: a program in a pod prints the ready `address:port`s of the `blog`
// Service every time they change. It authenticates with the pod's service account and verifies the
// apiserver's certificate against the cluster's name (the apiserver is reached by IP, its certificate
// names only `cluster.condi.me`).
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createKubeClient, loadKubeConfig, watchEndpoints, watchEndpointsHealth } from '@endpoint-watch/core';
import { distinctUntilChanged, map, tap } from 'rxjs';

/**
 * Prints the ready endpoints of the Service until `signal` aborts. From `env`: CLUSTER_NAME (the name on
 * the apiserver certificate, default cluster.condi.me), SERVICE (blog), NAMESPACE (default: the pod's),
 * PORT_NAME (needed when the Service has several ports), SOURCE (`endpoints`, the default, or
 * `endpointslices`), and KUBERNETES_SERVICE_HOST/_PORT, set in every pod.
 */
export async function watchBlog({
  env = process.env,
  source = env.SOURCE || 'endpoints',
  serviceAccountDir, // default: /var/run/secrets/kubernetes.io/serviceaccount
  signal,
  print = console.log,
  warn = console.error,
  onSet = () => {}, // sees every endpoint set, printed or not (tests, metrics)
} = {}) {
  const config = loadKubeConfig({
    inCluster: serviceAccountDir ? { serviceAccountDir } : true,
    tlsServerName: env.CLUSTER_NAME || 'cluster.condi.me',
    env,
  });
  const client = createKubeClient(config);
  const port = env.PORT_NAME && /^\d+$/.test(env.PORT_NAME) ? Number(env.PORT_NAME) : env.PORT_NAME;
  const service = env.SERVICE || 'blog';
  const options = { service, namespace: env.NAMESPACE || undefined, port, source };

  let subscription;
  try {
    await new Promise((resolve, reject) => {
      if (signal?.aborted) return resolve();
      signal?.addEventListener('abort', resolve, { once: true });
      subscription = watchEndpoints(client, options)
        .pipe(
          tap(onSet),
          map((set) => set.all.filter((endpoint) => endpoint.ready).map((e) => `${e.address}:${e.port}`)),
          map((addresses) => addresses.sort().join(' ')),
          distinctUntilChanged(),
        )
        .subscribe({ next: (list) => print(`${service}: ${list || '(none ready)'}`), error: reject });
      // The endpoint stream never fails on transient errors (403, TLS, unreachable): it retries, and
      // the health stream says why.
      subscription.add(
        watchEndpointsHealth(client, options).subscribe((health) => {
          if (health.state === 'retrying')
            warn(`watch retrying: ${health.error?.code ?? ''} ${health.error?.message}`);
        }),
      );
    });
  } finally {
    subscription?.unsubscribe();
    await client.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({
    options: { source: { type: 'string' }, 'service-account-dir': { type: 'string' } },
  });
  const controller = new AbortController();
  process.once('SIGTERM', () => controller.abort());
  process.once('SIGINT', () => controller.abort());
  watchBlog({
    source: values.source,
    serviceAccountDir: values['service-account-dir'],
    signal: controller.signal,
  }).catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
