// The `wasm` backend: AssemblyScript SIMD kernels (kernels/*.ts, embedded as generated
// modules) over shared WebAssembly memories, with a worker pool and a weight store that
// spans several memories. Implements the Backend contract of src/backend/backend.ts; the
// readable definitions are the `ts` backend (src/ops/). docs/kernels.md explains the design.
//
// Shapes: M rows · K reduction · N output columns · T tokens · Nq/Nkv heads · Dh head dim.
// Every op: pick the memory (the weight's, or memory 0), reset its scratch, copy the
// activations in, run the kernel split over threads (output columns / rows / ranges — each
// output element is computed by exactly one thread, in a fixed order, so results do not
// depend on the thread count), copy the result out into a fresh Float32Array.
//
// This module has no Node-only import at top level: node:worker_threads and node:os are
// loaded lazily (pool.ts, defaultThreads) so Deno and Bun can import it.

import type { AttentionOptions, Backend, KVArena } from './backend.js';
import { BackendError, InputError, ShapeError } from '../errors.js';
import { f16ToF32 } from '../dtype.js';
import { fmtShape, numel, type Tensor, type Weight, type WeightDType } from '../tensor.js';
import {
  B_BF16_KN, B_BF16_NK, B_F32_KN, B_F32_NK, loadKernels,
  type CompiledKernels, type KernelInfo, type KernelVariant,
} from './wasm/kernels.js';
import { WorkerPool, type JobPart, type PoolFn, type TaskJob } from './wasm/pool.js';
import { checkBlocking, DEFAULT_GEMM_BLOCKING, processBlocking, type ChosenGemmBlocking, type GemmBlocking } from './wasm/blocking.js';
import { KernelMemory, WasmWeight } from './wasm/store.js';

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
}

export interface WasmBackendInfo extends KernelInfo {
  threads: number;
  /** The live GEMM blocking and how it was chosen. */
  gemmBlocking: ChosenGemmBlocking;
  /** kind 'weights': weightBytes of weights; kind 'kv': the KV arena's high-water mark. */
  memories: { index: number; kind: 'weights' | 'kv'; weightBytes: number; byteLength: number }[];
}

/** A KV-arena block: where it lives. */
interface KvBlock { mem: KernelMemory; ptr: number; bytes: number }

const GIB = 2 ** 30;
let backendIds = 0;
/** Below these amounts of work an op runs on the calling thread only (waking a worker costs
 *  ~5-50 µs). They change speed only, never values. */
const PAR_MIN_FLOPS = 2e6;
const PAR_MIN_BYTES = 1 << 18;
/** linear() with at most this many rows uses the GEMV kernels (weights streamed once per row). */
const GEMV_MAX_ROWS = 3;
/** attention() with at least this many queries uses the blocked two-GEMM kernel. */
const BLOCKED_ATTENTION_MIN_TQ = 16;
/** The blocking probe's problem: a SigLIP-shaped bf16 linear (K = 1152) of PROBE_M rows and
 *  PROBE_N columns, on the calling thread (~5 ms per candidate at 60 GFLOP/s). */
const PROBE_M = 128, PROBE_K = 1152, PROBE_N = 1024;
const PROBE_FLOPS = 2 * PROBE_M * PROBE_K * PROBE_N;

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

/** Split [0, total) into at most `parts` ranges whose inner boundaries are multiples of `align`. */
function split(total: number, parts: number, align: number): [number, number][] {
  const out: [number, number][] = [];
  const step = Math.ceil(total / parts / align) * align || align;
  for (let a = 0; a < total; a += step) out.push([a, Math.min(total, a + step)]);
  return out;
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
  be.setGemmBlocking(explicit ? { ...explicit, source: 'option' } : processBlocking((b) => be.timeGemmBlocking(b), PROBE_FLOPS));
  return be;
}

export class WasmBackend implements Backend {
  readonly name = 'wasm' as const;
  readonly threads: number;
  private mems: KernelMemory[];
  private readonly id = ++backendIds;
  private disposed = false;
  private readonly weightCap: number;
  private readonly scratchCap: number;
  /** The memory new weights go to (KV-arena memories never hold weights). */
  private weightMem = 0;
  /** KV arena: memories of its own, first-fit free lists sorted by address. */
  private readonly kvMems: KernelMemory[] = [];
  private readonly kvFree = new Map<KernelMemory, { ptr: number; bytes: number }[]>();
  private readonly kvBlocks = new WeakMap<Float32Array, KvBlock>();
  /** SharedArrayBuffer objects of arena views -> their memory (subarrays share the buffer). */
  private readonly kvBuffers = new WeakMap<ArrayBufferLike, KernelMemory>();
  private arena?: KVArena;
  /** The GEMM blocking of linear/matmul/patchEmbed (set by createWasmBackend). */
  private blocking: ChosenGemmBlocking = { ...DEFAULT_GEMM_BLOCKING, source: 'default' };

  constructor(private readonly kernels: CompiledKernels, private readonly pool: WorkerPool, mem0: KernelMemory, opts: WasmBackendOptions) {
    this.mems = [mem0];
    this.threads = pool.size + 1;
    this.weightCap = opts.weightBytesPerMemory ?? 3 * GIB;
    this.scratchCap = opts.scratchBytes ?? 512 * 2 ** 20;
  }

  /** Which build is live, threads, and the memories of the weight store. */
  info(): WasmBackendInfo {
    return {
      ...this.kernels.info,
      threads: this.threads,
      gemmBlocking: this.blocking,
      memories: this.mems.map((m) => ({ index: m.index, kind: this.kvMems.includes(m) ? 'kv' as const : 'weights' as const, weightBytes: m.weightTop - 65536, byteLength: m.byteLength })),
    };
  }

