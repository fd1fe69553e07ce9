// Warm-up and probes: kernel runs whose values are never used. warmUp() runs every kernel a
// few times on every thread at creation (engines tier wasm up only after a function has run
// for a while, and one op is often a single long kernel call); timeGemmBlocking() times one
// GEMM for the blocking probe (blocking.ts); the peak and bandwidth measurements are the
// same-run references of bench/kernels.mjs. All run in memory 0's scratch.

import { DEFAULT_GEMM_BLOCKING, type GemmBlocking } from './blocking.js';
import { type Dispatcher, part } from './jobs.js';
import { B_BF16_KN, B_BF16_NK, B_F32_KN, B_F32_NK, positional } from './kernel-table.js';
import type { KernelMemory } from './memory.js';
import type { JobPart } from './pool.js';

/** The blocking probe's problem: a SigLIP-shaped bf16 linear (K = 1152) of PROBE_M rows and
 *  PROBE_N columns, on the calling thread (~5 ms per candidate at 60 GFLOP/s). */
const PROBE_M = 128;
const PROBE_K = 1152;
const PROBE_N = 1024;
export const PROBE_FLOPS = 2 * PROBE_M * PROBE_K * PROBE_N;

/** Run every kernel a few times on small inputs on every thread. V8 (and JSC) start wasm
 *  in a baseline tier and compile a function's optimised code only after it has run for a
 *  while; a whole op is often ONE long kernel call, so without this the first real call of
 *  each kernel (e.g. the first layer) would run entirely in the slow tier. Values unused. */
export function warmUp(mem: KernelMemory, jobs: Dispatcher, rounds = 3): void {
  mem.resetScratch();
  const T = jobs.threads;
  const n = 16384;
  const blocks = Array.from({ length: T }, () => {
    const p = mem.scratch(n * 4 * 6);
    mem.f32(p, n * 6).fill(0.25);
    return p;
  });
  const gs = Array.from({ length: T }, () => mem.scratch(mem.call('gemm_scratch_bytes', {})));
  const { kc, mc, nc } = DEFAULT_GEMM_BLOCKING;
  const as = Array.from({ length: T }, () => mem.scratch(mem.call('attention_blocked_scratch_bytes', { Tk: 64 })));
  const qs = Array.from({ length: T }, () => mem.scratch(mem.call('gemm_q_scratch_bytes', { K: 256, KC: kc, MC: mc, NC: nc })));
  const m = mem.index;
  const F = n * 4; // byte offset of the second/third... array in a block
  // one part per (block b, thread t)
  const calls: ((b: number, t: number) => JobPart)[] = [];
  for (const bKind of [B_F32_NK, B_BF16_NK, B_F32_KN, B_BF16_KN]) {
    calls.push((b, t) =>
      part('gemm_blocked', m, {
        M: 32,
        N: 32,
        K: 128,
        a: b,
        lda: 128,
        bKind,
        w: b + F,
        ldb: bKind < 2 ? 128 : 32,
        c: b + 2 * F,
        ldc: 32,
        n0: 0,
        n1: 32,
        scratch: gs[t],
        KC: kc,
        MC: mc,
        NC: nc,
      }),
    );
  }
  calls.push((b) => part('gemv_bf16', m, { K: 1024, x: b, xd: b + F, w: b + 2 * F, y: b + 3 * F, n0: 0, n1: 12 }));
  calls.push((b) => part('gemv_f32', m, { K: 1024, x: b, w: b + F, y: b + 3 * F, n0: 0, n1: 12 }));
  // quantized Linear: int4 and int8 GEMV (panels of random words in the block), a gemm_q
  for (const bits of [4, 8]) {
    calls.push((b) => part('group_sums', m, { bits, K: 1024, gs: 128, x: b, xs: b + 5 * F, xq: b + 4 * F }));
    calls.push((b) =>
      part('gemv_q', m, {
        bits,
        K: 1024,
        N: 16,
        gs: 128,
        x: b,
        xs: b + 5 * F,
        qp: b + F,
        sz: b + 2 * F,
        y: b + 3 * F,
        ab: b + 4 * F,
        n0: 0,
        n1: 16,
      }),
    );
  }
  calls.push((b, t) =>
    part('gemm_q', m, {
      bits: 4,
      M: 8,
      K: 256,
      N: 16,
      gs: 128,
      x: b,
      qp: b + F,
      sz: b + 2 * F,
      c: b + 3 * F,
      n0: 0,
      n1: 16,
      scratch: qs[t],
      KC: kc,
      MC: mc,
      NC: nc,
    }),
  );
  calls.push((b) => part('softmax_rows', m, { x: b, y: b + F, rows: 4, n: 4096 }));
  calls.push((b) => part('layer_norm_rows', m, { x: b, y: b + F, rows: 4, n: 4096, w: b + 2 * F, b: b + 3 * F, eps: 1e-6 }));
  calls.push((b) => part('rms_norm_rows', m, { x: b, y: b + F, rows: 4, n: 4096, w: b + 2 * F, eps: 1e-6, offset: 1 }));
  calls.push((b) => part('gelu_tanh', m, { x: b, y: b + F, i0: 0, i1: n }));
  calls.push((b) => part('gated', m, { g: b, u: b + F, y: b + 2 * F, act: 0, i0: 0, i1: n }));
  calls.push((b) => part('gated', m, { g: b, u: b + F, y: b + 2 * F, act: 1, i0: 0, i1: n }));
  calls.push((b) => part('add', m, { a: b, b: b + F, y: b + 2 * F, i0: 0, i1: n }));
  calls.push((b) => part('scale', m, { x: b, y: b + F, s: 0.5, i0: 0, i1: n }));
  calls.push((b) => part('softcap', m, { x: b, y: b + F, c: 30, i0: 0, i1: n }));
  calls.push((b) => part('rope', m, { x: b, nHeads: 4, hd: 64, cos: b + F, sin: b + 2 * F, t0: 0, t1: 16 }));
  const att = (b: number) => ({ q: b, k: b + F, v: b + 2 * F, o: b + 3 * F, Tq: 64, Tk: 64, Nq: 2, Nkv: 1, Dh: 16, scl: 0.25 });
  // decode: 4 queries, G = 3 (a head pair and a single head); scores and partials at b + 4F
  // (4·6·(64 + 16) floats)
  const dec = (b: number) => ({ Tq: 4, Tk: 64, Nq: 6, Dh: 16, qPos0: 60, kPos0: 0, s: b + 4 * F });
  for (const [causal, window, cap] of [
    [1, 0, 0],
    [0, 8, 5],
  ]) {
    calls.push((b) => part('attention_decode_scores', m, { ...dec(b), q: b, k: b + F, Nkv: 2, scl: 0.25, causal, window, j0: 0, j1: 64 }));
    calls.push((b) => part('attention_decode_softmax', m, { ...dec(b), causal, window, cap, r0: 0, r1: 24 }));
    calls.push((b) => part('attention_decode_pv', m, { ...dec(b), v: b + 2 * F, Nkv: 2, causal, window, b0: 0, b1: 1 }));
    calls.push((b) => part('attention_decode_combine', m, { ...dec(b), o: b + 3 * F, causal, window }));
  }
  calls.push((b, t) =>
    part('attention_blocked', m, { ...att(b), causal: 1, qPos0: 0, kPos0: 0, window: 0, cap: 0, t0: 0, t1: 2, scratch: as[t] }),
  );
  calls.push(() => part('peak_madd', m, { iters: 20000, x: 1, m: 0.999999, k: 1e-7 }));
  calls.push((b) => part('add_bias', m, { M: 16, c: b, ldc: 64, b: b + F, n0: 0, n1: 64 }));
  calls.push((b) => part('widen_bf16', m, { src: b, dst: b + F, n }));
  calls.push((b) => part('unfold_patches', m, { px: b, C: 3, S: 28, P: 14, y: b + F, r0: 0, r1: 4 }));
  for (let r = 0; r < rounds; r++) {
    for (const call of calls) jobs.run(blocks.map((b, t) => call(b, t)));
    mem.call('deinterleave8', { x: blocks[0], K: 4096, xd: blocks[0] + F });
    mem.call('dot', { a: blocks[0], b: blocks[0] + F, n: 4096 });
  }
}

