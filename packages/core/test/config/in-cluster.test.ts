import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { KubeConfigError } from '../../src/errors.js';
import { CA_PEM, load, serviceAccountDir } from './helpers.js';

const env = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };

describe('in-cluster configuration', () => {
  it('reads server from the environment and token, CA and namespace from the service account directory', async () => {
    const dir = serviceAccountDir({ token: 'sa-token\n', ca: CA_PEM, namespace: 'team-a\n' });
    const config = load({ env, inCluster: { serviceAccountDir: dir } });
    expect(config).toMatchObject({
      server: 'https://10.96.0.1:443',
      namespace: 'team-a',
      source: 'in-cluster',
      tls: { ca: CA_PEM, insecureSkipTlsVerify: false },
    });
    expect(config.tls.serverName).toBeUndefined();
    expect(config.context).toBeUndefined();
    expect((await config.auth.credentials()).token?.reveal()).toBe('sa-token');
  });

  it('brackets an IPv6 service host', () => {
    const dir = serviceAccountDir({ token: 't', ca: CA_PEM });
    const config = load({
      env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' },
      inCluster: { serviceAccountDir: dir },
    });
    expect(config.server).toBe('https://[fd00::1]:443');
  });

  it('applies the tlsServerName option (pod reaching the apiserver by IP)', () => {
    const dir = serviceAccountDir({ token: 't', ca: CA_PEM });
    const config = load({ env, inCluster: { serviceAccountDir: dir }, tlsServerName: 'cluster.condi.me' });
    expect(config.tls.serverName).toBe('cluster.condi.me');
    expect(config.server).toBe('https://10.96.0.1:443');
  });

  it('namespace: option > namespace file > default', () => {
    const withFile = serviceAccountDir({ token: 't', ca: CA_PEM, namespace: 'from-file' });
    expect(load({ env, inCluster: { serviceAccountDir: withFile }, namespace: 'opt' }).namespace).toBe('opt');
    expect(load({ env, inCluster: { serviceAccountDir: withFile } }).namespace).toBe('from-file');
    const withoutFile = serviceAccountDir({ token: 't', ca: CA_PEM });
    expect(load({ env, inCluster: { serviceAccountDir: withoutFile } }).namespace).toBe('default');
  });

  it('fails at load without the service environment variables', () => {
    const dir = serviceAccountDir({ token: 't', ca: CA_PEM });
    expect(() => load({ env: {}, inCluster: { serviceAccountDir: dir } })).toThrow(/KUBERNETES_SERVICE_HOST/);
    expect(() =>
      load({ env: { KUBERNETES_SERVICE_HOST: '10.0.0.1' }, inCluster: { serviceAccountDir: dir } }),
    ).toThrow(/KUBERNETES_SERVICE_PORT/);
  });

  it('fails at load without a token file, naming it', () => {
    const dir = serviceAccountDir({ ca: CA_PEM });
    let error: unknown;
    try {
      load({ env, inCluster: { serviceAccountDir: dir } });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(KubeConfigError);
    expect((error as Error).message).toContain(path.join(dir, 'token'));
  });

  it('warns and uses system roots when ca.crt is missing', () => {
    const dir = serviceAccountDir({ token: 't' });
    const warn = vi.fn();
    const config = load({ env, inCluster: { serviceAccountDir: dir }, warn });
    expect(config.tls.ca).toBeUndefined();
    expect(warn).toHaveBeenCalledWith(expect.stringContaining(path.join(dir, 'ca.crt')));
  });

  it('re-reads the rotated token on refresh', async () => {
    const dir = serviceAccountDir({ token: 'first', ca: CA_PEM });
    const config = load({ env, inCluster: { serviceAccountDir: dir } });
    expect((await config.auth.credentials()).token?.reveal()).toBe('first');
    fs.writeFileSync(path.join(dir, 'token'), 'rotated');
    expect((await config.auth.credentials()).token?.reveal()).toBe('first');
    expect((await config.auth.credentials({ refresh: true })).token?.reveal()).toBe('rotated');
  });
});
