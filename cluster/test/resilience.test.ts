/**
 * The SDK's recovery paths against the real apiserver: RBAC granted late, an apiserver crash, a forced
 * 410 after etcd compaction, a server without streaming lists, and service-account token rotation.
 * Each scenario checks what the SDK asked the server for in the apiserver's audit log (who, which verb,
 * which resourceVersion), not only the endpoint sets it emitted.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { explainError } from '@endpoint-watch/cli';
import {
  createKubeClient,
  type EndpointSet,
  KubeApiError,
  type KubeClient,
  loadKubeConfig,
  type WatchHealth,
  watchEndpoints,
  watchEndpointsHealth,
} from '@endpoint-watch/core';
import { type AuditEvent, startTcpProxy, type TcpProxy } from '@endpoint-watch/testing';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientFor, dataPodIps, Recorder, targetsAre, useControlPlane } from './helpers.js';

const plane = useControlPlane();
const NS = 'resilience';
const NODE = 'node-r';
const SLICES = `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`;
const READ_SLICES = [
  { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
];

beforeAll(async () => {
  await plane().admin.createNamespace(NS);
  await plane().admin.createNode(NODE);
});

// ---------------------------------------------------------------------------------------------------
// Arranging

/** The flags the apiserver runs with now (the control plane starts with the defaults). */
let running = { watchCache: true, watchList: true };

/** Restarts the apiserver (SIGKILL: quicker than waiting for open watches) unless it runs so already. */
async function apiServerWith(flags: { watchCache: boolean; watchList: boolean }): Promise<void> {
  if (flags.watchCache === running.watchCache && flags.watchList === running.watchList) return;
  await plane().restartApiServer({
    hard: true,
    watchCache: flags.watchCache,
    featureGates: flags.watchList ? {} : { WatchList: false },
  });
  running = flags;
}

/** A ServiceAccount of NS, granted read access to EndpointSlices unless `granted: false`. */
async function serviceAccount(name: string, options: { granted?: boolean } = {}): Promise<string> {
  const { admin } = plane();
  await admin.createServiceAccount(NS, name);
  if (options.granted !== false)
    await admin.grant({ namespace: NS, name, subject: { kind: 'ServiceAccount', name }, rules: READ_SLICES });
  return admin.serviceAccountToken(NS, name);
}

const userOf = (serviceAccountName: string) => `system:serviceaccount:${NS}:${serviceAccountName}`;

/** A Service `name` (port 80 → 8080) with a ready pod `<name>-<i>` per IP. */
async function serviceWithPods(name: string, ips: readonly string[]): Promise<void> {
  const { admin } = plane();
  await admin.createService({ name, namespace: NS, ports: [{ port: 80, targetPort: 8080 }] });
  await Promise.all(ips.map((ip, i) => addPod(name, i, ip)));
}

function addPod(service: string, index: number, ip: string) {
  return plane().admin.createPod({
    name: `${service}-${index}`,
    namespace: NS,
    labels: { app: service },
    nodeName: NODE,
    ips: [ip],
  });
}

