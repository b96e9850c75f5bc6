/**
 * What a 403 from the apiserver asks for, in RBAC terms: the resource, namespace and verb refused
 * and who was refused, read from the request's path and the RBAC authorizer's message. RBAC
 * refusals are the most common reason a new client sees nothing, and the bare message does not say
 * what the Role must contain; the CLI, the gRPC resolver and errors all say it the same way.
 */
import type { KubeApiError } from './kube-api-error.js';

export interface RbacGrant {
  /** `endpointslices.discovery.k8s.io`, `endpoints`, `services`: as `kubectl create role --resource` takes it. */
  readonly resource: string;
  readonly namespace: string;
  /** The verb refused, from the apiserver's message (`cannot watch resource …`); `list` when it does not say. */
  readonly verb: string;
  /**
   * kubectl's subject flag for the identity refused: `--serviceaccount=<ns>:<name>` or `--user=<name>`;
   * a placeholder when the message names nobody.
   */
  readonly subject: string;
  /** The two commands that grant list and watch on the resource to that identity. */
  readonly commands: readonly [role: string, binding: string];
  /** One sentence for error messages: `grant list and watch on … in namespace … to …, e.g. <commands>`. */
  readonly advice: string;
}

const NAMESPACED_PATH = /^\/(?:api|apis\/([^/]+))\/[^/]+\/namespaces\/([^/]+)\/([^/?]+)/;

/** The grant a 403 asks for; undefined for any other error. `namespace`: when the path has none. */
export function rbacGrantFor(error: KubeApiError, namespace = 'default'): RbacGrant | undefined {
  if (error.statusCode !== 403) return undefined;
  const match = NAMESPACED_PATH.exec(error.path);
  const group = match?.[1];
  const plural = match?.[3] ?? 'endpointslices';
  const resource = group
    ? `${plural}.${group}`
    : plural === 'endpointslices'
      ? `${plural}.discovery.k8s.io`
      : plural;
  const where = match?.[2] ? decodeURIComponent(match[2]) : namespace;
  const verb = /cannot (\w+) resource/.exec(error.status.message)?.[1] ?? 'list';
  const subject = subjectFlag(error.status.message);
  const commands = [
    `kubectl create role endpoint-watch -n ${where} --verb=list,watch --resource=${resource}`,
    `kubectl create rolebinding endpoint-watch -n ${where} --role=endpoint-watch ${subject}`,
  ] as const;
  return {
    resource,
    namespace: where,
    verb,
    subject,
    commands,
    advice: `grant list and watch on ${resource} in namespace ${where} to the client's identity, e.g. ${commands[0]} and ${commands[1]}`,
  };
}

/** The RBAC subject of the authorizer's message: `User "system:serviceaccount:ns:name"` or a user name. */
function subjectFlag(message: string): string {
  const user = /User "([^"]+)"/.exec(message)?.[1];
  const account = user ? /^system:serviceaccount:([^:]+):(.+)$/.exec(user) : null;
  if (account) return `--serviceaccount=${account[1]}:${account[2]}`;
  if (user) return `--user=${user}`;
  return '--user=<your user> (or --serviceaccount=<namespace>:<name>)';
}
