import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { BalancerOptions } from '@endpoint-watch/balancer';
import type { EndpointSet } from '@endpoint-watch/core';
import { BehaviorSubject } from 'rxjs';
import { type Dispatcher, interceptors } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type BalancedDispatcher,
  balancedAgentWith,
  balancingOnAgent,
  endpointSet,
  eventually,
  type Pods,
  startPods,
  within,
} from './support.js';

/**
 * The balanced dispatcher is the bottom of the chain for the caller's handler: whatever undici's core
 * does with a handler that throws, pauses or dispatches itself again, it must do too. Every test runs
 * on the agent, on the interceptor, and on the interceptor above `interceptors.retry()`, which must
 * never see a throw of the caller's handler (it would send the request again).
 */

type Handler = Dispatcher.DispatchHandler;
type Controller = Dispatcher.DispatchController;
type Callback =
  | 'onRequestStart'
  | 'onRequestUpgrade'
  | 'onResponseStart'
  | 'onResponseData'
  | 'onResponseEnd';

const benches: ReadonlyArray<{
  readonly name: string;
  make(endpoints: BehaviorSubject<EndpointSet>, balancer: BalancerOptions): BalancedDispatcher;
}> = [
  { name: 'createBalancedAgent', make: (endpoints, balancer) => balancedAgentWith(endpoints, { balancer }) },
  {
    name: 'new Agent().compose(endpointBalancing)',
    make: (endpoints, balancer) => balancingOnAgent(endpoints, { balancer }),
  },
  {
    name: 'new Agent().compose(interceptors.retry(), endpointBalancing)',
    make: (endpoints, balancer) =>
      balancingOnAgent(endpoints, { balancer }, (balancing) => [
        interceptors.retry({ minTimeout: 1, maxTimeout: 1 }),
        balancing,
      ]),
  },
];

/** A handler that records what it is told, does what `act` says at each callback, and settles once. */
class Recorder implements Handler {
  readonly events: string[] = [];
  readonly errors: Error[] = [];
  readonly chunks: Buffer[] = [];
  controller: Controller | undefined;
  socket: Duplex | undefined;
  readonly settled: Promise<void>;
  #settle: () => void = () => undefined;

  constructor(readonly act: Partial<Record<Callback | 'onResponseError', (self: Recorder) => void>> = {}) {
    this.settled = new Promise((resolve) => {
      this.#settle = resolve;
    });
  }

  body(): string {
    return Buffer.concat(this.chunks).toString();
  }

  onRequestStart(controller: Controller): void {
    this.controller = controller;
    this.events.push('start');
    this.act.onRequestStart?.(this);
  }

  onRequestUpgrade(_controller: Controller, statusCode: number, _headers: unknown, socket: Duplex): void {
    this.events.push(`upgrade ${statusCode}`);
    this.socket = socket;
    this.act.onRequestUpgrade?.(this);
    this.#settle();
  }

  onResponseStart(_controller: Controller, statusCode: number): void {
    this.events.push(`response ${statusCode}`);
    this.act.onResponseStart?.(this);
  }

  onResponseData(_controller: Controller, chunk: Buffer): void {
    if (this.events.at(-1) !== 'data') this.events.push('data');
    this.chunks.push(chunk);
    this.act.onResponseData?.(this);
  }

  onResponseEnd(): void {
    this.events.push('end');
    this.act.onResponseEnd?.(this);
    this.#settle();
  }

  onResponseError(controller: Controller, error: Error): void {
    this.events.push(`error ${error.message}`);
    this.errors.push(error);
    this.events.push(`aborted=${controller?.aborted}`);
    this.act.onResponseError?.(this);
    this.#settle();
  }
}

const boom = (where: string) => () => {
  throw new Error(`handler failed in ${where}`);
};

