// The shared operator suite (test/ops/backend-suite.ts, f64 references with written bounds) on
// the relaxed-SIMD kernel build. f32x4.relaxed_madd may fuse (one rounding instead of two), so
// each product term differs from the SIMD128 build by at most 1/2 ulp of a·b, well inside the
// suite's f32 bound (n + 2)·u·Σ|a·b| per dot product (docs/kernels.md, "relaxed SIMD").
// vitest.config.ts starts the workers with --experimental-wasm-relaxed-simd; the first test
// fails if the engine still refuses relaxed SIMD, so this file cannot pass by skipping.
import { describe, expect, it } from 'vitest';
import { relaxedSimdAvailable } from '../../src/backend/wasm/kernels.js';
import { createWasmBackend } from '../../src/backend/wasm.js';
import { backendSuite } from '../ops/backend-suite.js';

describe('relaxed SIMD under the test runner', () => {
  it('is validated by the engine (vitest.config.ts passes the V8 flag)', () => {
    expect(relaxedSimdAvailable()).toBe(true);
  });
  it('is live only when asked for', async () => {
    const be = await createWasmBackend({ threads: 1, kernels: 'relaxed' });
    expect(be.info().variant).toBe('relaxed');
    be.dispose();
    const d = await createWasmBackend({ threads: 1 });
    expect(d.info().variant).toBe('simd');
    d.dispose();
  });
});

if (relaxedSimdAvailable()) {
  backendSuite(
    'wasm',
    async () => {
      const be = await createWasmBackend({ threads: 2, kernels: 'relaxed' });
      if (be.info().variant !== 'relaxed') throw new Error(`expected the relaxed build, got ${be.info().variant}`);
      return be;
    },
    { accum: 'f32' },
  );
}
