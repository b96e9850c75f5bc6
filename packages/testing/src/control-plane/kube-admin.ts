/**
 * A small REST client with the control plane's admin token, for arranging what a test needs: Nodes,
 * Services, Pods and their status (what a kubelet would report), RBAC, ServiceAccount tokens.
 */
import { Agent, request } from 'undici';

export class KubeAdminError extends Error {
  readonly code = 'ERR_KUBE_ADMIN';
  override name = 'KubeAdminError';
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly reason: string | undefined,
    message: string,
  ) {
    super(`${method} ${path}: HTTP ${status}${reason === undefined ? '' : ` ${reason}`}: ${message}`);
  }
}

/** A Kubernetes object as JSON. */
// biome-ignore lint/suspicious/noExplicitAny: arbitrary Kubernetes objects
export type KubeJson = Record<string, any>;

export interface ServicePortSpec {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  appProtocol?: string;
}

export interface ServiceSpec {
  name: string;
  namespace?: string;
  ports: readonly ServicePortSpec[];
  /** Pod label selector (default `{ app: name }`). */
  selector?: Record<string, string>;
  ipFamilies?: readonly ('IPv4' | 'IPv6')[];
  ipFamilyPolicy?: 'SingleStack' | 'PreferDualStack' | 'RequireDualStack';
  /** `None` for a headless Service. */
  clusterIP?: string;
  publishNotReadyAddresses?: boolean;
}

export interface PodSpec {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  /** The Node the pod is bound to (must exist, or the endpoint controllers skip the pod). */
  nodeName: string;
  /** Pod IPs, one per family (first is `podIP`); none leaves the pod Pending without an address. */
  ips?: readonly string[];
  /** Whether the Ready condition is True (default true when `ips` are given). */
  ready?: boolean;
  /** Container ports (named ports resolve Service `targetPort` names). */
  containerPorts?: readonly { name?: string; containerPort: number; protocol?: string }[];
  /** Finalizers: a pod with one stays terminating after deletion (no kubelet finishes it). */
  finalizers?: readonly string[];
}

export interface GrantSpec {
  namespace: string;
  /** Name of the Role and RoleBinding. */
  name: string;
  subject: { kind: 'ServiceAccount'; name: string; namespace?: string } | { kind: 'User'; name: string };
  rules: readonly { apiGroups: readonly string[]; resources: readonly string[]; verbs: readonly string[] }[];
}

const enc = encodeURIComponent;

export class KubeAdmin {
  readonly #url: string;
  readonly #token: string;
  readonly #agent: Agent;

  constructor(url: string, token: string, ca: string) {
    this.#url = url.replace(/\/+$/, '');
    this.#token = token;
    this.#agent = new Agent({ connect: { ca }, headersTimeout: 30_000, bodyTimeout: 30_000 });
  }

