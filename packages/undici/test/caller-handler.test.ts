import { type Dispatcher, Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useAttemptForm } from '../src/attempt.js';
import { eventually, type PodRequest, useBalancedAgent, within } from './support.js';

/**
 * `createBalancedAgent` speaks to each caller's handler in its own API (undici's legacy one, which
 * `request`, `stream`, `pipeline` and `fetch` use, or the controller one), and to the pools in the
 * one undici's core speaks natively (legacy on undici 7, controller on 8): no adapter in between
 * re-encodes the headers. Each behaviour the agent adds (retries, Host, outlier ejection, abort) is
 * checked through both caller APIs and both attempt forms, and what a handler receives is compared
 * with what undici's own `Pool` gives the same handler.
 */

type Handler = Dispatcher.DispatchHandler;
type Controller = Dispatcher.DispatchController;

interface Seen {
  status?: number;
  /** Header names and values as strings, in order (from the raw headers). */
  raw?: string[];
  /** The parsed headers the controller API gets. */
  headers?: Record<string, unknown>;
  body: string;
  error?: Error;
}

interface Recording {
  readonly handler: Handler;
  readonly done: Promise<Seen>;
  /** Aborts through the handler's own means (the abort function or the controller). */
  abort(reason: Error): void;
}

const text = (raw: readonly (Buffer | string)[] | null | undefined) => (raw ?? []).map((v) => v.toString());

function legacyRecording(): Recording {
  const seen: Seen = { body: '' };
  let abort: ((reason?: Error) => void) | undefined;
  let settle: (seen: Seen) => void = () => undefined;
  const done = new Promise<Seen>((resolve) => {
    settle = resolve;
  });
  const handler = {
    onConnect: (fn: (reason?: Error) => void) => {
      abort = fn;
    },
    onHeaders: (status: number, raw: Buffer[]) => {
      seen.status = status;
      seen.raw = text(raw);
      return true;
    },
    onData: (chunk: Buffer) => {
      seen.body += chunk.toString();
      return true;
    },
    onComplete: () => settle(seen),
    onError: (error: Error) => {
      seen.error = error;
      settle(seen);
    },
  };
  return { handler: handler as unknown as Handler, done, abort: (reason) => abort?.(reason) };
}

function controllerRecording(): Recording {
  const seen: Seen = { body: '' };
  let controller: Controller | undefined;
  let settle: (seen: Seen) => void = () => undefined;
  const done = new Promise<Seen>((resolve) => {
    settle = resolve;
  });
  const handler: Handler = {
    onRequestStart: (c) => {
      controller = c;
    },
    onResponseStart: (c, status, headers) => {
      seen.status = status;
      seen.headers = { ...headers };
      seen.raw = text(c.rawHeaders as Buffer[] | undefined);
    },
    onResponseData: (_c, chunk) => {
      seen.body += chunk.toString();
    },
    onResponseEnd: () => settle(seen),
    onResponseError: (_c, error) => {
      seen.error = error;
      settle(seen);
    },
  };
  return { handler, done, abort: (reason) => controller?.abort(reason) };
}

const apis = [
  { name: 'the legacy handler API (request, stream, pipeline, fetch)', record: legacyRecording },
  { name: 'the controller handler API', record: controllerRecording },
] as const;

/** Drops the headers that differ between two responses of the same pod (time, connection). */
const stable = (raw: readonly string[] | undefined) => {
  const out: string[] = [];
  for (let i = 0; raw && i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name === 'date' || name === 'keep-alive' || name === 'connection') continue;
    out.push(name, name === 'content-length' ? 'n' : raw[i + 1]!);
  }
  return out;
};

