#!/usr/bin/env node
// The seed scenario, with the SDK: a program in a pod prints the ready `address:port`s of the `blog`
// Service every time they change. It authenticates with the pod's service account and verifies the
// apiserver's certificate against the cluster's name (the apiserver is reached by IP, its certificate
// names only `cluster.condi.me`).
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  createKubeClient,
  loadKubeConfig,
  needsUserAction,
  watchEndpoints,
  watchEndpointsHealth,
} from '@endpoint-watch/core';
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
  // Before the first set, end with the error when it is one only a person can fix (nothing listens,
  // a certificate for another name, 401, 403) instead of retrying it. The program run by hand does.
  failBeforeFirstSet = false,
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
      let synced = false;
      subscription.add(
        watchEndpointsHealth(client, options).subscribe((health) => {
          if (health.state === 'synced') synced = true;
          if (health.state !== 'retrying') return;
          if (failBeforeFirstSet && !synced && needsUserAction(health.error)) return reject(health.error);
          warn(`watch retrying: ${health.error?.code ?? ''} ${health.error?.message}`);
        }),
      );
    });
  } finally {
    subscription?.unsubscribe();
    await client.close();
  }
}

/** What went wrong and what to do, in a line or two: no stack trace. */
export function explain(error, { source = 'endpoints', env = {} } = {}) {
  const message = error instanceof Error ? error.message : String(error);
  const resource = source === 'endpointslices' ? 'endpointslices.discovery.k8s.io' : 'endpoints';
  switch (error?.code) {
    case 'ERR_KUBE_UNREACHABLE':
      return `${message}\nIs KUBERNETES_SERVICE_HOST=${env.KUBERNETES_SERVICE_HOST ?? ''} KUBERNETES_SERVICE_PORT=${env.KUBERNETES_SERVICE_PORT ?? ''} the apiserver, reachable from here?`;
    case 'ERR_KUBE_TLS_NAME':
      return `${message}\nSet CLUSTER_NAME to a name the apiserver certificate carries.`;
  }
  if (error?.statusCode === 403) {
    return `${message}\nGrant list and watch on ${resource} in the namespace to the pod's service account.`;
  }
  return message;
}

/**
 * The program: in a pod (KUBERNETES_SERVICE_HOST set, or --service-account-dir given) it watches the
 * cluster's `blog` Service until SIGTERM; anywhere else it runs against an embedded cluster whose
 * `blog` Service goes through BLOG_STORY, then ends. Resolves with the exit code.
 */
export async function runProgram({
  argv = [],
  env = process.env,
  print = console.log,
  warn = console.error,
  signal,
  stepMs = 800,
} = {}) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { source: { type: 'string' }, 'service-account-dir': { type: 'string' } },
    }));
  } catch (error) {
    warn(
      `seed-blog: ${error.message}\nUsage: node watch-blog.mjs [--source endpoints|endpointslices] [--service-account-dir <dir>]`,
    );
    return 2;
  }
  const inPod = values['service-account-dir'] !== undefined || Boolean(env.KUBERNETES_SERVICE_HOST);
  const embedded = inPod
    ? undefined
    : await import('./embedded-cluster.mjs').then((m) => m.startEmbeddedCluster());
  const stop = new AbortController();
  const stopped = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
  const watchEnv = embedded ? { ...env, ...embedded.env } : env;
  let printed = 0;
  try {
    if (embedded) {
      warn(
        `seed-blog: not in a pod (KUBERNETES_SERVICE_HOST is not set): watching an embedded cluster, ` +
          `the fake apiserver of @endpoint-watch/testing at ${embedded.url} (certificate for cluster.condi.me)`,
      );
    }
    const watching = watchBlog({
      env: watchEnv,
      source: values.source,
      serviceAccountDir: embedded?.serviceAccountDir ?? values['service-account-dir'],
      signal: stopped,
      print: (line) => {
        printed++;
        print(line);
      },
      warn,
      failBeforeFirstSet: true,
    });
    if (embedded) {
      const { BLOG_STORY } = await import('./embedded-cluster.mjs');
      // Each state in turn, the next once the program has printed the last (and the viewer read it).
      const story = (async () => {
        for (const [step, state] of BLOG_STORY.entries()) {
          embedded.publish(state);
          while (printed <= step && !stopped.aborted) await sleep(10, stopped);
          await sleep(stepMs, stopped);
        }
        stop.abort();
      })();
      await Promise.all([watching, story]);
    } else {
      await watching;
    }
    return 0;
  } catch (error) {
    warn(
      `seed-blog: cannot watch Service ${watchEnv.SERVICE || 'blog'}: ${explain(error, { source: values.source ?? watchEnv.SOURCE, env: watchEnv })}`,
    );
    return 1;
  } finally {
    stop.abort();
    await embedded?.close();
  }
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const controller = new AbortController();
  process.once('SIGTERM', () => controller.abort());
  process.once('SIGINT', () => controller.abort());
  process.exitCode = await runProgram({ argv: process.argv.slice(2), signal: controller.signal });
}
