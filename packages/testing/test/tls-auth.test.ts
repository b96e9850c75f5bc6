import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  createCertificateAuthority,
  createServerCertificate,
  type FakeApiServer,
  startFakeApiServer,
} from '../src/index.js';
import { get, type Json, RawWatch, SLICES } from './helpers.js';

let server: FakeApiServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A TLS handshake with the given options: resolves 'ok' or the error code. */
function handshake(port: number, options: { ca: string; servername?: string; cert?: string; key?: string }) {
  return new Promise<string>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ...options });
    socket.once('secureConnect', () => {
      // Under TLS 1.3 a rejected client certificate shows up after the handshake: read once.
      socket.once('data', () => {});
      socket.write('GET /version HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
    });
    socket.once('data', () => {
      socket.destroy();
      resolve('ok');
    });
    socket.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    socket.once('close', () => resolve('closed'));
  });
}

describe('authentication', () => {
  it('requires the bearer token (default test-token): 401 Status without the token value in it', async () => {
    server = await startFakeApiServer();
    expect(server.token).toBe('test-token');
    expect((await get(server, SLICES)).status).toBe(200);
    for (const token of [null, 'wrong-secret']) {
      const res = await get(server, SLICES, {}, { token });
      expect(res.status).toBe(401);
      expect(res.json).toEqual({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'Unauthorized',
        reason: 'Unauthorized',
        code: 401,
      });
      expect(res.text).not.toContain('wrong-secret');
    }
    // Anonymous /version is public; a wrong token is not.
    expect((await get(server, '/version', {}, { token: null })).status).toBe(200);
    expect((await get(server, '/version', {}, { token: 'nope' })).status).toBe(401);
    const w = await RawWatch.open(server, SLICES, {}, { token: 'nope' });
    await w.waitForClose();
    expect(w.status).toBe(401);
  });

  it('setToken rotates: only the new token is accepted from then on', async () => {
    server = await startFakeApiServer({ token: 'old' });
    expect((await get(server, SLICES, {}, { token: 'old' })).status).toBe(200);
    server.setToken('new');
    expect(server.token).toBe('new');
    expect((await get(server, SLICES, {}, { token: 'old' })).status).toBe(401);
    expect((await get(server, SLICES, {}, { token: 'new' })).status).toBe(200);
  });

  it('token: false accepts every request', async () => {
    server = await startFakeApiServer({ token: false });
    expect(server.token).toBeUndefined();
    expect((await get(server, SLICES, {}, { token: null })).status).toBe(200);
  });

  it('records requests with the authorization header redacted', async () => {
    server = await startFakeApiServer();
    await get(server, SLICES, { limit: '5' });
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]).toMatchObject({
      method: 'GET',
      path: SLICES,
      query: { limit: '5' },
      status: 200,
      watch: false,
    });
    expect(server.requests[0]?.headers.authorization).toBe('REDACTED');
    const waiting = server.waitForRequest((r) => r.query.limit === '7');
    await get(server, SLICES, { limit: '7' });
    expect((await waiting).status).toBe(200);
    server.clearRequests();
    expect(server.requests).toHaveLength(0);
  });
});