  /** Run every kernel a few times on small inputs on every thread. V8 (and JSC) start wasm
   *  in a baseline tier and compile a function's optimised code only after it has run for a
   *  while; a whole op is often ONE long kernel call, so without this the first real call of
   *  each kernel (e.g. the first layer) would run entirely in the slow tier. Values unused. */
  warmUp(rounds = 3): void {
    const mem = this.mems[0];
    mem.resetScratch();
    const T = this.threads;
    const n = 16384;
    const blocks = Array.from({ length: T }, () => {
      const p = mem.scratch(n * 4 * 6);
      mem.f32(p, n * 6).fill(0.25);
      return p;
    });
    const gs = Array.from({ length: T }, () => mem.scratch(mem.k.gemm.gemm_scratch_bytes()));
    const { kc, mc, nc } = DEFAULT_GEMM_BLOCKING;
    const as = Array.from({ length: T }, () => mem.scratch(Math.max(mem.k.ops.attention_scratch_bytes(64, 16, 2), mem.k.ops.attention_blocked_scratch_bytes(64))));
    const jobs: ((b: number, t: number) => JobPart)[] = [];
    const part = (fn: PoolFn, f: (b: number, t: number) => number[]) => jobs.push((b, t) => ({ fn, mem: 0, args: f(b, t) }));
    const F = n * 4; // byte offset of the second/third... array in a block
    for (const kind of [B_F32_NK, B_BF16_NK, B_F32_KN, B_BF16_KN]) part('gemm.gemm_blocked', (b, t) => [32, 32, 128, b, 128, kind, b + F, kind < 2 ? 128 : 32, b + 2 * F, 32, 0, 32, gs[t], kc, mc, nc]);
    part('gemv.gemv_bf16', (b) => [1024, b, b + F, b + 2 * F, b + 3 * F, 0, 12]);
    part('gemv.gemv_f32', (b) => [1024, b, b + F, b + 3 * F, 0, 12]);
    part('ops.softmax_rows', (b) => [b, b + F, 4, 4096]);
    part('ops.layer_norm_rows', (b) => [b, b + F, 4, 4096, b + 2 * F, b + 3 * F, 1e-6]);
    part('ops.rms_norm_rows', (b) => [b, b + F, 4, 4096, b + 2 * F, 1e-6, 1]);
    part('ops.gelu_tanh', (b) => [b, b + F, 0, n]);
    part('ops.gated', (b) => [b, b + F, b + 2 * F, 0, 0, n]);
    part('ops.gated', (b) => [b, b + F, b + 2 * F, 1, 0, n]);
    part('ops.add', (b) => [b, b + F, b + 2 * F, 0, n]);
    part('ops.scale', (b) => [b, b + F, 0.5, 0, n]);
    part('ops.softcap', (b) => [b, b + F, 30, 0, n]);
    part('ops.rope', (b) => [b, 4, 64, b + F, b + 2 * F, 0, 16]);
    part('ops.attention', (b, t) => [b, b + F, b + 2 * F, b + 3 * F, 64, 64, 2, 1, 16, 0.25, 1, 0, 0, 0, 0, 0, 64, as[t]]);
    part('ops.attention', (b, t) => [b, b + F, b + 2 * F, b + 3 * F, 64, 64, 2, 1, 16, 0.25, 0, 0, 0, 8, 5, 0, 64, as[t]]);
    part('ops.attention_blocked', (b, t) => [b, b + F, b + 2 * F, b + 3 * F, 64, 64, 2, 1, 16, 0.25, 1, 0, 0, 0, 0, 0, 2, as[t]]);
    part('gemm.peak_madd', () => [20000, 1, 0.999999, 1e-7]);
    part('gemm.add_bias', (b) => [16, b, 64, b + F, 0, 64]);
    part('ops.widen_bf16', (b) => [b, b + F, n]);
    part('ops.unfold_patches', (b) => [b, 3, 28, 14, b + F, 0, 4]);
    for (let r = 0; r < rounds; r++) {
      for (const job of jobs) this.run(blocks.map((b, t) => job(b, t)));
      mem.k.gemv.deinterleave8(blocks[0], 4096, blocks[0] + F);
      mem.k.ops.dot(blocks[0], blocks[0] + F, 4096);
    }
  }

  // ---- GEMM blocking ------------------------------------------------------------------------

  /** Use blocking `b` for every later GEMM (speed only; bench/kernels.mjs --sweep, tests). */
  setGemmBlocking(b: GemmBlocking & { source?: ChosenGemmBlocking['source']; probe?: ChosenGemmBlocking['probe'] }): void {
    const { kc, mc, nc } = checkBlocking(b, 'setGemmBlocking');
    this.blocking = { kc, mc, nc, source: b.source ?? 'option', ...(b.probe ? { probe: b.probe } : {}) };
  }

  /** Seconds for one PROBE_M x PROBE_K x PROBE_N bf16 GEMM with blocking `b` on the calling
   *  thread (the blocking probe; operands in memory 0's scratch, values unused). */
  timeGemmBlocking(b: GemmBlocking): number {
    this.alive();
    const mem = this.mems[0];
    mem.resetScratch();
    const M = PROBE_M, K = PROBE_K, N = PROBE_N;
    const ap = mem.scratch(M * K * 4), wp = mem.scratch(N * K * 2), cp = mem.scratch(M * N * 4);
    const sp = mem.scratch(mem.k.gemm.gemm_blocked_scratch_bytes(b.kc, b.mc, b.nc));
    mem.f32(ap, M * K).fill(0.5);
    mem.u16(wp, N * K).fill(0x3c00); // bf16 0.0078125
    const t0 = performance.now();
    mem.k.gemm.gemm_blocked(M, N, K, ap, K, B_BF16_NK, wp, K, cp, N, 0, N, sp, b.kc, b.mc, b.nc);
    return (performance.now() - t0) / 1e3;
  }

