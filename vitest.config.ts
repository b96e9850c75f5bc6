import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the sources, so `pnpm test` does not depend on a fresh build.
    alias: {
      '@endpoint-watch/core': src('core'),
      '@endpoint-watch/testing': src('testing'),
      '@endpoint-watch/balancer': src('balancer'),
      '@endpoint-watch/undici': src('undici'),
      '@endpoint-watch/axios': src('axios'),
      '@endpoint-watch/cli': src('cli'),
    },
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
  },
});
