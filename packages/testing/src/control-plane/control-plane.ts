/**
 * A real Kubernetes control plane as plain processes on loopback: etcd, kube-apiserver and
 * kube-controller-manager (with the EndpointSlice and Endpoints controllers), built from the
 * Kubernetes Go modules. Unlike envtest it runs the controllers that write EndpointSlices; pods are
 * objects whose status the test reports, as a kubelet would (see {@link KubeAdmin.createPod}).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import {
  buildKubeconfig,
  type KubeconfigOptions,
  type ServiceAccountFiles,
  writeServiceAccountFiles,
} from '../kubeconfig.js';
import { controlPlaneBinaries } from './binaries.js';
import { freePort } from './free-port.js';
import { KubeAdmin } from './kube-admin.js';
import { apiServerNames, type ControlPlanePki, createControlPlanePki } from './pki.js';
import { ManagedProcess } from './processes.js';
import { reapLater, release } from './reaper.js';

export interface ControlPlaneOptions {
  /** Directory of prebuilt binaries (default ENDPOINT_WATCH_CONTROL_PLANE_BIN, else built and cached). */
  binDir?: string;
  /** The name the serving certificate carries besides the kubernetes.default names (default `cluster.condi.me`). */
  clusterName?: string;
  /** kube-apiserver `--feature-gates`, e.g. `{ WatchList: false }`. */
  featureGates?: Record<string, boolean>;
  /** kube-apiserver `--watch-cache` (default true, as in clusters; false serves watches from etcd). */
  watchCache?: boolean;
  /** More kube-apiserver flags. */
  apiServerArgs?: readonly string[];
  /** More kube-controller-manager flags, e.g. `--kube-api-qps=500` to write thousands of slices quickly. */
  controllerManagerArgs?: readonly string[];
  /** Progress lines (builds, starts). */
  log?: (line: string) => void;
  /** Keep the working directory (certificates, logs, audit log) after `stop()`. */
  keepDir?: boolean;
}

export interface ApiServerRestartOptions {
  /** SIGKILL (a crash: connections reset) instead of SIGTERM with a short grace. */
  hard?: boolean;
  /** Time the apiserver stays down before it is started again. */
  downMs?: number;
  featureGates?: Record<string, boolean>;
  watchCache?: boolean;
  apiServerArgs?: readonly string[];
}

/** One request as the apiserver's audit log (level Metadata) records it. */
export interface AuditEvent {
  stage: string;
  verb: string;
  requestURI: string;
  user: { username: string; groups?: string[] };
  responseStatus?: { code?: number };
  objectRef?: { resource?: string; namespace?: string; name?: string };
  requestReceivedTimestamp: string;
}

export interface ControlPlane {
  /** `https://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  readonly clusterName: string;
  /** PEM of the CA that signed the serving certificate. */
  readonly ca: string;
  /** A `system:masters` token (tests only). */
  readonly adminToken: string;
  readonly admin: KubeAdmin;
  /** Working directory: certificates, logs (`*.log`), `audit.log`. */
  readonly dir: string;
  readonly binDir: string;
  /** etcd's client URL (its v3 HTTP gateway answers there). */
  readonly etcdUrl: string;
  /** A kubeconfig for this control plane (default: the admin token, namespace `default`). */
  kubeconfig(options?: KubeconfigOptions): string;
  /** Writes {@link kubeconfig} to a file in {@link dir} and returns its path. */
  writeKubeconfig(name: string, options?: KubeconfigOptions): string;
  /**
   * A pod's service-account mount: a TokenRequest token of `serviceAccount`, `ca.crt`, `namespace`;
   * `env` has KUBERNETES_SERVICE_HOST/PORT for this apiserver.
   */
  serviceAccountDir(options: {
    namespace: string;
    serviceAccount: string;
    dir?: string;
  }): Promise<ServiceAccountFiles>;
  /** kubectl with the admin kubeconfig. */
  kubectl(args: readonly string[], options?: { input?: string }): Promise<{ stdout: string; stderr: string }>;
  /** The audit log's events so far (ResponseStarted/ResponseComplete stages), oldest first. */
  auditEvents(): AuditEvent[];
  /** Compacts etcd up to its current revision: older resourceVersions answer 410 Expired. */
  compactEtcd(): Promise<{ revision: number }>;
  /** Stops and starts kube-apiserver on the same port, with other flags if asked. */
  restartApiServer(options?: ApiServerRestartOptions): Promise<void>;
  /** Stops everything (by PID, short grace) and removes the working directory. */
  stop(): Promise<void>;
}

const SERVICE_CIDRS = '10.96.0.0/16,fd00:10:96::/112';
const SERVICE_IPS = ['10.96.0.1', 'fd00:10:96::1'];
const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const CONTROLLERS = [
  'serviceaccount-controller',
  'serviceaccount-token-controller',
  'namespace-controller',
  'garbage-collector-controller',
  'endpoints-controller',
  'endpointslice-controller',
  'root-ca-certificate-publisher-controller',
];

