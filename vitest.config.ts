import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Network tests start real DCMTK/Orthanc peers and the node itself; give them room on a busy 2-core machine.
    // A limit here only catches a hang, it is never a speed check.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    fileParallelism: false,
  },
});