for (const bench of benches) {
  describe(`the handler API on ${bench.name}`, () => {
    let pods: Pods | undefined;
    let current: BalancedDispatcher | undefined;
    afterEach(async () => {
      try {
        // close() waits for the requests in progress: none may be left behind.
        if (current) await within(current.close(), 5_000, 'closing the dispatcher');
      } finally {
        await pods?.close();
        current = undefined;
        pods = undefined;
      }
    });

    /** Pods on 127.0.0.2, …; `dead`: 127.0.0.5 (nothing listens) comes first in round-robin. */
    async function setup(count = 1, { dead = false } = {}) {
      const sockets: Socket[] = []; // the pod side of the connection each request came on
      pods = await startPods(count, {
        handler: (request) => {
          sockets.push(request.socket);
          return false;
        },
      });
      const addresses = dead ? ['127.0.0.5', ...pods.addresses] : pods.addresses;
      const endpoints = new BehaviorSubject(endpointSet(addresses, pods.port));
      current = bench.make(endpoints, { strategy: 'round-robin', random: () => 0, outlierDetection: false });
      const options: Dispatcher.DispatchOptions = {
        origin: `http://web.shop.svc:${pods.port}`,
        path: '/handler',
        method: 'GET',
      };
      const run = async (handler: Handler & { settled: Promise<void> }, what: string, extra = {}) => {
        current?.dispatcher.dispatch({ ...options, ...extra }, handler);
        await within(handler.settled, 5_000, what);
      };
      return { pods, bench: current, options, run, sockets };
    }

    it('a throw from onResponseEnd goes to the same handler’s onResponseError, once (RetryHandler’s way to retry)', async () => {
      const { bench: b, run } = await setup();
      const handler = new Recorder({ onResponseEnd: boom('onResponseEnd') });
      await run(handler, 'the request whose onResponseEnd threw');
      expect(handler.events).toEqual([
        'start',
        'response 200',
        'data',
        'end',
        'error handler failed in onResponseEnd',
        'aborted=false',
      ]);
      expect(b.balancer.stats().totals).toMatchObject({ inFlight: 0, picks: 1, successes: 1, failures: 0 });
    });

    it('a handler that dispatches itself again from onResponseError after that throw is served again', async () => {
      const { pods: p, bench: b, options } = await setup(2);
      let round = 0;
      const handler: Recorder = new Recorder({
        onResponseEnd: () => {
          if (round === 0) throw new Error('status to retry');
        },
        onResponseError: () => {
          round += 1;
          b.dispatcher.dispatch(options, handler); // synchronously, the same handler object
        },
      });
      b.dispatcher.dispatch(options, handler);
      await within(handler.settled, 5_000, 'the first round');
      await eventually(() => handler.events.at(-1) === 'end' && round === 1, 'the second round to end');
      expect(handler.events).toEqual([
        'start',
        'response 200',
        'data',
        'end',
        'error status to retry',
        'aborted=false',
        'start',
        'response 200',
        'data',
        'end',
      ]);
      // Two requests, each a new pick: round-robin sent the second to the other pod.
      expect(p.counts()).toEqual({ '127.0.0.2': 1, '127.0.0.3': 1 });
      expect(b.balancer.stats().totals).toMatchObject({ inFlight: 0, picks: 2 });
    });

    for (const callback of ['onResponseStart', 'onResponseData'] as const) {
      it(`a throw from ${callback} fails the request with it; the connection is closed and nothing sends the request again`, async () => {
        const { pods: p, bench: b, run, sockets } = await setup();
        const handler = new Recorder({ [callback]: boom(callback) });
        await run(handler, `the request whose ${callback} threw`);
        expect(handler.errors).toHaveLength(1);
        expect(handler.errors[0]?.message).toBe(`handler failed in ${callback}`);
        expect(handler.events.at(-1)).toBe('aborted=false');
        expect(handler.events).not.toContain('end');
        // undici's core, too, closes the connection: the rest of that response is never read.
        await eventually(() => sockets[0]?.destroyed === true, 'the connection of the response to close');
        expect(p.counts()).toEqual({ '127.0.0.2': 1 });
        // The pod answered 200: not its fault.
        expect(b.balancer.stats().totals).toMatchObject({ inFlight: 0, picks: 1, failures: 0 });
      });
    }

    it('a throw from onRequestStart fails the request through onResponseError, before any pick', async () => {
      const { pods: p, bench: b, options } = await setup();
      const handler = new Recorder({ onRequestStart: boom('onRequestStart') });
      expect(() => b.dispatcher.dispatch(options, handler)).not.toThrow();
      await within(handler.settled, 5_000, 'the request whose onRequestStart threw');
      expect(handler.events).toEqual(['start', 'error handler failed in onRequestStart', 'aborted=false']);
      expect(b.balancer.stats().totals).toMatchObject({ inFlight: 0, picks: 0 });
      expect(p.counts()).toEqual({ '127.0.0.2': 0 });
    });

    it('a throw from onRequestUpgrade goes to onResponseError and closes the upgraded connection', async () => {
      const { pods: p, bench: b, run } = await setup();
      const handler = new Recorder({ onRequestUpgrade: boom('onRequestUpgrade') });
      await run(handler, 'the upgrade whose onRequestUpgrade threw', { upgrade: 'echo' });
      expect(handler.events).toEqual([
        'start',
        'upgrade 101',
        'error handler failed in onRequestUpgrade',
        'aborted=false',
      ]);
      expect(handler.socket?.destroyed).toBe(true);
      await eventually(() => p.byAddress('127.0.0.2').sockets.size === 0, 'the pod to see the socket closed');
      expect(b.balancer.stats().totals).toMatchObject({ inFlight: 0, picks: 1 });
    });

    it('a handler may dispatch itself again from onResponseEnd, synchronously (RedirectHandler’s way)', async () => {
      const { pods: p, bench: b, options } = await setup(2);
      let hops = 0;
      const handler: Recorder = new Recorder({
        onResponseEnd: () => {
          if (hops++ === 0) b.dispatcher.dispatch({ ...options, path: '/next' }, handler);
        },
      });
      b.dispatcher.dispatch(options, handler);
      await eventually(() => hops === 2, 'the second hop to end');
      expect(handler.events).toEqual([
        'start',
        'response 200',
        'data',
        'end',
        'start',
        'response 200',
        'data',
        'end',
      ]);
      expect(p.pods.map((pod) => pod.requests.map((r) => r.url))).toEqual([['/handler'], ['/next']]);
      expect(b.balancer.stats().totals).toMatchObject({ inFlight: 0, picks: 2 });
    });

    it('pause() before an endpoint is picked holds the body, across a retry, until resume()', async () => {
      const { bench: b, run } = await setup(1, { dead: true });
      const handler = new Recorder({
        onRequestStart: (self) => self.controller?.pause(),
        onResponseStart: (self) =>
          // Bytes that came with the headers would be delivered right after this callback if the
          // attempt were not paused; the next turn of the event loop tells.
          setImmediate(() => {
            self.events.push('resume');
            self.controller?.resume();
          }),
      });
      await run(handler, 'the paused request');
      expect(handler.events).toEqual(['start', 'response 200', 'resume', 'data', 'end']);
      expect(JSON.parse(handler.body())).toMatchObject({ pod: '127.0.0.2', url: '/handler' });
      // The dead endpoint was tried first and refused the connection.
      expect(b.balancer.stats().totals).toMatchObject({ inFlight: 0, picks: 2, failures: 1 });
    });

    it('pause() in onResponseStart and resume() later (RetryHandler waiting for its retry callback)', async () => {
      const { run } = await setup();
      const handler = new Recorder({
        onResponseStart: (self) => {
          self.controller?.pause();
          expect(self.controller?.paused).toBe(true);
          setImmediate(() => {
            self.events.push('resume');
            self.controller?.resume();
          });
        },
      });
      await run(handler, 'the request paused in onResponseStart');
      expect(handler.events).toEqual(['start', 'response 200', 'resume', 'data', 'end']);
      expect(handler.controller?.paused).toBe(false);
    });

    it('rawHeaders and rawTrailers of its controller can be assigned, as on undici’s own controllers', async () => {
      const { run } = await setup();
      const handler = new Recorder({
        onResponseStart: (self) => {
          const controller = self.controller as Controller;
          controller.rawHeaders = ['x-rewritten', 'yes'];
          self.events.push(`rawHeaders ${controller.rawHeaders?.join(' ')}`);
        },
        onResponseEnd: (self) => {
          const controller = self.controller as Controller;
          controller.rawTrailers = [];
          self.events.push(`rawTrailers ${controller.rawTrailers?.length}`);
        },
      });
      await run(handler, 'the request');
      expect(handler.events).toEqual([
        'start',
        'response 200',
        'rawHeaders x-rewritten yes',
        'data',
        'end',
        'rawTrailers 0',
      ]);
    });

    it('a legacy handler: onHeaders returning false pauses until its resume(); a throw from onComplete reaches onError', async () => {
      const { bench: b, options } = await setup();
      const events: string[] = [];
      const settled = new Promise<void>((resolve) => {
        const legacy = {
          onConnect: () => events.push('connect'),
          onHeaders: (statusCode: number, _raw: Buffer[], resume: () => void) => {
            events.push(`headers ${statusCode}`);
            setImmediate(() => {
              events.push('resume');
              resume();
            });
            return false;
          },
          onData: () => {
            if (events.at(-1) !== 'data') events.push('data');
            return true;
          },
          onComplete: () => {
            events.push('complete');
            throw new Error('legacy onComplete failed');
          },
          onError: (error: Error) => {
            events.push(`error ${error.message}`);
            resolve();
          },
        };
        b.dispatcher.dispatch(options, legacy as unknown as Handler);
      });
      await within(settled, 5_000, 'the legacy handler');
      expect(events).toEqual([
        'connect',
        'headers 200',
        'resume',
        'data',
        'complete',
        'error legacy onComplete failed',
      ]);
      expect(b.balancer.stats().totals).toMatchObject({ inFlight: 0, picks: 1 });
    });
  });
}
