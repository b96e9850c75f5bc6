import { createBalancer, instrumentBalancer } from '@endpoint-watch/balancer';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { of } from 'rxjs';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualReader, points, pointsOf } from '../../core/test/support/metrics-reader.js';
import { type BalancedAgent, createBalancedAgent } from '../src/index.js';
import { endpointSet, type Pods, startPods } from './support.js';

let pods: Pods | undefined;
let agent: BalancedAgent | undefined;
let provider: MeterProvider | undefined;
afterEach(async () => {
  await agent?.close();
  agent?.balancer.close();
  await pods?.close();
  await provider?.shutdown();
  agent = undefined;
  pods = undefined;
  provider = undefined;
});

describe('an instrumented balancer under a BalancedAgent', () => {
  it('counts the requests each pod answered and the 5xx of the failing one', async () => {
    pods = await startPods(2);
    const failing = pods.byAddress('127.0.0.3');
    failing.mode = 'status';
    failing.status = 503;
    const reader = new ManualReader();
    provider = new MeterProvider({ readers: [reader] });
    const balancer = instrumentBalancer(
      createBalancer(of(endpointSet(pods.addresses, pods.port)), { strategy: 'round-robin' }),
      { meter: provider.getMeter('@endpoint-watch/balancer') },
    );
    agent = createBalancedAgent({ balancer });
    for (let i = 0; i < 6; i++) {
      const response = await request(`http://web.shop.svc:${pods.port}/`, { dispatcher: agent });
      await response.body.dump();
    }
    const all = await points(reader);
    const sums = (name: string) =>
      Object.fromEntries(
        pointsOf(all, name).map((p) => [
          `${p.attributes['server.address']}:${p.attributes['endpoint_watch.failure.kind'] ?? ''}`,
          typeof p.value === 'number' ? p.value : (p.value as { count: number }).count,
        ]),
      );
    const served = pods.counts();
    expect((served['127.0.0.2'] ?? 0) + (served['127.0.0.3'] ?? 0)).toBeGreaterThanOrEqual(6);
    expect(sums('endpoint_watch.endpoint.requests')).toEqual({
      '127.0.0.2:': served['127.0.0.2'],
      '127.0.0.3:': served['127.0.0.3'],
    });
    expect(sums('endpoint_watch.endpoint.failures')).toEqual({ '127.0.0.3:status5xx': served['127.0.0.3'] });
    expect(sums('endpoint_watch.endpoint.request.duration')).toEqual(
      sums('endpoint_watch.endpoint.requests'),
    );
  });
});
