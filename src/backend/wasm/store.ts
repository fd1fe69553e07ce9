// The weight store: weights copied once, as stored (bf16 stays bf16), into shared
// WebAssembly memories. A wasm32 memory addresses at most 4 GiB, so the store is a list of
// memories; each has its own kernel instances (on the main thread and in every worker) and
// its own scratch region above its weights for the activations of the ops that run there.
//
//   memory k:  [ 64 KiB reserved | weights (bump-allocated, never moved) | scratch ... ]
//                                  ^ weightTop                            ^ per-op cursor
//
// A weight goes to the last memory while that memory's weights stay within
// `weightBytesPerMemory` (default 3 GiB, leaving <= 1 GiB of scratch); otherwise a new
// memory is created and attached to the workers. An op that uses a weight runs in the memory
// holding it (activations are copied in, results copied out); ops without a weight run in
// memory 0. Scratch is transient: reset at the start of every op, so a memory's size is
// its weights plus the largest op's scratch (bounded by row chunking in the backend).
// See docs/kernels.md for the picture.

import { BackendError } from '../../errors.js';
import type { Weight, WeightDType } from '../../tensor.js';
import { instantiate, MAX_PAGES, PAGE, type CompiledKernels, type KernelExports } from './kernels.js';

const RESERVED = 65536;
const ALIGN = 64;
const align = (n: number) => Math.ceil(n / ALIGN) * ALIGN;

export class KernelMemory {
  readonly memory: WebAssembly.Memory;
  readonly k: KernelExports;
  /** End of the weights (bytes). */
  weightTop = RESERVED;
  private cursor = RESERVED;

  constructor(readonly index: number, kernels: CompiledKernels) {
    this.memory = new WebAssembly.Memory({ initial: 2, maximum: MAX_PAGES, shared: true });
    this.k = instantiate(kernels, this.memory);
  }

  get byteLength(): number { return this.memory.buffer.byteLength; }

  /** Grow so that [0, end) is addressable. */
  ensure(end: number): void {
    const have = this.memory.buffer.byteLength / PAGE;
    const need = Math.ceil(end / PAGE);
    if (need > MAX_PAGES) {
      throw new BackendError(
        `wasm memory ${this.index}: needs ${(end / 2 ** 30).toFixed(2)} GiB, a wasm32 memory holds at most 4 GiB ` +
          `(weights ${(this.weightTop / 2 ** 30).toFixed(2)} GiB)`,
        'lower weightBytesPerMemory or process fewer rows per call',
      );
    }
    if (need > have) this.memory.grow(need - have);
  }

  allocWeight(bytes: number): number {
    const p = align(this.weightTop);
    this.ensure(p + bytes);
    this.weightTop = p + bytes;
    this.cursor = align(this.weightTop);
    return p;
  }

  /** Bytes of scratch an op can still get (below the 4 GiB limit). */
  get scratchFree(): number { return MAX_PAGES * PAGE - align(this.weightTop) - ALIGN * 64; }

  resetScratch(): void { this.cursor = align(this.weightTop); }

  scratch(bytes: number): number {
    const p = this.cursor;
    this.cursor = align(p + Math.max(bytes, 0));
    this.ensure(this.cursor);
    return p;
  }

  f32(ptr: number, n: number): Float32Array { return new Float32Array(this.memory.buffer, ptr, n); }
  u16(ptr: number, n: number): Uint16Array { return new Uint16Array(this.memory.buffer, ptr, n); }
  u32(ptr: number, n: number): Uint32Array { return new Uint32Array(this.memory.buffer, ptr, n); }

  /** Copy f32 values into fresh scratch; returns the pointer. */
  put(data: Float32Array): number {
    const p = this.scratch(data.length * 4);
    this.f32(p, data.length).set(data);
    return p;
  }
}

/** A weight held by the wasm backend: which memory, where, and how it is stored there. */
export class WasmWeight implements Weight {
  constructor(
    readonly name: string,
    /** The checkpoint's dtype. */
    readonly dtype: WeightDType,
    readonly shape: readonly number[],
    readonly mem: number,
    readonly ptr: number,
    /** How the values sit in memory: BF16 as raw bits, F32 as is (F16 is widened to F32 at load:
     *  no Ovis release ships f16, and f16 -> f32 is exact). */
    readonly stored: 'F32' | 'BF16',
    readonly numel: number,
    /** The backend instance that loaded it (a weight is only valid in its own store). */
    readonly owner: number,
  ) {}
}
