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
      '@endpoint-watch/grpc': src('grpc'),
    },
  },
  test: {
    // CI asks for a JSON report too (its closing line is read from it): VITEST_JSON_REPORT=<path>.
    reporters: process.env.VITEST_JSON_REPORT ? ['default', 'json'] : ['default'],
    ...(process.env.VITEST_JSON_REPORT ? { outputFile: { json: process.env.VITEST_JSON_REPORT } } : {}),
    include: [
      'packages/*/test/**/*.test.ts',
      'examples/*/test/**/*.test.ts',
      'reliability/test/**/*.test.ts',
      'packaging/test/**/*.test.ts',
      // The benchmark suite's judge and renderers (the benchmarks themselves are never tests).
      'benchmarks/test/**/*.test.mjs',
    ],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
  },
});
