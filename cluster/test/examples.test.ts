/**
 * The examples against the real apiserver: the seed-blog watcher run as a pod would run it (a
 * ServiceAccount with the RBAC its README asks for, the mounted service-account files, the certificate
 * verified as `cluster.condi.me`), the kind manifests server-side dry-run applied, and the kind client
 * running in-cluster style with the client ServiceAccount of those manifests.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  type NetworkPod,
  type PodNetwork,
  podNetworkUnavailable,
  startPodNetwork,
} from '@endpoint-watch/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs example without type declarations
import { watchBlog } from '../../examples/seed-blog/watch-blog.mjs';
import { dataPodIps, until, useControlPlane } from './helpers.js';

const plane = useControlPlane();
const MANIFESTS = fileURLToPath(new URL('../../examples/kind/manifests/', import.meta.url));
const KIND_CLIENT = fileURLToPath(new URL('../../examples/kind/src/client.mjs', import.meta.url));

beforeAll(async () => {
  await plane().admin.createNode('node-a', { zone: 'zone-a' });
});

const ENDPOINTS_RULE = { apiGroups: [''], resources: ['endpoints'], verbs: ['list', 'watch'] };
const SLICES_RULE = {
  apiGroups: ['discovery.k8s.io'],
  resources: ['endpointslices'],
  verbs: ['list', 'watch'],
};

/** A namespace with the `blog` Service and a ServiceAccount holding exactly `rules`, mounted as in a pod. */
async function blogNamespace(namespace: string, rules: (typeof ENDPOINTS_RULE)[]) {
  const { admin } = plane();
  await admin.createNamespace(namespace);
  await admin.createService({ name: 'blog', namespace, ports: [{ port: 80, targetPort: 8080 }] });
  await admin.createServiceAccount(namespace, 'blog-watcher');
  await admin.grant({
    namespace,
    name: 'blog-watcher',
    subject: { kind: 'ServiceAccount', name: 'blog-watcher' },
    rules,
  });
  const mount = await plane().serviceAccountDir({ namespace, serviceAccount: 'blog-watcher' });
  // What the kubelet sets in every pod; the certificate names 127.0.0.1 too, but watchBlog verifies it
  // against CLUSTER_NAME (default cluster.condi.me).
  const env = { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(plane().port) };
  return { mount, env };
}

/** Runs watchBlog until the returned `stop()`; records what it prints and warns. */
function runWatchBlog(env: Record<string, string>, serviceAccountDir: string) {
  const printed: string[] = [];
  const warned: string[] = [];
  const controller = new AbortController();
  const done = watchBlog({
    env,
    serviceAccountDir,
    signal: controller.signal,
    print: (line: string) => printed.push(line),
    warn: (line: string) => warned.push(line),
  }) as Promise<void>;
  return {
    printed,
    warned,
    /** Waits for printed line number `index` and expects it to be `line`. */
    async printedLine(index: number, line: string) {
      await until(
        () => printed.length > index,
        `"${line}"; printed: ${JSON.stringify(printed)}; warned: ${JSON.stringify(warned.slice(-3))}`,
      );
      expect(printed[index]).toBe(line);
    },
    async stop() {
      controller.abort();
      await done;
    },
  };
}

