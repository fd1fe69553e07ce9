// The `wasm` backend's ops: class WasmBackend, the Backend methods of src/backend/backend.ts
// over the SIMD kernels (kernels/*.ts). The readable definitions are the `ts` backend
// (src/ops/); docs/kernels.md explains the design. The other jobs live next door:
// create.ts (creation, threads), weights.ts (weight placement), kv-arena.ts (KV caches),
// probes.ts (warm-up, blocking probe, peak/bandwidth), jobs.ts (named kernel calls, dispatch).
//
// Shapes: M rows · K reduction · N output columns · T tokens · Nq/Nkv heads · Dh head dim.
// Every op: pick the memory (the weight's, or memory 0), reset its scratch, copy the
// activations in, run the kernel split over threads (output columns / rows / ranges — each
// output element is computed by exactly one thread, in a fixed order, so results do not
// depend on the thread count), copy the result out into a fresh Float32Array.

import { BackendError, InputError, ShapeError } from '../../errors.js';
import { dot8BlockCount, permuteInputs, type QuantLinearData, type QuantWeight } from '../../quant/gptq.js';
import { fmtShape, numel, type Tensor, type Weight, type WeightDType } from '../../tensor.js';
import type { AttentionOptions, Backend, KVArena } from '../backend.js';
import { type ChosenGemmBlocking, checkBlocking, DEFAULT_GEMM_BLOCKING, type GemmBlocking } from './blocking.js';
import type { WasmBackendOptions } from './create.js';
import { Dispatcher, part, split, tasks } from './jobs.js';
import { B_BF16_KN, B_BF16_NK, B_F32_KN, B_F32_NK } from './kernel-table.js';
import type { CompiledKernels, KernelInfo } from './kernels.js';
import { KvArenaAllocator } from './kv-arena.js';
import { DEFAULT_SCRATCH_BYTES, type KernelMemory, Memories } from './memory.js';
import type { JobPart, WorkerPool } from './pool.js';
import { measurePeakGflops, measureReadGBps, timeGemmBlocking, warmUp } from './probes.js';
import { DEFAULT_WEIGHT_BYTES_PER_MEMORY, type WasmQuantWeight, type WasmWeight, WeightStore } from './weights.js';

export interface WasmBackendInfo extends KernelInfo {
  threads: number;
  /** The live GEMM blocking and how it was chosen. */
  gemmBlocking: ChosenGemmBlocking;
  /** kind 'weights': weightBytes of weights; kind 'kv': the KV arena's high-water mark. */
  memories: { index: number; kind: 'weights' | 'kv'; weightBytes: number; byteLength: number }[];
}

/** attention_decode_* arguments: pointers (q, k, v, o) into one memory, shapes, mask, scale, softcap. */
interface DecodeAttentionArgs {
  q: number;
  k: number;
  v: number;
  o: number;
  Tq: number;
  Tk: number;
  Nq: number;
  Nkv: number;
  Dh: number;
  causal: number;
  qPos0: number;
  kPos0: number;
  window: number;
  scl: number;
  cap: number;
}

let backendIds = 0;
/** Below these amounts of work an op runs on the calling thread only (waking a worker costs
 *  ~5-50 µs). They change speed only, never values. */
const PAR_MIN_FLOPS = 2e6;
const PAR_MIN_BYTES = 1 << 18;
/** linear() with at most this many rows uses the GEMV kernels (weights streamed once per row). */
const GEMV_MAX_ROWS = 3;
/** attention() with at least this many queries uses the blocked two-GEMM kernel. */
const BLOCKED_ATTENTION_MIN_TQ = 16;

export class WasmBackend implements Backend {
  readonly name = 'wasm' as const;
  readonly threads: number;
  private readonly mems: Memories;
  private readonly jobs: Dispatcher;
  private readonly weights: WeightStore;
  private readonly kv: KvArenaAllocator;
  private readonly id = ++backendIds;
  private disposed = false;
  private readonly scratchCap: number;
  /** linearQuant through integer dots (opt-in, WasmBackendOptions.quantDot): 'int16' gemv_q_dot /
   *  gemm_q_dot; 'int8' gemv_q_dot8 / gemm_q_dot8. */
  private readonly quantDot: false | 'int16' | 'int8';
  private arena?: KVArena;
  /** The GEMM blocking of linear/matmul/patchEmbed (set by createWasmBackend). */
  private blocking: ChosenGemmBlocking = { ...DEFAULT_GEMM_BLOCKING, source: 'default' };

  constructor(
    private readonly kernels: CompiledKernels,
    pool: WorkerPool,
    mem0: KernelMemory,
    opts: WasmBackendOptions,
  ) {
    this.mems = new Memories(kernels, pool, mem0);
    this.jobs = new Dispatcher(pool, this.mems);
    this.threads = this.jobs.threads;
    const weightCap = opts.weightBytesPerMemory ?? DEFAULT_WEIGHT_BYTES_PER_MEMORY;
    this.weights = new WeightStore(this.mems, this.id, weightCap);
    this.kv = new KvArenaAllocator(this.mems, weightCap);
    this.scratchCap = opts.scratchBytes ?? DEFAULT_SCRATCH_BYTES;
    const qd: unknown = opts.quantDot;
    if (qd !== undefined && qd !== true && qd !== false && qd !== 'int16' && qd !== 'int8') {
      throw new BackendError(`quantDot must be true, false, 'int16' or 'int8', got ${JSON.stringify(qd)}`);
    }
    this.quantDot = qd === true ? 'int16' : (qd ?? false);
  }

