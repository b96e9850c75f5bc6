import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// `pnpm test:cluster`: the SDK against a real control plane (cluster/README.md). Each test file starts
// its own etcd + kube-apiserver + kube-controller-manager; on 2 cores they run one file at a time.
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    // The unit suite's projects (grpc-js versions) are not the cluster's.
    projects: undefined,
    include: ['cluster/test/**/*.test.ts'],
    globalSetup: ['cluster/test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
