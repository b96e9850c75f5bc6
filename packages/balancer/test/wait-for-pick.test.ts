import { EndpointWatchError } from '@endpoint-watch/core';
import { BehaviorSubject, NEVER, of, Subject, throwError } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BalancerClosedError, BalancerOptionsError, createBalancer, NoEndpointsError } from '../src/index.js';
import { ep, set } from './support.js';

type EndpointSetT = ReturnType<typeof set>;

afterEach(() => {
  vi.useRealTimers();
});

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('waitForPick', () => {
  it.each([Number.NaN, -1, Number.POSITIVE_INFINITY, 2 ** 31])(
    'refuses timeoutMs %s with a BalancerOptionsError (Node fires a timer over 2^31 - 1 ms after 1 ms)',
    async (timeoutMs) => {
      const balancer = createBalancer(of(set([])));
      const error = await rejection(balancer.waitForPick(undefined, { timeoutMs }));
      expect(error).toBeInstanceOf(BalancerOptionsError);
      expect((error as Error).message).toMatch(/^timeoutMs must be/);
    },
  );

  it('resolves at once when an endpoint is there', async () => {
    const balancer = createBalancer(of(set([ep(1)])));
    const lease = await balancer.waitForPick();
    expect(lease.endpoint.address).toBe('10.0.0.1');
  });

  it('waits for an endpoint to appear and leaves no timer behind', async () => {
    vi.useFakeTimers();
    const sets = new Subject<EndpointSetT>();
    const balancer = createBalancer(sets);
    const pending = balancer.waitForPick('k', { timeoutMs: 60_000 });
    expect(vi.getTimerCount()).toBe(1);
    sets.next(set([]));
    expect(vi.getTimerCount()).toBe(1);
    sets.next(set([ep(2)]));
    const lease = await pending;
    expect(lease.endpoint.address).toBe('10.0.0.2');
    expect(vi.getTimerCount()).toBe(0);
    expect(balancer.stats().totals.inFlight).toBe(1);
  });

  it('rejects with NoEndpointsError at once when the stream completed empty, naming the service', async () => {
    const balancer = createBalancer(of(set([], 'checkout')));
    // of() completes: nothing more can come, so this rejects at once
    const error = await rejection(balancer.waitForPick());
    expect(error).toBeInstanceOf(NoEndpointsError);
    expect(error).toBeInstanceOf(EndpointWatchError);
    expect((error as NoEndpointsError).code).toBe('ERR_NO_ENDPOINTS');
    expect((error as NoEndpointsError).message).toContain('default/checkout');
    expect((error as NoEndpointsError).service).toBe('default/checkout');
  });

  it('waits up to options.noEndpointsTimeoutMs (default 3 s) for a known-empty set', async () => {
    vi.useFakeTimers();
    const sets = new BehaviorSubject(set([], 'api'));
    const balancer = createBalancer(sets);
    let settled: unknown;
    balancer.waitForPick().then(
      () => (settled = 'resolved'),
      (error: unknown) => (settled = error),
    );
    await vi.advanceTimersByTimeAsync(2_999);
    expect(settled).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(settled).toBeInstanceOf(NoEndpointsError);
    expect((settled as Error).message).toMatch(/default\/api.*empty.*3000 ms/);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('uses the per-call timeoutMs, and rejects at once with timeoutMs 0', async () => {
    vi.useFakeTimers();
    const balancer = createBalancer(new BehaviorSubject(set([])), { noEndpointsTimeoutMs: 60_000 });
    const immediate = rejection(balancer.waitForPick(undefined, { timeoutMs: 0 }));
    expect(vi.getTimerCount()).toBe(0);
    expect(await immediate).toBeInstanceOf(NoEndpointsError);
    const short = rejection(balancer.waitForPick(undefined, { timeoutMs: 10 }));
    await vi.advanceTimersByTimeAsync(10);
    expect(await short).toBeInstanceOf(NoEndpointsError);
  });

  it('names the service from the name option before any set arrived', async () => {
    const balancer = createBalancer(NEVER, { name: 'shop/cart' });
    const error = (await rejection(balancer.waitForPick(undefined, { timeoutMs: 1 }))) as NoEndpointsError;
    expect(error.message).toContain('shop/cart');
    expect(error.message).toContain('no endpoint set has arrived yet');
    const anonymous = createBalancer(NEVER);
    const other = (await rejection(anonymous.waitForPick(undefined, { timeoutMs: 0 }))) as NoEndpointsError;
    expect(other.service).toBeUndefined();
    expect(other.code).toBe('ERR_NO_ENDPOINTS');
  });

  it('honours an AbortSignal, before and while waiting', async () => {
    vi.useFakeTimers();
    const balancer = createBalancer(NEVER);
    const pre = AbortSignal.abort(new Error('gone'));
    expect(await rejection(balancer.waitForPick(undefined, { signal: pre }))).toMatchObject({
      message: 'gone',
    });
    const controller = new AbortController();
    const waiting = rejection(balancer.waitForPick(undefined, { signal: controller.signal }));
    controller.abort();
    expect(((await waiting) as Error).name).toBe('AbortError');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects pending and later waits with BalancerClosedError on close', async () => {
    vi.useFakeTimers();
    const balancer = createBalancer(NEVER, { name: 'default/web' });
    const waiting = rejection(balancer.waitForPick());
    balancer.close();
    const error = (await waiting) as BalancerClosedError;
    expect(error).toBeInstanceOf(BalancerClosedError);
    expect(error.code).toBe('ERR_BALANCER_CLOSED');
    expect(vi.getTimerCount()).toBe(0);
    expect(await rejection(balancer.waitForPick())).toBeInstanceOf(BalancerClosedError);
  });

  it('fails waits at once when the stream ends with no endpoint', async () => {
    vi.useFakeTimers();
    const sets = new Subject<EndpointSetT>();
    const balancer = createBalancer(sets);
    const waiting = rejection(balancer.waitForPick());
    sets.error(new Error('watch broke'));
    const error = (await waiting) as NoEndpointsError;
    expect(error).toBeInstanceOf(NoEndpointsError);
    expect((error.cause as Error).message).toBe('watch broke');
    expect(vi.getTimerCount()).toBe(0);
    const failed = createBalancer(throwError(() => new Error('x')));
    expect(await rejection(failed.waitForPick())).toBeInstanceOf(NoEndpointsError);
  });

  it('keeps serving the last set after the stream completes', async () => {
    const balancer = createBalancer(of(set([ep(3)])));
    expect((await balancer.waitForPick()).endpoint.address).toBe('10.0.0.3');
  });
});
