// Quantized Linear kernels: y = x · Wᵀ with W stored as GPTQ int4 / int8 (src/quant/gptq.ts).
//
//   qp       i32 panels (src/quant/gptq.ts toPanels): GPTQ's qweight [K·b/32, N] (word r, column n
//            holds permuted inputs i = r·(32/b) + j in bits [b·j, b·j + b)) regrouped into panels of
//            8 columns, each panel its K·b/32 word rows of 8 words (32 bytes) one after the other:
//            word (r, n) at ((n >> 3)·R + r)·8 + (n & 7), R = K·b/32; N is padded to a multiple of 8
//            with zero words. One panel is one sequential stream; one v128 load gives 4 columns x
//            (32/b) inputs, so the columns are the SIMD lanes and no shuffle is needed. (GPTQ's own
//            row order, 32 bytes every N·4 bytes, ran 2-5x slower: a new cache line and page per load.)
//   scales   f32 [G, N] (fp16 widened at load), zeros f32 [G, N] (the zero point as a value);
//            group g covers the permuted inputs [g·gs, min(K, (g+1)·gs)); gs % (32/b) == 0.
//   x        f32 [M, K] already permuted (x[perm[i]], done by the caller; identity without act order).
// The weights stay packed in memory; each value is widened in registers:
//   w = (f32(convert_s((word >> b·j) & mask)) − zero) · scale
// which is exact (q − zero is an integer of at most 9 bits, scale an fp16 value: <= 20 significant
// bits), so "the dequantized weight" is one well-defined f32 matrix and no copy of it exists beyond
// a block of columns in GEMM scratch.
//
// gemv_q (decode, M <= 3): one panel (8 columns, two v128 accumulators) per pass; per input i:
//   acc = acc + x_i · w (mul, then add).
// gemm_q (prefill, M >= 4): per block of QNB columns, dequantize the block into scratch as f32 rows
//   (nb, K) and run gemm_blocked (kernels/gemm.ts) on it with B_F32_NK; the block is QNB·K·4 bytes
//   (64 x 8192 x 4 = 2 MiB), reused for every block. docs/kernels.md "Quantized Linear" gives the
//   measurement behind dequantize-then-GEMM versus integer dot products.
//
// Numerics: for every output (m, n): acc = 0; for i = 0..K-1 ascending: acc = fl(acc + fl(x_i · w_i))
// — the plain sequential f32 sum, mul and add rounded separately (madd.ts in the default build), the
// same as gemm's. GEMV (columns in lanes: each lane is one output's sequential sum) and GEMM therefore
// give the same bits, independent of M, of the thread split over N, and of the blocking; the twin is
// linearQuantF32 in src/quant/gptq.ts (bit-exact, test/quant/kernels.test.ts); the error bound is
// gemm's, K·u·Σ|x·w| against exact arithmetic on the dequantized weight.

import { B_F32_NK, gemm_blocked, gemm_blocked_scratch_bytes } from './gemm';
import { madd } from './madd';

/** Columns per dequantized GEMM block. */
export const QNB: i32 = 64;

// @ts-ignore: decorator
@inline function wq(v: v128, sh: i32, mask: v128, z: v128, s: v128): v128 {
  return f32x4.mul(f32x4.sub(f32x4.convert_i32x4_s(v128.and(i32x4.shr_u(v, sh), mask)), z), s);
}

// One GEMV pass over a panel of 8 columns (or the first 4 of the last, padded, panel): STEPS inputs
// per word, shift b·j for input j; p walks the panel's records (32 bytes per word row).
// @ts-ignore: decorator
@inline function gemvPanel(bits: i32, K: i32, N: i32, gs: i32, x: usize, pan: usize, scales: usize, zeros: usize, y: usize, n: i32, full: bool): void {
  const per = 32 / bits;
  const mask = i32x4.splat((1 << bits) - 1);
  const G = (K + gs - 1) / gs;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
  let p = pan;
  let xp = x;
  for (let g = 0; g < G; g++) {
    const gOff = (<usize>g * <usize>N + <usize>n) * 4;
    const s0 = v128.load(scales + gOff), z0 = v128.load(zeros + gOff);
    const s1 = full ? v128.load(scales + gOff, 16) : s0, z1 = full ? v128.load(zeros + gOff, 16) : z0;
    const end = p + <usize>((min(K, (g + 1) * gs) - g * gs) / per) * 32;
    while (p < end) {
      const v0 = v128.load(p), v1 = v128.load(p, 16);
      for (let j = 0; j < per; j++) {
        const xk = v128.load32_splat(xp + <usize>j * 4);
        a0 = madd(wq(v0, j * bits, mask, z0, s0), xk, a0);
        if (full) a1 = madd(wq(v1, j * bits, mask, z1, s1), xk, a1);
      }
      p += 32;
      xp += <usize>per * 4;
    }
  }
  v128.store(y + <usize>n * 4, a0);
  if (full) v128.store(y + <usize>n * 4, a1, 16);
}

