// Creating a wasm backend: the options, the thread count (default: the available cores), the
// kernel build, memory 0, the worker pool, the warm-up and the GEMM blocking (option, else
// OVIS_GEMM_BLOCKING, else the process-wide probe; blocking.ts). Async only to start the
// workers; every Backend method is synchronous.
//
// This module has no Node-only import at top level: node:os (here) and node:worker_threads
// (pool.ts) are loaded lazily so Deno and Bun can import it.

import { InputError } from '../../errors.js';
import type { QuantDot } from '../backend.js';
import { blockingForScratch, checkBlocking, type GemmBlocking, processBlocking } from './blocking.js';
import { type KernelVariant, loadKernels } from './kernels.js';
import { DEFAULT_SCRATCH_BYTES, KernelMemory } from './memory.js';
import { WasmBackend } from './ops.js';
import { WorkerPool } from './pool.js';
import { PROBE_FLOPS } from './probes.js';

export interface WasmBackendOptions {
  /** Threads including the calling one (default: available cores). Results do not depend on it. */
  threads?: number;
  /** Kernel build: 'simd' (SIMD128 mul+add, default, the parity build) or 'relaxed'
   *  (relaxed-SIMD madd, may fuse; only where the engine validates it, else an error). */
  kernels?: KernelVariant;
  /** Weight bytes per wasm memory before a new memory is started (default 3 GiB). */
  weightBytesPerMemory?: number;
  /** Scratch budget per op (activations in/out + packing); larger inputs are processed in
   *  row chunks (default 512 MiB). */
  scratchBytes?: number;
  /** GEMM blocking kc, mc, nc (speed only, never values). Default: OVIS_GEMM_BLOCKING=kc,mc,nc,
   *  else a short probe at the first backend of the process (docs/kernels.md "GEMM blocking"). */
  gemmBlocking?: GemmBlocking;
  /** Quantized Linears through integer dot products (opt-in, default false = the f32 parity
   *  path): true / 'int16': x rounded per row to int16, gemv_q_dot / gemm_q_dot; changes outputs
   *  by ~3e-5 relative (~2e-4 with outlier channels). 'int8': x rounded to int8 per 32 inputs
   *  (gemv_q_dot8 / gemm_q_dot8), ~5e-3 relative (1e-2 with outliers); docs/quantization.md. */
  quantDot?: QuantDot;
}

async function defaultThreads(): Promise<number> {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  if (nav?.hardwareConcurrency) return nav.hardwareConcurrency;
  try {
    const os = await import('node:os');
    return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  } catch {
    return 1;
  }
}

export async function createWasmBackend(opts: WasmBackendOptions = {}): Promise<WasmBackend> {
  const threads = opts.threads ?? (await defaultThreads());
  if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
    throw new InputError(`wasm backend: threads must be an integer in [1, 256], got ${threads}`);
  }
  const explicit = opts.gemmBlocking && checkBlocking(opts.gemmBlocking, 'createWasmBackend gemmBlocking');
  const kernels = loadKernels(opts.kernels ?? 'simd');
  const mem0 = new KernelMemory(0, kernels);
  const pool = await WorkerPool.create(threads - 1, kernels, [mem0.memory]);
  const be = new WasmBackend(kernels, pool, mem0, opts);
  be.warmUp();
  be.setGemmBlocking(
    explicit
      ? { ...explicit, source: 'option' }
      : blockingForScratch(
          processBlocking((b) => be.timeGemmBlocking(b), PROBE_FLOPS),
          threads,
          opts.scratchBytes ?? DEFAULT_SCRATCH_BYTES,
        ),
  );
  return be;
}
