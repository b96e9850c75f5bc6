/**
 * A port number given by the user is first a Service port, as kube-proxy reads it: EndpointSlices
 * carry the Service port's name with the target port's number, so `port: 80` of a Service 80→8080
 * must follow the slices' port named like the Service's port 80. That takes reading the Service
 * (`get` on services, which a watcher of EndpointSlices may lack).
 */
import { KubeApiError } from '../transport/kube-api-error.js';
import type { KubeClient } from '../transport/kube-client.js';

export interface ServicePortLookup {
  /** The name of the Service port numbered so (`''` for a single unnamed one); undefined: match the number against the slices' ports. */
  readonly name: string | undefined;
  /**
   * Why the number is matched against the slices' (target) ports, when that is a fallback worth
   * telling: the Service cannot be read, or has no port with that number.
   */
  readonly fallback?: string;
}

/** Reads the Service once; never throws (an unreadable Service is a fallback, told in `fallback`). */
export async function lookUpServicePort(
  client: KubeClient,
  namespace: string,
  service: string,
  port: number,
): Promise<ServicePortLookup> {
  const matchedAgainstSlices = `port ${port} is matched against the ports of its EndpointSlices (target ports), not the Service's ports`;
  let object: unknown;
  try {
    object = await client.getJson(
      `/api/v1/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(service)}`,
    );
  } catch (error) {
    return {
      name: undefined,
      fallback: `cannot read Service ${namespace}/${service} (${why(error)}): ${matchedAgainstSlices}`,
    };
  }
  const ports = (object as { spec?: { ports?: unknown } } | null)?.spec?.ports;
  const matches = (Array.isArray(ports) ? ports : []).filter(
    (p): p is { name?: unknown; port: number } =>
      typeof p === 'object' && p !== null && (p as { port?: unknown }).port === port,
  );
  if (matches.length === 0) {
    return {
      name: undefined,
      fallback: `Service ${namespace}/${service} has no port ${port}: ${matchedAgainstSlices}`,
    };
  }
  // One Service port number may serve TCP and UDP under two names: then the number decides.
  if (matches.length !== 1) return { name: undefined };
  const name = matches[0]?.name;
  return { name: typeof name === 'string' ? name : '' };
}

function why(error: unknown): string {
  if (error instanceof KubeApiError) {
    const reason = error.status.reason ? ` ${error.status.reason}` : '';
    const grant =
      error.statusCode === 403
        ? ': reading it needs get on services'
        : error.statusCode === 404
          ? ': no such Service'
          : '';
    return `${error.statusCode}${reason}${grant}`;
  }
  return error instanceof Error ? error.message : String(error);
}
