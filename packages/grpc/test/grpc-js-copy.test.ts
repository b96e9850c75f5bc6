/**
 * The grpc-js copy these tests load is the one their vitest project names (vitest.config.ts runs
 * the end-to-end tests once per grpc-js minor of the peer range): without this, an alias that
 * stopped applying would run every project against the same copy and prove nothing.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const grpcDevDependencies: Record<string, string> = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
).devDependencies;

describe('grpc-js under test', () => {
  it('is the copy the vitest project names', async () => {
    const specifier = '@grpc/grpc-js/package.json';
    const { default: manifest } = (await import(specifier, { with: { type: 'json' } })) as {
      default: { version: string };
    };
    expect(manifest.version).toBe(process.env.EXPECTED_GRPC_JS ?? grpcDevDependencies['@grpc/grpc-js']);
  });
});
