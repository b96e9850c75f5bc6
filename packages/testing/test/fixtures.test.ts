import { describe, expect, it } from 'vitest';
import {
  type EndpointSliceObject,
  endpointSlice,
  parseFieldSelector,
  parseLabelSelector,
  realisticEndpointSlices,
  startFakeApiServer,
  v1Endpoints,
} from '../src/index.js';

describe('endpointSlice()', () => {
  it('builds a controller-like slice with defaults, omitting undefined conditions', () => {
    const s = endpointSlice({
      service: 'web',
      endpoints: [
        { addresses: '10.0.0.1' },
        {
          addresses: ['10.0.0.2'],
          ready: false,
          serving: true,
          terminating: true,
          nodeName: 'n1',
          zone: 'z1',
        },
      ],
    });
    expect(s.apiVersion).toBe('discovery.k8s.io/v1');
    expect(s.kind).toBe('EndpointSlice');
    expect(s.metadata.name).toMatch(/^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(s.metadata.namespace).toBe('default');
    expect(s.metadata.labels).toEqual({
      'kubernetes.io/service-name': 'web',
      'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
    });
    expect(s.addressType).toBe('IPv4');
    expect(s.ports).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }]);
    expect(s.endpoints?.[0]).toEqual({ addresses: ['10.0.0.1'], conditions: {} });
    expect(Object.keys(s.endpoints?.[0]?.conditions ?? {})).toEqual([]);
    expect(s.endpoints?.[1]).toEqual({
      addresses: ['10.0.0.2'],
      conditions: { ready: false, serving: true, terminating: true },
      nodeName: 'n1',
      zone: 'z1',
    });
  });

  it('supports omitConditions, hints, pod targetRefs, ports, IPv6/FQDN, labels and managedFields', () => {
    const s = endpointSlice({
      service: 'api',
      namespace: 'team',
      name: 'api-x',
      ports: [
        { name: 'grpc', port: 9000, appProtocol: 'kubernetes.io/h2c' },
        { port: 53, protocol: 'UDP' },
      ],
      endpoints: [{ addresses: ['fd00::1'], hintsZones: ['z1'], targetRef: 'pod', hostname: 'h' }],
      omitConditions: true,
      managedFields: true,
      labels: { extra: 'yes' },
    });
    expect(s.addressType).toBe('IPv6');
    expect(s.endpoints?.[0]?.conditions).toBeUndefined();
    expect(s.endpoints?.[0]?.hints).toEqual({ forZones: [{ name: 'z1' }] });
    expect(s.endpoints?.[0]?.targetRef).toMatchObject({ kind: 'Pod', namespace: 'team' });
    expect(s.endpoints?.[0]?.targetRef?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(s.ports).toEqual([
      { name: 'grpc', port: 9000, protocol: 'TCP', appProtocol: 'kubernetes.io/h2c' },
      { port: 53, protocol: 'UDP' },
    ]);
    expect(s.metadata.labels?.extra).toBe('yes');
    expect(s.metadata.managedFields?.[0]).toMatchObject({
      manager: 'kube-controller-manager',
      fieldsType: 'FieldsV1',
    });
    expect(endpointSlice({ service: 'x', endpoints: [{ addresses: 'db.example.com' }] }).addressType).toBe(
      'FQDN',
    );
  });
});

describe('v1Endpoints()', () => {
  it('builds an Endpoints object named after the service', () => {
    const e = v1Endpoints({
      service: 'web',
      subsets: [
        {
          addresses: ['10.0.0.1', { ip: '10.0.0.2', nodeName: 'n1' }],
          notReadyAddresses: ['10.0.0.3'],
          ports: [{ name: 'http', port: 80 }],
        },
      ],
    });
    expect(e).toEqual({
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'web', namespace: 'default' },
      subsets: [
        {
          ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
          addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2', nodeName: 'n1' }],
          notReadyAddresses: [{ ip: '10.0.0.3' }],
        },
      ],
    });
  });
});

describe('realisticEndpointSlices()', () => {
  it('spreads endpoints over slices like the controller, deterministically for a seed', () => {
    const slices = realisticEndpointSlices({ service: 'big', endpoints: 250, seed: 1 });
    expect(slices.map((s) => s.endpoints?.length)).toEqual([100, 100, 50]);
    const addresses = slices.flatMap((s) => (s.endpoints ?? []).map((e) => e.addresses[0]));
    expect(new Set(addresses).size).toBe(250);
    expect(addresses[0]).toBe('10.244.0.1');
    const ep = slices[0]?.endpoints?.[0];
    expect(ep?.conditions).toEqual({ ready: true, serving: true, terminating: false });
    expect(ep?.targetRef).toMatchObject({ kind: 'Pod', namespace: 'default' });
    expect(ep?.nodeName).toMatch(/^node-\d+$/);
    expect(ep?.zone).toMatch(/^zone-[abc]$/);
    const meta = slices[0]?.metadata;
    expect(meta?.ownerReferences?.[0]).toMatchObject({ kind: 'Service', name: 'big', controller: true });
    expect(meta?.managedFields).toHaveLength(1);
    expect(meta?.labels?.['kubernetes.io/service-name']).toBe('big');
    const again = realisticEndpointSlices({ service: 'big', endpoints: 250, seed: 1 });
    expect(again.map((s) => s.metadata.name)).toEqual(slices.map((s) => s.metadata.name));
    expect(new Set(slices.map((s) => s.metadata.name)).size).toBe(3);
    expect(realisticEndpointSlices({ service: 'big', endpoints: 10, perSlice: 3 })).toHaveLength(4);
  });

  it('gives the placeholder slice (endpoints: null) for zero endpoints, and stores fine', async () => {
    const [placeholder] = realisticEndpointSlices({ service: 'empty', endpoints: 0 });
    expect(placeholder?.endpoints).toBeNull();
    const server = await startFakeApiServer({
      initialObjects: realisticEndpointSlices({ service: 's', endpoints: 1000 }),
    });
    try {
      expect(server.list('EndpointSlice')).toHaveLength(10);
      const stored = server.list('EndpointSlice')[0] as EndpointSliceObject;
      expect(stored.metadata.resourceVersion).toMatch(/^\d+$/);
      expect(stored.metadata.generation).toBe(1);
    } finally {
      await server.close();
    }
  });
});