for (const form of ['legacy', 'controller'] as const) {
  for (const api of apis) {
    describe(`createBalancedAgent through ${api.name}, ${form} attempts to the pools`, () => {
      beforeAll(() => useAttemptForm(form));
      afterAll(() => useAttemptForm(undefined));
      const balanced = useBalancedAgent();

      /** Pods on 127.0.0.2…; `dead`: 127.0.0.5 (nothing listens) comes first in round-robin. */
      async function setup(count: number, balancer = {}, dead = false) {
        const { pods, agent } = await balanced(
          count,
          { balancer: { strategy: 'round-robin', random: () => 0, ...balancer } },
          { initial: (addresses) => (dead ? ['127.0.0.5', ...addresses] : addresses) },
        );
        const send = (path: string, method = 'GET') => {
          const recording = api.record();
          agent.dispatch({ origin: `http://web.shop.svc:${pods.port}`, path, method }, recording.handler);
          return recording;
        };
        return { pods, agent, send };
      }

      it('gets what undici’s own Pool gives the same handler (status, headers, body)', async () => {
        const { pods, send } = await setup(1);
        const viaAgent = await within(send('/same').done, 5_000, 'the balanced request');
        const pool = new Pool(`http://${pods.addresses[0]}:${pods.port}`);
        try {
          const direct = api.record();
          pool.dispatch(
            { path: '/same', method: 'GET', headers: { host: `web.shop.svc:${pods.port}` } },
            direct.handler,
          );
          const plain = await within(direct.done, 5_000, 'the request through a plain Pool');
          expect(viaAgent.error).toBeUndefined();
          expect(viaAgent.status).toBe(plain.status);
          expect(stable(viaAgent.raw)).toEqual(stable(plain.raw));
          expect(stable(viaAgent.raw).length).toBeGreaterThan(0);
          if (api.name === 'the controller handler API') {
            expect(Object.keys(viaAgent.headers ?? {}).sort()).toEqual(
              Object.keys(plain.headers ?? {}).sort(),
            );
          }
          expect(JSON.parse(viaAgent.body)).toMatchObject({
            url: '/same',
            host: `web.shop.svc:${pods.port}`,
          });
        } finally {
          await pool.close();
        }
      });

      it('retries on another pod when the first refuses the connection, with the Service’s Host header', async () => {
        const { pods, agent: a, send } = await setup(1, { outlierDetection: false }, true);
        const seen = await within(send('/retried').done, 5_000, 'the retried request');
        expect(seen.error).toBeUndefined();
        expect(seen.status).toBe(200);
        expect(JSON.parse(seen.body) as PodRequest).toMatchObject({
          pod: pods.addresses[0],
          host: `web.shop.svc:${pods.port}`,
        });
        expect(a.balancer.stats().totals).toMatchObject({ picks: 2, failures: 1, successes: 1, inFlight: 0 });
      });

      it('ejects a pod that answers 503 five times in a row', async () => {
        const { pods, agent: a, send } = await setup(2);
        const failing = pods.pods[0]!;
        failing.mode = 'status';
        failing.status = 503;
        // Round-robin from the first pod: the failing one gets every other request.
        for (let i = 0; i < 10; i++) {
          const seen = await within(send(`/r${i}`).done, 5_000, `request ${i}`);
          expect(seen.status).toBe(i % 2 === 0 ? 503 : 200);
        }
        const ejected = a.balancer.stats().endpoints.filter((e) => e.ejected);
        expect(ejected.map((e) => e.address)).toEqual([failing.address]);
      });

      it('after its last event a handler is called no more, whatever it does with its abort', async () => {
        const { agent: a, send } = await setup(1);
        const recording = send('/done');
        const seen = await within(recording.done, 5_000, 'the request');
        expect(seen.status).toBe(200);
        recording.abort(new Error('too late'));
        // One more request through the same agent: the finished one stays finished meanwhile.
        await within(send('/next').done, 5_000, 'the next request');
        expect(seen.error).toBeUndefined();
        expect(a.balancer.stats().totals).toMatchObject({ picks: 2, successes: 2, failures: 0, inFlight: 0 });
      });

      it('an abort through the handler’s own means ends the request with the reason and frees the lease', async () => {
        const { pods, agent: a, send } = await setup(1);
        pods.pods[0]!.mode = 'hang';
        const recording = send('/hang');
        await eventually(() => pods.pods[0]!.count() === 1, 'the pod to receive the request');
        const reason = new Error('caller gave up');
        recording.abort(reason);
        const seen = await within(recording.done, 5_000, 'the aborted request');
        expect(seen.error).toBe(reason);
        expect(seen.status).toBeUndefined();
        expect(a.balancer.stats().totals).toMatchObject({ picks: 1, inFlight: 0 });
      });
    });
  }
}