  /** Which build is live, threads, and the memories of the weight store. */
  info(): WasmBackendInfo {
    return {
      ...this.kernels.info,
      threads: this.threads,
      gemmBlocking: this.blocking,
      memories: this.mems.all().map((m) => ({ index: m.index, kind: m.kind, weightBytes: m.weightTop - 65536, byteLength: m.byteLength })),
    };
  }

  /** Wall time spent inside kernel jobs (ms), excluding the copies of activations in and
   *  out and the allocation of result arrays; read by bench/kernels.mjs. */
  get kernelMs(): number {
    return this.jobs.kernelMs;
  }

  /** attention() calls that read k/v in place from the KV arena (tests check the path is live). */
  kvInPlaceCalls = 0;

  // ---- warm-up, GEMM blocking, measurements (probes.ts) -----------------------------------

  /** Run every kernel a few times on every thread (probes.ts; done at creation). */
  warmUp(rounds = 3): void {
    warmUp(this.mems.get(0), this.jobs, rounds);
  }

  /** Use blocking `b` for every later GEMM (speed only; bench/kernels.mjs --sweep, tests). */
  setGemmBlocking(b: GemmBlocking & { source?: ChosenGemmBlocking['source']; probe?: ChosenGemmBlocking['probe'] }): void {
    const { kc, mc, nc } = checkBlocking(b, 'setGemmBlocking');
    this.blocking = { kc, mc, nc, source: b.source ?? 'option', ...(b.probe ? { probe: b.probe } : {}) };
  }

  /** Seconds for one bf16 GEMM of the blocking probe with blocking `b` (calling thread). */
  timeGemmBlocking(b: GemmBlocking): number {
    this.alive();
    return timeGemmBlocking(this.mems.get(0), b);
  }

  /** The SIMD128 mul+add ceiling: `threads` threads (default all) each run kernels/gemm.ts
   *  peak_madd(iters) at once; returns aggregate GFLOP/s (wall clock). */
  measurePeakGflops(iters = 2e7, threads = this.threads): number {
    this.alive();
    return measurePeakGflops(this.mems.get(0), this.jobs, iters, threads);
  }

  /** Read bandwidth in GB/s: `threads` threads stream disjoint parts of a `bytes` buffer
   *  (beyond the caches) with kernels/gemv.ts read_stream. */
  measureReadGBps(bytes = 512 * 2 ** 20, threads = this.threads, reps = 3): number {
    this.alive();
    return measureReadGBps(this.mems.get(0), this.jobs, bytes, threads, reps);
  }

  // ---- weights (weights.ts) ---------------------------------------------------------------

  loadWeight(name: string, dtype: WeightDType, shape: readonly number[], data: Float32Array | Uint16Array): Weight {
    this.alive();
    return this.weights.load(name, dtype, shape, data);
  }

  async loadWeightFrom(
    name: string,
    dtype: 'BF16' | 'F32',
    shape: readonly number[],
    fill: (dst: Uint8Array) => Promise<void>,
  ): Promise<Weight> {
    this.alive();
    return this.weights.loadFrom(name, dtype, shape, fill);
  }

  readWeight(w: Weight): Float32Array {
    return this.weights.read(this.weight(w, 'readWeight'));
  }

  // ---- KV arena (kv-arena.ts) -------------------------------------------------------------

