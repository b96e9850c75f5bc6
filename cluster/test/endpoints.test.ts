/**
 * EndpointSlices as the real controller writes them, read by the SDK: the initial sync, scaling across
 * several slices, readiness, terminating pods, dual-stack, and the v1 Endpoints source.
 */
import {
  type EndpointChangeEvent,
  type EndpointSet,
  watchEndpointChanges,
  watchEndpoints,
  watchEndpointsHealth,
} from '@endpoint-watch/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientFor, dataPodIps, Recorder, targetsAre, until, useControlPlane } from './helpers.js';

const plane = useControlPlane();
const NS = 'endpoints';

beforeAll(async () => {
  await plane().admin.createNamespace(NS);
  await plane().admin.createNode('node-a', { zone: 'zone-a' });
});

describe('one Service followed through the real EndpointSlice controller', () => {
  const client = () => clientFor(plane(), { namespace: NS });
  let recorder: Recorder<EndpointSet>;

  beforeAll(async () => {
    await plane().admin.createService({
      name: 'web',
      namespace: NS,
      ports: [{ name: 'http', port: 80, targetPort: 8080 }],
    });
    recorder = new Recorder(watchEndpoints(client(), { service: 'web', port: 'http' }));
  });
  afterAll(() => recorder.close());

  it('syncs to the empty set of a Service with no pods', async () => {
    const first = await recorder.until(() => true, 'the first set');
    expect(first.endpoints).toEqual([]);
    expect(first.source).toBe('endpointslices');
  });

  it('scales 0 → 1 → 100 → 250 → 120 → 0 with the set exactly right at every step, across several slices', async () => {
    const { admin } = plane();
    const ips = dataPodIps(250);
    let running = 0;
    for (const size of [1, 100, 250, 120, 0]) {
      const from = recorder.mark();
      const work: Promise<unknown>[] = [];
      for (let i = running; i < size; i++)
        work.push(
          admin.createPod({
            name: `web-${i}`,
            namespace: NS,
            labels: { app: 'web' },
            nodeName: 'node-a',
            ips: [ips[i]!],
          }),
        );
      for (let i = size; i < running; i++) work.push(admin.deletePod(NS, `web-${i}`));
      await Promise.all(work);
      running = size;
      const want = ips.slice(0, size);
      // Deleted pods first turn terminating (not ready) in the slices, then leave: wait until `all`
      // has settled too, so the slices read next are the controller's final word for this step.
      const reached = await recorder.until(
        (s) => targetsAre(s, want, 8080) && s.all.length === size,
        `${size} endpoints`,
        60_000,
        from,
      );
      expect(reached.endpoints.every((e) => e.ready && e.serving && !e.terminating)).toBe(true);
      expect(reached.endpoints.every((e) => e.nodeName === 'node-a' && e.zone === 'zone-a')).toBe(true);
      // The union the SDK computed is the union of the slices the controller wrote.
      const slices = await admin.endpointSlices(NS, 'web');
      const onServer = new Set(
        slices.flatMap((s) => (s.endpoints ?? []).map((e: { addresses: string[] }) => e.addresses[0])),
      );
      expect([...onServer].sort()).toEqual([...want].sort());
      if (size === 250) expect(slices.length).toBeGreaterThanOrEqual(3);
    }
  });
});