describe('seed-blog: watchBlog as a pod runs it (service account, certificate checked as cluster.condi.me)', () => {
  const cases: {
    source: string;
    namespace: string;
    rules: (typeof ENDPOINTS_RULE)[];
    env: Record<string, string>;
    offset: number;
  }[] = [
    {
      source: 'endpoints (default)',
      namespace: 'blog-endpoints',
      rules: [ENDPOINTS_RULE],
      env: {},
      offset: 0,
    },
    {
      source: 'SOURCE=endpointslices',
      namespace: 'blog-slices',
      rules: [SLICES_RULE],
      env: { SOURCE: 'endpointslices' },
      offset: 10,
    },
  ];
  for (const { source, namespace, rules, env: extra, offset } of cases) {
    it(`${source}: prints the ready addresses as blog pods are added, turn unready and are removed`, async () => {
      const { admin } = plane();
      const { mount, env } = await blogNamespace(namespace, rules);
      const ips = dataPodIps(3, 400 + offset);
      const line = (...indexes: number[]) =>
        `blog: ${
          indexes
            .map((i) => `${ips[i]}:8080`)
            .sort()
            .join(' ') || '(none ready)'
        }`;
      const addPod = (i: number) =>
        admin.createPod({
          name: `blog-${i}`,
          namespace,
          labels: { app: 'blog' },
          nodeName: 'node-a',
          ips: [ips[i] as string],
        });
      const blog = runWatchBlog({ ...env, ...extra }, mount.dir);
      try {
        // One step at a time, each waited for, so the printed lines are exactly these.
        const expected: string[] = [];
        const step = async (action: () => Promise<unknown>, want: string) => {
          await action();
          expected.push(want);
          await blog.printedLine(expected.length - 1, want);
        };
        await step(async () => {}, line());
        await step(() => addPod(0), line(0));
        await step(() => addPod(1), line(0, 1));
        await step(() => admin.setPodReady(namespace, 'blog-1', false), line(0));
        await step(() => addPod(2), line(0, 2));
        await step(() => admin.deletePod(namespace, 'blog-0'), line(2));
        await step(() => admin.setPodReady(namespace, 'blog-1', true), line(1, 2));
        await step(() => admin.deletePod(namespace, 'blog-2'), line(1));
        await step(() => admin.deletePod(namespace, 'blog-1'), line());
        await sleep(500); // a spurious extra line would show here (not a timing assertion: none is due)
        expect(blog.printed).toEqual(expected);
        expect(blog.warned).toEqual([]);
      } finally {
        await blog.stop();
      }
    });
  }

  it('a wrong CLUSTER_NAME is reported as a retried TLS name error, not skipped', async () => {
    const { mount, env } = await blogNamespace('blog-tls', [ENDPOINTS_RULE]);
    const blog = runWatchBlog({ ...env, CLUSTER_NAME: 'other-cluster.example' }, mount.dir);
    try {
      await until(() => blog.warned.some((l) => l.includes('ERR_KUBE_TLS_NAME')), 'a TLS name warning');
      expect(blog.warned[0]).toMatch(/^watch retrying: ERR_KUBE_TLS_NAME /);
      expect(blog.printed).toEqual([]);
    } finally {
      await blog.stop();
    }
  });

  it('the README permission is per source: endpoints-only RBAC is refused the slices (403, retried)', async () => {
    const { mount, env } = await blogNamespace('blog-rbac', [ENDPOINTS_RULE]);
    const blog = runWatchBlog({ ...env, SOURCE: 'endpointslices' }, mount.dir);
    try {
      await until(() => blog.warned.some((l) => l.startsWith('watch retrying:')), 'a retry warning');
      expect(blog.warned[0]).toMatch(/forbidden|403/i);
      expect(blog.printed).toEqual([]);
    } finally {
      await blog.stop();
    }
  });
});