  /** KV-cache rows in memories of their own; attention() reads rows from here in place
   *  instead of copying the whole cache into kernel memory at every call. */
  kvArena(): KVArena {
    this.alive();
    return (this.arena ??= {
      alloc: (n) => {
        this.alive();
        return this.kv.alloc(n);
      },
      free: (a) => {
        if (!this.disposed) this.kv.free(a);
      },
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.jobs.close();
    this.mems.clear();
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
    const mem = this.mems.get(W.mem);
    if (M <= GEMV_MAX_ROWS && K > 0) {
      for (let i = 0; i < M; i++) {
        mem.resetScratch();
        const xp = mem.put(x.data.subarray(i * K, (i + 1) * K));
        const yp = mem.scratch(N * 4);
        const parts = N * K * (W.stored === 'BF16' ? 2 : 4) >= PAR_MIN_BYTES ? this.threads : 1;
        // tasks of <= ~1 MiB of weights, multiples of 8 rows (the kernel's widest pass)
        const step = Math.max(8, Math.ceil(Math.min(N / (parts * 4), (4 * 2 ** 20) / (K * (W.stored === 'BF16' ? 2 : 4))) / 8) * 8);
        if (W.stored === 'BF16') {
          const xd = mem.scratch(K * 4);
          mem.call('deinterleave8', { x: xp, K, xd });
          this.jobs.runTasks(tasks('gemv_bf16', mem.index, { K, x: xp, xd, w: W.ptr, y: yp }, { total: N, step }), parts);
        } else {
          this.jobs.runTasks(tasks('gemv_f32', mem.index, { K, x: xp, w: W.ptr, y: yp }, { total: N, step }), parts);
        }
        if (B) mem.call('add_bias', { M: 1, c: yp, ldc: N, b: this.operandF32(mem, B), n0: 0, n1: N });
        y.set(mem.f32(yp, N), i * N);
      }
      return { shape: outShape, data: y };
    }
    this.gemm(mem, x.data, M, K, N, W.stored === 'BF16' ? B_BF16_NK : B_F32_NK, W.ptr, y, B);
    return { shape: outShape, data: y };
  }

  // ---- quantized Linear (GPTQ int4/int8; kernels/quant.ts, docs/quantization.md) -----------

  loadQuantLinear(d: QuantLinearData): QuantWeight {
    this.alive();
    return this.weights.loadQuant(d);
  }

  /** y = x · Wᵀ (+ bias) for a quantized W: the GEMVs for <= GEMV_MAX_ROWS rows (gemvQuant), else
   *  by quantDot mode gemm_q_dot8, gemm_q_dot or gemm_q (a dequantized 64-column block, then
   *  gemm_blocked). x is permuted on the host (act order). */
  linearQuant(x: Tensor, w: QuantWeight): Tensor {
    this.alive();
    const W = this.weights.ownQuant(w, 'linearQuant');
    const [N, K] = W.shape;
    const M = this.rows(x, K, `linearQuant ${W.name}`);
    const y = new Float32Array(M * N);
    const outShape = [...x.shape.slice(0, -1), N];
    if (M === 0 || N === 0) return { shape: outShape, data: y };
    const xd = permuteInputs(x.data, M, K, W.perm);
    if (M <= GEMV_MAX_ROWS) {
      this.gemvQuant(xd, M, [W], [y]);
      return { shape: outShape, data: y };
    }
    const mem = this.mems.get(W.mem);
    const gs = W.groupSize;
    const bits = W.bits;
    const args = { bits, K, N, gs, qp: W.qp, sz: W.sz };
    if (this.quantDot === 'int8') return this.linearQuantDot8(xd, M, W, mem, y, outShape);
    if (this.quantDot) return this.linearQuantDot(xd, M, W, mem, y, outShape);
    const { kc, mc, nc } = this.blocking;
    const qs = mem.call('gemm_q_scratch_bytes', { K, KC: kc, MC: mc, NC: nc });
    const parts = M * N * K * 2 >= PAR_MIN_FLOPS ? Math.min(this.threads, Math.ceil(N / 8)) : 1;
    const budget = Math.min(this.scratchCap, mem.scratchFree) - parts * (qs + 64) - 4096;
    const chunk = Math.max(4, Math.floor(budget / ((K + N) * 4)));
    if (budget < 4 * (K + N) * 4) throw new BackendError(`linearQuant: scratch budget too small for K=${K}, N=${N}`, 'raise scratchBytes');
    // column tasks: ~4 per thread, multiples of 64 columns (the dequantized block)
    const step = Math.max(64, Math.ceil(N / (parts * 4) / 64) * 64);
    for (let m0 = 0; m0 < M; m0 += chunk) {
      const m = Math.min(chunk, M - m0);
      mem.resetScratch();
      const xp = mem.put(xd.subarray(m0 * K, (m0 + m) * K));
      const yp = mem.scratch(m * N * 4);
      const scratch = Array.from({ length: parts }, () => mem.scratch(qs));
      this.jobs.runTasks(
        tasks('gemm_q', mem.index, { ...args, M: m, x: xp, c: yp, KC: kc, MC: mc, NC: nc }, { total: N, step, scratch }),
        parts,
      );
      if (W.bias) mem.call('add_bias', { M: m, c: yp, ldc: N, b: W.bias, n0: 0, n1: N });
      y.set(mem.f32(yp, m * N), m0 * N);
    }
    return { shape: outShape, data: y };
  }

  /** Several quantized Linears of the same x (q/k/v, gate/up): in decode (<= GEMV_MAX_ROWS rows)
   *  with the same K, bits, group size, act order and memory, x is rounded once and one job runs
   *  them all (gemvQuant); otherwise one linearQuant each. The same bits as separate calls. */
  linearQuantMany(x: Tensor, ws: readonly QuantWeight[]): Tensor[] {
    this.alive();
    const Ws = ws.map((w) => this.weights.ownQuant(w, 'linearQuantMany'));
    if (Ws.length === 0) return [];
    const W0 = Ws[0];
    const K = W0.shape[1];
    const M = this.rows(x, K, `linearQuantMany ${W0.name}`);
    const shared = (W: WasmQuantWeight) =>
      W.shape[1] === K && W.bits === W0.bits && W.groupSize === W0.groupSize && W.mem === W0.mem && samePerm(W.perm, W0.perm);
    if (Ws.length === 1 || M === 0 || M > GEMV_MAX_ROWS || !Ws.every(shared)) return Ws.map((W) => this.linearQuant(x, W));
    const xd = permuteInputs(x.data, M, K, W0.perm);
    const ys = Ws.map((W) => new Float32Array(M * W.shape[0]));
    this.gemvQuant(xd, M, Ws, ys);
    return Ws.map((W, j) => ({ shape: [...x.shape.slice(0, -1), W.shape[0]], data: ys[j] }));
  }

  /** The decode GEMVs of one or more quantized Linears sharing x (permuted) [M, K]: per row, x in
   *  the quantDot mode's form (int8 blocks, int16, or f32 with group sums), then one range job over
   *  the matrices' columns laid end to end (kernels/quant.ts *_many: matrix j at a multiple of 8). */
  private gemvQuant(xd: Float32Array, M: number, Ws: readonly WasmQuantWeight[], ys: Float32Array[]): void {
    const W0 = Ws[0];
    const K = W0.shape[1];
    const { bits, groupSize: gs } = W0;
    const G = Math.ceil(K / gs);
    const mem = this.mems.get(W0.mem);
    const offs: number[] = [];
    let total = 0;
    for (const W of Ws) {
      offs.push(total);
      total += Math.ceil(W.shape[0] / 8) * 8;
    }
    const { parts, step } = this.gemvSplit(total, K, bits);
    const split = { total, step };
    for (let i = 0; i < M; i++) {
      mem.resetScratch();
      const xp = mem.put(xd.subarray(i * K, (i + 1) * K));
      const entry = mem.globals.MANY_ENTRY / 4; // words per table entry
      const table = mem.scratch(Ws.length * entry * 4);
      const yps = Ws.map((W) => mem.scratch(W.shape[0] * 4));
      const abs = this.quantDot ? null : Ws.map((W) => mem.scratch(W.shape[0] * 4)); // gemv_q's group sums
      const tv = mem.u32(table, Ws.length * entry);
      Ws.forEach((W, j) => tv.set([offs[j], W.shape[0], W.qp, W.sz, yps[j], abs ? abs[j] : 0], j * entry));
      const count = Ws.length;
      // (explicit argument objects, no `{ ...common, more }`: V8 11 takes ~1 µs per property added
      // after a spread, and decode makes hundreds of these jobs per token)
      if (this.quantDot === 'int8') {
        const xr16 = mem.scratch(K * 2);
        const xr8 = mem.scratch(K);
        const axb = mem.scratch(dot8BlockCount(K, gs) * 4);
        const xg = mem.scratch(G * 4);
        mem.call('quant_blocks_i8', { bits, K, gs, x: xp, xr16, xr8, axb, xg });
        this.jobs.runTasks(tasks('gemv_q_dot8_many', mem.index, { bits, K, gs, xr16, xr8, axb, xg, table, count }, split), parts);
      } else if (this.quantDot) {
        const ldq = K + (K & 1);
        const xq = mem.scratch(ldq * 2);
        const xr = mem.scratch(ldq * 2);
        const ax = mem.scratch(4);
        const bsum = mem.scratch((Math.ceil(K / 128) + G) * 4); // >= the DOT_KB blocks inside the groups
        mem.call('quant_rows_i16', { M: 1, K, x: xp, xq, ldq, ax });
        mem.call('dot_block_sums', { K, gs, xq, bsum });
        mem.call('dot_pair_order', { bits, K, xq, xr });
        this.jobs.runTasks(tasks('gemv_q_dot_many', mem.index, { bits, K, gs, xr, ax, bsum, table, count }, split), parts);
      } else {
        const xs = mem.scratch(G * 4);
        const xq = mem.scratch(K * 4);
        mem.call('group_sums', { bits, K, gs, x: xp, xs, xq });
        this.jobs.runTasks(tasks('gemv_q_many', mem.index, { bits, K, gs, x: xq, xs, table, count }, split), parts);
      }
      Ws.forEach((W, j) => {
        const N = W.shape[0];
        if (W.bias) mem.call('add_bias', { M: 1, c: yps[j], ldc: N, b: W.bias, n0: 0, n1: N });
        ys[j].set(mem.f32(yps[j], N), i * N);
      });
    }
  }

  /** The quantized GEMVs' column split: `parts` threads when the weights are large enough, tasks
   *  of <= ~1 MiB of packed weights in multiples of 8 columns (one panel). */
  private gemvSplit(N: number, K: number, bits: number): { parts: number; step: number } {
    const parts = (N * K * bits) / 8 >= PAR_MIN_BYTES ? this.threads : 1;
    return { parts, step: Math.max(8, Math.ceil(Math.min(N / (parts * 4), (8 * 2 ** 20) / (K * bits)) / 8) * 8) };
  }

  /** linearQuant's >= 4-row path with int8 activations (quantDot 'int8'): per row chunk, x
   *  rounded to int8 per block of 32 (quant_rows_i8, one thread), then gemm_q_dot8 column tasks:
   *  the GEMV's bits (twin linearQuantDotI8), so prefill and decode round x alike. */
  private linearQuantDot8(xd: Float32Array, M: number, W: WasmQuantWeight, mem: KernelMemory, y: Float32Array, outShape: number[]): Tensor {
    const [N, K] = W.shape;
    const gs = W.groupSize;
    const G = Math.ceil(K / gs);
    const B = dot8BlockCount(K, gs);
    const args = { bits: W.bits, K, N, gs, B, G, qp: W.qp, sz: W.sz };
    const parts = M * N * K * 2 >= PAR_MIN_FLOPS ? Math.min(this.threads, Math.ceil(N / 8)) : 1;
    const budget = Math.min(this.scratchCap, mem.scratchFree) - 4096;
    const perRow = K * 4 + K * 3 + (B + G) * 4 + N * 4;
    if (budget < 8 * perRow) throw new BackendError(`linearQuant: scratch budget too small for K=${K}, N=${N}`, 'raise scratchBytes');
    const chunk = Math.max(4, Math.floor(budget / perRow / 4) * 4 - 4);
    // column tasks: ~4 per thread, multiples of 8 columns (a panel)
    const step = Math.max(8, Math.ceil(N / (parts * 4) / 8) * 8);
    for (let m0 = 0; m0 < M; m0 += chunk) {
      const m = Math.min(chunk, M - m0);
      const Mp = Math.ceil(m / 4) * 4;
      mem.resetScratch();
      const xp = mem.put(xd.subarray(m0 * K, (m0 + m) * K));
      const xr16 = mem.scratch(Mp * K * 2);
      const xr8 = mem.scratch(Mp * K);
      const axb = mem.scratch(Mp * B * 4);
      const xg = mem.scratch(Mp * G * 4);
      const yp = mem.scratch(m * N * 4);
      mem.call('quant_rows_i8', { bits: W.bits, M: m, Mp, K, gs, B, G, x: xp, xr16, xr8, axb, xg });
      this.jobs.runTasks(tasks('gemm_q_dot8', mem.index, { ...args, M: m, xr16, xr8, axb, xg, c: yp }, { total: N, step }), parts);
      if (W.bias) mem.call('add_bias', { M: m, c: yp, ldc: N, b: W.bias, n0: 0, n1: N });
      y.set(mem.f32(yp, m * N), m0 * N);
    }
    return { shape: outShape, data: y };
  }

  /** linearQuant's >= 4-row path through integer dot products (quantDot): per row
   *  chunk, x rounded per row to int16 (quant_rows_i16, one thread), then gemm_q_dot column tasks. */
  private linearQuantDot(xd: Float32Array, M: number, W: WasmQuantWeight, mem: KernelMemory, y: Float32Array, outShape: number[]): Tensor {
    const [N, K] = W.shape;
    const ldq = K + (K & 1);
    const args = { bits: W.bits, K, N, gs: W.groupSize, qp: W.qp, sz: W.sz, ldq };
    const qs = mem.call('gemm_q_dot_scratch_bytes', {});
    const parts = M * N * K * 2 >= PAR_MIN_FLOPS ? Math.min(this.threads, Math.ceil(N / 8)) : 1;
    const budget = Math.min(this.scratchCap, mem.scratchFree) - parts * (qs + 64) - 4096;
    const perRow = K * 4 + ldq * 2 + N * 4 + 4;
    if (budget < 4 * perRow) throw new BackendError(`linearQuant: scratch budget too small for K=${K}, N=${N}`, 'raise scratchBytes');
    const chunk = Math.max(4, Math.floor(budget / perRow));
    // column tasks: ~4 per thread, multiples of 8 columns (a panel)
    const step = Math.max(8, Math.ceil(N / (parts * 4) / 8) * 8);
    for (let m0 = 0; m0 < M; m0 += chunk) {
      const m = Math.min(chunk, M - m0);
      mem.resetScratch();
      const xp = mem.put(xd.subarray(m0 * K, (m0 + m) * K));
      const xq = mem.scratch(m * ldq * 2);
      const ax = mem.scratch(m * 4);
      const yp = mem.scratch(m * N * 4);
      mem.call('quant_rows_i16', { M: m, K, x: xp, xq, ldq, ax });
      const scratch = Array.from({ length: parts }, () => mem.scratch(qs));
      this.jobs.runTasks(tasks('gemm_q_dot', mem.index, { ...args, M: m, xq, ax, c: yp }, { total: N, step, scratch }), parts);
      if (W.bias) mem.call('add_bias', { M: m, c: yp, ldc: N, b: W.bias, n0: 0, n1: N });
      y.set(mem.f32(yp, m * N), m0 * N);
    }
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
    this.gemm(this.mems.get(W.mem), a.data, M, K, N, W.stored === 'BF16' ? B_BF16_KN : B_F32_KN, W.ptr, y, undefined);
    return { shape: outShape, data: y };
  }

  /** y[M, N] = x[M, K] · B (+ bias) in row chunks that fit the scratch budget. */
  private gemm(
    mem: KernelMemory,
    x: Float32Array,
    M: number,
    K: number,
    N: number,
    bKind: number,
    wPtr: number,
    y: Float32Array,
    B: WasmWeight | undefined,
  ): void {
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
      if (B) mem.call('add_bias', { M: m, c: yp, ldc: N, b: bp, n0: 0, n1: N });
      y.set(mem.f32(yp, m * N), m0 * N);
    }
  }

  /** yp[m, N] = xp[m, K] · B with both activations already in `mem` (scratch for the
   *  per-thread packing buffers is taken here). */
  private gemmResident(
    mem: KernelMemory,
    xp: number,
    m: number,
    K: number,
    N: number,
    bKind: number,
    wPtr: number,
    yp: number,
    parts: number,
  ): void {
    const { kc, mc, nc } = this.blocking;
    const gs = this.gemmScratch(mem);
    const scratch = Array.from({ length: parts }, () => mem.scratch(gs));
    // column tasks: ~4 per thread, 128..max(128, nc) columns (each task repacks its A blocks,
    // so not too narrow; nc is the kernel's column block)
    const step = Math.min(Math.max(128, nc), Math.max(128, Math.ceil(N / (parts * 4) / 8) * 8));
    const ldb = bKind === B_F32_NK || bKind === B_BF16_NK ? K : N;
    this.jobs.runTasks(
      tasks(
        'gemm_blocked',
        mem.index,
        {
          M: m,
          N,
          K,
          a: xp,
          lda: K,
          bKind,
          w: wPtr,
          ldb,
          c: yp,
          ldc: N,
          KC: kc,
          MC: mc,
          NC: nc,
        },
        { total: N, step, scratch },
      ),
      parts,
    );
  }

  /** Per-thread packing scratch of the live blocking (kernels/gemm.ts gemm_blocked_scratch_bytes). */
  private gemmScratch(mem: KernelMemory): number {
    const { kc, mc, nc } = this.blocking;
    return mem.call('gemm_blocked_scratch_bytes', { KC: kc, MC: mc, NC: nc });
  }

  patchEmbed(pixels: Tensor, w: Weight, b: Weight, patch: number): Tensor {
    const W = this.weight(w, 'patchEmbed');
    const B = this.weight(b, 'patchEmbed bias');
    const ps = pixels.shape;
    if (ps.length !== 4 || ps[2] !== ps[3] || pixels.data.length !== numel(ps)) {
      throw new ShapeError(
        `patchEmbed: pixel_values ${fmtShape(ps)} is not [n, C, S, S]` +
          (pixels.data.length !== numel(ps) ? ` (${pixels.data.length} values)` : ''),
      );
    }
    if (!(Number.isInteger(patch) && patch >= 1)) throw new InputError(`patchEmbed: patch size must be a positive integer, got ${patch}`);
    const [n, C, S] = ps;
    const g = Math.floor(S / patch);
    const L = C * patch * patch;
    const gg = g * g;
    if (W.shape.length !== 2 || W.shape[1] !== L) {
      throw new ShapeError(`patchEmbed ${W.name}: weight must be (D, C·P·P) = (D, ${L}), got ${fmtShape(W.shape)}`);
    }
    const D = W.shape[0];
    if (B.numel !== D) throw new ShapeError(`patchEmbed ${W.name}: bias ${B.name} has ${B.numel} values, weight has ${D} outputs`);
    const y = new Float32Array(n * gg * D); // [n·g·g, D]
    if (n * gg === 0 || D === 0) return { shape: [n * gg, D], data: y };
    const mem = this.mems.get(W.mem);
    const gs = this.gemmScratch(mem);
    // whole crops per chunk: pixels + unfolded rows + output must fit the scratch budget
    const perCrop = (C * S * S + gg * (L + D)) * 4;
    const budget = Math.min(this.scratchCap, mem.scratchFree) - this.threads * (gs + 64) - D * 4 - 4096;
    const crops = Math.floor(budget / perCrop);
    if (crops < 1) throw new BackendError(`patchEmbed: scratch budget too small for one ${S}x${S} crop`, 'raise scratchBytes');
    for (let c0 = 0; c0 < n; c0 += crops) {
      const c = Math.min(crops, n - c0);
      const m = c * gg;
      mem.resetScratch();
      const bp = this.operandF32(mem, B);
      const pp = mem.put(pixels.data.subarray(c0 * C * S * S, (c0 + c) * C * S * S));
      const up = mem.scratch(m * L * 4); // [m, C·P·P]
      const parts = m * L * 8 >= PAR_MIN_BYTES ? Math.min(this.threads, m) : 1;
      this.jobs.run(split(m, parts, 1).map(([r0, r1]) => part('unfold_patches', mem.index, { px: pp, C, S, P: patch, y: up, r0, r1 })));
      const yp = mem.scratch(m * D * 4);
      this.gemmResident(
        mem,
        up,
        m,
        L,
        D,
        W.stored === 'BF16' ? B_BF16_NK : B_F32_NK,
        W.ptr,
        yp,
        m * D * L * 2 >= PAR_MIN_FLOPS ? Math.min(this.threads, Math.ceil(D / 8)) : 1,
      );
      mem.call('add_bias', { M: m, c: yp, ldc: D, b: bp, n0: 0, n1: D });
      y.set(mem.f32(yp, m * D), c0 * gg * D);
    }
    return { shape: [n * gg, D], data: y };
  }

  embedding(ids: Int32Array, table: Weight): Tensor {
    const W = this.weight(table, 'embedding');
    if (W.shape.length !== 2) throw new ShapeError(`embedding ${W.name}: table must be 2-D (V, H), got ${fmtShape(W.shape)}`);
    const [V, H] = W.shape;
    const out = new Float32Array(ids.length * H); // [n, H]
    const mem = this.mems.get(W.mem);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!(id >= 0 && id < V))
        throw new InputError(
          `embedding ${W.name}: id ${id} at position ${i} is outside [0, ${V})`,
          'negative ids (image placeholders) must be replaced before the lookup',
        );
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
    const W = this.weight(w, 'layerNorm');
    const B = this.weight(b, 'layerNorm bias');
    const n = W.numel;
    if (B.numel !== n) throw new ShapeError(`layerNorm ${W.name}: bias has ${B.numel} values, weight ${n}`);
    const rows = this.rows(x, n, `layerNorm ${W.name}`);
    const mem = this.mems.get(W.mem);
    return this.rowwise(
      mem,
      x,
      rows,
      n,
      () => [this.operandF32(mem, W), this.operandF32(mem, B)],
      (xp, yp, r, [wp, bp]) => part('layer_norm_rows', mem.index, { x: xp, y: yp, rows: r, n, w: wp, b: bp, eps }),
    );
  }

