// The shared operator suite (test/ops/backend-suite.ts: every op against an independent f64
// reference with a written per-element bound) run on the wasm backend at 1 and 2 threads.
// The wasm kernels accumulate in f32 (dot products, GEMM) and f64 (norm statistics, softmax
// sums), so they are held to the suite's f32 bounds.
import { backendSuite } from '../ops/backend-suite.js';
import { createWasmBackend } from '../../src/backend/wasm.js';

backendSuite('wasm', () => createWasmBackend({ threads: 1 }), { accum: 'f32' });
