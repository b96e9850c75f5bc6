/**
 * Reading a `kubernetes:` target, pure. grpc-js hands the resolver the URI already split into
 * scheme, authority and path; the Service is in the path:
 *
 *   kubernetes:///web.shop:grpc      Service web, namespace shop, port named grpc
 *   kubernetes:///web:8080           namespace of the KubeClient, Service port 8080
 *   kubernetes:///web.shop.svc.cluster.local:grpc   the DNS name works too
 *   kubernetes://web.shop:grpc       (no third slash: grpc-js puts it in the authority)
 *
 * The port is optional when the Service has a single port, as for `watchEndpoints`.
 */
import { KubernetesTargetError } from './errors.js';

export interface KubernetesTarget {
  readonly service: string;
  /** Absent: the KubeClient's namespace (kubeconfig context, in-cluster namespace, or `default`). */
  readonly namespace: string | undefined;
  /** A port name, or a number (a Service port first, as `watchEndpoints` reads it). */
  readonly port: string | number | undefined;
}

/** grpc-js' `GrpcUri`, structurally, so this file needs nothing of grpc-js. */
export interface TargetUri {
  readonly scheme?: string | undefined;
  readonly authority?: string | undefined;
  readonly path: string;
}

/** RFC 1123 label: a Service name and a namespace are both one (a Service name is even stricter). */
const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** An IANA service name, as a Service port name must be (≤ 15 characters, one letter at least). */
const PORT_NAME = /^(?=.*[a-z])[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$/;

export function parseKubernetesTarget(uri: TargetUri): KubernetesTarget {
  const text = `${uri.scheme ?? 'kubernetes'}://${uri.authority ?? ''}/${uri.path}`;
  // `kubernetes://web.shop:grpc` (two slashes, no third) reaches us as the path `//web.shop:grpc`.
  const path = uri.path.replace(/^\/+/, '');
  const name = path === '' ? (uri.authority ?? '') : path;
  if (name === '') throw new KubernetesTargetError(text, 'no Service named');
  const colon = name.lastIndexOf(':');
  const host = colon === -1 ? name : name.slice(0, colon);
  const portText = colon === -1 ? undefined : name.slice(colon + 1);
  const [service = '', namespace, ...rest] = host.split('.');
  if (!LABEL.test(service)) throw new KubernetesTargetError(text, `"${service}" is not a Service name`);
  if (namespace !== undefined && !LABEL.test(namespace))
    throw new KubernetesTargetError(text, `"${namespace}" is not a namespace`);
  // service.namespace.svc[.cluster.domain]: the DNS name of the Service, read as the same Service.
  if (rest.length > 0 && rest[0] !== 'svc')
    throw new KubernetesTargetError(
      text,
      `"${host}" is not service, service.namespace or service.namespace.svc…`,
    );
  return { service, namespace, port: parsePort(text, portText) };
}

function parsePort(text: string, port: string | undefined): string | number | undefined {
  if (port === undefined) return undefined;
  if (/^\d+$/.test(port)) {
    const number = Number(port);
    if (number >= 1 && number <= 65535) return number;
    throw new KubernetesTargetError(text, `port ${port} is out of range`);
  }
  if (PORT_NAME.test(port)) return port;
  throw new KubernetesTargetError(text, `"${port}" is not a port name or number`);
}

/**
 * The authority (HTTP/2 `:authority`) calls carry by default: the Service's cluster DNS name, with
 * the port when it is a number. `grpc.default_authority` overrides it.
 */
export function defaultAuthority(target: KubernetesTarget, namespace: string): string {
  const host = `${target.service}.${target.namespace ?? namespace}.svc`;
  return typeof target.port === 'number' ? `${host}:${target.port}` : host;
}

/** `shop/web:grpc`, for messages. */
export function describeTarget(target: KubernetesTarget, namespace: string): string {
  const port = target.port === undefined ? '' : `:${target.port}`;
  return `${target.namespace ?? namespace}/${target.service}${port}`;
}
