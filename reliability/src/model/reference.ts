/**
 * The TRUE endpoints of a Service port, computed from the server's stored EndpointSlices with none
 * of the SDK's code: a reference the SDK's sets are checked against. Deliberately naive (rebuilt
 * from scratch every time, no indexes) so that it is obviously right.
 */
import type { KubeObject } from '@endpoint-watch/testing';

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** One endpoint as the comparison sees it: where, and its three conditions with nil resolved. */
export interface EndpointFacts {
  readonly address: string;
  readonly port: number;
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
}

/** A Service port's endpoints in canonical form: sorted `endpointText` lines. */
export interface EndpointState {
  /** Every endpoint of the port, one per address:port. */
  readonly all: readonly string[];
  /** What traffic goes to: the ready ones; when none is ready, the serving-and-terminating ones. */
  readonly endpoints: readonly string[];
}

export function endpointText(e: EndpointFacts): string {
  return `${e.address}:${e.port}${e.ready ? ' ready' : ''}${e.serving ? ' serving' : ''}${e.terminating ? ' terminating' : ''}`;
}

/** One string per state, for equality and for messages. */
export function stateKey(state: EndpointState): string {
  return `[${state.all.join(', ')}] -> [${state.endpoints.join(', ')}]`;
}

/** The canonical state of a list of endpoints (the SDK's `set.all`, or the model's winners). */
export function stateOf(all: readonly EndpointFacts[]): EndpointState {
  const anyReady = all.some((e) => e.ready);
  const chosen = all.filter((e) => (anyReady ? e.ready : e.serving && e.terminating));
  return { all: all.map(endpointText).sort(), endpoints: chosen.map(endpointText).sort() };
}

interface RawEndpoint {
  addresses?: unknown;
  conditions?: { ready?: unknown; serving?: unknown; terminating?: unknown } | null;
}

interface RawPort {
  name?: unknown;
  port?: unknown;
}

/** kube-proxy's choice between two copies of one address:port: not terminating first, then ready. */
function better(a: EndpointFacts, b: EndpointFacts): EndpointFacts {
  if (a.terminating !== b.terminating) return a.terminating ? b : a;
  if (a.ready !== b.ready) return a.ready ? a : b;
  return a;
}

/**
 * The state of `service`'s port `portName` in `namespace`, from every stored slice: union over the
 * slices that carry that port, dedupe by address:port, ready nil = true, serving nil = true,
 * terminating nil = false.
 */
export function trueState(
  slices: readonly KubeObject[],
  target: { readonly namespace: string; readonly service: string; readonly portName: string },
): EndpointState {
  const winners = new Map<string, EndpointFacts>();
  for (const slice of slices) {
    if (slice.metadata.namespace !== target.namespace) continue;
    if (slice.metadata.labels?.[SERVICE_NAME_LABEL] !== target.service) continue;
    const port = ((slice.ports as RawPort[] | null | undefined) ?? []).find(
      (p) => p.name === target.portName,
    );
    if (port === undefined || typeof port.port !== 'number') continue;
    for (const endpoint of (slice.endpoints as RawEndpoint[] | null | undefined) ?? []) {
      const c = endpoint.conditions ?? {};
      for (const address of (endpoint.addresses as string[] | undefined) ?? []) {
        const facts: EndpointFacts = {
          address,
          port: port.port,
          ready: c.ready !== false,
          serving: c.serving !== false,
          terminating: c.terminating === true,
        };
        const key = `${address}:${port.port}`;
        const seen = winners.get(key);
        winners.set(key, seen === undefined ? facts : better(seen, facts));
      }
    }
  }
  return stateOf([...winners.values()]);
}