// Controllers and the apiserver itself are left out, so the log shows the clients under test.
const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: None
    users: ["system:kube-controller-manager", "system:apiserver"]
  - level: None
    userGroups: ["system:serviceaccounts:kube-system", "system:nodes"]
  - level: Metadata
`;

function gates(value: Record<string, boolean> | undefined): string[] {
  if (value === undefined || Object.keys(value).length === 0) return [];
  return [
    `--feature-gates=${Object.entries(value)
      .map(([k, v]) => `${k}=${v}`)
      .join(',')}`,
  ];
}

async function waitUntil(
  what: string,
  timeoutMs: number,
  process: ManagedProcess,
  check: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (process.hasExited) throw new Error(`${process.name} exited before ${what}:\n${process.logTail()}`);
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms:\n${process.logTail()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Starts etcd, kube-apiserver and kube-controller-manager (building them first if needed, ~14 min cold). */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const log = options.log ?? (() => {});
  const binDir = await controlPlaneBinaries({
    ...(options.binDir === undefined ? {} : { binDir: options.binDir }),
    log,
  });
  const dir = mkdtempSync(join(tmpdir(), 'ew-control-plane-'));
  if (!options.keepDir) reapLater('dir', dir);
  const clusterName = options.clusterName ?? 'cluster.condi.me';
  const started: ManagedProcess[] = [];
  const file = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content, { mode: 0o600 });
    return path;
  };
  let admin: KubeAdmin | undefined;
  try {
    const [etcdPort, peerPort, port] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const url = `https://127.0.0.1:${port}`;
    const pki: ControlPlanePki = await createControlPlanePki(apiServerNames(clusterName, SERVICE_IPS));
    const adminToken = `admin-${crypto.randomUUID()}`;
    const controllerToken = `kcm-${crypto.randomUUID()}`;
    const paths = {
      ca: file('ca.crt', pki.ca.cert),
      cert: file('apiserver.crt', pki.serving.cert),
      key: file('apiserver.key', pki.serving.key),
      saKey: file('sa.key', pki.serviceAccountKey.privateKey),
      saPub: file('sa.pub', pki.serviceAccountKey.publicKey),
      tokens: file(
        'tokens.csv',
        `${adminToken},admin,admin,"system:masters"\n${controllerToken},system:kube-controller-manager,kcm\n`,
      ),
      audit: file('audit-policy.yaml', AUDIT_POLICY),
    };
    const tls = { ca: pki.ca.cert, cert: pki.serving.cert, key: pki.serving.key };
    const kubeconfigOf = (kubeconfigOptions: KubeconfigOptions = {}) =>
      buildKubeconfig({ url, token: adminToken, tls }, { context: 'control-plane', ...kubeconfigOptions });

    log(`etcd on ${etcdUrl}`);
    mkdirSync(join(dir, 'etcd'), { mode: 0o700 });
    const etcd = new ManagedProcess(
      'etcd',
      join(binDir, 'etcd'),
      [
        '--name=default',
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-cluster=default=http://127.0.0.1:${peerPort}`,
        '--unsafe-no-fsync',
        '--log-level=warn',
      ],
      join(dir, 'etcd.log'),
    );
    started.push(etcd);
    await waitUntil('etcd healthy', 30_000, etcd, async () => {
      const response = await request(`${etcdUrl}/health`);
      return (await response.body.text()).includes('"true"');
    });

    const readyAgent = new Agent({ connect: { ca: pki.ca.cert } });
    const apiServerArgs = (restart: ApiServerRestartOptions = {}) => [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${port}`,
      '--advertise-address=127.0.0.1',
      // The reconciler would write 127.0.0.1 into the kubernetes Endpoints, which validation rejects.
      '--endpoint-reconciler-type=none',
      `--tls-cert-file=${paths.cert}`,
      `--tls-private-key-file=${paths.key}`,
      `--client-ca-file=${paths.ca}`,
      `--token-auth-file=${paths.tokens}`,
      '--authorization-mode=Node,RBAC',
      `--service-account-issuer=${ISSUER}`,
      `--service-account-key-file=${paths.saPub}`,
      `--service-account-signing-key-file=${paths.saKey}`,
      `--api-audiences=${ISSUER}`,
      `--service-cluster-ip-range=${SERVICE_CIDRS}`,
      `--audit-policy-file=${paths.audit}`,
      `--audit-log-path=${join(dir, 'audit.log')}`,
      '--audit-log-mode=blocking',
      '--profiling=false',
      `--watch-cache=${restart.watchCache ?? options.watchCache ?? true}`,
      ...gates(restart.featureGates ?? options.featureGates),
      ...(restart.apiServerArgs ?? options.apiServerArgs ?? []),
    ];
    const startApiServer = async (restart?: ApiServerRestartOptions) => {
      const apiServer = new ManagedProcess(
        'kube-apiserver',
        join(binDir, 'kube-apiserver'),
        apiServerArgs(restart),
        join(dir, 'kube-apiserver.log'),
      );
      await waitUntil('kube-apiserver ready', 90_000, apiServer, async () => {
        const response = await request(`${url}/readyz`, {
          dispatcher: readyAgent,
          headers: { authorization: `Bearer ${adminToken}` },
        });
        await response.body.dump();
        return response.statusCode === 200;
      });
      return apiServer;
    };
    log(`kube-apiserver on ${url}`);
    let apiServer = await startApiServer();
    started.push(apiServer);
    admin = new KubeAdmin(url, adminToken, pki.ca.cert);

    const controllerKubeconfig = file(
      'kube-controller-manager.kubeconfig',
      buildKubeconfig({ url, token: controllerToken, tls }, { context: 'kube-controller-manager' }),
    );
    log('kube-controller-manager');
    const controllerManager = new ManagedProcess(
      'kube-controller-manager',
      join(binDir, 'kube-controller-manager'),
      [
        `--kubeconfig=${controllerKubeconfig}`,
        `--authentication-kubeconfig=${controllerKubeconfig}`,
        `--authorization-kubeconfig=${controllerKubeconfig}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${await freePort()}`,
        '--leader-elect=false',
        '--use-service-account-credentials=true',
        `--service-account-private-key-file=${paths.saKey}`,
        `--root-ca-file=${paths.ca}`,
        `--controllers=${CONTROLLERS.join(',')}`,
        ...(options.controllerManagerArgs ?? []),
      ],
      join(dir, 'kube-controller-manager.log'),
    );
    started.push(controllerManager);
    const ready = admin;
    // The ServiceAccount controller creating `default` proves the controllers run.
    await waitUntil('the default ServiceAccount', 60_000, controllerManager, async () => {
      await ready.waitForServiceAccount('default', 'default', 0);
      return true;
    });

    const adminKubeconfig = file('admin.kubeconfig', kubeconfigOf());
    let stopped = false;
    const plane: ControlPlane = {
      url,
      port,
      clusterName,
      ca: pki.ca.cert,
      adminToken,
      admin,
      dir,
      binDir,
      etcdUrl,
      kubeconfig: kubeconfigOf,
      writeKubeconfig(name, kubeconfigOptions) {
        return file(name, kubeconfigOf(kubeconfigOptions));
      },
      async serviceAccountDir({ namespace, serviceAccount, dir: target }) {
        const token = await ready.serviceAccountToken(namespace, serviceAccount);
        const mount = target ?? mkdtempSync(join(dir, `sa-${serviceAccount}-`));
        return writeServiceAccountFiles(mount, { url, token, tls }, { namespace });
      },
      kubectl(args, kubectlOptions = {}) {
        return new Promise((resolve, reject) => {
          const child = execFile(
            join(binDir, 'kubectl'),
            [`--kubeconfig=${adminKubeconfig}`, ...args],
            { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
            (error, stdout, stderr) => {
              if (error) reject(Object.assign(error, { stdout, stderr }));
              else resolve({ stdout, stderr });
            },
          );
          child.stdin?.end(kubectlOptions.input ?? '');
        });
      },
      auditEvents() {
        let text = '';
        try {
          text = readFileSync(join(dir, 'audit.log'), 'utf8');
        } catch {}
        return text
          .split('\n')
          .filter((line) => line.trim() !== '')
          .map((line) => JSON.parse(line) as AuditEvent);
      },
      async compactEtcd() {
        const status = await request(`${etcdUrl}/v3/maintenance/status`, { method: 'POST', body: '{}' });
        const revision = Number(
          ((await status.body.json()) as { header: { revision: string } }).header.revision,
        );
        const compaction = await request(`${etcdUrl}/v3/kv/compaction`, {
          method: 'POST',
          body: JSON.stringify({ revision: String(revision), physical: true }),
        });
        const text = await compaction.body.text();
        if (compaction.statusCode !== 200)
          throw new Error(`etcd compaction failed: ${compaction.statusCode} ${text}`);
        return { revision };
      },
      async restartApiServer(restart = {}) {
        const old = apiServer;
        if (restart.hard) await old.kill();
        else await old.stop();
        started.splice(started.indexOf(old), 1);
        if (restart.downMs) await new Promise((resolve) => setTimeout(resolve, restart.downMs));
        log('kube-apiserver restarting');
        apiServer = await startApiServer(restart);
        started.push(apiServer);
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        for (const process of [...started].reverse()) await process.stop(1_000);
        await ready.close();
        await readyAgent.close();
        if (!options.keepDir) {
          rmSync(dir, { recursive: true, force: true });
          release('dir', dir);
        }
      },
    };
    return plane;
  } catch (error) {
    for (const process of [...started].reverse()) await process.kill();
    await admin?.close();
    if (!options.keepDir) {
      rmSync(dir, { recursive: true, force: true });
      release('dir', dir);
    }
    throw error;
  }
}
