/**
 * Bounded request loops through the undici and axios adapters, balanced over the watched pods
 * while they die and come back. Each request carries an id the pods record, so a failure can be
 * matched with the pods that saw it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { detachEndpointBalancing, withEndpointBalancing } from '@endpoint-watch/axios';
import type { EndpointSet } from '@endpoint-watch/core';
import { seededRandom } from '@endpoint-watch/testing';
import { createBalancedAgent } from '@endpoint-watch/undici';
import axios from 'axios';
import type { Observable } from 'rxjs';
import { request } from 'undici';
import type { RequestOutcome } from '../checks/requests.js';

export const REQUEST_ID_HEADER = 'x-chaos-request';

export interface TrafficOptions {
  readonly endpoints: Observable<EndpointSet>;
  /** The Service's logical URL (never dialled: the adapters rewrite it to a pod). */
  readonly url: string;
  readonly seed: number;
  /** Loops per adapter. */
  readonly loops: number;
  /** Pause between two requests of a loop. */
  readonly pauseMs: number;
  /** Hard cap on the requests of one loop (the loops also stop at `stop()`). */
  readonly maxRequestsPerLoop: number;
  /** Which pods received a request (filled by the pods' handler). */
  readonly seenBy: ReadonlyMap<string, readonly string[]>;
  /** Each request as it ends (judged at once: a long run keeps no list). */
  readonly onOutcome: (outcome: RequestOutcome) => void;
}

export interface Traffic {
  /** Lets every loop finish its current request, then closes the adapters; resolves with the count. */
  stop(): Promise<number>;
}

type Send = (id: string, method: 'GET' | 'POST') => Promise<void>;

export function startTraffic(options: TrafficOptions): Traffic {
  const agent = createBalancedAgent({ endpoints: options.endpoints }, { maxAttempts: 3 });
  const api = withEndpointBalancing(
    axios.create({ baseURL: options.url }),
    { endpoints: options.endpoints },
    {
      maxAttempts: 3,
    },
  );
  const viaUndici: Send = async (id, method) => {
    const res = await request(`${options.url}/r/${id}`, {
      dispatcher: agent,
      method,
      headers: { [REQUEST_ID_HEADER]: id },
      ...(method === 'POST' ? { body: `{"id":"${id}"}` } : {}),
    });
    await res.body.text();
    if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
  };
  const random = seededRandom(options.seed);
  const viaAxios: Send = async (id, method) => {
    await api.request({
      url: `/r/${id}`,
      method,
      headers: { [REQUEST_ID_HEADER]: id },
      adapter: random() < 0.3 ? 'fetch' : 'http',
      ...(method === 'POST' ? { data: { id } } : {}),
    });
  };

  let stopped = false;
  let sent = 0;
  const loop = async (adapter: string, send: Send, n: number) => {
    for (let i = 0; i < options.maxRequestsPerLoop && !stopped; i++) {
      const id = `${adapter}-${n}-${i}`;
      const method = random() < 0.8 ? 'GET' : 'POST';
      const startedAt = Date.now();
      let error: unknown;
      try {
        await send(id, method);
      } catch (caught) {
        error = caught ?? new Error('rejected without a reason');
      }
      sent++;
      options.onOutcome({
        id,
        adapter,
        method,
        startedAt,
        endedAt: Date.now(),
        error,
        seenBy: options.seenBy.get(id) ?? [],
      });
      await sleep(options.pauseMs);
    }
  };
  const loops: Promise<void>[] = [];
  for (let n = 0; n < options.loops; n++)
    loops.push(loop('undici', viaUndici, n), loop('axios', viaAxios, n));
  return {
    async stop() {
      stopped = true;
      await Promise.all(loops);
      await Promise.all([agent.close(), detachEndpointBalancing(api)]);
      return sent;
    },
  };
}
