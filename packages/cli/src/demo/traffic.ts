/**
 * The demo's client: steady GET traffic, at most `rate` per second and `concurrency` at once, sent
 * through `createBalancedAgent` to the pods of the Service, with every request and every attempt
 * counted (see `ledger.ts` for what each count means).
 */
import {
  type Balancer,
  createBalancer,
  endpointKey,
  type Lease,
  type StrategyName,
} from '@endpoint-watch/balancer';
import type { EndpointSet } from '@endpoint-watch/core';
import { type BalancedAgent, createBalancedAgent } from '@endpoint-watch/undici';
import type { Observable } from 'rxjs';
import { request } from 'undici';
import { sleep } from '../io.js';
import { AttemptLedger, RequestTally } from './ledger.js';

export interface TrafficOptions {
  readonly endpoints: Observable<EndpointSet>;
  /** What the client's code asks for: `http://web.shop.svc.cluster.local/`. The agent dials the pods. */
  readonly url: string;
  readonly rate: number;
  readonly concurrency: number;
  readonly strategy: StrategyName;
  /** `namespace/service`, for errors before the first set. */
  readonly name: string;
}

/**
 * A `Balancer` that counts every lease taken and released in `ledger`, and otherwise is `inner`.
 * Passed to the agent as `{ balancer }`, so the agent never closes it.
 */
export function recordingBalancer(inner: Balancer, ledger: AttemptLedger): Balancer {
  const record = (lease: Lease): Lease => {
    const key = endpointKey(lease.endpoint);
    ledger.picked(key);
    let released = false;
    return {
      endpoint: lease.endpoint,
      release(outcome) {
        if (released) return;
        released = true;
        ledger.released(key, outcome);
        lease.release(outcome);
      },
    };
  };
  return {
    pick(key, options) {
      const lease = inner.pick(key, options);
      return lease && record(lease);
    },
    async waitForPick(key, options) {
      return record(await inner.waitForPick(key, options));
    },
    get endpoints() {
      return inner.endpoints;
    },
    stats: () => inner.stats(),
    get stats$() {
      return inner.stats$;
    },
    close: () => inner.close(),
  };
}

export class TrafficClient {
  readonly ledger = new AttemptLedger();
  readonly requests = new RequestTally();
  /** The balancer (its own stats: ejections, latency estimates, lifetime totals). */
  readonly balancer: Balancer;
  readonly agent: BalancedAgent;
  readonly #options: TrafficOptions;
  readonly #stop = new AbortController();
  #workers: Promise<void>[] = [];
  #nextAt = 0;

  constructor(options: TrafficOptions) {
    this.#options = options;
    this.balancer = createBalancer(options.endpoints, { strategy: options.strategy, name: options.name });
    this.agent = createBalancedAgent(
      { balancer: recordingBalancer(this.balancer, this.ledger) },
      { headersTimeout: 10_000, bodyTimeout: 10_000, connectTimeout: 2_000, keepAliveTimeout: 4_000 },
    );
  }

  start(): void {
    this.#nextAt = performance.now();
    for (let i = 0; i < this.#options.concurrency; i++) this.#workers.push(this.#worker());
  }

  /** No new requests; resolves when every request sent has ended (and been counted). */
  async stop(): Promise<void> {
    this.#stop.abort();
    await Promise.all(this.#workers);
  }

  /** Closes the agent (its pools) and the balancer. Call after `stop`. */
  async close(): Promise<void> {
    await this.agent.close();
    this.balancer.close();
  }

  async #worker(): Promise<void> {
    const interval = 1000 / this.#options.rate;
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      // One shared schedule of slots `interval` apart: never above `rate`, and no burst after a stall.
      const now = performance.now();
      const slot = Math.max(this.#nextAt, now);
      this.#nextAt = slot + interval;
      if (slot > now) await sleep(slot - now, signal);
      if (signal.aborted) break;
      await this.#send();
    }
  }

  async #send(): Promise<void> {
    this.requests.start();
    try {
      const { statusCode, body } = await request(this.#options.url, {
        dispatcher: this.agent,
        method: 'GET',
      });
      await body.text();
      if (statusCode >= 200 && statusCode < 300) this.requests.succeed();
      else this.requests.fail(`HTTP_${statusCode}`);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      this.requests.fail(typeof code === 'string' ? code : error instanceof Error ? error.name : 'ERROR');
    }
  }
}
