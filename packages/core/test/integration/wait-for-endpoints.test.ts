import { endpointSlice } from '@endpoint-watch/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { PortSelectionError } from '../../src/endpoints/errors.js';
import {
  EndpointsTimeoutError,
  needsUserAction,
  waitForEndpoints,
} from '../../src/endpoints/wait-for-endpoints.js';
import { registeredCounts, type WatchEndpointsOptions } from '../../src/endpoints/watch-endpoints.js';
import { KubeApiError, KubeTransportError } from '../../src/transport/kube-api-error.js';
import { startCluster, type TestCluster } from '../support/cluster.js';

let cluster: TestCluster;
afterEach(async () => {
  await cluster?.close();
});

const FAST = { backoff: { initialMs: 20, maxMs: 100 }, initialList: 'list' as const };
const web = (options: Partial<WatchEndpointsOptions> = {}): WatchEndpointsOptions => ({
  service: 'web',
  namespace: 'default',
  watch: FAST,
  ...options,
});
const webSlice = (ips: string[]) =>
  endpointSlice({ service: 'web', name: 'web-a', endpoints: ips.map((ip) => ({ addresses: [ip] })) });

/** Settles a promise into a value or an error, for assertions on either. */
const settled = <T>(promise: Promise<T>) =>
  promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );

describe('waitForEndpoints', () => {
  it('resolves with the first synced set, then releases the watch', async () => {
    cluster = await startCluster({ initialObjects: [webSlice(['10.0.0.1', '10.0.0.2'])] });
    const set = await waitForEndpoints(cluster.client, web());
    expect(set.endpoints.map((e) => e.address).sort()).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(registeredCounts(cluster.client)).toMatchObject({ watches: 0, sets: 0 });
  });

  it('resolves with an empty set for a Service with no endpoints: an empty Service is an answer', async () => {
    cluster = await startCluster();
    const set = await waitForEndpoints(cluster.client, web({ service: 'nothing-here' }));
    expect(set.endpoints).toEqual([]);
  });

  it('rejects at once with the 403 itself (RBAC), long before its timeout', async () => {
    cluster = await startCluster({ initialObjects: [webSlice(['10.0.0.1'])] });
    cluster.server.faults.failNext(Number.POSITIVE_INFINITY, 403, {
      reason: 'Forbidden',
      message: 'endpointslices.discovery.k8s.io is forbidden: User "client" cannot list',
    });
    // The timeout is far beyond the test's own: only failing fast can settle it in time.
    const outcome = await settled(waitForEndpoints(cluster.client, web(), { timeoutMs: 600_000 }));
    expect('error' in outcome && outcome.error).toBeInstanceOf(KubeApiError);
    expect(('error' in outcome && (outcome.error as KubeApiError).statusCode) || 0).toBe(403);
    expect(registeredCounts(cluster.client)).toMatchObject({ watches: 0, sets: 0 });
  });

  it('waits through errors retrying can fix, then times out naming the Service, with the last error as cause', async () => {
    cluster = await startCluster({ initialObjects: [webSlice(['10.0.0.1'])] });
    cluster.server.faults.failNext(Number.POSITIVE_INFINITY, 503, { reason: 'ServiceUnavailable' });
    const outcome = await settled(waitForEndpoints(cluster.client, web(), { timeoutMs: 500 }));
    const error = 'error' in outcome ? outcome.error : undefined;
    expect(error).toBeInstanceOf(EndpointsTimeoutError);
    expect((error as EndpointsTimeoutError).code).toBe('ERR_ENDPOINTS_TIMEOUT');
    expect((error as Error).message).toContain('default/web');
    expect((error as Error).message).toContain('503');
    expect((error as Error).cause).toBeInstanceOf(KubeApiError);
    expect(((error as Error).cause as KubeApiError).statusCode).toBe(503);
  });

  it('recovers within its timeout when the transient error clears', async () => {
    cluster = await startCluster({ initialObjects: [webSlice(['10.0.0.3'])] });
    cluster.server.faults.failNext(3, 503, { reason: 'ServiceUnavailable' });
    const set = await waitForEndpoints(cluster.client, web(), { timeoutMs: 15_000 });
    expect(set.endpoints.map((e) => e.address)).toEqual(['10.0.0.3']);
  });

  it('rejects with the abort reason, and with a misuse error of watchEndpoints', async () => {
    cluster = await startCluster({
      initialObjects: [
        endpointSlice({
          service: 'web',
          name: 'web-a',
          ports: [
            { name: 'http', port: 8080, protocol: 'TCP' },
            { name: 'metrics', port: 9090, protocol: 'TCP' },
          ],
          endpoints: [{ addresses: ['10.0.0.1'] }],
        }),
      ],
    });
    cluster.server.faults.failNext(Number.POSITIVE_INFINITY, 503, { reason: 'ServiceUnavailable' });
    const controller = new AbortController();
    const waiting = settled(waitForEndpoints(cluster.client, web(), { signal: controller.signal }));
    await cluster.server.waitForRequest((r) => r.path.includes('endpointslices'));
    controller.abort(new Error('shutting down'));
    const aborted = await waiting;
    expect('error' in aborted && (aborted.error as Error).message).toBe('shutting down');

    cluster.server.faults.clear();
    const misuse = await settled(waitForEndpoints(cluster.client, web()));
    expect('error' in misuse && misuse.error).toBeInstanceOf(PortSelectionError);
    expect(registeredCounts(cluster.client)).toMatchObject({ watches: 0, sets: 0 });
  });

  it('classifies what needs the user: identity, RBAC, API not served, TLS, unreachable; not 5xx or cuts', () => {
    const api = (code: number) =>
      new KubeApiError({ method: 'GET', path: '/x', status: { code, reason: '', message: '' } });
    const transport = (code: string) => new KubeTransportError(code, 'GET', '/x', 'failed');
    expect([401, 403, 404].map((c) => needsUserAction(api(c)))).toEqual([true, true, true]);
    expect([429, 500, 503, 410].map((c) => needsUserAction(api(c)))).toEqual([false, false, false, false]);
    expect(
      ['ERR_KUBE_TLS_NAME', 'ERR_KUBE_TLS_TRUST', 'ERR_KUBE_UNREACHABLE', 'ERR_KUBE_TIMEOUT'].map((c) =>
        needsUserAction(transport(c)),
      ),
    ).toEqual([true, true, true, false]);
    expect(needsUserAction(new Error('x'))).toBe(false);
  });
});
