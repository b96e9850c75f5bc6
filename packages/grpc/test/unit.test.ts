import { type EndpointSet, EndpointWatchError, KubeApiError, type WatchHealth } from '@endpoint-watch/core';
import { endpointSet, readyEndpoint } from '@endpoint-watch/testing';
import { credentials as credentialsFactory, status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { addressUpdate, NOTE_ATTRIBUTE, policyContext, resolutionSink } from '../src/grpc-js-api.js';
import {
  GrpcBalancingOptionsError,
  KubernetesTargetError,
  LeastRequestConfig,
  parseKubernetesTarget,
} from '../src/index.js';
import { pickLeastRequest } from '../src/p2c.js';
import { addressKey, describeWatchError, endpointsUpdate, healthUpdate } from '../src/resolution.js';
import { defaultAuthority } from '../src/target.js';

const uri = (path: string, authority = '') => ({ scheme: 'kubernetes', authority, path });

describe('parseKubernetesTarget', () => {
  it('reads service, namespace and port by name or number', () => {
    const cases: [string, string | undefined, string | number | undefined][] = [
      ['web.shop:grpc', 'shop', 'grpc'],
      ['web:8080', undefined, 8080],
      ['web', undefined, undefined],
      ['web.shop.svc.cluster.local:grpc', 'shop', 'grpc'],
      // kubernetes://web.shop:grpc: grpc-js hands the resolver the path `//web.shop:grpc`.
      ['//web.shop:grpc', 'shop', 'grpc'],
    ];
    for (const [path, namespace, port] of cases)
      expect(parseKubernetesTarget(uri(path)), path).toEqual({ service: 'web', namespace, port });
  });

  it('refuses what is not a Service with a typed error', () => {
    for (const bad of [
      '',
      'Web.shop:grpc',
      'web.shop:0',
      'web.shop:70000',
      'web.shop:Grpc!',
      'web.shop.example.com:80',
    ]) {
      const error = (() => {
        try {
          parseKubernetesTarget(uri(bad));
        } catch (e) {
          return e;
        }
      })();
      expect(error, bad).toBeInstanceOf(KubernetesTargetError);
      expect((error as KubernetesTargetError).code).toBe('ERR_GRPC_TARGET');
    }
  });

  it('gives the Service’s cluster name as the default authority', () => {
    expect(defaultAuthority(parseKubernetesTarget(uri('web:8080')), 'prod')).toBe('web.prod.svc:8080');
    expect(defaultAuthority(parseKubernetesTarget(uri('web.shop:grpc')), 'prod')).toBe('web.shop.svc');
  });
});

describe('pickLeastRequest (A48)', () => {
  it('keeps the least loaded of the sampled candidates, the first sampled on a tie', () => {
    const candidates = [{ outstanding: 3 }, { outstanding: 1 }, { outstanding: 2 }];
    const samples = (...values: number[]) => {
      let i = 0;
      return () => values[i++] as number;
    };
    // Samples 0 then 2: loads 3 and 2 → 2.
    expect(pickLeastRequest(candidates, 2, samples(0.1, 0.9))).toBe(2);
    // Samples 2 then 0: 2 stays.
    expect(pickLeastRequest(candidates, 2, samples(0.9, 0.1))).toBe(2);
    // Three samples find index 1.
    expect(pickLeastRequest(candidates, 3, samples(0.1, 0.9, 0.5))).toBe(1);
    // A tie keeps the first sampled.
    expect(pickLeastRequest([{ outstanding: 0 }, { outstanding: 0 }], 2, samples(0.6, 0.1))).toBe(1);
  });

  it('validates choiceCount as A48 does: at least 2, clamped to 10', () => {
    expect(LeastRequestConfig.createFromJson({}).choiceCount).toBe(2);
    expect(LeastRequestConfig.createFromJson({ choiceCount: 50 }).choiceCount).toBe(10);
    expect(() => LeastRequestConfig.createFromJson({ choiceCount: 1 })).toThrow(GrpcBalancingOptionsError);
    expect(() => LeastRequestConfig.createFromJson({ choiceCount: 2.5 })).toThrow(GrpcBalancingOptionsError);
  });
});

const set = (addresses: string[], all = addresses.length): EndpointSet => {
  const base = endpointSet(addresses, 50051, { namespace: 'shop' }) as EndpointSet;
  return {
    ...base,
    port: { name: 'grpc', protocol: 'TCP' },
    all: Array.from({ length: all }, (_, i) => readyEndpoint(`10.0.0.${i + 1}`, 50051)),
  };
};
const synced = (notice?: string): WatchHealth => ({
  state: 'synced',
  resourceVersion: '1',
  since: 0,
  ...(notice ? { notice } : {}),
});
const retrying = (error: unknown): WatchHealth => ({
  state: 'retrying',
  error,
  attempt: 3,
  retryInMs: 800,
  staleSince: 0,
  resourceVersion: undefined,
});
const forbidden = new KubeApiError({
  method: 'GET',
  path: '/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices?labelSelector=x',
  status: { code: 403, reason: 'Forbidden', message: 'no' },
});

describe('what the resolver tells grpc-js', () => {
  it('gives one address per endpoint, with zone and node by address', () => {
    const update = endpointsUpdate(set(['10.0.0.1', 'fd00::1']), synced());
    expect(update).toMatchObject({ kind: 'endpoints', note: '' });
    if (update.kind !== 'endpoints') throw new Error('endpoints expected');
    expect(update.addresses).toEqual([
      { host: '10.0.0.1', port: 50051 },
      { host: 'fd00::1', port: 50051 },
    ]);
    expect([...update.locality.keys()]).toEqual(['10.0.0.1:50051', '[fd00::1]:50051']);
    expect(addressKey('fd00::1', 1)).toBe('[fd00::1]:1');
  });

  it('names the Service and says why a set is empty', () => {
    expect(endpointsUpdate(set([], 2), synced())).toMatchObject({
      note: 'service shop/web port grpc has no endpoints to call: none of its 2 endpoint(s) is ready or serving',
    });
    expect(endpointsUpdate(set([], 0), synced('no EndpointSlice carries it'))).toMatchObject({
      note: 'service shop/web port grpc has no endpoints to call: no EndpointSlice carries it',
    });
  });

  it('reports a failing watch only while no set has ever arrived', () => {
    expect(healthUpdate(retrying(forbidden), false, 'shop/web:grpc')).toMatchObject({ kind: 'error' });
    expect(healthUpdate(retrying(forbidden), true, 'shop/web:grpc')).toBeUndefined();
    expect(healthUpdate({ state: 'connecting', since: 0 }, false, 'shop/web:grpc')).toBeUndefined();
  });

  it('gives the grant for a 403, and the code of other errors', () => {
    expect(describeWatchError(forbidden)).toMatch(
      /403 Forbidden: no\. To fix it, grant list and watch on endpointslices\.discovery\.k8s\.io in namespace shop .*--resource=endpointslices\.discovery\.k8s\.io/,
    );
    const v1 = new KubeApiError({
      method: 'GET',
      path: '/api/v1/namespaces/ops/endpoints',
      status: { code: 403, reason: 'Forbidden', message: '' },
    });
    expect(describeWatchError(v1)).toMatch(/on endpoints in namespace ops/);
    expect(describeWatchError(new EndpointWatchError('ERR_KUBE_TLS_NAME', 'the name is wrong'))).toBe(
      'ERR_KUBE_TLS_NAME: the name is wrong',
    );
  });
});

describe('grpc-js API shapes (grpc-js-api.ts)', () => {
  const endpoints = [{ addresses: [{ host: '10.0.0.1', port: 80 }] }];
  const config = { loadBalancingConfig: [], methodConfig: [] };

  it('reports to a 1.14 function listener with StatusOr values and the note', () => {
    const calls: unknown[][] = [];
    const sink = resolutionSink(((...args: unknown[]) => {
      calls.push(args);
      return true;
    }) as never);
    sink({ ok: true, endpoints, attributes: { a: 1 } }, config, 'note');
    sink({ ok: false, details: 'why' }, null, 'why');
    expect(calls[0]).toEqual([{ ok: true, value: endpoints }, { a: 1 }, { ok: true, value: config }, 'note']);
    expect(calls[1]?.[0]).toMatchObject({ ok: false, error: { code: status.UNAVAILABLE, details: 'why' } });
    expect(calls[1]?.slice(1)).toEqual([{}, null, 'why']);
  });

  it('reports to a 1.10–1.13 listener object, the note as a resolver attribute', () => {
    const successes: unknown[][] = [];
    const errors: unknown[] = [];
    const sink = resolutionSink({
      onSuccessfulResolution: (...args: unknown[]) => successes.push(args),
      onError: (error: unknown) => errors.push(error),
    } as never);
    sink({ ok: true, endpoints, attributes: { a: 1 } }, config, 'note');
    sink({ ok: false, details: 'why' }, config, 'why');
    expect(successes).toEqual([[endpoints, config, null, null, { a: 1, [NOTE_ATTRIBUTE]: 'note' }]]);
    expect(errors).toEqual([expect.objectContaining({ code: status.UNAVAILABLE, details: 'why' })]);
  });

  it('reads what a policy is given in each shape', () => {
    const options = { 'grpc.x': 1 };
    const credentials = credentialsFactory.createInsecure();
    const noteAttributes = { [NOTE_ATTRIBUTE]: 'note', a: 1 };
    // 1.14: (helper); (StatusOr, config, options, note)
    const latest = policyContext([]);
    expect(addressUpdate(latest, { ok: true, value: endpoints }, options, 'note')).toEqual({
      endpoints: { ok: true, value: endpoints },
      options,
      attributes: options,
      note: 'note',
    });
    // 1.13: (helper); (list, config, options with the attributes)
    const merged = { ...options, ...noteAttributes };
    expect(addressUpdate(latest, endpoints, merged, undefined)).toEqual({
      endpoints: { ok: true, value: endpoints },
      options: merged,
      attributes: merged,
      note: 'note',
    });
    // 1.10–1.11: (helper, options); (list, config, attributes)
    const older = policyContext([options]);
    expect(older).toEqual({ credentials: undefined, options });
    expect(addressUpdate(older, endpoints, noteAttributes, undefined)).toEqual({
      endpoints: { ok: true, value: endpoints },
      options,
      attributes: noteAttributes,
      note: 'note',
    });
    // 1.12: (helper, credentials, options)
    expect(policyContext([credentials, options])).toEqual({ credentials, options });
  });
});