/** Seconds for one PROBE_M x PROBE_K x PROBE_N bf16 GEMM with blocking `b` on the calling
 *  thread (the blocking probe; operands in `mem`'s scratch, values unused). */
export function timeGemmBlocking(mem: KernelMemory, b: GemmBlocking): number {
  mem.resetScratch();
  const M = PROBE_M;
  const K = PROBE_K;
  const N = PROBE_N;
  const ap = mem.scratch(M * K * 4);
  const wp = mem.scratch(N * K * 2);
  const cp = mem.scratch(M * N * 4);
  const sp = mem.scratch(mem.call('gemm_blocked_scratch_bytes', { KC: b.kc, MC: b.mc, NC: b.nc }));
  mem.f32(ap, M * K).fill(0.5);
  mem.u16(wp, N * K).fill(0x3c00); // bf16 0.0078125
  const gemm = mem.k.gemm_blocked;
  const args = positional('gemm_blocked', {
    M,
    N,
    K,
    a: ap,
    lda: K,
    bKind: B_BF16_NK,
    w: wp,
    ldb: K,
    c: cp,
    ldc: N,
    n0: 0,
    n1: N,
    scratch: sp,
    KC: b.kc,
    MC: b.mc,
    NC: b.nc,
  }) as Parameters<typeof gemm>;
  const t0 = performance.now();
  gemm(...args);
  return (performance.now() - t0) / 1e3;
}

/** The SIMD128 mul+add ceiling: `threads` threads each run kernels/gemm.ts peak_madd(iters)
 *  at once; returns aggregate GFLOP/s (wall clock). */
export function measurePeakGflops(mem: KernelMemory, jobs: Dispatcher, iters: number, threads: number): number {
  const parts = Array.from({ length: threads }, () => part('peak_madd', mem.index, { iters, x: 1, m: 0.999999, k: 1e-7 }));
  const t0 = performance.now();
  jobs.run(parts, false);
  return (threads * iters * 96) / ((performance.now() - t0) * 1e6);
}

/** Read bandwidth in GB/s: `threads` threads stream disjoint parts of a `bytes` buffer
 *  (beyond the caches) with kernels/gemv.ts read_stream. */
export function measureReadGBps(mem: KernelMemory, jobs: Dispatcher, bytes: number, threads: number, reps: number): number {
  mem.resetScratch();
  bytes = Math.floor(bytes / (64 * threads)) * 64 * threads;
  const p = mem.scratch(bytes);
  new Uint8Array(mem.memory.buffer, p, bytes).fill(1); // touch every page
  const per = bytes / threads;
  const parts = Array.from({ length: threads }, (_, t) => part('read_stream', mem.index, { p: p + t * per, bytes: per }));
  let best = 0;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    jobs.run(parts, false);
    best = Math.max(best, bytes / ((performance.now() - t0) * 1e6));
  }
  return best;
}
