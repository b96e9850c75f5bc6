/**
 * `endpoint-watch watch` in process, against the embedded fake apiserver (TLS certificate valid only
 * for cluster.condi.me, reached at 127.0.0.1). Only loopback addresses, also in the slices' data.
 */

import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { endpointSlice, type FakeApiServer, service, startFakeApiServer } from '@endpoint-watch/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/main.js';
import { captureIo, waitFor } from './support.js';

const TLS_NAME = 'cluster.condi.me';
let server: FakeApiServer;
let dir: string;
let kubeconfig: string;
/** The same cluster, but the context's namespace is `default`: only `-n shop` finds the Service. */
let kubeconfigInDefault: string;

const slice = (
  endpoints: Parameters<typeof endpointSlice>[0]['endpoints'],
  ports?: { name: string; port: number }[],
) =>
  endpointSlice({
    namespace: 'shop',
    service: 'web',
    name: 'web-abcde',
    ports: (ports ?? [{ name: 'http', port: 8080 }]).map((p) => ({ ...p, protocol: 'TCP' })),
    endpoints,
  });
/** A Service with two ports: without --port, the watch cannot choose. */
const twoPorts = () =>
  slice(
    [pod(2)],
    [
      { name: 'http', port: 8080 },
      { name: 'metrics', port: 9090 },
    ],
  );
const pod = (host: number, state: { ready?: boolean; serving?: boolean; terminating?: boolean } = {}) => ({
  addresses: [`127.0.0.${host}`],
  zone: 'zone-a',
  nodeName: 'node-1',
  targetRef: { kind: 'Pod', namespace: 'shop', name: `web-${host}` },
  ...state,
});

beforeAll(async () => {
  server = await startFakeApiServer({ tls: { names: [TLS_NAME] } });
  dir = mkdtempSync(join(tmpdir(), 'endpoint-watch-cli-'));
  kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, server.kubeconfig({ namespace: 'shop' })); // no tls-server-name in it
  kubeconfigInDefault = join(dir, 'kubeconfig-default');
  writeFileSync(kubeconfigInDefault, server.kubeconfig({ namespace: 'default' }));
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  server.faults.clear();
  server.delete('EndpointSlice', 'shop', 'web-abcde');
});

const watchArgs = (...extra: string[]) => [
  'watch',
  'web',
  '--kubeconfig',
  kubeconfig,
  '--tls-server-name',
  TLS_NAME,
  ...extra,
];