describe('conditions as the controller sets them', () => {
  it('follows readiness flips: an unready pod leaves the traffic set and stays in `all` as not ready, not serving', async () => {
    const { admin } = plane();
    await admin.createService({ name: 'flip', namespace: NS, ports: [{ port: 80, targetPort: 8080 }] });
    const ips = dataPodIps(3, 300);
    await Promise.all(
      ips.map((ip, i) =>
        admin.createPod({
          name: `flip-${i}`,
          namespace: NS,
          labels: { app: 'flip' },
          nodeName: 'node-a',
          ips: [ip],
        }),
      ),
    );
    const client = clientFor(plane(), { namespace: NS });
    const recorder = new Recorder(watchEndpoints(client, { service: 'flip' }));
    const changes = new Recorder(watchEndpointChanges(client, { service: 'flip' }));
    try {
      await recorder.until((s) => targetsAre(s, ips, 8080), 'three ready pods');
      let from = recorder.mark();
      await admin.setPodReady(NS, 'flip-1', false);
      const unready = await recorder.until(
        (s) => targetsAre(s, [ips[0]!, ips[2]!], 8080),
        'flip-1 unready',
        30_000,
        from,
      );
      expect(unready.all.find((e) => e.address === ips[1])).toMatchObject({
        ready: false,
        serving: false,
        terminating: false,
      });
      from = recorder.mark();
      await admin.setPodReady(NS, 'flip-1', true);
      await recorder.until((s) => targetsAre(s, ips, 8080), 'flip-1 ready again', 30_000, from);
      // The same history as informer-style events: once the three pods are in (however the
      // controller's writes split it), flip-1 removed, then added back, and nothing else.
      const state = new Set<string>();
      let complete = -1;
      changes.values.forEach((event, index) => {
        for (const e of event.removed) state.delete(e.address);
        for (const e of event.added) state.add(e.address);
        if (complete < 0 && state.size === 3) complete = index;
      });
      expect(complete).toBeGreaterThanOrEqual(0);
      const summary = (e: EndpointChangeEvent) => [e.added, e.removed, e.changed].map((list) => list.length);
      expect(changes.values.slice(complete + 1).map(summary)).toEqual([
        [0, 1, 0],
        [1, 0, 0],
      ]);
      expect(
        changes.values.slice(complete + 1).flatMap((e) => [...e.added, ...e.removed].map((x) => x.address)),
      ).toEqual([ips[1], ips[1]]);
    } finally {
      recorder.close();
      changes.close();
    }
  });

  it('keeps a terminating, still-serving pod as the fallback while nothing is ready, then drops it', async () => {
    const { admin } = plane();
    await admin.createService({ name: 'drain', namespace: NS, ports: [{ port: 80, targetPort: 8080 }] });
    const [held, fresh] = dataPodIps(2, 310) as [string, string];
    const hold = 'endpoint-watch.test/hold';
    await admin.createPod({
      name: 'drain-0',
      namespace: NS,
      labels: { app: 'drain' },
      nodeName: 'node-a',
      ips: [held],
      finalizers: [hold],
    });
    const recorder = new Recorder(
      watchEndpoints(clientFor(plane(), { namespace: NS }), { service: 'drain' }),
    );
    try {
      await recorder.until((s) => targetsAre(s, [held], 8080), 'drain-0 ready');
      // Without a kubelet a graceful delete only marks the pod terminating; the finalizer keeps it.
      await admin.deletePod(NS, 'drain-0', { gracePeriodSeconds: 30 });
      const draining = await recorder.until(
        (s) => s.endpoints.length === 1 && s.endpoints[0]?.terminating === true,
        'drain-0 terminating',
      );
      expect(draining.endpoints[0]).toMatchObject({
        address: held,
        ready: false,
        serving: true,
        terminating: true,
      });
      await admin.createPod({
        name: 'drain-1',
        namespace: NS,
        labels: { app: 'drain' },
        nodeName: 'node-a',
        ips: [fresh],
      });
      const replaced = await recorder.until(
        (s) => targetsAre(s, [fresh], 8080),
        'only drain-1 takes traffic',
      );
      expect(replaced.all.map((e) => e.address).sort()).toEqual([held, fresh].sort());
      await admin.removeFinalizers(NS, 'drain-0');
      await admin.deletePod(NS, 'drain-0');
      await recorder.until((s) => s.all.length === 1 && targetsAre(s, [fresh], 8080), 'drain-0 gone');
    } finally {
      recorder.close();
    }
  });

  it('resolves a named target port through the pods’ container ports', async () => {
    const { admin } = plane();
    await admin.createService({
      name: 'named',
      namespace: NS,
      ports: [{ name: 'web', port: 80, targetPort: 'http-alt' }],
    });
    const [ip] = dataPodIps(1, 320) as [string];
    await admin.createPod({
      name: 'named-0',
      namespace: NS,
      labels: { app: 'named' },
      nodeName: 'node-a',
      ips: [ip],
      containerPorts: [{ name: 'http-alt', containerPort: 8081 }],
    });
    const recorder = new Recorder(
      watchEndpoints(clientFor(plane(), { namespace: NS }), { service: 'named', port: 'web' }),
    );
    try {
      const set = await recorder.until((s) => targetsAre(s, [ip], 8081), 'named-0 on 8081');
      expect(set.port).toMatchObject({ name: 'web', protocol: 'TCP' });
    } finally {
      recorder.close();
    }
  });
});

describe('a Service port number (80 → 8080), as kube-proxy reads it', () => {
  it('follows the Service port through its name when the Service can be read; without get on services, says what a number means', async () => {
    const { admin } = plane();
    await admin.createService({
      name: 'numbered',
      namespace: NS,
      ports: [{ name: 'http', port: 80, targetPort: 8080 }],
    });
    const [ip] = dataPodIps(1, 330) as [string];
    await admin.createPod({
      name: 'numbered-0',
      namespace: NS,
      labels: { app: 'numbered' },
      nodeName: 'node-a',
      ips: [ip],
    });
    // The admin can read the Service: 80 is its port named http, which the slices carry as 8080.
    const byServicePort = new Recorder(
      watchEndpoints(clientFor(plane(), { namespace: NS }), { service: 'numbered', port: 80 }),
    );
    try {
      const set = await byServicePort.until(
        (s) => targetsAre(s, [ip], 8080),
        'numbered-0 on 8080 via port 80',
      );
      expect(set.port).toMatchObject({ name: 'http' });
    } finally {
      byServicePort.close();
    }
    // An identity with list and watch on endpointslices only: the number is matched against target ports.
    await admin.createServiceAccount(NS, 'slices-only');
    await admin.grant({
      namespace: NS,
      name: 'slices-only',
      subject: { kind: 'ServiceAccount', name: 'slices-only' },
      rules: [{ apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] }],
    });
    const token = await admin.serviceAccountToken(NS, 'slices-only');
    const limited = clientFor(plane(), { namespace: NS, token });
    const refused = new Recorder(watchEndpoints(limited, { service: 'numbered', port: 80 }));
    const byTargetPort = new Recorder(watchEndpoints(limited, { service: 'numbered', port: 8080 }));
    const health = new Recorder(watchEndpointsHealth(limited, { service: 'numbered', port: 8080 }));
    try {
      await until(() => refused.error !== undefined, 'the port error');
      expect(refused.error).toMatchObject({ code: 'ERR_PORT_SELECTION' });
      expect(String((refused.error as Error).message)).toMatch(/has no port 80 \(.*needs get on services/);
      await byTargetPort.until((s) => targetsAre(s, [ip], 8080), 'numbered-0 via its target port');
      // The real RBAC's 403 on the Service: the fallback is told once, in the first state.
      await health.until((h) => h.state === 'synced', 'synced');
      const notices = health.values.flatMap((h) => ('notice' in h && h.notice ? [h.notice] : []));
      expect(notices).toEqual([
        `cannot read Service ${NS}/numbered (403 Forbidden: reading it needs get on services): port 8080 is matched against the ports of its EndpointSlices (target ports), not the Service's ports`,
      ]);
    } finally {
      refused.close();
      byTargetPort.close();
      health.close();
    }
  });
});