  /** One request; a non-2xx answer throws {@link KubeAdminError} with the Status message. */
  async request<T = KubeJson>(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<T> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.#token}`,
      accept: 'application/json',
    };
    if (body !== undefined) headers['content-type'] = contentType;
    const response = await request(`${this.#url}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      dispatcher: this.#agent,
    });
    const text = await response.body.text();
    if (response.statusCode >= 200 && response.statusCode < 300)
      return (text === '' ? {} : JSON.parse(text)) as T;
    let reason: string | undefined;
    let message = text.slice(0, 2_000);
    try {
      const status = JSON.parse(text) as { reason?: string; message?: string };
      reason = status.reason;
      message = status.message ?? message;
    } catch {}
    throw new KubeAdminError(method, path, response.statusCode, reason, message);
  }

  get<T = KubeJson>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  create<T = KubeJson>(path: string, object: KubeJson): Promise<T> {
    return this.request<T>('POST', path, object);
  }

  /** A strategic merge patch (merges lists such as pod conditions by their key). */
  patch<T = KubeJson>(path: string, patch: KubeJson, type: 'strategic' | 'merge' = 'strategic'): Promise<T> {
    return this.request<T>(
      'PATCH',
      path,
      patch,
      `application/${type === 'merge' ? 'merge' : 'strategic-merge'}-patch+json`,
    );
  }

  /** Deletes; a missing object is not an error. */
  async delete(path: string, options: { gracePeriodSeconds?: number } = {}): Promise<void> {
    const body =
      options.gracePeriodSeconds === undefined
        ? undefined
        : { gracePeriodSeconds: options.gracePeriodSeconds };
    try {
      await this.request('DELETE', path, body);
    } catch (error) {
      if (!(error instanceof KubeAdminError && error.status === 404)) throw error;
    }
  }

  /** Creates a namespace and waits for its `default` ServiceAccount (pods are refused until it exists). */
  async createNamespace(name: string, timeoutMs = 30_000): Promise<void> {
    await this.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    await this.waitForServiceAccount(name, 'default', timeoutMs);
  }

  async waitForServiceAccount(namespace: string, name: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await this.get(`/api/v1/namespaces/${enc(namespace)}/serviceaccounts/${enc(name)}`);
        return;
      } catch (error) {
        if (!(error instanceof KubeAdminError && error.status === 404) || Date.now() > deadline) throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  createServiceAccount(namespace: string, name: string): Promise<KubeJson> {
    return this.create(`/api/v1/namespaces/${enc(namespace)}/serviceaccounts`, {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name },
    });
  }

  /** A bound ServiceAccount token from the TokenRequest API (what the kubelet mounts in a pod). */
  async serviceAccountToken(
    namespace: string,
    serviceAccount: string,
    options: { expirationSeconds?: number; audiences?: readonly string[] } = {},
  ): Promise<string> {
    const answer = await this.create(
      `/api/v1/namespaces/${enc(namespace)}/serviceaccounts/${enc(serviceAccount)}/token`,
      {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: {
          expirationSeconds: options.expirationSeconds ?? 3_600,
          ...(options.audiences === undefined ? {} : { audiences: options.audiences }),
        },
      },
    );
    return String(answer.status.token);
  }

  /** A Node, labeled with its zone when given (the controllers copy it into endpoints). */
  createNode(name: string, options: { zone?: string } = {}): Promise<KubeJson> {
    const labels: Record<string, string> = { 'kubernetes.io/hostname': name };
    if (options.zone !== undefined) labels['topology.kubernetes.io/zone'] = options.zone;
    return this.create('/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name, labels } });
  }

  createService(spec: ServiceSpec): Promise<KubeJson> {
    const namespace = spec.namespace ?? 'default';
    return this.create(`/api/v1/namespaces/${enc(namespace)}/services`, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: spec.name },
      spec: {
        selector: spec.selector ?? { app: spec.name },
        ports: spec.ports.map((port) => ({ protocol: 'TCP', ...port })),
        ...(spec.ipFamilies === undefined ? {} : { ipFamilies: spec.ipFamilies }),
        ...(spec.ipFamilyPolicy === undefined ? {} : { ipFamilyPolicy: spec.ipFamilyPolicy }),
        ...(spec.clusterIP === undefined ? {} : { clusterIP: spec.clusterIP }),
        ...(spec.publishNotReadyAddresses === undefined
          ? {}
          : { publishNotReadyAddresses: spec.publishNotReadyAddresses }),
      },
    });
  }

  /** Creates a pod bound to a Node and, when it has IPs, reports it running as a kubelet would. */
  async createPod(spec: PodSpec): Promise<KubeJson> {
    const namespace = spec.namespace ?? 'default';
    const pod = await this.create(`/api/v1/namespaces/${enc(namespace)}/pods`, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: spec.name,
        labels: spec.labels ?? {},
        ...(spec.finalizers === undefined ? {} : { finalizers: spec.finalizers }),
      },
      spec: {
        nodeName: spec.nodeName,
        automountServiceAccountToken: false,
        terminationGracePeriodSeconds: 30,
        containers: [
          {
            name: 'app',
            image: 'registry.invalid/endpoint-watch/pod:1',
            ...(spec.containerPorts === undefined ? {} : { ports: spec.containerPorts }),
          },
        ],
      },
    });
    if (spec.ips === undefined || spec.ips.length === 0) return pod;
    return this.setPodStatus(namespace, spec.name, { ips: spec.ips, ready: spec.ready ?? true });
  }

  /** What a kubelet reports: phase Running, the pod IPs, and Ready/ContainersReady as asked. */
  setPodStatus(
    namespace: string,
    name: string,
    status: { ips: readonly string[]; ready: boolean },
  ): Promise<KubeJson> {
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const value = status.ready ? 'True' : 'False';
    return this.patch(`/api/v1/namespaces/${enc(namespace)}/pods/${enc(name)}/status`, {
      status: {
        phase: 'Running',
        podIP: status.ips[0],
        podIPs: status.ips.map((ip) => ({ ip })),
        hostIP: '198.18.255.254',
        startTime: now,
        conditions: [
          { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
          { type: 'Initialized', status: 'True', lastTransitionTime: now },
          { type: 'ContainersReady', status: value, lastTransitionTime: now },
          { type: 'Ready', status: value, lastTransitionTime: now },
        ],
      },
    });
  }

  /** Flips the pod's Ready and ContainersReady conditions, keeping its IPs. */
  async setPodReady(namespace: string, name: string, ready: boolean): Promise<KubeJson> {
    const pod = await this.get(`/api/v1/namespaces/${enc(namespace)}/pods/${enc(name)}`);
    const ips = ((pod.status?.podIPs ?? []) as { ip: string }[]).map((entry) => entry.ip);
    return this.setPodStatus(namespace, name, { ips, ready });
  }

  /**
   * Deletes a pod. Without a kubelet a graceful delete never finishes, so the default is immediate
   * (`gracePeriodSeconds: 0`); a pod with finalizers stays terminating until they are removed.
   */
  deletePod(namespace: string, name: string, options: { gracePeriodSeconds?: number } = {}): Promise<void> {
    return this.delete(`/api/v1/namespaces/${enc(namespace)}/pods/${enc(name)}`, {
      gracePeriodSeconds: options.gracePeriodSeconds ?? 0,
    });
  }

  removeFinalizers(namespace: string, name: string): Promise<KubeJson> {
    return this.patch(
      `/api/v1/namespaces/${enc(namespace)}/pods/${enc(name)}`,
      { metadata: { finalizers: null } },
      'merge',
    );
  }

  /** A Role with `rules` and a RoleBinding of it to `subject`, both named `name`. */
  async grant(spec: GrantSpec): Promise<void> {
    const base = `/apis/rbac.authorization.k8s.io/v1/namespaces/${enc(spec.namespace)}`;
    await this.create(`${base}/roles`, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: spec.name },
      rules: spec.rules,
    });
    const subject =
      spec.subject.kind === 'ServiceAccount'
        ? {
            kind: 'ServiceAccount',
            name: spec.subject.name,
            namespace: spec.subject.namespace ?? spec.namespace,
          }
        : { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: spec.subject.name };
    await this.create(`${base}/rolebindings`, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: spec.name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: spec.name },
      subjects: [subject],
    });
  }

  /** Removes the RoleBinding (and Role) made by {@link grant}. */
  async revoke(namespace: string, name: string): Promise<void> {
    const base = `/apis/rbac.authorization.k8s.io/v1/namespaces/${enc(namespace)}`;
    await this.delete(`${base}/rolebindings/${enc(name)}`);
    await this.delete(`${base}/roles/${enc(name)}`);
  }

  /** The EndpointSlices of a Service, as the controller wrote them. */
  async endpointSlices(namespace: string, service: string): Promise<KubeJson[]> {
    const selector = enc(`kubernetes.io/service-name=${service}`);
    const list = await this.get(
      `/apis/discovery.k8s.io/v1/namespaces/${enc(namespace)}/endpointslices?labelSelector=${selector}`,
    );
    return list.items as KubeJson[];
  }

  close(): Promise<void> {
    return this.#agent.close();
  }
}
