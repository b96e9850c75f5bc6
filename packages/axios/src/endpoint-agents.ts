import http from 'node:http';
import https from 'node:https';
import { type Balancer, EndpointResources, endpointKey } from '@endpoint-watch/balancer';
import type { Endpoint } from '@endpoint-watch/core';
import type { EndpointAgentInfo, EndpointAgentOptions, PodTlsOptions } from './types.js';
import type { Target } from './url.js';

/** One keep-alive agent for one endpoint (and, for https, one logical host name). */
export interface AgentEntry {
  readonly agent: http.Agent;
  readonly endpoint: string;
  readonly protocol: 'http:' | 'https:';
  readonly servername: string | undefined;
  inFlight: number;
  retired: boolean;
}

const count = (lists: NodeJS.ReadOnlyDict<unknown[]>): number =>
  Object.values(lists).reduce((n, list) => n + (list?.length ?? 0), 0);

/**
 * The http adapter's connections: one keep-alive `http.Agent`/`https.Agent` per endpoint, created
 * on first use. Node agents key their sockets by host name, not by the address dialled, so sharing
 * one agent would reuse a socket to pod A for a request picked for pod B; one agent per endpoint
 * keeps every request on the connection to the pod it was picked for.
 *
 * Follows the balancer's membership (`EndpointResources`, O(changed) per set change): when an
 * endpoint leaves the set its agent is retired (no new request uses it) and destroyed, with its sockets, as soon as the attempts running on it are done.
 */
export class EndpointAgents {
  readonly #agentOptions: EndpointAgentOptions;
  readonly #tls: PodTlsOptions;
  /** Agents in use, each under its endpoint. */
  readonly #entries: EndpointResources<AgentEntry>;
  readonly #retired = new Set<AgentEntry>();
  #closed = false;

  constructor(balancer: Balancer, agentOptions: EndpointAgentOptions = {}, tlsOptions: PodTlsOptions = {}) {
    this.#agentOptions = agentOptions;
    this.#tls = tlsOptions;
    this.#entries = new EndpointResources(balancer, (entry) => this.#retire(entry));
  }

  /** The agent for an attempt to `endpoint`; call `done` when the attempt is over. */
  acquire(target: Target, endpoint: Endpoint): AgentEntry {
    const key = endpointKey(endpoint);
    const id = `${target.protocol}//${key} ${target.protocol === 'https:' ? target.hostname : ''}`;
    const existing = this.#entries.get(id);
    if (existing !== undefined) {
      existing.inFlight += 1;
      return existing;
    }
    const entry = this.#create(target, key);
    entry.inFlight = 1;
    if (this.#closed || !this.#entries.has(key)) {
      // Picked just before it left (or while closing): a one-off agent, destroyed after this attempt.
      this.#retire(entry);
    } else {
      this.#entries.add(id, key, entry);
    }
    return entry;
  }

  done(entry: AgentEntry): void {
    entry.inFlight -= 1;
    if (entry.retired && entry.inFlight === 0) this.#destroy(entry);
  }

  info(): EndpointAgentInfo[] {
    return [...this.#entries.values(), ...this.#retired].map((entry) => ({
      endpoint: entry.endpoint,
      protocol: entry.protocol,
      servername: entry.servername,
      retired: entry.retired,
      inFlight: entry.inFlight,
      sockets: count(entry.agent.sockets),
      freeSockets: count(entry.agent.freeSockets),
    }));
  }

  /** Retires every agent: idle ones are destroyed now, busy ones when their attempts are done. */
  close(): void {
    this.#closed = true;
    for (const entry of this.#entries.takeAll()) this.#retire(entry);
  }

  #create(target: Target, key: string): AgentEntry {
    const base = { keepAlive: true, ...this.#agentOptions };
    let agent: http.Agent;
    if (target.protocol === 'https:') {
      agent = new https.Agent({
        ...base,
        ...this.#tls,
        // SNI, and so certificate verification, for the logical host name, not the pod IP (also when
        // the caller sets its own Host header, from which Node would otherwise take it).
        ...(target.servername === undefined ? {} : { servername: target.servername }),
      });
    } else {
      agent = new http.Agent(base);
    }
    return {
      agent,
      endpoint: key,
      protocol: target.protocol,
      servername: target.servername,
      inFlight: 0,
      retired: false,
    };
  }

  #retire(entry: AgentEntry): void {
    entry.retired = true;
    if (entry.inFlight === 0) this.#destroy(entry);
    else this.#retired.add(entry);
  }

  #destroy(entry: AgentEntry): void {
    this.#retired.delete(entry);
    entry.agent.destroy();
  }
}
