import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createCertificateAuthority,
  createServerCertificate,
  endpointSet,
  eventually,
  type LoopbackPodRequest,
  type LoopbackPods,
  startLoopbackPods,
  within,
} from '../src/index.js';

let pods: LoopbackPods | undefined;
afterEach(async () => {
  await pods?.close();
  pods = undefined;
});

describe('startLoopbackPods', () => {
  it('starts pods on consecutive loopback addresses sharing one port, and echoes requests', async () => {
    pods = await startLoopbackPods({ count: 3, skip: ['127.0.0.3'] });
    expect(pods.addresses).toEqual(['127.0.0.2', '127.0.0.4', '127.0.0.5']);
    for (const pod of pods.pods) expect(pod.port).toBe(pods.port);
    const response = await request(`http://127.0.0.4:${pods.port}/x`, { method: 'POST', body: 'hi' });
    const seen = (await response.body.json()) as LoopbackPodRequest;
    expect(seen).toMatchObject({
      pod: '127.0.0.4',
      method: 'POST',
      url: '/x',
      body: 'hi',
      httpVersion: '1.1',
    });
    const b = pods.byAddress('127.0.0.4');
    await within(b.received(1), 1_000, 'the request');
    expect(b.count((r) => r.method === 'POST')).toBe(1);
    expect(b.connections).toBe(1);
    expect(pods.counts()).toEqual({ '127.0.0.2': 0, '127.0.0.4': 1, '127.0.0.5': 0 });
  });

  it('answers as the mode and handler say', async () => {
    pods = await startLoopbackPods({
      handler: (req, res) => {
        if (req.url !== '/teapot') return false;
        res.writeHead(418).end();
        return true;
      },
    });
    const [pod] = pods.pods;
    if (!pod) throw new Error('no pod');
    expect(pod.address).toBe('127.0.0.2');
    const url = `http://${pod.address}:${pods.port}`;
    expect((await request(`${url}/teapot`)).statusCode).toBe(418);
    pod.mode = 'status';
    pod.status = 503;
    const response = await request(url);
    await response.body.dump();
    expect(response.statusCode).toBe(503);
    expect(pod.count()).toBe(2);
  });

  it('kill() drops open connections at once; the port is free again', async () => {
    pods = await startLoopbackPods({ count: 2 });
    const a = pods.pods[0];
    if (!a) throw new Error('no pod');
    a.mode = 'hang';
    const pending = request(`http://${a.address}:${pods.port}/`).catch((error: Error) => error);
    await within(a.received(1), 2_000, 'the request');
    await a.kill();
    expect(await pending).toBeInstanceOf(Error);
    await eventually(() => a.sockets.size === 0, 'sockets to close');
    expect(a.server.listening).toBe(false);
  });

  it('restart() brings a killed pod back on the same address and port', async () => {
    pods = await startLoopbackPods({ count: 2 });
    const a = pods.pods[0];
    if (!a) throw new Error('no pod');
    const url = `http://${a.address}:${pods.port}/`;
    await a.kill();
    await expect(request(url)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await a.restart();
    await a.restart(); // already listening: nothing to do
    const response = await request(url);
    expect(((await response.body.json()) as LoopbackPodRequest).pod).toBe(a.address);
    expect(a.count()).toBe(1);
  });

  it('serves https and listens on ::1 when asked; refuses non-loopback addresses', async () => {
    const ca = await createCertificateAuthority();
    const cert = await createServerCertificate(ca, { names: ['web.shop.svc'] });
    pods = await startLoopbackPods({ addresses: ['::1'], tls: cert });
    expect(pods.addresses).toEqual(['::1']);
    await expect(startLoopbackPods({ addresses: ['0.0.0.0'] })).rejects.toThrow(/loopback/);
    await expect(startLoopbackPods({ firstAddress: '10.0.0.1' })).rejects.toThrow(/127\.0\.0\.0\/8/);
  });

  it('builds EndpointSet-shaped snapshots', () => {
    expect(endpointSet(['127.0.0.2', '::1'], 8080, { namespace: 'shop' })).toEqual({
      namespace: 'shop',
      service: 'web',
      port: { name: 'http', protocol: 'TCP' },
      endpoints: [
        {
          address: '127.0.0.2',
          port: 8080,
          addressType: 'IPv4',
          ready: true,
          serving: true,
          terminating: false,
        },
        { address: '::1', port: 8080, addressType: 'IPv6', ready: true, serving: true, terminating: false },
      ],
      all: expect.any(Array),
      resourceVersion: '1',
      source: 'endpointslices',
    });
  });
});