describe('watch --json', () => {
  it('prints one JSON endpoint set per change, nothing else on stdout, and exits 0 on Ctrl-C', async () => {
    server.upsert(slice([pod(2)]));
    const io = captureIo();
    const run = main(watchArgs('--json', '-n', 'shop'), io);
    await waitFor(() => io.stdout.lines().length >= 1, 'the first set');
    server.upsert(slice([pod(2), pod(3, { ready: false, serving: false })]));
    await waitFor(() => io.stdout.lines().length >= 2, 'the second set');
    server.upsert(slice([pod(2, { ready: false, serving: true, terminating: true }), pod(3)]));
    await waitFor(() => io.stdout.lines().length >= 3, 'the third set');
    io.interrupt();
    expect(await run).toBe(0);
    expect(io.stderr.text).toBe('');

    const sets = io.stdout.lines().map((line) => JSON.parse(line));
    expect(sets).toHaveLength(3);
    for (const set of sets) {
      expect(set).toMatchObject({
        namespace: 'shop',
        service: 'web',
        port: { name: 'http' },
        source: 'endpointslices',
      });
    }
    const addresses = (list: { address: string }[]) => list.map((e) => e.address);
    expect(addresses(sets[0].endpoints)).toEqual(['127.0.0.2']);
    expect(addresses(sets[1].endpoints)).toEqual(['127.0.0.2']);
    expect(sets[1].all).toEqual([
      expect.objectContaining({
        address: '127.0.0.2',
        port: 8080,
        ready: true,
        zone: 'zone-a',
        nodeName: 'node-1',
      }),
      expect.objectContaining({ address: '127.0.0.3', ready: false, serving: false, terminating: false }),
    ]);
    expect(addresses(sets[2].endpoints)).toEqual(['127.0.0.3']);
    expect(sets[2].all[0]).toMatchObject({
      address: '127.0.0.2',
      ready: false,
      serving: true,
      terminating: true,
    });
    expect(Number(sets[2].resourceVersion)).toBeGreaterThan(Number(sets[0].resourceVersion));
  });

  it('-n overrides the namespace of the kubeconfig context', async () => {
    server.upsert(slice([pod(2)]));
    const io = captureIo();
    const args = ['watch', 'web', '--kubeconfig', kubeconfigInDefault, '--tls-server-name', TLS_NAME];
    const run = main([...args, '-n', 'shop', '--json'], io);
    await waitFor(() => io.stdout.lines().length >= 1, 'the first set');
    io.interrupt();
    expect(await run).toBe(0);
    const [set] = io.stdout.lines().map((line) => JSON.parse(line));
    expect(set).toMatchObject({ namespace: 'shop', service: 'web' });
    expect(set.endpoints.map((e: { address: string }) => e.address)).toEqual(['127.0.0.2']);
  });

  it('after the first sync, errors go to stderr and stdout keeps only sets', async () => {
    server.upsert(slice([pod(2)]));
    const io = captureIo();
    const run = main(watchArgs('--json'), io);
    await waitFor(() => io.stdout.lines().length >= 1, 'the first set');
    server.faults.failNext(Number.POSITIVE_INFINITY, 403, { reason: 'Forbidden', message: 'no' });
    server.faults.cutWatches();
    await waitFor(() => io.stderr.text.includes('403'), 'the 403 on stderr');
    io.interrupt();
    expect(await run).toBe(0);
    expect(io.stderr.text).toMatch(/^endpoint-watch: watch retrying .*grant list, watch on endpointslices/m);
    for (const line of io.stdout.lines()) expect(() => JSON.parse(line)).not.toThrow();
  });

  it('tells a cut, a relist after compaction and the sync after each on stderr, calmly', async () => {
    server.upsert(slice([pod(2)]));
    const io = captureIo();
    const run = main(watchArgs('--json'), io);
    await waitFor(() => io.stdout.lines().length >= 1, 'the first set');
    server.faults.cutWatches();
    await waitFor(() => /watch synced/.test(io.stderr.text), 'the sync after the cut, on stderr');
    // The resourceVersion it resumes from is compacted away: 410, then a relist at once.
    server.compact();
    server.faults.cutWatches();
    await waitFor(() => io.stderr.lines().length >= 5, 'the second cut, the relist and the sync');
    io.interrupt();
    expect(await run).toBe(0);
    const lines = io.stderr.lines();
    expect(lines).toEqual([
      expect.stringMatching(
        /^endpoint-watch: watch resuming from rv \d+: the watch connection to the apiserver broke \(/,
      ),
      expect.stringMatching(/^endpoint-watch: watch synced at rv \d+$/),
      expect.stringMatching(
        /^endpoint-watch: watch resuming from rv \d+: the watch connection to the apiserver broke \(/,
      ),
      expect.stringMatching(/^endpoint-watch: watch relisting: rv \d+ has expired \(410 Expired\)$/),
      expect.stringMatching(/^endpoint-watch: watch synced at rv \d+$/),
    ]);
    for (const line of io.stdout.lines()) expect(() => JSON.parse(line)).not.toThrow();
  });

  it('--context picks another context of the kubeconfig (the current one is unreachable here)', async () => {
    server.upsert(slice([pod(2)]));
    const unreachable = join(dir, 'kubeconfig-unreachable');
    writeFileSync(unreachable, server.kubeconfig({ context: 'old', server: 'https://127.0.0.1:1' }));
    const reachable = join(dir, 'kubeconfig-reachable');
    writeFileSync(reachable, server.kubeconfig({ context: 'real', namespace: 'shop' }));
    // merged first-wins: the current context is `old`, from the first file
    const io = captureIo({ env: { KUBECONFIG: `${unreachable}:${reachable}` } });
    const run = main(['watch', 'web', '--tls-server-name', TLS_NAME, '--context', 'real', '--json'], io);
    await waitFor(() => io.stdout.lines().length >= 1, 'the first set');
    io.interrupt();
    expect(await run).toBe(0);
    const [set] = io.stdout.lines().map((line) => JSON.parse(line));
    expect(set).toMatchObject({ namespace: 'shop', service: 'web' });
  });

  it('--port selects the Service port', async () => {
    server.upsert(twoPorts());
    const io = captureIo();
    const run = main(watchArgs('--json', '--port', 'metrics'), io);
    await waitFor(() => io.stdout.lines().length >= 1, 'the first set');
    io.interrupt();
    expect(await run).toBe(0);
    const [set] = io.stdout.lines().map((line) => JSON.parse(line));
    expect(set.port).toEqual({ name: 'metrics', protocol: 'TCP' });
    expect(set.all[0]).toMatchObject({ address: '127.0.0.2', port: 9090 });
  });
});

describe('watch --address-type and --scope', () => {
  afterEach(() => server.delete('EndpointSlice', 'shop', 'web-v6'));

  it('--address-type keeps one family of a dual-stack Service', async () => {
    // A dual-stack Service has one slice per family; both list the same pods.
    server.upsert(slice([pod(2)]));
    server.upsert(
      endpointSlice({
        namespace: 'shop',
        service: 'web',
        name: 'web-v6',
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
        endpoints: [{ addresses: ['::1'] }],
      }),
    );
    const families = async (...extra: string[]) => {
      const io = captureIo();
      const run = main(watchArgs('--json', ...extra), io);
      await waitFor(() => io.stdout.lines().length >= 1, 'the first set');
      io.interrupt();
      expect(await run).toBe(0);
      const [set] = io.stdout.lines().map((line) => JSON.parse(line));
      return set.all.map((e: { address: string; addressType: string }) => `${e.addressType} ${e.address}`);
    };
    expect(await families()).toEqual(['IPv4 127.0.0.2', 'IPv6 ::1']);
    expect(await families('--address-type', 'IPv6')).toEqual(['IPv6 ::1']);
    expect(await families('--address-type', 'ipv4')).toEqual(['IPv4 127.0.0.2']);
  });

  it('--address-type that keeps nothing says so, with the command that shows the families', async () => {
    server.upsert(slice([pod(2)]));
    const io = captureIo();
    const run = main(watchArgs('--address-type', 'IPv6'), io);
    await waitFor(() => io.stdout.text.includes('See:'), 'the hint');
    io.interrupt();
    expect(await run).toBe(0);
    const out = io.stdout.lines().map((line) => line.replace(/^\[\+\d+\.\ds\] /, ''));
    expect(out).toEqual(
      expect.arrayContaining([
        "no IPv6 endpoints (--address-type IPv6): are the Service's slices of another family, or does its selector match no running pod?",
        'See: kubectl get endpointslices -n shop -l kubernetes.io/service-name=web (ADDRESSTYPE, ENDPOINTS); kubectl get service web -n shop -o wide (SELECTOR)',
      ]),
    );
  });

  it('--scope namespace watches every slice of the namespace; the default, the Service by its label', async () => {
    server.upsert(slice([pod(2)]));
    const watchesOf = async (...extra: string[]) => {
      const since = server.requests.length;
      const io = captureIo();
      const run = main(watchArgs('--json', ...extra), io);
      await waitFor(() => io.stdout.lines().length >= 1, 'the first set');
      io.interrupt();
      expect(await run).toBe(0);
      expect(JSON.parse(io.stdout.lines()[0] ?? '{}').all).toEqual([
        expect.objectContaining({ address: '127.0.0.2' }),
      ]);
      return server.requests
        .slice(since)
        .filter((req) => req.path === '/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices')
        .map((req) => req.query.labelSelector ?? '(all)');
    };
    expect(new Set(await watchesOf())).toEqual(new Set(['kubernetes.io/service-name=web']));
    expect(new Set(await watchesOf('--scope', 'service'))).toEqual(
      new Set(['kubernetes.io/service-name=web']),
    );
    expect(new Set(await watchesOf('--scope', 'namespace'))).toEqual(new Set(['(all)']));
  });
});

describe('watch: a server without streaming lists (WatchList off)', () => {
  it('says the LIST fallback once, calmly, and never as a retry', async () => {
    const old = await startFakeApiServer({ tls: { names: [TLS_NAME] }, watchList: false });
    try {
      old.upsert(slice([pod(2)]));
      const config = join(dir, 'kubeconfig-no-watchlist');
      writeFileSync(config, old.kubeconfig({ namespace: 'shop' }));
      const args = ['watch', 'web', '--kubeconfig', config, '--tls-server-name', TLS_NAME];
      const plain = captureIo();
      const plainRun = main(args, plain);
      await waitFor(() => plain.stdout.text.includes('watch synced'), 'the sync');
      plain.interrupt();
      expect(await plainRun).toBe(0);
      const json = captureIo();
      const jsonRun = main([...args, '--json'], json);
      await waitFor(() => json.stdout.lines().length >= 1, 'the first set');
      json.interrupt();
      expect(await jsonRun).toBe(0);
      for (const output of [plain.stdout.text, json.stderr.text]) {
        expect(
          output.match(
            /watch connecting: the apiserver does not serve streaming lists \(422 Invalid\); reading the state with LIST instead/g,
          ),
        ).toHaveLength(1);
        expect(output).not.toMatch(/retrying|422.*error/i);
      }
    } finally {
      await old.close();
    }
  });
});

describe('watch: plain lines without a terminal', () => {
  it('prints changes as they happen; after the first sync a 403 is reported with the grant and retried', async () => {
    server.upsert(slice([pod(2)]));
    const io = captureIo();
    const run = main(watchArgs(), io);
    await waitFor(() => io.stdout.text.includes('watch synced'), 'the sync');
    server.faults.failNext(Number.POSITIVE_INFINITY, 403, { reason: 'Forbidden', message: 'no' });
    server.faults.cutWatches();
    await waitFor(() => io.stdout.text.includes('403 Forbidden'), 'the 403');
    io.interrupt();
    expect(await run).toBe(0);
    const out = io.stdout.lines();
    expect(out[0]).toMatch(
      /^endpoint-watch watch: shop\/web from https:\/\/127\.0\.0\.1:\d+ \(context fake\)/,
    );
    expect(out).toContainEqual(
      expect.stringMatching(/^\[\+\d+\.\ds\] \+ 127\.0\.0\.2:8080 \(web-2\): ready$/),
    );
    expect(out).toContainEqual(
      expect.stringMatching(
        /watch retrying .*: 403 Forbidden: grant list, watch on endpointslices\.discovery\.k8s\.io in namespace shop$/,
      ),
    );
  });
});

describe('watch: why the list is empty, in the output', () => {
  const lines = (io: ReturnType<typeof captureIo>, from: 'stdout' | 'stderr') =>
    io[from].lines().map((line) => line.replace(/^\[\+\d+\.\ds\] /, ''));

  it('--port 80 for pods on 8080: exit 1 with the ports the slices declare, and what a number means', async () => {
    server.upsert(slice([pod(2)]));
    const io = captureIo();
    expect(await main(watchArgs('--json', '--port', '80'), io)).toBe(1);
    expect(io.stdout.text).toBe('');
    // No Service object here (404): the number falls back to target ports, said first. Whether the
    // health's `synced` comes before the set's error depends on which stream the machine serves
    // first (two subscriptions): it is not what this test is about.
    expect(
      io.stderr.lines().filter((line) => !/^endpoint-watch: watch synced at rv \d+$/.test(line)),
    ).toEqual([
      "endpoint-watch: watch connecting: cannot read Service shop/web (404 NotFound: no such Service): port 80 is matched against the ports of its EndpointSlices (target ports), not the Service's ports",
      'endpoint-watch: error: Service shop/web has no port 80 (a number is a Service port when the Service can be read, which needs get on services, else a target port of its endpoints); its EndpointSlices declare: http (8080/TCP)',
      'Choose one with --port <name or number>.',
    ]);

    const typo = captureIo();
    expect(await main(watchArgs('--port', 'htp'), typo)).toBe(1);
    expect(typo.stderr.lines()).toEqual([
      'endpoint-watch: error: Service shop/web has no port named "htp"; its EndpointSlices declare: http (8080/TCP)',
      'Choose one with --port <name or number>.',
    ]);

    const right = captureIo();
    const ok = main(watchArgs('--port', '8080'), right);
    await waitFor(() => right.stdout.text.includes('watch synced'), 'the sync');
    right.interrupt();
    expect(await ok).toBe(0);
    expect(right.stdout.text).toContain('+ 127.0.0.2:8080 (web-2): ready');
  });

  it('--port 80 of a Service 80 → 8080 that can be read: its pods on 8080, nothing to explain', async () => {
    server.upsert(slice([pod(2)]));
    server.upsert(
      service({ name: 'web', namespace: 'shop', ports: [{ name: 'http', port: 80, targetPort: 8080 }] }),
    );
    const io = captureIo();
    const run = main(watchArgs('--port', '80'), io);
    await waitFor(() => io.stdout.text.includes('watch synced'), 'the sync');
    io.interrupt();
    expect(await run).toBe(0);
    const out = lines(io, 'stdout');
    expect(out).toContain('+ 127.0.0.2:8080 (web-2): ready');
    expect(out.filter((line) => line.includes('Service shop/web'))).toEqual([]);
    expect(io.stderr.text).toBe('');
  });

  it('no get on services: a port number is matched against target ports, said once, not at each relist', async () => {
    server.upsert(slice([pod(2)]));
    server.faults.failNext(Number.POSITIVE_INFINITY, 403, {
      reason: 'Forbidden',
      match: (req) => req.path === '/api/v1/namespaces/shop/services/web',
    });
    const io = captureIo();
    const run = main(watchArgs('--port', '8080'), io);
    await waitFor(() => io.stdout.text.includes('watch synced'), 'the sync');
    server.faults.expireWatches();
    await waitFor(
      () => (io.stdout.text.match(/watch synced/g) ?? []).length >= 2,
      'the sync after the relist',
    );
    io.interrupt();
    expect(await run).toBe(0);
    const out = lines(io, 'stdout');
    expect(out.filter((line) => line.includes('cannot read Service'))).toEqual([
      "watch connecting: cannot read Service shop/web (403 Forbidden: reading it needs get on services): port 8080 is matched against the ports of its EndpointSlices (target ports), not the Service's ports",
    ]);
    expect(out).toContain('+ 127.0.0.2:8080 (web-2): ready');
    expect(out).toContainEqual(expect.stringMatching(/^watch relisting: /));
  });

  it('no such Service: an empty synced set, the watch says no slice carries its label, with the commands that show why', async () => {
    const args = ['watch', 'blog', '--kubeconfig', kubeconfig, '--tls-server-name', TLS_NAME];
    const absent =
      'no EndpointSlice in namespace shop carries kubernetes.io/service-name=blog: the Service does not exist (check the name and namespace), has no selector and no slices written for it, or its controller has not written them yet';
    // Whether the Service exists comes first: the selector question would send a newcomer the wrong way.
    const see =
      'See: kubectl get service blog -n shop -o wide (does it exist? SELECTOR, PORTS); kubectl get services -n shop (its name)';
    const plain = captureIo();
    const run = main(args, plain);
    await waitFor(() => plain.stdout.text.includes(see), 'the hint');
    plain.interrupt();
    expect(await run).toBe(0);
    const out = lines(plain, 'stdout');
    const first = out.findIndex((line) => /^first set: no endpoints /.test(line));
    const synced = out.findIndex((line) =>
      new RegExp(`^watch synced at rv \\d+: ${absent.replace(/[().]/g, '\\$&')}$`).test(line),
    );
    expect(first).toBeGreaterThan(-1);
    expect(synced).toBeGreaterThan(-1);
    expect(out.indexOf(see)).toBeGreaterThan(synced);
    expect(out.some((line) => line.includes('does the selector'))).toBe(false);

    const json = captureIo();
    const watching = main([...args, '--json'], json);
    await waitFor(() => json.stderr.text.includes(see), 'the hint');
    json.interrupt();
    expect(await watching).toBe(0);
    for (const line of json.stdout.lines()) expect(JSON.parse(line).all).toEqual([]);
    expect(json.stderr.lines()).toEqual([
      expect.stringMatching(
        /^endpoint-watch: watch synced at rv \d+: no EndpointSlice in namespace shop carries/,
      ),
      `endpoint-watch: ${see}`,
    ]);
  });

  it('a Service whose slices hold no endpoint: the selector question, once the watch is synced', async () => {
    server.upsert(slice([]));
    const io = captureIo();
    const run = main(watchArgs(), io);
    await waitFor(() => io.stdout.text.includes('does the selector'), 'the hint');
    io.interrupt();
    expect(await run).toBe(0);
    const out = lines(io, 'stdout');
    const synced = out.findIndex((line) => /^watch synced at rv \d+$/.test(line));
    expect(synced).toBeGreaterThan(-1);
    expect(out.slice(synced + 1, synced + 3)).toEqual([
      'no endpoints: does the selector of Service shop/web match running pods?',
      'See: kubectl get service web -n shop -o wide (SELECTOR, PORTS); kubectl get endpointslices -n shop -l kubernetes.io/service-name=web (ENDPOINTS)',
    ]);
    expect(out.some((line) => line.includes('does it exist?'))).toBe(false);
  });

  it('no pod ready: said each time it comes to that, not while it lasts', async () => {
    server.upsert(slice([pod(2, { ready: false, serving: false })]));
    const io = captureIo();
    const run = main(watchArgs(), io);
    const told = () => io.stdout.lines().filter((line) => line.includes('no endpoint is ready')).length;
    await waitFor(() => told() === 1, 'the first hint');
    server.upsert(
      slice([pod(2, { ready: false, serving: false }), pod(3, { ready: false, serving: false })]),
    );
    await waitFor(() => io.stdout.text.includes('127.0.0.3'), 'the second pod');
    server.upsert(slice([pod(2)]));
    await waitFor(() => io.stdout.text.includes('not ready → ready'), 'a ready pod');
    server.upsert(slice([pod(2, { ready: false, serving: false })]));
    await waitFor(() => io.stdout.text.includes('ready → not ready'), 'not ready again');
    await waitFor(() => told() >= 2, 'the second hint');
    io.interrupt();
    expect(await run).toBe(0);
    expect(told()).toBe(2); // not again when a second unready pod came
    expect(lines(io, 'stdout')).toContain(
      'no endpoint is ready (nor serving while terminating): traffic has nowhere to go.',
    );
    expect(lines(io, 'stdout')).toContain(
      'Why the pods are not ready: kubectl get pods -n shop -o wide; kubectl describe pod <name> -n shop',
    );
  });
});

describe('watch: errors', () => {
  it('403 before the first sync: exit 1 naming the verb and resource to grant', async () => {
    server.faults.failNext(Number.POSITIVE_INFINITY, 403, {
      reason: 'Forbidden',
      message:
        'endpointslices.discovery.k8s.io is forbidden: User "system:serviceaccount:shop:reader" cannot watch resource "endpointslices" in API group "discovery.k8s.io" in the namespace "shop"',
    });
    const io = captureIo();
    expect(await main(watchArgs('--json'), io)).toBe(1);
    expect(io.stdout.text).toBe('');
    const err = io.stderr.text;
    expect(err).toContain(
      'endpoint-watch: error: the apiserver refused to watch endpointslices.discovery.k8s.io in namespace shop (403 Forbidden: ',
    );
    expect(err).toContain('grant list, watch on endpointslices.discovery.k8s.io in namespace shop');
    expect(err).toContain(
      'kubectl create rolebinding endpoint-watch -n shop --role=endpoint-watch --serviceaccount=shop:reader',
    );
  });

  it('403 on v1 Endpoints names that resource', async () => {
    server.faults.failNext(Number.POSITIVE_INFINITY, 403, { reason: 'Forbidden', message: 'forbidden' });
    const io = captureIo();
    expect(await main(watchArgs('--source', 'endpoints', '-n', 'shop'), io)).toBe(1);
    expect(io.stderr.text).toContain('grant list, watch on endpoints in namespace shop');
  });

  it('TLS name mismatch: exit 1 suggesting --tls-server-name, no credentials sent', async () => {
    const io = captureIo();
    expect(await main(['watch', 'web', '--kubeconfig', kubeconfig], io)).toBe(1);
    expect(io.stderr.text).toContain('not valid for the name "127.0.0.1"');
    expect(io.stderr.text).toContain('--tls-server-name <name>');
    expect(io.stderr.text).toContain('No credentials were sent.');
    // The advice is said once, in the CLI's terms (the SDK's message gives it in its own).
    expect(io.stderr.text.match(/tls-server-name/g)).toHaveLength(2); // `--tls-server-name`, `kubeconfig: tls-server-name`
    expect(io.stderr.text).not.toContain('set tlsServerName');
  });

  it('no configuration at all: what was tried, in the flags and variables of the CLI', async () => {
    const io = captureIo({ env: { HOME: join(dir, 'no-home') } });
    expect(await main(['watch', 'web'], io)).toBe(1);
    expect(io.stderr.lines()).toEqual([
      `endpoint-watch: error: No Kubernetes configuration found; tried: --kubeconfig (not given), KUBECONFIG (not set), ${join(dir, 'no-home', '.kube', 'config')} (not found), in-cluster (KUBERNETES_SERVICE_HOST not set)`,
      'Point to a kubeconfig with --kubeconfig (or KUBECONFIG), choose a context with --context, or run inside a pod.',
    ]);
  });

  it('unreachable apiserver: exit 1 with ERR_KUBE_UNREACHABLE advice', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const address = closed.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    await new Promise((resolve) => closed.close(resolve));
    const path = join(dir, 'unreachable');
    writeFileSync(path, server.kubeconfig({ server: `https://127.0.0.1:${port}`, tlsServerName: TLS_NAME }));
    const io = captureIo();
    expect(await main(['watch', 'web', '--kubeconfig', path], io)).toBe(1);
    expect(io.stderr.text).toContain(`cannot reach https://127.0.0.1:${port} (ECONNREFUSED)`);
    expect(io.stderr.text).toContain('Is the cluster running and reachable from here');
  });

  it('unknown context: exit 1 naming the contexts there are', async () => {
    const io = captureIo();
    expect(await main(watchArgs('--context', 'prod'), io)).toBe(1);
    expect(io.stderr.text).toContain('Context "prod" not found in kubeconfig');
    expect(io.stderr.text).toContain('kubectl config get-contexts');
  });

  it('several ports and no --port: exit 1 listing them', async () => {
    server.upsert(twoPorts());
    const io = captureIo();
    expect(await main(watchArgs('--json'), io)).toBe(1);
    // The ports, and the advice once (the SDK's "choose one with the port option" is left out).
    expect(io.stderr.lines()).toEqual([
      'endpoint-watch: error: Service shop/web has several ports: http (8080/TCP), metrics (9090/TCP)',
      'Choose one with --port <name or number>.',
    ]);
  });
});