describe('kind manifests', () => {
  const DEMO = 'endpoint-watch-demo';
  const kubectl = (args: string[]) => plane().kubectl(args);

  it('apply --server-side --dry-run=server succeeds once the namespace exists', async () => {
    // A dry-run namespace is not persisted, so the namespaced objects of the same apply are refused.
    const before = await kubectl(['apply', '--server-side', '--dry-run=server', '-f', MANIFESTS]).then(
      () => undefined,
      (error: { stderr?: string }) => error.stderr ?? String(error),
    );
    expect(before).toMatch(/namespaces "endpoint-watch-demo" not found/);

    await kubectl(['apply', '--server-side', '-f', join(MANIFESTS, '00-namespace.yaml')]);
    const { stdout } = await kubectl(['apply', '--server-side', '--dry-run=server', '-f', MANIFESTS]);
    const applied = stdout.trim().split('\n').sort();
    expect(applied).toEqual(
      [
        'deployment.apps/client serverside-applied (server dry run)',
        'deployment.apps/echo serverside-applied (server dry run)',
        'namespace/endpoint-watch-demo serverside-applied (server dry run)',
        'role.rbac.authorization.k8s.io/endpoint-reader serverside-applied (server dry run)',
        'rolebinding.rbac.authorization.k8s.io/client-endpoint-reader serverside-applied (server dry run)',
        'service/echo serverside-applied (server dry run)',
        'serviceaccount/client serverside-applied (server dry run)',
      ].sort(),
    );
    // Nothing but the namespace was created.
    await expect(kubectl(['get', '-n', DEMO, 'service/echo'])).rejects.toMatchObject({
      stderr: expect.stringMatching(/NotFound/),
    });
  });

  const unavailable = podNetworkUnavailable();
  if (unavailable !== undefined)
    console.warn(`[examples.test] skipping the in-cluster kind client run: ${unavailable}`);

  describe.skipIf(unavailable !== undefined)(
    `the kind client in-cluster with the manifests' RBAC${unavailable ? ` (skipped: ${unavailable})` : ''}`,
    () => {
      let network: PodNetwork;
      const children: ChildProcess[] = [];
      beforeAll(async () => {
        network = await startPodNetwork();
      });
      afterAll(async () => {
        for (const child of children)
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await network?.close();
      });

      /**
       * `node examples/kind/src/client.mjs` as in its pod: a private mount namespace with the service
       * account's files at /var/run/secrets/kubernetes.io/serviceaccount, KUBERNETES_SERVICE_HOST/PORT,
       * no kubeconfig. Returns its stdout lines and a stop() that sends SIGTERM and waits for the exit.
       */
      function runInCluster(serviceAccount: string) {
        return plane()
          .serviceAccountDir({ namespace: DEMO, serviceAccount })
          .then((mount) => {
            const script =
              'mount -t tmpfs tmpfs /run && mkdir -p /run/secrets/kubernetes.io/serviceaccount && ' +
              'cp "$1/token" "$1/ca.crt" "$1/namespace" /run/secrets/kubernetes.io/serviceaccount/ && ' +
              'exec "$2" "$3"';
            const child = spawn(
              'unshare',
              [
                '--mount',
                '--propagation',
                'private',
                '--',
                'sh',
                '-c',
                script,
                'sh',
                mount.dir,
                process.execPath,
                KIND_CLIENT,
              ],
              {
                env: {
                  PATH: process.env.PATH ?? '/usr/bin:/bin',
                  HOME: mkdtempSync(join(plane().dir, 'home-')), // no ~/.kube/config
                  KUBERNETES_SERVICE_HOST: '127.0.0.1',
                  KUBERNETES_SERVICE_PORT: String(plane().port),
                  CONCURRENCY: '2',
                  INTERVAL_MS: '5',
                  REPORT_EVERY_MS: '250',
                },
                stdio: ['ignore', 'pipe', 'pipe'],
              },
            );
            children.push(child);
            const lines: string[] = [];
            let stderr = '';
            let partial = '';
            child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
              const parts = (partial + chunk).split('\n');
              partial = parts.pop() ?? '';
              lines.push(...parts);
            });
            child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
              stderr += chunk;
            });
            const exited = new Promise<number | null>((resolve) =>
              child.once('exit', (code) => resolve(code)),
            );
            return {
              lines,
              stderr: () => stderr,
              async stop() {
                child.kill('SIGTERM');
                return exited;
              },
            };
          });
      }

      it('20-client-rbac.yaml suffices: the client watches the echo Service and sends traffic to both pods', async () => {
        const { admin } = plane();
        // The Service, the ServiceAccount, Role and RoleBinding for real (the Deployments too: no
        // controller runs them here). The namespace exists from the dry-run test, or is created now.
        await kubectl(['apply', '--server-side', '-f', join(MANIFESTS, '00-namespace.yaml')]);
        for (const file of ['10-echo.yaml', '20-client-rbac.yaml'])
          await kubectl(['apply', '--server-side', '-f', join(MANIFESTS, file)]);
        await admin.waitForServiceAccount(DEMO, 'client');
        const pods: NetworkPod[] = [];
        for (const name of ['echo-a', 'echo-b']) {
          const pod = await network.addPod(name, { port: 8080 });
          await admin.createPod({
            name,
            namespace: DEMO,
            labels: { 'app.kubernetes.io/name': 'echo' },
            nodeName: 'node-a',
            ips: [pod.ip],
            containerPorts: [{ name: 'http', containerPort: 8080 }], // the Service's targetPort: http
          });
          pods.push(pod);
        }
        const client = await runInCluster('client');
        let code: number | null = null;
        try {
          const log = () =>
            `stdout:\n${client.lines.slice(-10).join('\n')}\nstderr:\n${client.stderr().slice(-2000)}`;
          const want = `endpoints: ${pods
            .map((p) => `${p.ip}:8080`)
            .sort()
            .join(' ')}`;
          await until(
            () =>
              client.lines.some(
                (l) =>
                  l.startsWith('endpoints: ') && l.split(' ').slice(1).sort().join(' ') === want.slice(11),
              ),
            `the client's endpoints line; ${log()}`,
          );
          await until(
            () =>
              client.lines.some(
                (l) => l.startsWith('distribution: ') && l.includes(' echo-a ') && l.includes(' echo-b '),
              ),
            `a distribution over both pods; ${log()}`,
          );
          expect(client.lines).toContain('watch: synced');
          expect(client.lines.filter((l) => l.startsWith('watch: retrying'))).toEqual([]);
          expect(client.lines.filter((l) => l.startsWith('request failed'))).toEqual([]);
        } finally {
          code = await client.stop();
        }
        expect(code).toBe(0);
        // The last report covers only the window since the one before (it may hold a single answer);
        // the spread over both pods was checked above, the error count is cumulative.
        expect(client.lines.at(-1)).toMatch(/^distribution: \d+ answers, 0 errors so far/);

        // Without the RoleBinding the same client is refused: the check above would notice a gap.
        await kubectl(['delete', '-n', DEMO, 'rolebinding/client-endpoint-reader']);
        const refused = await runInCluster('client');
        try {
          await until(
            () => refused.lines.some((l) => l.startsWith('watch: retrying') && /forbidden|403/i.test(l)),
            `a 403 without the binding; stdout: ${refused.lines.slice(-5).join('\n')}`,
          );
        } finally {
          await refused.stop();
        }
      });
    },
  );
});