  // ---- measurement helpers (bench/kernels.mjs) -----------------------------------------

  /** The SIMD128 mul+add ceiling: `threads` threads (default all) each run kernels/gemm.ts
   *  peak_madd(iters) at once; returns aggregate GFLOP/s (wall clock). */
  measurePeakGflops(iters = 2e7, threads = this.threads): number {
    this.alive();
    const parts = Array.from({ length: threads }, (): JobPart => ({ fn: 'gemm.peak_madd', mem: 0, args: [iters, 1, 0.999999, 1e-7] }));
    const t0 = performance.now();
    this.run(parts, false);
    return (threads * iters * 96) / ((performance.now() - t0) * 1e6);
  }

  /** Read bandwidth in GB/s: `threads` threads stream disjoint parts of a `bytes` buffer
   *  (beyond the caches) with kernels/gemv.ts read_stream. */
  measureReadGBps(bytes = 512 * 2 ** 20, threads = this.threads, reps = 3): number {
    this.alive();
    const mem = this.mems[0];
    mem.resetScratch();
    bytes = Math.floor(bytes / (64 * threads)) * 64 * threads;
    const p = mem.scratch(bytes);
    new Uint8Array(mem.memory.buffer, p, bytes).fill(1); // touch every page
    const per = bytes / threads;
    const parts = Array.from({ length: threads }, (_, t): JobPart => ({ fn: 'gemv.read_stream', mem: 0, args: [p + t * per, per] }));
    let best = 0;
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      this.run(parts, false);
      best = Math.max(best, bytes / ((performance.now() - t0) * 1e6));
    }
    return best;
  }

  // ---- weights --------------------------------------------------------------------------

  loadWeight(name: string, dtype: WeightDType, shape: readonly number[], data: Float32Array | Uint16Array): Weight {
    this.alive();
    const n = numel(shape);
    if (data.length !== n) throw new ShapeError(`loadWeight ${name}: shape ${fmtShape(shape)} needs ${n} values, got ${data.length}`);
    const isF32 = dtype === 'F32';
    if (isF32 !== data instanceof Float32Array) {
      throw new InputError(`loadWeight ${name}: dtype ${dtype} expects ${isF32 ? 'Float32Array' : 'Uint16Array (raw bits)'}, got ${data.constructor.name}`);
    }
    const stored = dtype === 'BF16' ? 'BF16' : 'F32';
    const bytes = n * (stored === 'BF16' ? 2 : 4);
    const { mem, ptr } = this.placeWeight(name, bytes);
    if (dtype === 'BF16') mem.u16(ptr, n).set(data as Uint16Array);
    else if (dtype === 'F32') mem.f32(ptr, n).set(data as Float32Array);
    else {
      const dst = mem.f32(ptr, n);
      const src = data as Uint16Array;
      for (let i = 0; i < n; i++) dst[i] = f16ToF32(src[i]);
    }
    return new WasmWeight(name, dtype, [...shape], mem.index, ptr, stored, n, this.id);
  }

  async loadWeightFrom(name: string, dtype: 'BF16' | 'F32', shape: readonly number[], fill: (dst: Uint8Array) => Promise<void>): Promise<Weight> {
    this.alive();
    if (dtype !== 'BF16' && dtype !== 'F32') throw new InputError(`loadWeightFrom ${name}: dtype must be BF16 or F32 (kept as stored), got ${dtype as string}`);
    const n = numel(shape);
    const bytes = n * (dtype === 'BF16' ? 2 : 4);
    const { mem, ptr } = this.placeWeight(name, bytes);
    try {
      await fill(new Uint8Array(mem.memory.buffer, ptr, bytes));
    } catch (e) {
      if (mem.weightTop === ptr + bytes) mem.weightTop = ptr; // give the space back when it is the last weight
      throw e;
    }
    return new WasmWeight(name, dtype, [...shape], mem.index, ptr, dtype, n, this.id);
  }

  /** Reserve `bytes` for a weight in the current memory, or start a new memory when it would
   *  pass weightBytesPerMemory. */
  private placeWeight(name: string, bytes: number): { mem: KernelMemory; ptr: number } {
    if (bytes > this.weightCap && bytes > 3.5 * GIB) {
      throw new BackendError(`loadWeight ${name}: ${(bytes / GIB).toFixed(2)} GiB does not fit one wasm32 memory (4 GiB)`);
    }
    let mem = this.mems[this.weightMem];
    if (mem.weightTop > 65536 && mem.weightTop + bytes > this.weightCap + 65536) {
      mem = this.newMemory();
      this.weightMem = mem.index;
    }
    return { mem, ptr: mem.allocWeight(bytes) };
  }

  // ---- KV arena ---------------------------------------------------------------------------

  /** KV-cache rows in memories of their own; attention() reads rows from here in place
   *  instead of copying the whole cache into kernel memory at every call. */
  kvArena(): KVArena {
    this.alive();
    return (this.arena ??= { alloc: (n) => this.kvAlloc(n), free: (a) => this.kvRelease(a) });
  }

  private kvAlloc(floats: number): Float32Array {
    this.alive();
    const bytes = Math.ceil(Math.max(floats, 1) / 16) * 64;
    if (bytes > this.weightCap) return new Float32Array(floats); // too big for an arena memory: a plain array (attention copies it)
    const take = (mem: KernelMemory, ptr: number): Float32Array => {
      const a = new Float32Array(mem.memory.buffer, ptr, floats);
      this.kvBlocks.set(a, { mem, ptr, bytes });
      this.kvBuffers.set(a.buffer, mem);
      return a;
    };
    for (const mem of this.kvMems) {
      const free = this.kvFree.get(mem)!;
      const i = free.findIndex((b) => b.bytes >= bytes);
      if (i >= 0) {
        const b = free[i];
        if (b.bytes === bytes) free.splice(i, 1);
        else free[i] = { ptr: b.ptr + bytes, bytes: b.bytes - bytes };
        return take(mem, b.ptr);
      }
      if (mem.weightTop + bytes <= this.weightCap + 65536) return take(mem, mem.allocWeight(bytes));
    }
    const mem = this.newMemory();
    this.kvMems.push(mem);
    this.kvFree.set(mem, []);
    return take(mem, mem.allocWeight(bytes));
  }

  private kvRelease(a: Float32Array): void {
    const blk = this.kvBlocks.get(a);
    if (!blk || this.disposed) return;
    this.kvBlocks.delete(a);
    const free = this.kvFree.get(blk.mem)!;
    let i = free.findIndex((b) => b.ptr > blk.ptr);
    if (i < 0) i = free.length;
    free.splice(i, 0, { ptr: blk.ptr, bytes: blk.bytes });
    // coalesce with the neighbours, and hand the top block back to the bump pointer
    if (i + 1 < free.length && free[i].ptr + free[i].bytes === free[i + 1].ptr) free.splice(i, 2, { ptr: free[i].ptr, bytes: free[i].bytes + free[i + 1].bytes });
    if (i > 0 && free[i - 1].ptr + free[i - 1].bytes === free[i].ptr) free.splice(i - 1, 2, { ptr: free[i - 1].ptr, bytes: free[i - 1].bytes + free[i].bytes });
    const last = free[free.length - 1];
    if (last && last.ptr + last.bytes === blk.mem.weightTop) {
      blk.mem.weightTop = last.ptr;
      free.pop();
    }
  }

  /** The arena memory holding both k's and v's rows, if they are arena views. */
  private residentKv(k: Tensor, v: Tensor): KernelMemory | undefined {
    const mem = this.kvBuffers.get(k.data.buffer);
    return mem && this.kvBuffers.get(v.data.buffer) === mem ? mem : undefined;
  }

  readWeight(w: Weight): Float32Array {
    const W = this.weight(w, 'readWeight');
    const mem = this.mems[W.mem];
    if (W.stored === 'F32') return mem.f32(W.ptr, W.numel).slice();
    const out = new Float32Array(W.numel);
    const o = new Uint32Array(out.buffer);
    const src = mem.u16(W.ptr, W.numel);
    for (let i = 0; i < W.numel; i++) o[i] = src[i] << 16;
    return out;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.pool.close();
    this.mems = [];
  }

  // ---- matrix products ------------------------------------------------------------------

  linear(x: Tensor, w: Weight, b?: Weight): Tensor {
    const W = this.weight(w, 'linear');
    if (W.shape.length !== 2) throw new ShapeError(`linear ${W.name}: weight must be 2-D (out, in), got ${fmtShape(W.shape)}`);
    const [N, K] = W.shape;
    const M = this.rows(x, K, `linear ${W.name}`);
    const B = b ? this.weight(b, 'linear bias') : undefined;
    if (B && B.numel !== N) throw new ShapeError(`linear ${W.name}: bias ${B.name} has ${B.numel} values, weight has ${N} outputs`);
    const y = new Float32Array(M * N);
    const outShape = [...x.shape.slice(0, -1), N];
    if (M === 0 || N === 0) return { shape: outShape, data: y };
    const mem = this.mems[W.mem];
    if (M <= GEMV_MAX_ROWS && K > 0) {
      for (let i = 0; i < M; i++) {
        mem.resetScratch();
        const xp = mem.put(x.data.subarray(i * K, (i + 1) * K));
        const yp = mem.scratch(N * 4);
        const parts = N * K * (W.stored === 'BF16' ? 2 : 4) >= PAR_MIN_BYTES ? this.threads : 1;
        let fn: PoolFn, mk: (n0: number, n1: number) => number[];
        if (W.stored === 'BF16') {
          const xd = mem.scratch(K * 4);
          mem.k.gemv.deinterleave8(xp, K, xd);
          fn = 'gemv.gemv_bf16';
          mk = (n0, n1) => [K, xp, xd, W.ptr, yp, n0, n1];
        } else {
          fn = 'gemv.gemv_f32';
          mk = (n0, n1) => [K, xp, W.ptr, yp, n0, n1];
        }
        // tasks of <= ~1 MiB of weights, multiples of 8 rows (the kernel's widest pass)
        const step = Math.max(8, Math.ceil(Math.min(N / (parts * 4), 4 * 2 ** 20 / (K * (W.stored === 'BF16' ? 2 : 4))) / 8) * 8);
        const args = mk(0, N);
        this.runTasks({ fn, mem: mem.index, args, total: N, step, ntasks: Math.ceil(N / step), ia: args.length - 2, ib: args.length - 1 }, parts);
        if (B) mem.k.gemm.add_bias(1, yp, N, this.operandF32(mem, B), 0, N);
        y.set(mem.f32(yp, N), i * N);
      }
      return { shape: outShape, data: y };
    }
    this.gemm(mem, x.data, M, K, N, W.stored === 'BF16' ? B_BF16_NK : B_F32_NK, W.ptr, y, B);
    return { shape: outShape, data: y };
  }

  matmul(a: Tensor, w: Weight): Tensor {
    const W = this.weight(w, 'matmul');
    if (W.shape.length !== 2) throw new ShapeError(`matmul ${W.name}: weight must be 2-D (K, N), got ${fmtShape(W.shape)}`);
    const [K, N] = W.shape;
    const M = this.rows(a, K, `matmul ${W.name}`);
    const y = new Float32Array(M * N);
    const outShape = [...a.shape.slice(0, -1), N];
    if (M === 0 || N === 0) return { shape: outShape, data: y };
    this.gemm(this.mems[W.mem], a.data, M, K, N, W.stored === 'BF16' ? B_BF16_KN : B_F32_KN, W.ptr, y, undefined);
    return { shape: outShape, data: y };
  }

  /** y[M, N] = x[M, K] · B (+ bias) in row chunks that fit the scratch budget. */
  private gemm(mem: KernelMemory, x: Float32Array, M: number, K: number, N: number, bKind: number, wPtr: number,
    y: Float32Array, B: WasmWeight | undefined): void {
    const gs = this.gemmScratch(mem);
    const parts = M * N * K * 2 >= PAR_MIN_FLOPS ? Math.min(this.threads, Math.ceil(N / 8)) : 1;
    const budget = Math.min(this.scratchCap, mem.scratchFree) - parts * (gs + 64) - N * 4 - 4096;
    const chunk = Math.max(4, Math.floor(budget / ((K + N) * 4)));
    if (budget < 4 * (K + N) * 4) throw new BackendError(`gemm: scratch budget too small for K=${K}, N=${N}`, 'raise scratchBytes');
    for (let m0 = 0; m0 < M; m0 += chunk) {
      const m = Math.min(chunk, M - m0);
      mem.resetScratch();
      const bp = B ? this.operandF32(mem, B) : 0;
      const xp = mem.put(x.subarray(m0 * K, (m0 + m) * K));
      const yp = mem.scratch(m * N * 4);
      this.gemmResident(mem, xp, m, K, N, bKind, wPtr, yp, parts);
      if (B) mem.k.gemm.add_bias(m, yp, N, bp, 0, N);
      y.set(mem.f32(yp, m * N), m0 * N);
    }
  }

  /** yp[m, N] = xp[m, K] · B with both activations already in `mem` (scratch for the
   *  per-thread packing buffers is taken here). */
  private gemmResident(mem: KernelMemory, xp: number, m: number, K: number, N: number, bKind: number, wPtr: number, yp: number, parts: number): void {
    const { kc, mc, nc } = this.blocking;
    const gs = this.gemmScratch(mem);
    const scratch = Array.from({ length: parts }, () => mem.scratch(gs));
    // column tasks: ~4 per thread, 128..max(128, nc) columns (each task repacks its A blocks,
    // so not too narrow; nc is the kernel's column block)
    const step = Math.min(Math.max(128, nc), Math.max(128, Math.ceil(N / (parts * 4) / 8) * 8));
    this.runTasks({
      fn: 'gemm.gemm_blocked', mem: mem.index, args: [m, N, K, xp, K, bKind, wPtr, bKind === B_F32_NK || bKind === B_BF16_NK ? K : N, yp, N, 0, N, scratch[0], kc, mc, nc],
      total: N, step, ntasks: Math.ceil(N / step), ia: 10, ib: 11, perThread: { index: 12, values: scratch },
    }, parts);
  }

  /** Per-thread packing scratch of the live blocking (kernels/gemm.ts gemm_blocked_scratch_bytes). */
  private gemmScratch(mem: KernelMemory): number {
    const { kc, mc, nc } = this.blocking;
    return mem.k.gemm.gemm_blocked_scratch_bytes(kc, mc, nc);
  }

  patchEmbed(pixels: Tensor, w: Weight, b: Weight, patch: number): Tensor {
    const W = this.weight(w, 'patchEmbed'), B = this.weight(b, 'patchEmbed bias');
    const ps = pixels.shape;
    if (ps.length !== 4 || ps[2] !== ps[3] || pixels.data.length !== numel(ps)) {
      throw new ShapeError(`patchEmbed: pixel_values ${fmtShape(ps)} is not [n, C, S, S]` + (pixels.data.length !== numel(ps) ? ` (${pixels.data.length} values)` : ''));
    }
    if (!(Number.isInteger(patch) && patch >= 1)) throw new InputError(`patchEmbed: patch size must be a positive integer, got ${patch}`);
    const [n, C, S] = ps;
    const g = Math.floor(S / patch), L = C * patch * patch, gg = g * g;
    if (W.shape.length !== 2 || W.shape[1] !== L) {
      throw new ShapeError(`patchEmbed ${W.name}: weight must be (D, C·P·P) = (D, ${L}), got ${fmtShape(W.shape)}`);
    }
    const D = W.shape[0];
    if (B.numel !== D) throw new ShapeError(`patchEmbed ${W.name}: bias ${B.name} has ${B.numel} values, weight has ${D} outputs`);
    const y = new Float32Array(n * gg * D); // [n·g·g, D]
    if (n * gg === 0 || D === 0) return { shape: [n * gg, D], data: y };
    const mem = this.mems[W.mem];
    const gs = this.gemmScratch(mem);
    // whole crops per chunk: pixels + unfolded rows + output must fit the scratch budget
    const perCrop = (C * S * S + gg * (L + D)) * 4;
    const budget = Math.min(this.scratchCap, mem.scratchFree) - this.threads * (gs + 64) - D * 4 - 4096;
    const crops = Math.floor(budget / perCrop);
    if (crops < 1) throw new BackendError(`patchEmbed: scratch budget too small for one ${S}x${S} crop`, 'raise scratchBytes');
    for (let c0 = 0; c0 < n; c0 += crops) {
      const c = Math.min(crops, n - c0), m = c * gg;
      mem.resetScratch();
      const bp = this.operandF32(mem, B);
      const pp = mem.put(pixels.data.subarray(c0 * C * S * S, (c0 + c) * C * S * S));
      const up = mem.scratch(m * L * 4); // [m, C·P·P]
      const parts = m * L * 8 >= PAR_MIN_BYTES ? Math.min(this.threads, m) : 1;
      this.run(split(m, parts, 1).map(([r0, r1]) => ({ fn: 'ops.unfold_patches', mem: mem.index, args: [pp, C, S, patch, up, r0, r1] })));
      const yp = mem.scratch(m * D * 4);
      this.gemmResident(mem, up, m, L, D, W.stored === 'BF16' ? B_BF16_NK : B_F32_NK, W.ptr, yp, m * D * L * 2 >= PAR_MIN_FLOPS ? Math.min(this.threads, Math.ceil(D / 8)) : 1);
      mem.k.gemm.add_bias(m, yp, D, bp, 0, D);
      y.set(mem.f32(yp, m * D), c0 * gg * D);
    }
    return { shape: [n * gg, D], data: y };
  }

  embedding(ids: Int32Array, table: Weight): Tensor {
    const W = this.weight(table, 'embedding');
    if (W.shape.length !== 2) throw new ShapeError(`embedding ${W.name}: table must be 2-D (V, H), got ${fmtShape(W.shape)}`);
    const [V, H] = W.shape;
    const out = new Float32Array(ids.length * H); // [n, H]
    const mem = this.mems[W.mem];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!(id >= 0 && id < V)) throw new InputError(`embedding ${W.name}: id ${id} at position ${i} is outside [0, ${V})`, 'negative ids (image placeholders) must be replaced before the lookup');
      if (W.stored === 'F32') out.set(mem.f32(W.ptr + id * H * 4, H), i * H);
      else {
        const src = mem.u16(W.ptr + id * H * 2, H);
        const o = new Uint32Array(out.buffer, i * H * 4, H);
        for (let j = 0; j < H; j++) o[j] = src[j] << 16;
      }
    }
    return { shape: [ids.length, H], data: out };
  }

  // ---- norms ------------------------------------------------------------------------------

  layerNorm(x: Tensor, w: Weight, b: Weight, eps: number): Tensor {
    const W = this.weight(w, 'layerNorm'), B = this.weight(b, 'layerNorm bias');
    const n = W.numel;
    if (B.numel !== n) throw new ShapeError(`layerNorm ${W.name}: bias has ${B.numel} values, weight ${n}`);
    const rows = this.rows(x, n, `layerNorm ${W.name}`);
    const mem = this.mems[W.mem];
    return this.rowwise(mem, x, rows, n, 'ops.layer_norm_rows', () => [this.operandF32(mem, W), this.operandF32(mem, B)],
      (xp, yp, r, [wp, bp]) => [xp, yp, r, n, wp, bp, eps]);
  }

  rmsNorm(x: Tensor, w: Weight, eps: number, offset: 0 | 1): Tensor {
    const W = this.weight(w, 'rmsNorm');
    const n = W.numel;
    const rows = this.rows(x, n, `rmsNorm ${W.name}`);
    const mem = this.mems[W.mem];
    return this.rowwise(mem, x, rows, n, 'ops.rms_norm_rows', () => [this.operandF32(mem, W)],
      (xp, yp, r, [wp]) => [xp, yp, r, n, wp, eps, offset]);
  }

  softmax(x: Tensor): Tensor {
    const n = x.shape.length ? x.shape[x.shape.length - 1] : 1;
    const rows = n === 0 ? 0 : x.data.length / n;
    return this.rowwise(this.mems[0], x, rows, n, 'ops.softmax_rows', () => [], (xp, yp, r) => [xp, yp, r, n]);
  }

  /** Row-chunked, row-parallel driver for kernels f(x, y, rows, n, ...). */
  private rowwise(mem: KernelMemory, x: Tensor, rows: number, n: number, fn: PoolFn, operands: () => number[],
    mk: (xp: number, yp: number, rows: number, ops: number[]) => number[]): Tensor {
    this.alive();
    const y = new Float32Array(rows * n);
    if (rows === 0 || n === 0) return { shape: [...x.shape], data: y };
    const chunk = Math.max(1, Math.floor((Math.min(this.scratchCap, mem.scratchFree) / 2 - 8 * n) / (n * 8)));
    for (let r0 = 0; r0 < rows; r0 += chunk) {
      const r = Math.min(chunk, rows - r0);
      mem.resetScratch();
      const ops = operands();
      const xp = mem.put(x.data.subarray(r0 * n, (r0 + r) * n));
      const yp = mem.scratch(r * n * 4);
      const parts = r * n * 4 >= PAR_MIN_BYTES ? Math.min(this.threads, r) : 1;
      this.run(split(r, parts, 1).map(([a, c]) => ({ fn, mem: mem.index, args: mk(xp + a * n * 4, yp + a * n * 4, c - a, ops) })));
      y.set(mem.f32(yp, r * n), r0 * n);
    }
    return { shape: [...x.shape], data: y };
  }

  // ---- elementwise ------------------------------------------------------------------------

  geluTanh(x: Tensor): Tensor {
    return this.elementwise([x], 'ops.gelu_tanh', ([xp], yp, i0, i1) => [xp, yp, i0, i1]);
  }

  gatedAct(gate: Tensor, up: Tensor, act: 'silu' | 'gelu_tanh'): Tensor {
    this.sameShape('gatedAct', gate, up);
    if (act !== 'silu' && act !== 'gelu_tanh') throw new InputError(`gatedAct: act must be 'silu' or 'gelu_tanh', got '${act as string}'`);
    const a = act === 'silu' ? 0 : 1;
    return this.elementwise([gate, up], 'ops.gated', ([g, u], yp, i0, i1) => [g, u, yp, a, i0, i1]);
  }

  add(a: Tensor, b: Tensor): Tensor {
    this.sameShape('add', a, b);
    return this.elementwise([a, b], 'ops.add', ([p, q], yp, i0, i1) => [p, q, yp, i0, i1]);
  }

  scale(x: Tensor, s: number): Tensor {
    return this.elementwise([x], 'ops.scale', ([xp], yp, i0, i1) => [xp, yp, s, i0, i1]);
  }

  softcap(x: Tensor, c: number): Tensor {
    if (!(c > 0)) throw new InputError(`softcap: cap must be > 0, got ${c}`);
    return this.elementwise([x], 'ops.softcap', ([xp], yp, i0, i1) => [xp, yp, c, i0, i1]);
  }

  /** Chunked, range-parallel driver for elementwise kernels over equally shaped inputs. */
  private elementwise(xs: Tensor[], fn: PoolFn, mk: (ptrs: number[], yp: number, i0: number, i1: number) => number[]): Tensor {
    this.alive();
    const mem = this.mems[0];
    const n = xs[0].data.length;
    const y = new Float32Array(n);
    const chunk = Math.max(4, Math.floor(Math.min(this.scratchCap, mem.scratchFree) / (4 * (xs.length + 1)) / 4) * 4);
    for (let s = 0; s < n; s += chunk) {
      const len = Math.min(chunk, n - s);
      mem.resetScratch();
      const ptrs = xs.map((t) => mem.put(t.data.subarray(s, s + len)));
      const yp = mem.scratch(len * 4);
      const parts = len * 4 * (xs.length + 1) >= PAR_MIN_BYTES ? this.threads : 1;
      this.run(split(len, parts, 4).map(([i0, i1]) => ({ fn, mem: 0, args: mk(ptrs, yp, i0, i1) })));
      y.set(mem.f32(yp, len), s);
    }
    return { shape: [...xs[0].shape], data: y };
  }

  // ---- rotary embedding and attention ---------------------------------------------------

  ropeInPlace(x: Tensor, nHeads: number, headDim: number, cos: Float32Array, sin: Float32Array): void {
    this.alive();
    const width = nHeads * headDim;
    if (headDim % 2 !== 0) throw new ShapeError(`rope: head_dim must be even, got ${headDim}`);
    const T = this.rows(x, width, 'rope');
    if (cos.length !== T * headDim || sin.length !== T * headDim) {
      throw new ShapeError(`rope: cos/sin must be [${T}, ${headDim}] (${T * headDim} values), got ${cos.length} / ${sin.length}`);
    }
    if (T === 0 || width === 0) return;
    const mem = this.mems[0];
    mem.resetScratch();
    const xp = mem.put(x.data), cp = mem.put(cos), sp = mem.put(sin);
    const parts = x.data.length * 12 >= PAR_MIN_BYTES ? Math.min(this.threads, T) : 1;
    this.run(split(T, parts, 1).map(([t0, t1]) => ({ fn: 'ops.rope', mem: 0, args: [xp, nHeads, headDim, cp, sp, t0, t1] })));
    x.data.set(mem.f32(xp, x.data.length));
  }

  attention(q: Tensor, k: Tensor, v: Tensor, o: AttentionOptions): Tensor {
    this.alive();
    const { nHeads: Nq, nKvHeads: Nkv, headDim: Dh } = o;
    if (!(Nq > 0 && Nkv > 0 && Dh > 0) || Nq % Nkv !== 0) {
      throw new ShapeError(`attention: nHeads ${Nq} must be a positive multiple of nKvHeads ${Nkv}, headDim ${Dh} > 0`);
    }
    const Tq = this.rows(q, Nq * Dh, 'attention q');
    const Tk = this.rows(k, Nkv * Dh, 'attention k');
    const Tv = this.rows(v, Nkv * Dh, 'attention v');
    if (Tv !== Tk) throw new ShapeError(`attention: k has ${Tk} rows, v has ${Tv}`);
    const out = new Float32Array(Tq * Nq * Dh); // [Tq, Nq*Dh]
    if (Tq === 0) return { shape: [...q.shape], data: out };
    const window = o.window ?? 0;
    if (o.window !== undefined && !(o.window >= 1)) throw new InputError(`attention: window must be >= 1, got ${o.window}`);
    const cap = o.softcap ?? 0;
    if (o.softcap !== undefined && !(o.softcap > 0)) throw new InputError(`attention: softcap must be > 0, got ${o.softcap}`);
    const qPos0 = o.qPos0 ?? 0, kPos0 = o.kPos0 ?? 0;
    for (let i = 0; i < Tq; i++) {
      // visible keys form one range [jlo, jhi) (kernels/ops.ts); HF would give NaN for an empty one
      const qPos = qPos0 + i;
      const jhi = o.causal ? Math.min(Tk, qPos - kPos0 + 1) : Tk;
      const jlo = window > 0 ? Math.max(0, qPos - window - kPos0 + 1) : 0;
      if (jhi <= jlo) {
        throw new ShapeError(`attention: query ${i} (position ${qPos}) sees no key (keys at ${kPos0}..${kPos0 + Tk - 1})`,
          'check qPos0/kPos0 and the window against the KV cache');
      }
    }
    // k/v in the KV arena are read in place: the op runs in their memory
    const kvMem = this.residentKv(k, v);
    if (kvMem) this.kvInPlaceCalls++;
    const mem = kvMem ?? this.mems[0];
    mem.resetScratch();
    const qp = mem.put(q.data);
    const kp = kvMem ? k.data.byteOffset : mem.put(k.data), vp = kvMem ? v.data.byteOffset : mem.put(v.data);
    const op = mem.scratch(out.length * 4);
    const flops = Tq * Nq * Tk * Dh * 4;
    // prefill / vision (Tq >= 16): (query block, head) tasks, two GEMMs per task; decode:
    // (query, kv head) tasks — the kv head's G query heads together, keys 4 at a time
    const blocked = Tq >= BLOCKED_ATTENTION_MIN_TQ;
    const QB = (mem.k.ops.ATT_QB as WebAssembly.Global).value as number;
    const tasks = blocked ? Math.ceil(Tq / QB) * Nq : Tq * Nkv;
    const parts = flops >= PAR_MIN_FLOPS ? Math.min(this.threads, tasks) : 1;
    const sb = blocked ? mem.k.ops.attention_blocked_scratch_bytes(Tk) : mem.k.ops.attention_scratch_bytes(Tk, Dh, Nq / Nkv);
    const scratch = Array.from({ length: parts }, () => mem.scratch(sb));
    const step = Math.max(1, Math.ceil(tasks / (parts * 4)));
    this.runTasks({
      fn: blocked ? 'ops.attention_blocked' : 'ops.attention', mem: mem.index,
      args: [qp, kp, vp, op, Tq, Tk, Nq, Nkv, Dh, o.scale, o.causal ? 1 : 0, qPos0, kPos0, window, cap, 0, tasks, scratch[0]],
      total: tasks, step, ntasks: Math.ceil(tasks / step), ia: 15, ib: 16, perThread: { index: 17, values: scratch },
    }, parts);
    out.set(mem.f32(op, out.length));
    return { shape: [...q.shape], data: out };
  }

  // ---- plumbing -----------------------------------------------------------------------------

  /** attention() calls that read k/v in place from the KV arena (tests check the path is live). */
  kvInPlaceCalls = 0;

  /** Wall time spent inside kernel jobs (ms), excluding the copies of activations in and
   *  out and the allocation of result arrays; read by bench/kernels.mjs. */
  kernelMs = 0;

  /** Static parts, one per thread (a part whose worker is late is run by the calling thread;
   *  `steal` false for the probes that need every thread at once). */
  private run(parts: JobPart[], steal = true): void {
    const t0 = performance.now();
    if (parts.length === 1) this.runLocal(parts[0]);
    else this.pool.run(parts, (p) => this.runLocal(p), steal);
    this.kernelMs += performance.now() - t0;
  }

  /** Range tasks claimed dynamically by up to `threads` threads (pool.ts). With one thread
   *  (or one task) the calling thread runs the whole range in one call. */
  private runTasks(job: TaskJob, threads: number): void {
    const t0 = performance.now();
    if (threads <= 1 || job.ntasks <= 1) {
      const args = job.args.slice();
      args[job.ia] = 0;
      args[job.ib] = job.total;
      this.runLocal({ fn: job.fn, mem: job.mem, args });
    } else {
      this.pool.runTasks(job, Math.min(threads, this.threads), (p) => this.runLocal(p));
    }
    this.kernelMs += performance.now() - t0;
  }

  private runLocal(p: JobPart): void {
    const [g, name] = p.fn.split('.') as [keyof CompiledKernels['modules'], string];
    (this.mems[p.mem].k[g] as unknown as Record<string, (...a: number[]) => unknown>)[name](...p.args);
  }

  private newMemory(): KernelMemory {
    const mem = new KernelMemory(this.mems.length, this.kernels);
    this.mems.push(mem);
    this.pool.attach(mem.memory);
    return mem;
  }

  /** f32 values of a (small) weight as a pointer in `mem`: in place for an f32 weight living
   *  there, else widened/copied into mem's scratch. */
  private operandF32(mem: KernelMemory, W: WasmWeight): number {
    if (W.mem === mem.index && W.stored === 'F32') return W.ptr;
    const p = mem.scratch(W.numel * 4);
    if (W.mem === mem.index) mem.k.ops.widen_bf16(W.ptr, p, W.numel);
    else mem.f32(p, W.numel).set(this.readWeight(W));
    return p;
  }

  private weight(w: Weight, op: string): WasmWeight {
    this.alive();
    if (!(w instanceof WasmWeight) || w.owner !== this.id) {
      throw new BackendError(`${op}: weight '${w.name}' was not loaded by this wasm backend`,
        'load weights with backend.loadWeight() of the backend that runs the model');
    }
    return w;
  }

  /** Rows of x given its last dimension must be `width`. */
  private rows(x: Tensor, width: number, what: string): number {
    const last = x.shape.length ? x.shape[x.shape.length - 1] : 1;
    if (last !== width || x.data.length !== numel(x.shape)) {
      throw new ShapeError(`${what}: expects rows of ${width} values; input ${fmtShape(x.shape)} has last dim ${last}, needs ${width}` +
        (x.data.length !== numel(x.shape) ? ` and ${x.data.length} values for ${numel(x.shape)} elements` : ''));
    }
    return width === 0 ? numel(x.shape.slice(0, -1)) : x.data.length / width;
  }

  private sameShape(op: string, a: Tensor, b: Tensor): void {
    if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i]) || a.data.length !== b.data.length) {
      throw new ShapeError(`${op}: shapes differ: ${fmtShape(a.shape)} vs ${fmtShape(b.shape)}`);
    }
  }

  private alive(): void {
    if (this.disposed) throw new BackendError('wasm backend: used after dispose()', 'create a new backend for a new model');
  }
}
