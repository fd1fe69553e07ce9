import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // 2-core machines: files run in parallel in at most 2 forked workers.
    pool: 'forks',
    maxWorkers: 2,
  },
});
