// The backend's WebAssembly memories. Each is one shared wasm32 memory (at most 4 GiB) with
// its own kernel instances — on the main thread here, and in every worker (pool.ts) — so a
// kernel runs where its data is. A memory holds either weights (weights.ts) or KV-cache rows
// (kv-arena.ts), bump-allocated from the bottom, and above them the scratch of the op that
// runs there:
//
//   memory k:  [ 64 KiB reserved | weights or KV blocks (never moved) | scratch ... ]
//                                  ^ weightTop                        ^ per-op cursor
//
// Scratch is transient: reset at the start of every op, so a memory's size is its weights
// plus the largest op's scratch (bounded by row chunking in ops.ts). `Memories` is the list
// of one backend's memories: index i is memory i in every thread, and a memory added later
// is attached to every worker before it is used. docs/kernels.md has the picture.

import { BackendError } from '../../errors.js';
import { type KernelArgs, type KernelFns, type KernelGlobals, type KernelName, positional } from './kernel-table.js';
import { type CompiledKernels, instantiate, MAX_PAGES, PAGE } from './kernels.js';
import type { WorkerPool } from './pool.js';

/** Scratch budget per op (activations in and out, GEMM packing) unless `scratchBytes` says
 *  otherwise; larger inputs are processed in row chunks. */
export const DEFAULT_SCRATCH_BYTES = 512 * 2 ** 20;

const RESERVED = 65536;
const ALIGN = 64;
const align = (n: number) => Math.ceil(n / ALIGN) * ALIGN;

/** What a memory holds besides scratch (memory 0 holds weights). */
export type MemoryKind = 'weights' | 'kv';

export class KernelMemory {
  readonly memory: WebAssembly.Memory;
  /** This memory's kernels by name, positional arguments (kernel-table.ts signatures). */
  readonly k: KernelFns;
  /** Constants exported by the kernel modules (kernel-table.ts KERNEL_GLOBALS). */
  readonly globals: KernelGlobals;
  /** End of the weights / KV blocks (bytes). */
  weightTop = RESERVED;
  private cursor = RESERVED;

  constructor(
    readonly index: number,
    kernels: CompiledKernels,
    readonly kind: MemoryKind = 'weights',
  ) {
    this.memory = new WebAssembly.Memory({ initial: 2, maximum: MAX_PAGES, shared: true });
    const { fns, globals } = instantiate(kernels, this.memory);
    this.k = fns;
    this.globals = globals;
  }

  /** Run kernel `name` here on the calling thread, arguments by name. */
  call<N extends KernelName>(name: N, args: KernelArgs<N>): ReturnType<KernelFns[N]> {
    return (this.k[name] as unknown as (...a: number[]) => ReturnType<KernelFns[N]>)(...positional(name, args));
  }

  get byteLength(): number {
    return this.memory.buffer.byteLength;
  }

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
  get scratchFree(): number {
    return MAX_PAGES * PAGE - align(this.weightTop) - ALIGN * 64;
  }

  resetScratch(): void {
    this.cursor = align(this.weightTop);
  }

  scratch(bytes: number): number {
    const p = this.cursor;
    this.cursor = align(p + Math.max(bytes, 0));
    this.ensure(this.cursor);
    return p;
  }

  f32(ptr: number, n: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, n);
  }
  u16(ptr: number, n: number): Uint16Array {
    return new Uint16Array(this.memory.buffer, ptr, n);
  }
  u32(ptr: number, n: number): Uint32Array {
    return new Uint32Array(this.memory.buffer, ptr, n);
  }

  /** Copy f32 values into fresh scratch; returns the pointer. */
  put(data: Float32Array): number {
    const p = this.scratch(data.length * 4);
    this.f32(p, data.length).set(data);
    return p;
  }
}

/** One backend's memories, index = position = the memory index every thread uses. */
export class Memories {
  private list: KernelMemory[];

  constructor(
    private readonly kernels: CompiledKernels,
    private readonly pool: WorkerPool,
    mem0: KernelMemory,
  ) {
    this.list = [mem0];
  }

  get(index: number): KernelMemory {
    return this.list[index];
  }

  all(): readonly KernelMemory[] {
    return this.list;
  }

  /** A new memory, instantiated here and attached to every worker. */
  add(kind: MemoryKind): KernelMemory {
    const mem = new KernelMemory(this.list.length, this.kernels, kind);
    this.list.push(mem);
    this.pool.attach(mem.memory);
    return mem;
  }

  /** Drop every memory (dispose). */
  clear(): void {
    this.list = [];
  }
}