/** Waits until the controller has written exactly these addresses into the Service's slices. */
async function slicesOnServerAre(service: string, ips: readonly string[], timeoutMs = 30_000): Promise<void> {
  const want = [...ips].sort().join(',');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const slices = await plane().admin.endpointSlices(NS, service);
    const got = slices
      .flatMap((s) => (s.endpoints ?? []).map((e: { addresses: string[] }) => e.addresses[0]))
      .sort()
      .join(',');
    if (got === want) return;
    if (Date.now() > deadline) throw new Error(`slices of ${service} hold ${got}, not ${want}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// ---------------------------------------------------------------------------------------------------
// Reading the audit log

/** One request the apiserver served, as the audit log tells it (Metadata level). */
interface ServedRequest {
  readonly verb: string;
  /** `streaming` (a watch with sendInitialEvents=true), `watch` (from a resourceVersion), `list`, or the verb. */
  readonly kind: 'streaming' | 'watch' | 'list' | string;
  readonly resourceVersion: string | null;
  readonly code: number | undefined;
  readonly username: string;
  readonly path: string;
}

type LoggedEvent = AuditEvent & { auditID: string };

/** The audit log's events so far; a mark to read only what came after. */
function auditMark(): number {
  return plane().auditEvents().length;
}

/**
 * The requests in the audit log after `mark` (one per auditID, the last stage's status), oldest first,
 * for one user (or all when `username` is undefined), on the EndpointSlices of NS.
 */
function served(mark: number, username: string | undefined, path = SLICES): ServedRequest[] {
  const events = plane().auditEvents() as LoggedEvent[];
  // A watch open at the mark logs its end (ResponseComplete) after it: it is not a request made after.
  const before = new Set(events.slice(0, mark).map((event) => event.auditID));
  const byId = new Map<string, LoggedEvent>();
  for (const event of events.slice(mark)) {
    if (before.has(event.auditID)) continue;
    if (username !== undefined && event.user?.username !== username) continue;
    const url = new URL(event.requestURI, 'https://audit.invalid');
    if (url.pathname !== path) continue;
    byId.set(event.auditID, event);
  }
  return [...byId.values()].map((event) => {
    const url = new URL(event.requestURI, 'https://audit.invalid');
    const query = url.searchParams;
    const kind =
      event.verb === 'watch' && query.get('sendInitialEvents') === 'true' ? 'streaming' : event.verb;
    return {
      verb: event.verb,
      kind,
      resourceVersion: query.get('resourceVersion'),
      code: event.responseStatus?.code,
      username: event.user?.username ?? '',
      path: url.pathname,
    };
  });
}

/** `streaming 200`, `watch rv=123 200`, `list 200`: a compact form for assertions and failure messages. */
function describeRequests(requests: readonly ServedRequest[]): string[] {
  return requests.map(
    (r) => `${r.kind}${r.kind === 'watch' ? ` rv=${r.resourceVersion}` : ''} ${r.code ?? '?'}`,
  );
}

/** GET with a bearer token, straight to the apiserver (not through the SDK): status and JSON body. */
async function probe(
  path: string,
  token: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const agent = new Agent({ connect: { ca: plane().ca } });
  try {
    const response = await request(`${plane().url}${path}`, {
      dispatcher: agent,
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    });
    const text = await response.body.text();
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text.split('\n')[0] ?? '');
    } catch {}
    return { status: response.statusCode, body };
  } finally {
    await agent.close();
  }
}

const isRetrying = (h: WatchHealth): h is Extract<WatchHealth, { state: 'retrying' }> =>
  h.state === 'retrying';
const apiErrorOf = (h: WatchHealth): KubeApiError | undefined =>
  'error' in h && h.error instanceof KubeApiError ? h.error : undefined;

/** Follows one Service with one client: its sets and its health. */
function follow(client: KubeClient, service: string) {
  const sets = new Recorder<EndpointSet>(watchEndpoints(client, { service }));
  const health = new Recorder<WatchHealth>(watchEndpointsHealth(client, { service }));
  return {
    sets,
    health,
    close: async () => {
      sets.close();
      health.close();
      await client.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------------

describe('RBAC granted while the client runs', () => {
  it('reports the 403 with what to grant, then recovers on the same client once a Role is bound', async () => {
    const { admin } = plane();
    const token = await serviceAccount('late-rbac', { granted: false });
    const ips = dataPodIps(2, 400);
    await serviceWithPods('rbac', ips);
    const mark = auditMark();
    const watcher = follow(clientFor(plane(), { token, namespace: NS }), 'rbac');
    try {
      const refused = await watcher.health.until(
        (h) => isRetrying(h) && apiErrorOf(h)?.statusCode === 403,
        'a 403 in the health stream',
      );
      const error = apiErrorOf(refused)!;
      // The apiserver's Status, as the SDK hands it on.
      expect(error.status.reason).toBe('Forbidden');
      expect(error.status.message).toBe(
        `endpointslices.discovery.k8s.io is forbidden: User "${userOf('late-rbac')}" cannot watch resource ` +
          `"endpointslices" in API group "discovery.k8s.io" in the namespace "${NS}"`,
      );
      expect(error.status.details).toEqual({ group: 'discovery.k8s.io', kind: 'endpointslices' });
      expect(error.inStream).toBe(false);
      // The advice the SDK gives for it (built from the error by the CLI's explainError).
      const advice = explainError(error);
      expect(advice.message).toContain(`refused to watch endpointslices.discovery.k8s.io in namespace ${NS}`);
      expect(advice.hint).toContain(
        `kubectl create role endpoint-watch -n ${NS} --verb=list,watch --resource=endpointslices.discovery.k8s.io`,
      );
      expect(advice.hint).toContain(
        `kubectl create rolebinding endpoint-watch -n ${NS} --role=endpoint-watch --serviceaccount=${NS}:late-rbac`,
      );
      // It keeps retrying (a second 403), and the data stream neither errors nor emits.
      await watcher.health.next(
        (h) => isRetrying(h) && apiErrorOf(h)?.statusCode === 403 && h.attempt >= 2,
        'a second 403',
      );
      expect(watcher.sets.values).toEqual([]);

      await admin.grant({
        namespace: NS,
        name: 'late-rbac',
        subject: { kind: 'ServiceAccount', name: 'late-rbac' },
        rules: READ_SLICES,
      });
      await watcher.sets.until((s) => targetsAre(s, ips, 8080), 'the set after the grant', 60_000);
      await watcher.health.until((h) => h.state === 'synced', 'synced after the grant');
      expect(watcher.sets.error).toBeUndefined();
      expect(watcher.health.error).toBeUndefined();
      // The same client went on: 403s, then an accepted streaming list, all as the ServiceAccount.
      const requests = served(mark, userOf('late-rbac'));
      const codes = requests.map((r) => r.code);
      expect(codes.filter((c) => c === 403).length).toBeGreaterThanOrEqual(2);
      expect(codes.at(-1)).toBe(200);
      expect(requests.every((r) => r.kind === 'streaming')).toBe(true);
      // And it follows changes afterwards.
      const [extra] = dataPodIps(1, 410) as [string];
      await addPod('rbac', 2, extra);
      await watcher.sets.until((s) => targetsAre(s, [...ips, extra], 8080), 'a pod added after the grant');
    } finally {
      await watcher.close();
    }
  });
});

describe('service-account token rotation (in-cluster configuration)', () => {
  let proxy: TcpProxy;
  beforeAll(async () => {
    proxy = await startTcpProxy({ host: '127.0.0.1', port: plane().port });
  });
  afterAll(() => proxy.close());

  const inCluster = (dir: string, tokenFileRefreshIntervalMs: number) =>
    createKubeClient(
      loadKubeConfig({
        inCluster: { serviceAccountDir: dir },
        env: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(proxy.port) },
        tlsServerName: plane().clusterName,
        tokenFileRefreshIntervalMs,
      }),
    );

  it('rewatches with the rotated token after a cut, as the new identity, without a relist', async () => {
    const { admin } = plane();
    await serviceAccount('rot-a');
    const tokenB = await serviceAccount('rot-b');
    const files = await plane().serviceAccountDir({ namespace: NS, serviceAccount: 'rot-a' });
    const ips = dataPodIps(2, 500);
    await serviceWithPods('rot', ips);
    const watcher = follow(inCluster(files.dir, 1_000), 'rot');
    try {
      await watcher.sets.until((s) => targetsAre(s, ips, 8080), 'the set as rot-a');
      await watcher.health.until((h) => h.state === 'synced', 'synced as rot-a');
      expect(served(0, userOf('rot-a')).length).toBeGreaterThan(0);

      // The kubelet rotates the mount (here: another ServiceAccount's token, to tell them apart).
      writeFileSync(files.tokenPath, tokenB);
      await admin.revoke(NS, 'rot-a');
      // The SDK reads the file again once its copy is older than tokenFileRefreshIntervalMs (1 s).
      await sleep(1_500);
      // The old identity is refused now, so a request made with it would show as a 403.
      await expect
        .poll(async () => (await probe(SLICES, await admin.serviceAccountToken(NS, 'rot-a'))).status, {
          timeout: 10_000,
        })
        .toBe(403);
      const mark = auditMark();
      const accepted = proxy.accepted;
      proxy.cut();
      const [extra] = dataPodIps(1, 510) as [string];
      await addPod('rot', 2, extra);
      await watcher.sets.until((s) => targetsAre(s, [...ips, extra], 8080), 'a change after the cut');
      expect(proxy.accepted).toBeGreaterThan(accepted);
      expect(describeRequests(served(mark, userOf('rot-a')))).toEqual([]);
      const asB = served(mark, userOf('rot-b'));
      expect(asB.length).toBeGreaterThan(0);
      // A rewatch from where it was, not a relist.
      expect(asB[0]).toMatchObject({ kind: 'watch', code: 200 });
      expect(asB.every((r) => r.kind === 'watch')).toBe(true);
      expect(watcher.health.values.filter(isRetrying)).toEqual([]);
    } finally {
      await watcher.close();
    }
  });

  it('re-reads the token file at once on a 401 (a deleted ServiceAccount), never reporting it', async () => {
    const { admin } = plane();
    await serviceAccount('rot-c');
    const tokenD = await serviceAccount('rot-d');
    const files = await plane().serviceAccountDir({ namespace: NS, serviceAccount: 'rot-c' });
    const ips = dataPodIps(2, 520);
    await serviceWithPods('rot401', ips);
    // A 10-minute cache: only the 401 can make the SDK read the file again within this test.
    const watcher = follow(inCluster(files.dir, 600_000), 'rot401');
    try {
      await watcher.sets.until((s) => targetsAre(s, ips, 8080), 'the set as rot-c');
      await watcher.health.until((h) => h.state === 'synced', 'synced as rot-c');
      const tokenC = readFileSync(files.tokenPath, 'utf8');
      writeFileSync(files.tokenPath, tokenD);
      await admin.delete(`/api/v1/namespaces/${NS}/serviceaccounts/rot-c`);
      // The apiserver keeps a token it accepted as valid for 10 s (TokenSuccessCacheTTL): wait until
      // the token the client holds is refused.
      await expect.poll(async () => (await probe('/api', tokenC)).status, { timeout: 30_000 }).toBe(401);
      const mark = auditMark();
      const healthMark = watcher.health.values.length;
      proxy.cut();
      const [extra] = dataPodIps(1, 530) as [string];
      await addPod('rot401', 2, extra);
      await watcher.sets.until((s) => targetsAre(s, [...ips, extra], 8080), 'a change after the cut');
      // One watch refused as nobody (the audit log has no user for a failed authentication), then the
      // same watch, from the same resourceVersion, as rot-d: the file was read again at once.
      const requests = served(mark, undefined);
      const resumeFrom = requests[0]?.resourceVersion;
      expect(requests.map((r) => `${describeRequests([r])[0]} ${r.username || '(unauthenticated)'}`)).toEqual(
        [`watch rv=${resumeFrom} 401 (unauthenticated)`, `watch rv=${resumeFrom} 200 ${userOf('rot-d')}`],
      );
      // The 401 was handled inside the request: no backoff, no error in the health stream.
      expect(watcher.health.values.slice(healthMark).filter(isRetrying)).toEqual([]);
    } finally {
      await watcher.close();
    }
  });
});

describe('an apiserver crash (SIGKILL) mid-watch', () => {
  /**
   * Syncs a client, writes to etcd outside the Kubernetes registry (any cluster writes all the time:
   * leases, events), kills the apiserver and starts it again, adds a pod. Returns the resourceVersion
   * the client resumed from, the requests it made after the crash and its health meanwhile.
   */
  async function crashAndResume(service: string, offset: number, restart: { watchCache: boolean }) {
    const account = `crash-${service}`;
    const token = await serviceAccount(account);
    const ips = dataPodIps(2, offset);
    await serviceWithPods(service, ips);
    const watcher = follow(clientFor(plane(), { token, namespace: NS }), service);
    try {
      await watcher.sets.until((s) => targetsAre(s, ips, 8080), 'the set before the crash');
      await watcher.health.until((h) => h.state === 'synced', 'synced before the crash');
      const healthMark = watcher.health.values.length;
      const mark = auditMark();
      await etcdPut(`/unrelated/${service}`, 'x');
      await plane().restartApiServer({ hard: true, watchCache: restart.watchCache });
      const resuming = await watcher.health.until(
        (h) => h.state === 'resuming',
        'resuming after the crash',
        10_000,
        healthMark,
      );
      const resumeFrom = (resuming as Extract<WatchHealth, { state: 'resuming' }>).resourceVersion;
      const [extra] = dataPodIps(1, offset + 10) as [string];
      await addPod(service, 2, extra);
      await watcher.sets.until(
        (s) => targetsAre(s, [...ips, extra], 8080),
        'a change after the restart',
        60_000,
      );
      await watcher.health.until((h) => h.state === 'synced', 'synced after the restart', 30_000, healthMark);
      return {
        resumeFrom,
        requests: served(mark, userOf(account)),
        health: watcher.health.values.slice(healthMark),
      };
    } finally {
      await watcher.close();
    }
  }

  /** A key written straight into etcd: it moves etcd's revision without touching any resource. */
  async function etcdPut(key: string, value: string): Promise<void> {
    const b64 = (text: string) => Buffer.from(text).toString('base64');
    const response = await request(`${plane().etcdUrl}/v3/kv/put`, {
      method: 'POST',
      body: JSON.stringify({ key: b64(key), value: b64(value) }),
    });
    expect(response.statusCode).toBe(200);
    await response.body.dump();
  }

  it('with the watch cache: the new cache cannot serve the old resourceVersion, so one relist (410)', async () => {
    await apiServerWith({ watchCache: true, watchList: true });
    const { resumeFrom, requests, health } = await crashAndResume('cache', 600, { watchCache: true });
    const seen = describeRequests(requests);
    // The rewatch from the old resourceVersion is accepted (200), then ended by an in-stream 410:
    // the restarted cache starts at etcd's revision when it filled, newer than the client's.
    const expired = health.map(apiErrorOf).find((e) => e?.statusCode === 410);
    expect(expired, JSON.stringify(health)).toBeDefined();
    expect(expired!.inStream).toBe(true);
    expect(expired!.status.reason).toBe('Expired');
    expect(expired!.status.message).toMatch(
      new RegExp(`^too old resource version: ${resumeFrom} \\(\\d+\\)$`),
    );
    const accepted = requests.filter((r) => r.code === 200);
    expect(
      accepted.map((r) => r.kind),
      seen.join(', '),
    ).toEqual(['watch', 'streaming']);
    expect(accepted[0]?.resourceVersion).toBe(resumeFrom);
    // One relist, by streaming list: no LIST.
    expect(requests.filter((r) => r.kind === 'list')).toEqual([]);
    expect(requests.filter((r) => r.kind === 'streaming')).toHaveLength(1);
  });

  it('served from etcd (no watch cache): resumes from its resourceVersion, no relist', async () => {
    await apiServerWith({ watchCache: false, watchList: true });
    const { resumeFrom, requests, health } = await crashAndResume('etcd', 620, { watchCache: false });
    const seen = describeRequests(requests);
    // Every request after the crash is a watch from the resourceVersion it had; the last one was
    // accepted. (Right after a start the apiserver may answer 403 until its RBAC caches are filled.)
    expect(requests.length, seen.join(', ')).toBeGreaterThan(0);
    for (const r of requests)
      expect(r, seen.join(', ')).toMatchObject({ kind: 'watch', resourceVersion: resumeFrom });
    expect(requests.at(-1)?.code).toBe(200);
    expect(requests.filter((r) => r.code === 200)).toHaveLength(1);
    expect(health.some((h) => apiErrorOf(h)?.statusCode === 410)).toBe(false);
  });
});

describe('a forced 410 Expired (etcd compacted while the client was cut off; no watch cache)', () => {
  it('rewatches, gets the in-stream 410, relists and has the changes', async () => {
    await apiServerWith({ watchCache: false, watchList: true });
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: plane().port });
    const token = await serviceAccount('expire');
    const ips = dataPodIps(3, 700);
    await serviceWithPods('expire', ips);
    const watcher = follow(
      clientFor(plane(), { token, namespace: NS, server: `https://127.0.0.1:${proxy.port}` }),
      'expire',
    );
    try {
      await watcher.sets.until((s) => targetsAre(s, ips, 8080), 'the set before the cut');
      await watcher.health.until((h) => h.state === 'synced', 'synced before the cut');
      const healthMark = watcher.health.values.length;
      const mark = auditMark();
      proxy.setRefusing(true);
      proxy.cut();
      const resuming = await watcher.health.until(
        (h) => h.state === 'resuming',
        'resuming',
        10_000,
        healthMark,
      );
      const resumeFrom = (resuming as Extract<WatchHealth, { state: 'resuming' }>).resourceVersion;
      // Changes while the client is away, then etcd forgets the history the client would need.
      const fresh = dataPodIps(2, 710);
      await Promise.all(fresh.map((ip, i) => addPod('expire', 3 + i, ip)));
      await plane().admin.deletePod(NS, 'expire-0');
      const want = [...ips.slice(1), ...fresh];
      await slicesOnServerAre('expire', want);
      const { revision } = await plane().compactEtcd();
      expect(revision).toBeGreaterThan(Number(resumeFrom));
      proxy.setRefusing(false);
      await watcher.sets.until((s) => targetsAre(s, want, 8080), 'the changes after the 410', 60_000);
      await watcher.health.until((h) => h.state === 'synced', 'synced after the relist', 30_000, healthMark);
      const expired = watcher.health.values
        .slice(healthMark)
        .map(apiErrorOf)
        .find((e) => e?.statusCode === 410);
      // What etcd says through the apiserver when the watch starts below its compacted revision.
      expect(expired?.status).toEqual({
        code: 410,
        reason: 'Expired',
        message: 'The resourceVersion for the provided watch is too old.',
      });
      expect(expired!.inStream).toBe(true);
      // The rewatch from the old resourceVersion (HTTP 200, then the 410 event), then one streaming relist.
      const requests = served(mark, userOf('expire'));
      const seen = describeRequests(requests);
      expect(seen).toEqual([`watch rv=${resumeFrom} 200`, 'streaming 200']);
    } finally {
      await watcher.close();
      await proxy.close();
    }
  });
});