  rmsNorm(x: Tensor, w: Weight, eps: number, offset: 0 | 1): Tensor {
    const W = this.weight(w, 'rmsNorm');
    const n = W.numel;
    const rows = this.rows(x, n, `rmsNorm ${W.name}`);
    const mem = this.mems.get(W.mem);
    return this.rowwise(
      mem,
      x,
      rows,
      n,
      () => [this.operandF32(mem, W)],
      (xp, yp, r, [wp]) => part('rms_norm_rows', mem.index, { x: xp, y: yp, rows: r, n, w: wp, eps, offset }),
    );
  }

  softmax(x: Tensor): Tensor {
    const n = x.shape.length ? x.shape[x.shape.length - 1] : 1;
    const rows = n === 0 ? 0 : x.data.length / n;
    return this.rowwise(
      this.mems.get(0),
      x,
      rows,
      n,
      () => [],
      (xp, yp, r) => part('softmax_rows', 0, { x: xp, y: yp, rows: r, n }),
      true,
    );
  }

  /** Row-chunked, row-parallel driver for kernels f(x, y, rows, n, ...): `mk` makes the call
   *  for `rows` rows at xp -> yp, given the pointers `operands` put into the chunk's scratch.
   *  `inPlace`: the kernel accepts y = x, so it writes over the chunk's copy of x — half the
   *  scratch, and no second stream of fresh cache lines to fetch before they are written. */
  private rowwise(
    mem: KernelMemory,
    x: Tensor,
    rows: number,
    n: number,
    operands: () => number[],
    mk: (xp: number, yp: number, rows: number, ops: number[]) => JobPart,
    inPlace = false,
  ): Tensor {
    this.alive();
    const y = new Float32Array(rows * n);
    if (rows === 0 || n === 0) return { shape: [...x.shape], data: y };
    const perRow = n * (inPlace ? 4 : 8);
    const chunk = Math.max(1, Math.floor((Math.min(this.scratchCap, mem.scratchFree) / 2 - 8 * n) / perRow));
    for (let r0 = 0; r0 < rows; r0 += chunk) {
      const r = Math.min(chunk, rows - r0);
      mem.resetScratch();
      const ops = operands();
      const xp = mem.put(x.data.subarray(r0 * n, (r0 + r) * n));
      const yp = inPlace ? xp : mem.scratch(r * n * 4);
      const parts = r * n * 4 >= PAR_MIN_BYTES ? Math.min(this.threads, r) : 1;
      this.jobs.run(split(r, parts, 1).map(([a, c]) => mk(xp + a * n * 4, yp + a * n * 4, c - a, ops)));
      y.set(mem.f32(yp, r * n), r0 * n);
    }
    return { shape: [...x.shape], data: y };
  }

