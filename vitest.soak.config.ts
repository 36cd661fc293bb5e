import { defineConfig } from 'vitest/config';

// `npm run soak`: the long fault soak, kept out of `npm test` (it runs for most of an hour with the defaults).
export default defineConfig({
  test: {
    include: ['test/soak/**/*.soak.ts'],
    testTimeout: 4 * 3600_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