describe('a server without streaming lists (WatchList feature gate off)', () => {
  it('gets 422 for the streaming list, falls back to LIST + WATCH, and has the set', async () => {
    await apiServerWith({ watchCache: true, watchList: false });
    const token = await serviceAccount('no-watchlist');
    const ips = dataPodIps(2, 800);
    await serviceWithPods('nowl', ips);
    const direct = await probe(
      `${SLICES}?watch=1&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&resourceVersion=`,
      token,
    );
    expect(direct.status).toBe(422);
    expect(direct.body).toMatchObject({
      kind: 'Status',
      code: 422,
      reason: 'Invalid',
      message:
        'ListOptions.meta.k8s.io "" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled',
      details: {
        group: 'meta.k8s.io',
        kind: 'ListOptions',
        causes: [
          {
            reason: 'FieldValueForbidden',
            message:
              'Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled',
            field: 'sendInitialEvents',
          },
        ],
      },
    });
    const mark = auditMark();
    const watcher = follow(clientFor(plane(), { token, namespace: NS }), 'nowl');
    try {
      await watcher.sets.until((s) => targetsAre(s, ips, 8080), 'the set from LIST');
      const synced = await watcher.health.until((h) => h.state === 'synced', 'synced');
      const syncedAt = Number((synced as Extract<WatchHealth, { state: 'synced' }>).resourceVersion);
      const requests = describeRequests(served(mark, userOf('no-watchlist')));
      expect(requests).toEqual(['streaming 422', 'list 200', expect.stringMatching(/^watch rv=\d+ 200$/)]);
      // The watch starts from the LIST's resourceVersion: not older than the newest object the LIST
      // gave, not newer than where the watch confirmed it was current (a bookmark or an event may
      // have moved it on since; etcd revisions are numbers, so comparing them is fair here).
      const watchedFrom = Number(/rv=(\d+)/.exec(requests[2] ?? '')?.[1]);
      expect(watchedFrom).toBeGreaterThanOrEqual(Number(watcher.sets.values[0]?.resourceVersion));
      expect(watchedFrom).toBeLessThanOrEqual(syncedAt);
      // Said once, as a notice: no error, no backoff.
      expect(watcher.health.values.filter((h) => h.state === 'connecting' && h.notice !== undefined)).toEqual(
        [
          expect.objectContaining({
            notice:
              'the apiserver does not serve streaming lists (422 Invalid); reading the state with LIST instead',
          }),
        ],
      );
      expect(watcher.health.values.filter(isRetrying)).toEqual([]);
      // And it goes on following changes through the watch.
      const [extra] = dataPodIps(1, 810) as [string];
      await addPod('nowl', 2, extra);
      await watcher.sets.until((s) => targetsAre(s, [...ips, extra], 8080), 'a change through the watch');
    } finally {
      await watcher.close();
    }
  });
});
