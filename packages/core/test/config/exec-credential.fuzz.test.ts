import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Credentials, ExecCredentialSource } from '../../src/config/index.js';
import { ExecCredentialError } from '../../src/errors.js';
import { fuzzRuns, fuzzTimeout } from '../support/fuzz.js';
import { hostileString, looseValue, mostly } from '../support/json-arbitraries.js';
import { expectNotShown, pluginRuns, setPluginResponse, tempDir, writeExecPlugin } from './helpers.js';

const V1 = 'client.authentication.k8s.io/v1';
const TOKEN = 'exec-token-DO-NOT-SHOW';
const KEY = 'exec-key-DO-NOT-SHOW';
const NOW = Date.parse('2026-06-01T00:00:00Z');
const CERT = '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----';

/** expirationTimestamps: readable ones (long past, far future), and ones that pass the RFC 3339 pattern but no calendar. */
const timestamp = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '2030-01-01T00:00:00Z',
      '9999-12-31T23:59:59Z',
      '0000-01-01T00:00:00Z',
      '1970-01-01T00:00:00Z',
      '2024-02-30T00:00:00Z',
      '2024-01-01T24:00:00Z',
      `2024-01-01T00:00:00.${'9'.repeat(400)}Z`,
      '2024-01-01 00:00:00z',
    ),
  },
  {
    weight: 4,
    arbitrary: fc.constantFrom('2024-13-01T00:00:00Z', '2024-12-31T23:59:60Z', '2024-01-01T00:00:00+99:99'),
  },
  { weight: 1, arbitrary: fc.constantFrom('+275760-09-13T00:00:00Z', '1e400', 'now', '') },
  { weight: 1, arbitrary: looseValue },
);

/** An ExecCredential, right in most fields and wrong in some; its secrets are TOKEN and KEY. */
const credential = fc.record(
  {
    apiVersion: fc.oneof(
      { weight: 4, arbitrary: fc.constant(V1) },
      {
        weight: 1,
        arbitrary: fc.constantFrom('client.authentication.k8s.io/v1beta1', 'client.authentication.k8s.io/v2'),
      },
      { weight: 1, arbitrary: looseValue },
    ),
    kind: fc.oneof(
      { weight: 4, arbitrary: fc.constant('ExecCredential') },
      { weight: 1, arbitrary: fc.constant('execcredential') },
      { weight: 1, arbitrary: looseValue },
    ),
    status: mostly(
      fc
        .tuple(
          fc.record(
            { token: mostly(fc.constant(TOKEN)), expirationTimestamp: timestamp, extra: looseValue },
            { requiredKeys: ['token'] },
          ),
          fc.oneof(
            { weight: 3, arbitrary: fc.constant({}) },
            { weight: 2, arbitrary: fc.constant({ clientCertificateData: CERT, clientKeyData: KEY }) },
            {
              weight: 1,
              arbitrary: fc.record(
                { clientCertificateData: mostly(fc.constant(CERT)), clientKeyData: mostly(fc.constant(KEY)) },
                { requiredKeys: [] },
              ),
            },
          ),
        )
        .map(([fields, certificate]) => ({ ...fields, ...certificate })),
    ),
    spec: looseValue,
  },
  { requiredKeys: ['apiVersion', 'kind', 'status'] },
);

/** What a plugin may print: an ExecCredential, one cut or wrapped in noise, or anything at all. */
const stdout = fc.oneof(
  { weight: 10, arbitrary: credential.map((c) => JSON.stringify(c)) },
  {
    weight: 2,
    arbitrary: fc.tuple(credential, fc.nat(), hostileString).map(([c, cut, noise]) => {
      const text = JSON.stringify(c);
      return cut % 2 === 0 ? text.slice(0, cut % text.length) : `${noise}${text}${noise}`;
    }),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: hostileString },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 1_000, max: 100_000 })
      .map((depth) => `${'['.repeat(depth)}"${TOKEN}"${']'.repeat(depth)}`),
  },
);

describe('ExecCredentialSource with a plugin that prints anything (fuzz)', { timeout: fuzzTimeout }, () => {
  it('gives the credentials the output holds, or an ExecCredentialError that shows no secret', async () => {
    const dir = tempDir('ew-exec-fuzz-');
    const command = writeExecPlugin(dir);
    await fc.assert(
      fc.asyncProperty(stdout, async (text) => {
        setPluginResponse(dir, { stdout: text });
        const source = new ExecCredentialSource({
          command,
          apiVersion: V1,
          timeoutMs: 10_000,
          now: () => NOW,
        });
        let credentials: Credentials;
        try {
          credentials = await source.credentials();
        } catch (error) {
          expect(error).toBeInstanceOf(ExecCredentialError);
          expect((error as ExecCredentialError).code).toBe('ERR_EXEC_CREDENTIAL');
          expectNotShown(error, [TOKEN, KEY]);
          return;
        }
        expectNotShown(credentials, [TOKEN, KEY]);
        const status = (JSON.parse(text) as { status: Record<string, unknown> }).status;
        const revealed = [credentials.token?.reveal(), credentials.clientCertificate?.key.reveal()];
        // A key is any non-empty string the plugin prints; KEY is only the usual one.
        expect(revealed).toEqual([
          status.token || undefined,
          status.clientCertificateData ? status.clientKeyData : undefined,
        ]);
        // Kept until a readable expirationTimestamp, or until a refresh without one; never an unreadable one.
        const expiresAt = status.expirationTimestamp
          ? Date.parse(String(status.expirationTimestamp))
          : undefined;
        if (expiresAt !== undefined) expect(Number.isFinite(expiresAt)).toBe(true);
        const runs = pluginRuns(dir);
        const again = await source.credentials();
        const cached = expiresAt === undefined || NOW < expiresAt;
        expect(pluginRuns(dir) - runs).toBe(cached ? 0 : 1);
        if (cached) expect(again).toBe(credentials);
      }),
      { numRuns: fuzzRuns(40, 100) },
    );
  });

  it('refuses more than 1 MiB of output, however it is made', async () => {
    const dir = tempDir('ew-exec-fuzz-');
    const command = writeExecPlugin(dir);
    const credential = JSON.stringify({ apiVersion: V1, kind: 'ExecCredential', status: { token: TOKEN } });
    setPluginResponse(dir, { stdout: `${credential}${' '.repeat(1024 * 1024)}` });
    const error = await new ExecCredentialSource({ command, apiVersion: V1 })
      .credentials()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExecCredentialError);
    expect((error as Error).message).toMatch(/more than 1048576 bytes/);
    expectNotShown(error, [TOKEN]);
  });
});
