import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // 2-core machines: files run in parallel in at most 2 forked workers.
    pool: 'forks',
    maxWorkers: 2,
    // Node 20 validates relaxed SIMD only behind this V8 flag; with it the relaxed kernel build
    // is tested too (test/kernels/backend-suite-relaxed.test.ts). The default build stays
    // SIMD128 (tests assert it); the CLI tests spawn plain `node`, where relaxed is refused.
    execArgv: ['--experimental-wasm-relaxed-simd'],
  },
});