describe('dual-stack', () => {
  it('unions the IPv4 and IPv6 slices of a RequireDualStack Service, and filters by addressTypes', async () => {
    const { admin } = plane();
    await admin.createService({
      name: 'dual',
      namespace: NS,
      ports: [{ port: 80, targetPort: 8080 }],
      ipFamilyPolicy: 'RequireDualStack',
      ipFamilies: ['IPv4', 'IPv6'],
    });
    const pods = [
      ['198.19.3.1', '2001:2:0:3::1'],
      ['198.19.3.2', '2001:2:0:3::2'],
    ] as const;
    await Promise.all(
      pods.map((ips, i) =>
        admin.createPod({
          name: `dual-${i}`,
          namespace: NS,
          labels: { app: 'dual' },
          nodeName: 'node-a',
          ips,
        }),
      ),
    );
    const client = clientFor(plane(), { namespace: NS });
    const both = new Recorder(watchEndpoints(client, { service: 'dual' }));
    const v6 = new Recorder(watchEndpoints(client, { service: 'dual', addressTypes: ['IPv6'] }));
    try {
      const all = pods.flat();
      const set = await both.until((s) => targetsAre(s, all, 8080), 'both families');
      expect(new Set(set.endpoints.map((e) => e.addressType))).toEqual(new Set(['IPv4', 'IPv6']));
      const slices = await admin.endpointSlices(NS, 'dual');
      expect(slices.map((s) => s.addressType).sort()).toEqual(['IPv4', 'IPv6']);
      await v6.until(
        (s) =>
          targetsAre(
            s,
            pods.map((p) => p[1]),
            8080,
          ),
        'IPv6 only',
      );
    } finally {
      both.close();
      v6.close();
    }
  });
});

describe("source: 'endpoints' (the v1 Endpoints the endpoints controller writes)", () => {
  it('gives the same traffic set as the slices, and lists unready pods as not ready', async () => {
    const { admin } = plane();
    await admin.createService({
      name: 'legacy',
      namespace: NS,
      ports: [{ name: 'http', port: 80, targetPort: 8080 }],
    });
    const ips = dataPodIps(3, 330);
    await Promise.all(
      ips.map((ip, i) =>
        admin.createPod({
          name: `legacy-${i}`,
          namespace: NS,
          labels: { app: 'legacy' },
          nodeName: 'node-a',
          ips: [ip],
          ready: i !== 2,
        }),
      ),
    );
    const client = clientFor(plane(), { namespace: NS });
    const fromEndpoints = new Recorder(
      watchEndpoints(client, { service: 'legacy', port: 'http', source: 'endpoints' }),
    );
    const fromSlices = new Recorder(
      watchEndpoints(client, { service: 'legacy', port: 'http', source: 'endpointslices' }),
    );
    try {
      const ready = ips.slice(0, 2);
      const a = await fromEndpoints.until(
        (s) => targetsAre(s, ready, 8080) && s.all.length === 3,
        'Endpoints: 2 ready of 3',
      );
      const b = await fromSlices.until(
        (s) => targetsAre(s, ready, 8080) && s.all.length === 3,
        'slices: 2 ready of 3',
      );
      expect(a.source).toBe('endpoints');
      expect(a.all.find((e) => e.address === ips[2])).toMatchObject({ ready: false });
      expect(b.all.find((e) => e.address === ips[2])).toMatchObject({ ready: false });
      const from = fromEndpoints.mark();
      await admin.setPodReady(NS, 'legacy-2', true);
      await fromEndpoints.until((s) => targetsAre(s, ips, 8080), 'Endpoints: legacy-2 ready', 30_000, from);
    } finally {
      fromEndpoints.close();
      fromSlices.close();
    }
  });
});
