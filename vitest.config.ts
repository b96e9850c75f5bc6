import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

/**
 * `@endpoint-watch/grpc` claims `@grpc/grpc-js` ^1.10, whose experimental API changed shape in 1.12,
 * 1.13 and 1.14: its end-to-end tests run again against each older copy packages/grpc installs as an
 * aliased devDependency (`"grpc-js-1-10": "npm:@grpc/grpc-js@1.10.12"`, …), one project each. The
 * alias applies to the package under test and to the test's own imports (subpaths included), so
 * both load the same copy: grpc-js keeps its resolver and policy registries in module state.
 */
const grpcDevDependencies: Record<string, string> = JSON.parse(
  readFileSync(new URL('./packages/grpc/package.json', import.meta.url), 'utf8'),
).devDependencies;
const grpcJsProjects = Object.entries(grpcDevDependencies)
  .filter(([name]) => name.startsWith('grpc-js-'))
  .map(([name, spec]) => ({
    extends: true as const,
    resolve: { alias: [{ find: /^@grpc\/grpc-js(?=\/|$)/, replacement: name }] },
    test: {
      name,
      include: ['packages/grpc/test/e2e.test.ts', 'packages/grpc/test/grpc-js-copy.test.ts'],
      // The version the copy must report (grpc-js-copy.test.ts): a lost alias fails, not passes.
      env: { EXPECTED_GRPC_JS: spec.replace('npm:@grpc/grpc-js@', '') },
    },
  }));

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
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: [
            'packages/*/test/**/*.test.ts',
            'examples/*/test/**/*.test.ts',
            'reliability/test/**/*.test.ts',
            'packaging/test/**/*.test.ts',
            // The benchmark suite's judge and renderers (the benchmarks themselves are never tests).
            'benchmarks/test/**/*.test.mjs',
          ],
        },
      },
      ...grpcJsProjects,
    ],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
  },
});