  // ---- elementwise ------------------------------------------------------------------------

  geluTanh(x: Tensor): Tensor {
    return this.elementwise([x], ([xp], yp, i0, i1) => part('gelu_tanh', 0, { x: xp, y: yp, i0, i1 }));
  }

  gatedAct(gate: Tensor, up: Tensor, act: 'silu' | 'gelu_tanh'): Tensor {
    this.sameShape('gatedAct', gate, up);
    if (act !== 'silu' && act !== 'gelu_tanh') throw new InputError(`gatedAct: act must be 'silu' or 'gelu_tanh', got '${act as string}'`);
    const a = act === 'silu' ? 0 : 1;
    return this.elementwise([gate, up], ([g, u], yp, i0, i1) => part('gated', 0, { g, u, y: yp, act: a, i0, i1 }));
  }

  add(a: Tensor, b: Tensor): Tensor {
    this.sameShape('add', a, b);
    return this.elementwise([a, b], ([p, q], yp, i0, i1) => part('add', 0, { a: p, b: q, y: yp, i0, i1 }));
  }

  scale(x: Tensor, s: number): Tensor {
    return this.elementwise([x], ([xp], yp, i0, i1) => part('scale', 0, { x: xp, y: yp, s, i0, i1 }));
  }

  softcap(x: Tensor, c: number): Tensor {
    if (!(c > 0)) throw new InputError(`softcap: cap must be > 0, got ${c}`);
    return this.elementwise([x], ([xp], yp, i0, i1) => part('softcap', 0, { x: xp, y: yp, c, i0, i1 }));
  }