describe('selectors', () => {
  const obj = (labels: Record<string, string>, name = 'n', namespace = 'default') => ({
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name, namespace, labels },
  });
  it('parse label selector syntax with apiserver semantics', () => {
    const m = (sel: string, labels: Record<string, string>) => parseLabelSelector(sel).matches(obj(labels));
    expect(m('', {})).toBe(true);
    expect(m('a=1', { a: '1' })).toBe(true);
    expect(m('a = 1', { a: '1' })).toBe(true);
    expect(m('a!=1', {})).toBe(true); // != matches a missing label
    expect(m('a notin (1,2)', {})).toBe(true);
    expect(m('a in (1, 2)', {})).toBe(false);
    expect(m('a in (1, 2),b', { a: '2', b: '' })).toBe(true);
    expect(m('!a', { a: 'x' })).toBe(false);
    expect(m('a>5', { a: '7' })).toBe(true);
    expect(m('a<5', { a: 'x' })).toBe(false);
    expect(m('example.com/role=db', { 'example.com/role': 'db' })).toBe(true);
    for (const bad of ['a in (1', 'a=b=c', '=x', 'a in (-bad)'])
      expect(() => parseLabelSelector(bad)).toThrow();
  });
  it('parse field selectors on metadata.name / metadata.namespace only', () => {
    expect(parseFieldSelector('metadata.name=n').matches(obj({}))).toBe(true);
    expect(parseFieldSelector('metadata.namespace!=default').matches(obj({}))).toBe(false);
    expect(parseFieldSelector('metadata.name=a\\,b').matches(obj({}, 'a,b'))).toBe(true);
    expect(() => parseFieldSelector('status.phase=Running')).toThrow(
      '"status.phase" is not a known field selector: only "metadata.name", "metadata.namespace"',
    );
  });
});

describe('store semantics through the server API', () => {
  it('does not write an update that changes nothing: same resourceVersion, no event', async () => {
    const server = await startFakeApiServer();
    try {
      const object = endpointSlice({ service: 'web', name: 'a', endpoints: [{ addresses: ['10.0.0.9'] }] });
      const first = server.upsert(object);
      const rv = server.resourceVersion;
      // The same object again, even carrying server-set fields of another version, is a no-op.
      expect(server.upsert(object).metadata.resourceVersion).toBe(rv);
      const again = server.upsert({
        ...first,
        metadata: { ...first.metadata, resourceVersion: '1', generation: 7 },
      });
      expect(again.metadata.resourceVersion).toBe(rv);
      expect(server.resourceVersion).toBe(rv);
      const changed = server.upsert({ ...object, metadata: { ...object.metadata, labels: { tier: 'web' } } });
      expect(Number(changed.metadata.resourceVersion)).toBeGreaterThan(Number(rv));
    } finally {
      await server.close();
    }
  });

  it('upsert keeps uid and creationTimestamp, bumps resourceVersion and generation; delete reports absence', async () => {
    const server = await startFakeApiServer();
    try {
      const first = server.upsert(endpointSlice({ service: 'web', name: 'a', endpoints: [] }));
      const second = server.upsert(
        endpointSlice({ service: 'web', name: 'a', endpoints: [{ addresses: ['10.0.0.9'] }] }),
      );
      expect(second.metadata.uid).toBe(first.metadata.uid);
      expect(second.metadata.creationTimestamp).toBe(first.metadata.creationTimestamp);
      expect(Number(second.metadata.resourceVersion)).toBeGreaterThan(Number(first.metadata.resourceVersion));
      expect(second.metadata.generation).toBe(2);
      expect(server.resourceVersion).toBe(second.metadata.resourceVersion);
      second.metadata.name = 'mutated'; // returned copies are the caller's
      expect(server.get('EndpointSlice', 'default', 'a')?.metadata.name).toBe('a');
      expect(server.delete('EndpointSlice', 'default', 'a')).toBe(true);
      expect(server.delete('EndpointSlice', 'default', 'a')).toBe(false);
      expect(() => server.upsert({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } })).toThrow(
        /cannot store/,
      );
    } finally {
      await server.close();
    }
  });
});
