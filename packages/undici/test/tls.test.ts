import {
  type CertificateAndKey,
  createCertificateAuthority,
  createServerCertificate,
} from '@endpoint-watch/testing';
import { fetch, request } from 'undici';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BalancedAgentOptions } from '../src/index.js';
import { type PodOptions, type PodRequest, rejection, useBalancedAgent } from './support.js';

let ca: CertificateAndKey;
let cert: CertificateAndKey;
beforeAll(async () => {
  ca = await createCertificateAuthority({ commonName: 'shop test CA' });
  // valid ONLY for the Service's name: not for 127.0.0.N, not for other names
  cert = await createServerCertificate(ca, { names: ['web.shop.svc'] });
});

const balanced = useBalancedAgent();
const setup = (count: number, options: BalancedAgentOptions, tls: PodOptions['tls'] = cert) =>
  balanced(count, options, { tls });

describe('https to pods', () => {
  it('dials the pod IPs but verifies the certificate and sends SNI for the URL’s host name', async () => {
    const { pods, agent } = await setup(3, { connect: { ca: ca.cert } });
    const url = `https://web.shop.svc:${pods.port}`;
    for (let i = 0; i < 30; i++) {
      const response = await request(`${url}/secure/${i}`, { dispatcher: agent });
      expect(response.statusCode).toBe(200);
      const seen = (await response.body.json()) as PodRequest;
      expect(seen).toMatchObject({ servername: 'web.shop.svc', host: `web.shop.svc:${pods.port}` });
    }
    for (const pod of pods.pods) expect(pod.count()).toBeGreaterThan(0);

    const viaFetch = await fetch(`${url}/fetched`, { dispatcher: agent });
    expect(await viaFetch.json()).toMatchObject({ servername: 'web.shop.svc', url: '/fetched' });
  });

  it('fails on a host name the certificate does not name (verification is on), without retrying', async () => {
    const { pods, agent } = await setup(2, { connect: { ca: ca.cert } });
    const error = await rejection(request(`https://api.shop.svc:${pods.port}/`, { dispatcher: agent }));
    expect(error.code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    expect(pods.pods.reduce((n, pod) => n + pod.count(), 0)).toBe(0);
    expect(agent.balancer.stats().totals).toMatchObject({ picks: 1, failures: 1 });
  });

  it('fails when the CA is not trusted', async () => {
    const { pods, agent } = await setup(1, {});
    const error = await rejection(request(`https://web.shop.svc:${pods.port}/`, { dispatcher: agent }));
    expect(error.code).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER/);
    expect(pods.pods[0]?.count()).toBe(0);
  });
});

describe('allowH2', () => {
  it('is off by default: HTTP/1.1 even to a pod that speaks h2', async () => {
    const { pods, agent } = await setup(1, { connect: { ca: ca.cert } }, { ...cert, h2: true });
    const response = await request(`https://web.shop.svc:${pods.port}/v`, { dispatcher: agent });
    expect(((await response.body.json()) as PodRequest).httpVersion).toBe('1.1');
  });

  it('negotiates HTTP/2 with the pods when on', async () => {
    const { pods, agent } = await setup(
      2,
      { connect: { ca: ca.cert }, allowH2: true },
      { ...cert, h2: true },
    );
    for (let i = 0; i < 6; i++) {
      const response = await request(`https://web.shop.svc:${pods.port}/v`, {
        dispatcher: agent,
        method: 'POST',
        body: `h2 ${i}`,
      });
      const seen = (await response.body.json()) as PodRequest;
      expect(seen).toMatchObject({ httpVersion: '2.0', body: `h2 ${i}`, host: `web.shop.svc:${pods.port}` });
      expect(seen.servername).toBe('web.shop.svc');
    }
  });
});
