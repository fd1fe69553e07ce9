// The shared operator suite (test/ops/backend-suite.ts: every op against an independent f64
// reference with a written per-element bound) run on the wasm backend: 1 thread; 2 threads
// with a weight store forced to span many memories (16 KiB of weights per memory), so every
// op also runs with its weight outside memory 0 and with a bias in a different memory.
// The wasm kernels accumulate dot products in f32 (mul then add, not fused) and norm/softmax
// statistics in f64, so they are held to the suite's f32 bounds.

import { createWasmBackend } from '../../src/backend/wasm.js';
import { backendSuite } from '../ops/backend-suite.js';

backendSuite('wasm', () => createWasmBackend({ threads: 1 }), { accum: 'f32' });
backendSuite('wasm', () => createWasmBackend({ threads: 2, weightBytesPerMemory: 16384 }), { accum: 'f32' });