describe('TLS', () => {
  it('serves HTTPS for localhost, 127.0.0.1 and ::1 by default, trusted through its CA', async () => {
    server = await startFakeApiServer({ tls: true });
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(server.tls?.ca).toContain('BEGIN CERTIFICATE');
    expect(server.tls?.key).toContain('BEGIN PRIVATE KEY');
    expect((await get(server, SLICES)).status).toBe(200);
    const port = Number(new URL(server.url).port);
    expect(await handshake(port, { ca: server.tls!.ca })).toBe('ok');
    expect(await handshake(port, { ca: server.tls!.ca, servername: 'localhost' })).toBe('ok');
    expect(await handshake(port, { ca: server.tls!.ca, servername: 'example.com' })).toBe(
      'ERR_TLS_CERT_ALTNAME_INVALID',
    );
    const otherCa = await createCertificateAuthority();
    expect(await handshake(port, { ca: otherCa.cert })).toMatch(
      /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED/,
    );
  });

  it('with names, the certificate is valid ONLY for those names', async () => {
    server = await startFakeApiServer({ tls: { names: ['cluster.condi.me'] } });
    const port = Number(new URL(server.url).port);
    const ca = server.tls!.ca;
    expect(await handshake(port, { ca, servername: 'cluster.condi.me' })).toBe('ok');
    expect(await handshake(port, { ca, servername: 'localhost' })).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    expect(await handshake(port, { ca })).toBe('ERR_TLS_CERT_ALTNAME_INVALID'); // 127.0.0.1 is not a SAN
    expect((await get(server, SLICES, {}, { servername: 'cluster.condi.me' })).status).toBe(200);
    await expect(get(server, SLICES)).rejects.toThrow();
  });

  it('requireClientCertificate: only clients with a certificate from the CA get in', async () => {
    server = await startFakeApiServer({ requireClientCertificate: true });
    const tls = server.tls!;
    expect(tls.client?.cert).toContain('BEGIN CERTIFICATE');
    const port = Number(new URL(server.url).port);
    expect(await handshake(port, { ca: tls.ca, cert: tls.client!.cert, key: tls.client!.key })).toBe('ok');
    expect(await handshake(port, { ca: tls.ca })).not.toBe('ok');
    const res = await get(server, SLICES, {}, { cert: tls.client!.cert, key: tls.client!.key });
    expect(res.status).toBe(200);
    await expect(get(server, SLICES)).rejects.toThrow();
  });

  it('createCertificateAuthority/createServerCertificate work for a plain node https server', async () => {
    const ca = await createCertificateAuthority({ commonName: 'my-ca' });
    const leaf = await createServerCertificate(ca, { names: ['cluster.condi.me'] });
    const https = createServer({ cert: leaf.cert, key: leaf.key }, (_req, res) => res.end('hi'));
    await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
    try {
      const port = (https.address() as { port: number }).port;
      expect(await handshake(port, { ca: ca.cert, servername: 'cluster.condi.me' })).toBe('ok');
      expect(await handshake(port, { ca: ca.cert, servername: 'other.condi.me' })).toBe(
        'ERR_TLS_CERT_ALTNAME_INVALID',
      );
    } finally {
      https.closeAllConnections();
      await new Promise((resolve) => https.close(resolve));
    }
  });

  it('listens on [::1] with an IPv6 URL', async () => {
    server = await startFakeApiServer({ host: '::1', tls: true });
    expect(server.url).toMatch(/^https:\/\/\[::1\]:\d+$/);
    expect((await get(server, SLICES)).status).toBe(200);
  });
});

describe('client configuration', () => {
  it('kubeconfig() carries server, CA data, token, client certificate and context options', async () => {
    server = await startFakeApiServer({ requireClientCertificate: true, token: 'tok' });
    const config: Json = parse(server.kubeconfig({ namespace: 'team', tlsServerName: 'cluster.condi.me' }));
    expect(config.kind).toBe('Config');
    expect(config['current-context']).toBe('fake');
    const cluster = config.clusters[0].cluster;
    expect(cluster.server).toBe(server.url);
    expect(Buffer.from(cluster['certificate-authority-data'], 'base64').toString()).toBe(server.tls!.ca);
    expect(cluster['tls-server-name']).toBe('cluster.condi.me');
    const user = config.users[0].user;
    expect(user.token).toBe('tok');
    expect(Buffer.from(user['client-certificate-data'], 'base64').toString()).toBe(server.tls!.client!.cert);
    expect(Buffer.from(user['client-key-data'], 'base64').toString()).toBe(server.tls!.client!.key);
    expect(config.contexts[0].context).toEqual({ cluster: 'fake', user: 'fake', namespace: 'team' });
    const other: Json = parse(
      server.kubeconfig({ context: 'c2', token: 'x', server: 'https://cluster.condi.me:6443' }),
    );
    expect(other.contexts[0].name).toBe('c2');
    expect(other.users[0].user.token).toBe('x');
    expect(other.clusters[0].cluster.server).toBe('https://cluster.condi.me:6443');
  });

  it('writeServiceAccount() writes token, ca.crt and namespace like a pod mount', async () => {
    server = await startFakeApiServer({ tls: true });
    const dir = mkdtempSync(join(tmpdir(), 'fake-sa-'));
    try {
      const files = server.writeServiceAccount(join(dir, 'sa'), { namespace: 'team' });
      expect(readFileSync(join(dir, 'sa', 'token'), 'utf8')).toBe('test-token');
      expect(readFileSync(join(dir, 'sa', 'ca.crt'), 'utf8')).toBe(server.tls!.ca);
      expect(readFileSync(join(dir, 'sa', 'namespace'), 'utf8')).toBe('team');
      expect(files.env).toEqual({
        KUBERNETES_SERVICE_HOST: '127.0.0.1',
        KUBERNETES_SERVICE_PORT: String(server.port),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
