import {
  type CertificateAndKey,
  createCertificateAuthority,
  createServerCertificate,
} from '@endpoint-watch/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AxiosBalancingOptions } from '../src/index.js';
import { ADAPTERS, type PodRequest, rejection, useBalancedAxios } from './support.js';

let ca: CertificateAndKey;
let cert: CertificateAndKey;
beforeAll(async () => {
  ca = await createCertificateAuthority({ commonName: 'shop test CA' });
  // valid ONLY for the Service's name: not for 127.0.0.N, not for other names
  cert = await createServerCertificate(ca, { names: ['web.shop.svc'] });
});

const balancedAxios = useBalancedAxios();

/** The `code` of the error or of the first error in its `cause` chain that has one set by Node. */
function tlsCode(error: unknown): string | undefined {
  let current = error as { code?: string; cause?: unknown } | undefined;
  for (let i = 0; i < 5 && current; i++) {
    if (current.code && current.code !== 'ERR_NETWORK') return current.code;
    current = current.cause as typeof current;
  }
  return undefined;
}

describe.each(ADAPTERS)('https to pods, %s adapter', (adapter) => {
  const setup = (options: AxiosBalancingOptions, host?: string) =>
    balancedAxios(adapter, 3, options, { tls: cert, ...(host ? { host } : {}) });

  it('dials the pod IPs but sends SNI and verifies the certificate for the logical host name', async () => {
    const { pods, instance } = await setup({ tls: { ca: ca.cert } });
    for (let i = 0; i < 30; i++) {
      const { data } = await instance.post<PodRequest>(`/secure/${i}`, { i });
      expect(data).toMatchObject({
        servername: 'web.shop.svc',
        host: `web.shop.svc:${pods.port}`,
        url: `/secure/${i}`,
        body: JSON.stringify({ i }),
      });
    }
    for (const pod of pods.pods) expect(pod.count()).toBeGreaterThan(0);
  });

  it('fails for a logical name the certificate does not name (verification is on), without retrying', async () => {
    const { pods, instance, handle } = await setup({ tls: { ca: ca.cert } }, 'api.shop.svc');
    const error = await rejection(instance.get('/'));
    expect(tlsCode(error)).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    expect(pods.pods.reduce((n, pod) => n + pod.count(), 0)).toBe(0);
    expect(handle.balancer.stats().totals).toMatchObject({ picks: 1, failures: 1 });
  });

  it('fails without the CA (the pods’ certificate is not trusted by default)', async () => {
    const { pods, instance } = await setup({});
    const error = await rejection(instance.get('/'));
    expect(tlsCode(error)).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER_CERT/);
    expect(pods.pods.reduce((n, pod) => n + pod.count(), 0)).toBe(0);
  });
});
