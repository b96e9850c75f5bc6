// Static checks of what run.sh deploys: it cannot run here (no container engine), so the manifests,
// the kind config, the Dockerfile and run.sh are checked for consistency with each other.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const here = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));
const NAMESPACE = 'endpoint-watch-demo';

type Labels = Record<string, string>;
interface ContainerPort {
  name?: string;
  containerPort: number;
}
interface Container {
  name: string;
  image: string;
  imagePullPolicy?: string;
  ports?: ContainerPort[];
  env?: { name: string; value?: string }[];
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
}
interface PodTemplate {
  metadata: { labels: Labels };
  spec: {
    serviceAccountName?: string;
    containers: Container[];
    topologySpreadConstraints?: { topologyKey: string; labelSelector: { matchLabels: Labels } }[];
  };
}
interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Labels };
  spec?: {
    replicas?: number;
    selector?: { matchLabels?: Labels } & Labels;
    template?: PodTemplate;
    ports?: { name?: string; port: number; targetPort?: string | number; protocol?: string }[];
  };
  rules?: { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }[];
  roleRef?: { apiGroup: string; kind: string; name: string };
  subjects?: { kind: string; name: string; namespace?: string }[];
}

function parseYamlFile(path: string): unknown[] {
  const docs = parseAllDocuments(readFileSync(path, 'utf8'));
  if (!Array.isArray(docs)) throw new Error(`${path}: empty`);
  return docs.map((doc, i) => {
    if (doc.errors.length > 0 || doc.warnings.length > 0) {
      throw new Error(
        `${path} document ${i}: ${[...doc.errors, ...doc.warnings].map((e) => e.message).join('; ')}`,
      );
    }
    return doc.toJS();
  });
}

const manifestFiles = readdirSync(here('manifests'))
  .filter((file) => /\.ya?ml$/.test(file))
  .sort(); // the order `kubectl apply -f manifests/` applies them in
const objects = manifestFiles.flatMap((file) =>
  parseYamlFile(here(`manifests/${file}`)).map((doc) => ({ file, object: doc as KubeObject })),
);
const all = objects.map((o) => o.object);
const find = (kind: string, name: string): KubeObject => {
  const found = all.filter((o) => o.kind === kind && o.metadata?.name === name);
  expect(found, `${kind}/${name}`).toHaveLength(1);
  return found[0]!;
};
const template = (deployment: KubeObject): PodTemplate => deployment.spec!.template!;
const matches = (selector: Labels, labels: Labels) =>
  Object.entries(selector).every(([key, value]) => labels[key] === value);
const runSh = readFileSync(here('run.sh'), 'utf8');
const runShVariable = (name: string) => {
  const match = new RegExp(`^${name}=(\\S+)$`, 'm').exec(runSh);
  if (!match) throw new Error(`run.sh sets no ${name}`);
  return match[1]!;
};

const API_VERSIONS: Record<string, string> = {
  Namespace: 'v1',
  Service: 'v1',
  ServiceAccount: 'v1',
  Deployment: 'apps/v1',
  Role: 'rbac.authorization.k8s.io/v1',
  RoleBinding: 'rbac.authorization.k8s.io/v1',
};

