import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { afterEach, expect } from 'vitest';
import { stringify } from 'yaml';
import { loadKubeConfig } from '../../src/config/index.js';
import type { KubeConfig, LoadKubeConfigOptions } from '../../src/config/types.js';

const created: string[] = [];

/** A fresh temp directory, removed after the test. */
export function tempDir(prefix = 'ew-config-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  created.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of created.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

export function writeFile(file: string, content: string, mode?: number): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content, mode === undefined ? undefined : { mode });
  return file;
}

export function pem(label: string, body: string): string {
  return `-----BEGIN ${label}-----\n${Buffer.from(body).toString('base64')}\n-----END ${label}-----\n`;
}

export const CA_PEM = pem('CERTIFICATE', 'test certificate authority');
export const CERT_PEM = pem('CERTIFICATE', 'test client certificate');
export const KEY_PEM = pem('PRIVATE KEY', 'KEYMATERIAL-do-not-leak-4242');
export const KEY_MARKER = Buffer.from('KEYMATERIAL-do-not-leak-4242').toString('base64');

export const b64 = (text: string): string => Buffer.from(text).toString('base64');

interface Named<T> {
  name: string;
  value: T;
}

/** Builds a kubeconfig object in the on-disk shape. */
export function kubeconfig(parts: {
  current?: string;
  clusters?: Named<Record<string, unknown>>[];
  users?: Named<Record<string, unknown>>[];
  contexts?: Named<Record<string, unknown>>[];
}): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    ...(parts.current !== undefined && { 'current-context': parts.current }),
    clusters: (parts.clusters ?? []).map((c) => ({ name: c.name, cluster: c.value })),
    users: (parts.users ?? []).map((u) => ({ name: u.name, user: u.value })),
    contexts: (parts.contexts ?? []).map((c) => ({ name: c.name, context: c.value })),
  };
}

export function writeKubeconfig(file: string, config: Record<string, unknown>): string {
  return writeFile(file, stringify(config));
}

/** A one-context kubeconfig: cluster `c`, user `u`, context `ctx`. */
export function simpleKubeconfig(
  options: {
    server?: string;
    cluster?: Record<string, unknown>;
    user?: Record<string, unknown>;
    namespace?: string;
    context?: string;
  } = {},
): Record<string, unknown> {
  const context = options.context ?? 'ctx';
  return kubeconfig({
    current: context,
    clusters: [
      { name: 'c', value: { server: options.server ?? 'https://c.example:6443', ...options.cluster } },
    ],
    users: [{ name: 'u', value: options.user ?? { token: 'tok' } }],
    contexts: [
      {
        name: context,
        value: {
          cluster: 'c',
          user: 'u',
          ...(options.namespace !== undefined && { namespace: options.namespace }),
        },
      },
    ],
  });
}

/** A service account directory with `token`, `ca.crt` and (optionally) `namespace`. */
export function serviceAccountDir(files: { token?: string; ca?: string; namespace?: string } = {}): string {
  const dir = tempDir('ew-sa-');
  if (files.token !== undefined) writeFile(path.join(dir, 'token'), files.token);
  if (files.ca !== undefined) writeFile(path.join(dir, 'ca.crt'), files.ca);
  if (files.namespace !== undefined) writeFile(path.join(dir, 'namespace'), files.namespace);
  return dir;
}

/**
 * Writes a tiny exec credential plugin (a Node script) to `dir`. Each run increments `dir/count`, records
 * its KUBERNETES_EXEC_INFO, argv and selected env in `dir/run-<n>.json`, its pid in `dir/pid`, then answers
 * per `dir/response.json`: `{ stdout, stderr, exitCode, delayMs }`; `{n}` in stdout is the run number.
 */
export function writeExecPlugin(dir: string, name = 'plugin.cjs'): string {
  const script = `#!/usr/bin/env node
const fs = require('node:fs');
const path = require('node:path');
const dir = __dirname;
const countFile = path.join(dir, 'count');
const n = (fs.existsSync(countFile) ? Number(fs.readFileSync(countFile, 'utf8')) : 0) + 1;
fs.writeFileSync(countFile, String(n));
fs.writeFileSync(path.join(dir, 'pid'), String(process.pid));
let stdinBytes = -1;
try { stdinBytes = fs.readFileSync(0).length; } catch { stdinBytes = -2; }
fs.writeFileSync(path.join(dir, 'run-' + n + '.json'), JSON.stringify({
  execInfo: process.env.KUBERNETES_EXEC_INFO,
  args: process.argv.slice(2),
  extra: process.env.PLUGIN_EXTRA,
  hasPath: Boolean(process.env.PATH),
  stdinBytes,
}));
const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'response.json'), 'utf8'));
const answer = () => {
  if (cfg.stderr) process.stderr.write(cfg.stderr);
  if (cfg.stdout !== undefined) {
    const out = typeof cfg.stdout === 'string' ? cfg.stdout : JSON.stringify(cfg.stdout);
    process.stdout.write(out.split('{n}').join(String(n)));
  }
  process.exitCode = cfg.exitCode ?? 0;
};
if (cfg.delayMs) setTimeout(answer, cfg.delayMs); else answer();
`;
  return writeFile(path.join(dir, name), script, 0o755);
}

export function setPluginResponse(
  dir: string,
  response: { stdout?: unknown; stderr?: string; exitCode?: number; delayMs?: number },
): void {
  writeFile(path.join(dir, 'response.json'), JSON.stringify(response));
}

export function pluginRuns(dir: string): number {
  const file = path.join(dir, 'count');
  return fs.existsSync(file) ? Number(fs.readFileSync(file, 'utf8')) : 0;
}

export function pluginRun(
  dir: string,
  n: number,
): { execInfo: string; args: string[]; extra?: string; stdinBytes: number } {
  return JSON.parse(fs.readFileSync(path.join(dir, `run-${n}.json`), 'utf8'));
}

export function execCredential(
  status: Record<string, unknown>,
  apiVersion = 'client.authentication.k8s.io/v1',
): Record<string, unknown> {
  return { apiVersion, kind: 'ExecCredential', status };
}

/**
 * `loadKubeConfig` isolated from the machine: empty env, an empty home directory and a no-op warn unless
 * the test says otherwise.
 */
export function load(options: LoadKubeConfigOptions = {}): KubeConfig {
  return loadKubeConfig({ env: {}, homeDir: tempDir('ew-home-'), warn: () => {}, ...options });
}

/** None of `secrets` shows in `value` through util.inspect (hidden fields, causes), JSON or String. */
export function expectNotShown(value: unknown, secrets: readonly string[]): void {
  const renderings = [
    inspect(value, { depth: Number.POSITIVE_INFINITY, showHidden: true, getters: true }),
    JSON.stringify(value) ?? '',
    String(value),
  ];
  for (const text of renderings) {
    for (const secret of secrets) expect(text).not.toContain(secret);
  }
}