  /** Chunked, range-parallel driver for elementwise kernels over equally shaped inputs in
   *  memory 0: `mk` makes the call for elements [i0, i1) of the chunk at `ptrs` -> yp. */
  /** Chunked, thread-split driver for elementwise kernels. Every elementwise kernel reads
   *  element i of its inputs before it writes element i of y, so y is the chunk's copy of
   *  the first input: less scratch, and no fresh lines fetched only to be overwritten. */
  private elementwise(xs: Tensor[], mk: (ptrs: number[], yp: number, i0: number, i1: number) => JobPart): Tensor {
    this.alive();
    const mem = this.mems.get(0);
    const n = xs[0].data.length;
    const y = new Float32Array(n);
    const chunk = Math.max(4, Math.floor(Math.min(this.scratchCap, mem.scratchFree) / (4 * xs.length) / 4) * 4);
    for (let s = 0; s < n; s += chunk) {
      const len = Math.min(chunk, n - s);
      mem.resetScratch();
      const ptrs = xs.map((t) => mem.put(t.data.subarray(s, s + len)));
      const yp = ptrs[0];
      const parts = len * 4 * (xs.length + 1) >= PAR_MIN_BYTES ? this.threads : 1;
      this.jobs.run(split(len, parts, 4).map(([i0, i1]) => mk(ptrs, yp, i0, i1)));
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
    const mem = this.mems.get(0);
    mem.resetScratch();
    const xp = mem.put(x.data);
    const cp = mem.put(cos);
    const sp = mem.put(sin);
    const parts = x.data.length * 12 >= PAR_MIN_BYTES ? Math.min(this.threads, T) : 1;
    this.jobs.run(split(T, parts, 1).map(([t0, t1]) => part('rope', 0, { x: xp, nHeads, hd: headDim, cos: cp, sin: sp, t0, t1 })));
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
    const qPos0 = o.qPos0 ?? 0;
    const kPos0 = o.kPos0 ?? 0;
    for (let i = 0; i < Tq; i++) {
      // visible keys form one range [jlo, jhi) (kernels/ops.ts); HF would give NaN for an empty one
      const qPos = qPos0 + i;
      const jhi = o.causal ? Math.min(Tk, qPos - kPos0 + 1) : Tk;
      const jlo = window > 0 ? Math.max(0, qPos - window - kPos0 + 1) : 0;
      if (jhi <= jlo) {
        throw new ShapeError(
          `attention: query ${i} (position ${qPos}) sees no key (keys at ${kPos0}..${kPos0 + Tk - 1})`,
          'check qPos0/kPos0 and the window against the KV cache',
        );
      }
    }
    // k/v in the KV arena are read in place: the op runs in their memory
    const kvMem = this.kv.resident(k, v);
    if (kvMem) this.kvInPlaceCalls++;
    const mem = kvMem ?? this.mems.get(0);
    mem.resetScratch();
    const qp = mem.put(q.data);
    const kp = kvMem ? k.data.byteOffset : mem.put(k.data);
    const vp = kvMem ? v.data.byteOffset : mem.put(v.data);
    const op = mem.scratch(out.length * 4);
    const causal = o.causal ? 1 : 0;
    if (Tq >= BLOCKED_ATTENTION_MIN_TQ) {
      // prefill / vision: (query block, head) tasks, two GEMMs per task
      const ntasks = Math.ceil(Tq / mem.globals.ATT_QB) * Nq;
      const parts = Tq * Nq * Tk * Dh * 4 >= PAR_MIN_FLOPS ? Math.min(this.threads, ntasks) : 1;
      const sb = mem.call('attention_blocked_scratch_bytes', { Tk });
      const scratch = Array.from({ length: parts }, () => mem.scratch(sb));
      this.jobs.runTasks(
        tasks(
          'attention_blocked',
          mem.index,
          { q: qp, k: kp, v: vp, o: op, Tq, Tk, Nq, Nkv, Dh, scl: o.scale, causal, qPos0, kPos0, window, cap },
          { total: ntasks, step: Math.max(1, Math.ceil(ntasks / (parts * 4))), scratch },
        ),
        parts,
      );
    } else {
      this.decodeAttention(mem, { q: qp, k: kp, v: vp, o: op, Tq, Tk, Nq, Nkv, Dh, causal, qPos0, kPos0, window, scl: o.scale, cap });
    }
    out.set(mem.f32(op, out.length));
    return { shape: [...q.shape], data: out };
  }

  /** Decode attention (Tq < 16, kernels/ops.ts attention_decode_*): scores over key ranges,
   *  softmax over score rows, P·V partials over fixed key blocks (every task streams whole
   *  cache rows), then the block sums in order; S and the partials in shared scratch. Queries
   *  go in groups whose scratch fits the budget (each query is independent). */
  private decodeAttention(mem: KernelMemory, a: DecodeAttentionArgs): void {
    const { Tq, Tk, Nq, Nkv, Dh, causal, qPos0, kPos0, window } = a;
    const perQuery = mem.call('attention_decode_scratch_bytes', { Tq: 1, Tk, Nq, Dh });
    const budget = Math.min(this.scratchCap, mem.scratchFree) - 4096;
    const qg = Math.min(Tq, Math.floor(budget / perQuery));
    if (qg < 1) throw new BackendError(`attention: scratch budget too small for ${Nq} score rows of ${Tk} keys`, 'raise scratchBytes');
    const s = mem.scratch(qg * perQuery); // S [qg, Nq, Tk rounded to 4], then partials [ceil(Tk / ATT_PVB), qg, Nq, Dh]
    const rowBytes = Nq * Dh * 4;
    const PVB = mem.globals.ATT_PVB;
    for (let i0 = 0; i0 < Tq; i0 += qg) {
      const n = Math.min(qg, Tq - i0);
      const p0 = qPos0 + i0;
      // keys seen by some query of the group: [lo of the first, hi of the last)
      const jlo = window > 0 ? Math.max(0, p0 - window - kPos0 + 1) : 0;
      const jhi = causal ? Math.min(Tk, p0 + n - 1 - kPos0 + 1) : Tk;
      const parts = n * Nq * (jhi - jlo) * Dh * 4 >= PAR_MIN_FLOPS ? this.threads : 1;
      // (the four argument objects spelt out: see gemvQuant on spreads)
      // ~4 key tasks per thread, multiples of 4 keys (the kernel's key block; values do not depend on it)
      const step = Math.max(64, Math.ceil((jhi - jlo) / (parts * 4) / 4) * 4);
      this.jobs.runTasks(
        tasks(
          'attention_decode_scores',
          mem.index,
          { s, Tq: n, Tk, Nq, Nkv, Dh, causal, qPos0: p0, kPos0, window, q: a.q + i0 * rowBytes, k: a.k, scl: a.scl },
          { total: jhi, step },
        ),
        parts,
      );
      this.jobs.runTasks(
        tasks(
          'attention_decode_softmax',
          mem.index,
          { s, Tq: n, Tk, Nq, causal, qPos0: p0, kPos0, window, cap: a.cap },
          { total: n * Nq, step: Math.ceil((n * Nq) / parts) },
        ),
        parts,
      );
      this.jobs.runTasks(
        tasks(
          'attention_decode_pv',
          mem.index,
          { s, Tq: n, Tk, Nq, Nkv, Dh, causal, qPos0: p0, kPos0, window, v: a.v },
          { total: Math.ceil(jhi / PVB), step: 1 },
        ),
        parts,
      );
      this.jobs.run([
        part('attention_decode_combine', mem.index, { s, Tq: n, Tk, Nq, Dh, causal, qPos0: p0, kPos0, window, o: a.o + i0 * rowBytes }),
      ]);
    }
  }

  // ---- plumbing -----------------------------------------------------------------------------

  /** f32 values of a (small) weight as a pointer in `mem`: in place for an f32 weight living
   *  there, else widened/copied into mem's scratch. */
  private operandF32(mem: KernelMemory, W: WasmWeight): number {
    if (W.mem === mem.index && W.stored === 'F32') return W.ptr;
    const p = mem.scratch(W.numel * 4);
    if (W.mem === mem.index) mem.call('widen_bf16', { src: W.ptr, dst: p, n: W.numel });
    else mem.f32(p, W.numel).set(this.readWeight(W));
    return p;
  }

  private weight(w: Weight, op: string): WasmWeight {
    this.alive();
    return this.weights.own(w, op);
  }

  /** Rows of x given its last dimension must be `width`. */
  private rows(x: Tensor, width: number, what: string): number {
    const last = x.shape.length ? x.shape[x.shape.length - 1] : 1;
    if (last !== width || x.data.length !== numel(x.shape)) {
      throw new ShapeError(
        `${what}: expects rows of ${width} values; input ${fmtShape(x.shape)} has last dim ${last}, needs ${width}` +
          (x.data.length !== numel(x.shape) ? ` and ${x.data.length} values for ${numel(x.shape)} elements` : ''),
      );
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

/** Whether two act-order permutations are the same (both none, or equal entries). */
function samePerm(a: Int32Array | null, b: Int32Array | null): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