describe('kind example manifests', () => {
  it('are valid YAML documents of known kinds, with the right apiVersion, a name and the demo namespace', () => {
    expect(manifestFiles.length).toBeGreaterThan(0);
    expect(all.map((o) => `${o.kind}/${o.metadata?.name}`).sort()).toEqual(
      [
        'Deployment/client',
        'Deployment/echo',
        'Namespace/endpoint-watch-demo',
        'Role/endpoint-reader',
        'RoleBinding/client-endpoint-reader',
        'Service/echo',
        'ServiceAccount/client',
      ].sort(),
    );
    for (const { file, object } of objects) {
      expect(object.apiVersion, `${file} ${object.kind}`).toBe(API_VERSIONS[object.kind]);
      expect(object.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      if (object.kind !== 'Namespace')
        expect(object.metadata.namespace, `${file} ${object.kind}`).toBe(NAMESPACE);
    }
    // `kubectl apply -f manifests/` goes file by file in name order: the namespace must come first.
    expect(objects[0]?.object.kind).toBe('Namespace');
  });

  it('Deployments select their own pods, and only the echo pods back the echo Service', () => {
    for (const name of ['echo', 'client']) {
      const deployment = find('Deployment', name);
      const selector = deployment.spec?.selector?.matchLabels ?? {};
      expect(Object.keys(selector).length).toBeGreaterThan(0);
      expect(matches(selector, template(deployment).metadata.labels)).toBe(true);
      for (const container of template(deployment).spec.containers) {
        expect(container.name).toBeTruthy();
        expect(container.image).toBeTruthy();
      }
    }
    const selector = find('Service', 'echo').spec?.selector as Labels;
    expect(Object.keys(selector).length).toBeGreaterThan(0);
    expect(matches(selector, template(find('Deployment', 'echo')).metadata.labels)).toBe(true);
    expect(matches(selector, template(find('Deployment', 'client')).metadata.labels)).toBe(false);
  });

  it('the echo Service targets a container port the echo pods declare, and the probe checks it', () => {
    const echo = template(find('Deployment', 'echo')).spec.containers[0]!;
    const ports = echo.ports ?? [];
    const resolves = (port: string | number | undefined) =>
      ports.some((p) => (typeof port === 'number' ? p.containerPort === port : p.name === port));
    const servicePorts = find('Service', 'echo').spec?.ports ?? [];
    expect(servicePorts.length).toBeGreaterThan(0);
    for (const port of servicePorts)
      expect(resolves(port.targetPort ?? port.port), `targetPort ${port.targetPort}`).toBe(true);
    expect(echo.readinessProbe?.httpGet?.path).toBe('/healthz');
    expect(resolves(echo.readinessProbe?.httpGet?.port)).toBe(true);
    // echo.mjs listens on PORT: the one the container declares.
    const listen = Number(echo.env?.find((e) => e.name === 'PORT')?.value ?? 8080);
    expect(ports.map((p) => p.containerPort)).toContain(listen);
  });

  it('the echo Deployment runs 3 replicas spread over the kind zones', () => {
    const deployment = find('Deployment', 'echo');
    expect(deployment.spec?.replicas).toBe(3);
    const [constraint] = template(deployment).spec.topologySpreadConstraints ?? [];
    expect(constraint?.topologyKey).toBe('topology.kubernetes.io/zone');
    expect(
      matches(constraint?.labelSelector.matchLabels ?? { none: 'x' }, template(deployment).metadata.labels),
    ).toBe(true);
  });

  it('the Role grants exactly get, list and watch on endpointslices and endpoints, bound to the client', () => {
    const role = find('Role', 'endpoint-reader');
    const grants = (role.rules ?? []).flatMap((rule) => {
      expect(rule.resourceNames).toBeUndefined();
      return rule.apiGroups.flatMap((group) =>
        rule.resources.flatMap((resource) => rule.verbs.map((verb) => `${group}/${resource}:${verb}`)),
      );
    });
    expect(grants.sort()).toEqual(
      [
        '/endpoints:get',
        '/endpoints:list',
        '/endpoints:watch',
        'discovery.k8s.io/endpointslices:get',
        'discovery.k8s.io/endpointslices:list',
        'discovery.k8s.io/endpointslices:watch',
      ].sort(),
    );

    const binding = find('RoleBinding', 'client-endpoint-reader');
    expect(binding.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: role.metadata.name,
    });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'client', namespace: NAMESPACE }]);
    find('ServiceAccount', 'client');
    expect(template(find('Deployment', 'client')).spec.serviceAccountName).toBe('client');
  });

  it('the client is pointed at the echo Service and its port name', () => {
    const env = Object.fromEntries(
      (template(find('Deployment', 'client')).spec.containers[0]!.env ?? []).map((e) => [e.name, e.value]),
    );
    const service = find('Service', 'echo');
    expect(env.ECHO_SERVICE).toBe(service.metadata.name);
    expect(service.spec?.ports?.map((p) => p.name)).toContain(env.ECHO_PORT);
  });

  it('uses the images run.sh builds and loads into kind (never pulled)', () => {
    const images = { client: runShVariable('client_image'), echo: runShVariable('echo_image') };
    for (const [name, image] of Object.entries(images)) {
      expect(image).toMatch(/^[a-z0-9./-]+:[\w.-]+$/);
      expect(image.endsWith(':latest')).toBe(false); // kind-loaded images must not be pulled
      const container = template(find('Deployment', name)).spec.containers[0]!;
      expect(container.image).toBe(image);
      expect(container.imagePullPolicy).not.toBe('Always');
      expect(runSh).toContain(`--target ${name} --tag "$${name}_image"`);
    }
  });
});

describe('kind example cluster and images', () => {
  it('kind-config.yaml: one control plane, two workers labelled zone-a and zone-b', () => {
    const [config, ...rest] = parseYamlFile(here('kind-config.yaml')) as {
      kind: string;
      apiVersion: string;
      nodes: { role: string; labels?: Labels }[];
    }[];
    expect(rest).toHaveLength(0);
    expect(config?.kind).toBe('Cluster');
    expect(config?.apiVersion).toBe('kind.x-k8s.io/v1alpha4');
    expect(config?.nodes.map((n) => n.role).sort()).toEqual(['control-plane', 'worker', 'worker']);
    const zones = config?.nodes
      .filter((n) => n.role === 'worker')
      .map((n) => n.labels?.['topology.kubernetes.io/zone'])
      .sort();
    expect(zones).toEqual(['zone-a', 'zone-b']);
  });

  it('the Dockerfile builds both targets from node:20-slim only and runs them as non-root', () => {
    const dockerfile = readFileSync(here('Dockerfile'), 'utf8');
    const stages = [...dockerfile.matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/gim)].map((m) => ({
      image: m[1],
      name: m[2],
    }));
    const names = stages.map((s) => s.name);
    for (const stage of stages)
      expect(stage.image === 'node:20-slim' || names.includes(stage.image)).toBe(true);
    expect(names).toEqual(expect.arrayContaining(['build', 'client', 'echo']));
    expect(dockerfile).toMatch(/npm install --global pnpm@\d+\.\d+\.\d+/);
    expect(dockerfile).toMatch(/pnpm install --frozen-lockfile/);
    expect(dockerfile).toMatch(/deploy --prod \/app/);
    expect(dockerfile.match(/^USER node$/gm)).toHaveLength(2);
    // the runtime command of each target is the program this example ships
    expect(dockerfile).toContain('CMD ["node", "src/client.mjs"]');
    expect(dockerfile).toContain('COPY examples/kind/src/echo.mjs ./');
  });
});
