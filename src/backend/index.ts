// Backend selection. `ts` = the readable operators; `wasm` = SIMD kernels (default once built).
// The choice is explicit (API option / --backend flag), never an environment variable.

import { BackendError } from '../errors.js';
import type { Backend, QuantDot } from './backend.js';

export type BackendName = 'ts' | 'wasm';
export interface BackendOptions {
  /** Worker threads for the wasm backend (default: available cores). Ignored by `ts`. */
  threads?: number;
  /** wasm kernel build: 'simd' (default, the parity build) or 'relaxed' (relaxed-SIMD madd,
   *  may fuse to FMA; throws where the engine does not validate it). Ignored by `ts`. */
  kernels?: 'simd' | 'relaxed';
  /** wasm: quantized Linears through integer dot products (opt-in, changes numerics: true /
   *  'int16' x rounded per row to int16, 'int8' per 32 inputs; docs/quantization.md).
   *  Ignored by `ts`. */
  quantDot?: QuantDot;
}

export async function createBackend(name: BackendName = 'ts', opts: BackendOptions = {}): Promise<Backend> {
  switch (name) {
    case 'ts': {
      const { TsBackend } = await import('./ts.js');
      return new TsBackend();
    }
    case 'wasm': {
      const { createWasmBackend } = await import('./wasm.js');
      return createWasmBackend(opts);
    }
    default:
      throw new BackendError(`unknown backend '${name as string}': expected 'ts' or 'wasm'`);
  }
}