/**
 * y[n] for n in [n0, n1) (n0 a multiple of 8, n1 one of 8 or N): a quantized W in the panel layout
 * (`qp`: 8-column panels, see src/quant/gptq.ts toPanels), x [K] permuted. bits 4 or 8.
 */
export function gemv_q(bits: i32, K: i32, N: i32, gs: i32, x: usize, qp: usize, scales: usize, zeros: usize, y: usize, n0: i32, n1: i32): void {
  const panelB = <usize>(K * bits / 32) * 32; // bytes of one 8-column panel
  for (let n = n0; n < n1; n += 8) {
    const pan = qp + <usize>(n >> 3) * panelB;
    const full = n + 8 <= n1;
    if (bits == 4) {
      if (full) gemvPanel(4, K, N, gs, x, pan, scales, zeros, y, n, true);
      else gemvPanel(4, K, N, gs, x, pan, scales, zeros, y, n, false);
    } else {
      if (full) gemvPanel(8, K, N, gs, x, pan, scales, zeros, y, n, true);
      else gemvPanel(8, K, N, gs, x, pan, scales, zeros, y, n, false);
    }
  }
}

/** The dequantized columns [n0, n0 + nb) (n0 a multiple of 8, nb of 4) as f32 rows dst[(n − n0)·K + i]. */
export function dequant_cols(bits: i32, K: i32, N: i32, gs: i32, qp: usize, scales: usize, zeros: usize, n0: i32, nb: i32, dst: usize): void {
  const per = 32 / bits;
  const mask = i32x4.splat((1 << bits) - 1);
  const panelB = <usize>(K / per) * 32;
  const dstRow = <usize>K * 4;
  const G = (K + gs - 1) / gs;
  for (let n = n0; n < n0 + nb; n += 4) {
    const d = dst + <usize>(n - n0) * dstRow;
    const pan = qp + <usize>(n >> 3) * panelB + <usize>(n & 4) * 4;
    for (let g = 0; g < G; g++) {
      const gOff = (<usize>g * <usize>N + <usize>n) * 4;
      const s0 = v128.load(scales + gOff), z0 = v128.load(zeros + gOff);
      const i1 = min(K, (g + 1) * gs);
      for (let i = g * gs; i < i1; i += per) {
        const v = v128.load(pan + <usize>(i / per) * 32);
        for (let j = 0; j < per; j++) {
          const w = wq(v, j * bits, mask, z0, s0);
          const o = d + <usize>(i + j) * 4;
          store<f32>(o, f32x4.extract_lane(w, 0));
          store<f32>(o + dstRow, f32x4.extract_lane(w, 1));
          store<f32>(o + 2 * dstRow, f32x4.extract_lane(w, 2));
          store<f32>(o + 3 * dstRow, f32x4.extract_lane(w, 3));
        }
      }
    }
  }
}

/** Per-thread scratch of gemm_q: one dequantized QNB x K block + gemm_blocked's packing scratch. */
export function gemm_q_scratch_bytes(K: i32, KC: i32, MC: i32, NC: i32): i32 {
  return QNB * K * 4 + gemm_blocked_scratch_bytes(KC, MC, NC);
}

/**
 * C[:, n0:n1] = x · Wᵀ for a quantized W in the panel layout (n0 a multiple of 8): x [M, K] permuted f32, C [M, N].
 * Per QNB-column block: dequantize into scratch, gemm_blocked (kc/mc/nc as gemm's; values do not
 * depend on them).
 */
export function gemm_q(bits: i32, M: i32, K: i32, N: i32, gs: i32, x: usize, qp: usize, scales: usize, zeros: usize,
  c: usize, n0: i32, n1: i32, scratch: usize, KC: i32, MC: i32, NC: i32): void {
  const dq = scratch;
  const gsc = scratch + <usize>(QNB * K) * 4;
  for (let b0 = n0; b0 < n1; b0 += QNB) {
    const nb = min(QNB, n1 - b0);
    dequant_cols(bits, K, N, gs, qp, scales, zeros, b0, nb, dq);
    gemm_blocked(M, nb, K, x, K, B_F32_NK, dq, K, c + <usize>b0 * 4, N, 0, nb, gsc, KC, MC, NC);
  }
}
