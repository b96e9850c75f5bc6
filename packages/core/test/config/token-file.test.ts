import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TokenFileCredentialSource } from '../../src/config/index.js';
import { KubeConfigError } from '../../src/errors.js';
import { load, simpleKubeconfig, tempDir, writeFile, writeKubeconfig } from './helpers.js';

function clock(start = 1_000_000) {
  const state = { t: start };
  return { now: () => state.t, advance: (ms: number) => (state.t += ms) };
}

async function tokenOf(source: {
  credentials(o?: { refresh?: boolean }): Promise<{ token?: { reveal(): string } }>;
}) {
  return (await source.credentials()).token?.reveal();
}

describe('TokenFileCredentialSource', () => {
  it('caches the token for 60 s by default and re-reads it afterwards', async () => {
    const dir = tempDir();
    const file = writeFile(path.join(dir, 'token'), 'one\n');
    const c = clock();
    const source = new TokenFileCredentialSource(file, { now: c.now });
    expect(await tokenOf(source)).toBe('one');
    fs.writeFileSync(file, 'two');
    c.advance(59_999);
    expect(await tokenOf(source)).toBe('one');
    c.advance(1);
    expect(await tokenOf(source)).toBe('two');
  });

  it('honours a configured interval', async () => {
    const dir = tempDir();
    const file = writeFile(path.join(dir, 'token'), 'one');
    const c = clock();
    const source = new TokenFileCredentialSource(file, { now: c.now, refreshIntervalMs: 5_000 });
    expect(await tokenOf(source)).toBe('one');
    fs.writeFileSync(file, 'two');
    c.advance(4_999);
    expect(await tokenOf(source)).toBe('one');
    c.advance(1);
    expect(await tokenOf(source)).toBe('two');
  });

  it('re-reads immediately on refresh', async () => {
    const dir = tempDir();
    const file = writeFile(path.join(dir, 'token'), 'before');
    const source = new TokenFileCredentialSource(file, { now: clock().now });
    expect(await tokenOf(source)).toBe('before');
    fs.writeFileSync(file, 'after');
    expect((await source.credentials({ refresh: true })).token?.reveal()).toBe('after');
    expect(await tokenOf(source)).toBe('after');
  });

  it('fails with a KubeConfigError for an empty or vanished file', async () => {
    const dir = tempDir();
    const file = writeFile(path.join(dir, 'token'), '  \n');
    const source = new TokenFileCredentialSource(file);
    await expect(source.credentials()).rejects.toThrow(/is empty/);
    fs.rmSync(file);
    const error = await source.credentials({ refresh: true }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(KubeConfigError);
    expect((error as Error).message).toContain(file);
  });

  it('rejects with the abort reason when the signal is aborted', async () => {
    const dir = tempDir();
    const file = writeFile(path.join(dir, 'token'), 'x');
    const reason = new Error('stop');
    await expect(
      new TokenFileCredentialSource(file).credentials({ signal: AbortSignal.abort(reason) }),
    ).rejects.toBe(reason);
  });

  it('is what a kubeconfig tokenFile user gets, with the injected clock and interval', async () => {
    const dir = tempDir();
    const tokenFile = writeFile(path.join(dir, 'user-token'), 'v1');
    const file = writeKubeconfig(
      path.join(dir, 'config'),
      simpleKubeconfig({ user: { tokenFile: 'user-token' } }),
    );
    const c = clock();
    const config = load({ kubeconfig: file, now: c.now, tokenFileRefreshIntervalMs: 1_000 });
    expect(await tokenOf(config.auth)).toBe('v1');
    fs.writeFileSync(tokenFile, 'v2');
    expect(await tokenOf(config.auth)).toBe('v1');
    c.advance(1_000);
    expect(await tokenOf(config.auth)).toBe('v2');
  });

  it('a kubeconfig tokenFile takes precedence over token', async () => {
    const dir = tempDir();
    writeFile(path.join(dir, 'user-token'), 'from-file');
    const file = writeKubeconfig(
      path.join(dir, 'config'),
      simpleKubeconfig({ user: { token: 'inline', tokenFile: 'user-token' } }),
    );
    expect(await tokenOf(load({ kubeconfig: file }).auth)).toBe('from-file');
  });

  it('a missing kubeconfig tokenFile fails at load', () => {
    const dir = tempDir();
    const file = writeKubeconfig(path.join(dir, 'config'), simpleKubeconfig({ user: { tokenFile: 'nope' } }));
    expect(() => load({ kubeconfig: file })).toThrow(path.join(dir, 'nope'));
  });
});
