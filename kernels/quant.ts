// Quantized Linear kernels: y = x · Wᵀ with W stored as GPTQ int4 / int8 (src/quant/gptq.ts).
//
//   qp       i32 panels (src/quant/gptq.ts toPanels): GPTQ's qweight [K·b/32, N] (word r, column n
//            holds permuted inputs i = r·(32/b) + j in bits [b·j, b·j + b)) regrouped into panels of
//            8 columns, each panel its K·b/32 word rows of 8 words (32 bytes) one after the other:
//            word (r, n) at ((n >> 3)·R + r)·8 + (n & 7), R = K·b/32; N is padded to a multiple of 8
//            with zero words. One panel is one sequential stream; one v128 load gives 4 columns x
//            (32/b) inputs, so the columns are the SIMD lanes and no shuffle is needed. (GPTQ's own
//            row order, 32 bytes every N·4 bytes, ran 2-5x slower: a new cache line and page per load.)
//   sz       the group scales (fp16 widened at load) and zero points (as values), f32, panel-major
//            like qp (src/quant/gptq.ts panelScales): per 8-column panel, per group, one 64-byte
//            line — the 8 columns' scales, then their 8 zeros (0 for the padded columns); line
//            (n >> 3)·G + g. Group g covers the permuted inputs [g·gs, min(K, (g+1)·gs)); gs % (32/b)
//            == 0. (GPTQ's [G, N] rows put a pass's G scale lines N·4 bytes apart — 2G streams
//            besides the weights: the GEMVs ran ~12 % slower at 2 threads, bench:quant-kernels.)
//   x        f32 [M, K] already permuted (x[perm[i]], done by the caller; identity without act order).
// The weights stay packed in memory; each value is widened in registers:
//   w = (f32(convert_s((word >> b·j) & mask)) − zero) · scale
// which is exact (q − zero is an integer of at most 9 bits, scale an fp16 value: <= 20 significant
// bits), so "the dequantized weight" is one well-defined f32 matrix and no copy of it exists beyond
// a block of columns in GEMM scratch.
//
// gemv_q (decode, M <= 3): one panel (8 columns, two v128 accumulators) per pass; the scale and the
//   zero are taken out of the inner loop: per group, A = Σ x_i·q_i (q converted to f32, exact), then
//   y += scale · (A − zero · Σ x_i) with Σ x_i per group computed once per call (group_sums). Five
//   vector ops per 4 weights instead of seven (measured 1.3-1.5x, bench:quant-kernels). The inner loop masks
//   each input's bits nearly in place (q·2^e, see qScaled) and multiplies by x pre-scaled by 2^-e
//   (group_sums): the same product x·q with fewer shifts.
// gemm_q (prefill, M >= 4): per block of QNB columns, dequantize the block into scratch as f32 rows
//   (nb, K) and run gemm_blocked (kernels/gemm.ts) on it with B_F32_NK; the block is QNB·K·4 bytes
//   (64 x 8192 x 4 = 2 MiB), reused for every block. docs/kernels.md "Quantized Linear" gives the
//   measurement behind dequantize-then-GEMM versus integer dot products.
//
// Numerics (mul and add rounded separately, madd.ts in the default build; every output's order is
// fixed, so neither M, nor the thread split over N, nor the blocking changes a bit):
//   GEMM: acc = 0; for i = 0..K-1 ascending: acc = fl(acc + fl(x_i · w_i)) — gemm's sequential f32
//     sum on the exactly dequantized weight; bound K·u·Σ|x·w|. Twin: linearQuantF32.
//   GEMV: per group g (inputs ascending), A = sequential f32 sum of fl(xq_i · q_i·2^e) (= fl(x_i·q_i)
//     unless xq_i is subnormal), xs = sequential f32
//     sum of x_i; y = fl(y + fl(s · fl(A − fl(z · xs)))) over g ascending. Columns are the lanes, so
//     each output is this scalar sequence. Bound: (gs + 3)·u·Σ|x|·max(q, z)·s per group plus G·u·|y|
//     — a few times gemm's (q and z up to 2^b rather than |q − z|), still ~1e-6 relative on the
//     model. Twin: linearQuantGemvF32. Both in src/quant/gptq.ts, bit-exact in test/quant/kernels.test.ts.

import { B_F32_NK, gemm_blocked, gemm_blocked_scratch_bytes } from './gemm';
import { madd } from './madd';

/** Columns per dequantized GEMM block. */
export const QNB: i32 = 64;

/** Address of the scales of columns n .. n+3 (n % 4 == 0) in group g (their zeros: + 32). */
// @ts-ignore: decorator
@inline function szAt(sz: usize, G: i32, g: i32, n: i32): usize {
  return sz + (((<usize>(n >> 3) * <usize>G + <usize>g) << 4) + <usize>(n & 7)) * 4;
}

// @ts-ignore: decorator
@inline function wq(v: v128, sh: i32, mask: v128, z: v128, s: v128): v128 {
  return f32x4.mul(f32x4.sub(f32x4.convert_i32x4_s(v128.and(i32x4.shr_u(v, sh), mask)), z), s);
}

/** Inputs per K block of the GEMV: x[i0 .. i0 + GEMV_KB) (8 KiB) stays in L1 while every panel of the
 *  task streams its rows for the block (at K = 8192 the whole x, 32 KiB, fell out of L1: 2.8 -> 5.5
 *  Gw/s on down_proj). Partial sums carry over between blocks in y and `ab`, so the order is unchanged. */
export const GEMV_KB: i32 = 2048;

// Input j of a word as f32 q·2^e(j), x being pre-scaled by 2^-e(j) (group_sums):
//   int4: (v >> 8·(j>>1)) & (0xF << 4·(j&1)), e = 4·(j&1) — two mask constants, 11 ops per word
//         instead of 14 for shift + mask per nibble;
//   int8: j < 3: v & (0xFF << 8j), e = 8j; j = 3: v >> 24, e = 0.
// q·2^e < 2^31 and has at most 8 significant bits: exact in f32.
// @ts-ignore: decorator
@inline function qScaled(v: v128, bits: i32, j: i32): v128 {
  if (bits == 4) return f32x4.convert_i32x4_s(v128.and(i32x4.shr_u(v, 8 * (j >> 1)), i32x4.splat(0xf << (4 * (j & 1)))));
  return f32x4.convert_i32x4_s(j == 3 ? i32x4.shr_u(v, 24) : v128.and(v, i32x4.splat(0xff << (8 * j))));
}

// Inputs [i0, i1) (one group or part of one) of one panel of 8 columns (or the first 4 of the last,
// padded, panel), accumulated into a0/a1 — the Σ x·q of the current group. `x` is the pre-scaled xq.
// @ts-ignore: decorator
@inline function panelRows(bits: i32, i0: i32, i1: i32, x: usize, pan: usize, a: usize, full: bool): void {
  const per = 32 / bits;
  let a0 = v128.load(a), a1 = full ? v128.load(a, 16) : a0;
  let p = pan + <usize>(i0 * bits); // 32 bytes per word row of 32/b inputs: no division
  const end = pan + <usize>(i1 * bits);
  let xp = x + <usize>i0 * 4;
  if (bits == 4 && full) {
    // unrolled, two mask constants: nibbles 2m and 2m+1 come from (v >> 8m) & 0xF and & 0xF0
    const m0 = i32x4.splat(0xf), m1 = i32x4.splat(0xf0);
    while (p < end) {
      let v0 = v128.load(p), v1 = v128.load(p, 16);
      let xk = v128.load32_splat(xp, 0);
      a0 = madd(f32x4.convert_i32x4_s(v128.and(v0, m0)), xk, a0); a1 = madd(f32x4.convert_i32x4_s(v128.and(v1, m0)), xk, a1);
      xk = v128.load32_splat(xp, 4);
      a0 = madd(f32x4.convert_i32x4_s(v128.and(v0, m1)), xk, a0); a1 = madd(f32x4.convert_i32x4_s(v128.and(v1, m1)), xk, a1);
      v0 = i32x4.shr_u(v128.load(p), 8); v1 = i32x4.shr_u(v128.load(p, 16), 8);
      xk = v128.load32_splat(xp, 8);
      a0 = madd(f32x4.convert_i32x4_s(v128.and(v0, m0)), xk, a0); a1 = madd(f32x4.convert_i32x4_s(v128.and(v1, m0)), xk, a1);
      xk = v128.load32_splat(xp, 12);
      a0 = madd(f32x4.convert_i32x4_s(v128.and(v0, m1)), xk, a0); a1 = madd(f32x4.convert_i32x4_s(v128.and(v1, m1)), xk, a1);
      v0 = i32x4.shr_u(v128.load(p), 16); v1 = i32x4.shr_u(v128.load(p, 16), 16);
      xk = v128.load32_splat(xp, 16);
      a0 = madd(f32x4.convert_i32x4_s(v128.and(v0, m0)), xk, a0); a1 = madd(f32x4.convert_i32x4_s(v128.and(v1, m0)), xk, a1);
      xk = v128.load32_splat(xp, 20);
      a0 = madd(f32x4.convert_i32x4_s(v128.and(v0, m1)), xk, a0); a1 = madd(f32x4.convert_i32x4_s(v128.and(v1, m1)), xk, a1);
      v0 = i32x4.shr_u(v128.load(p), 24); v1 = i32x4.shr_u(v128.load(p, 16), 24);
      xk = v128.load32_splat(xp, 24);
      a0 = madd(f32x4.convert_i32x4_s(v128.and(v0, m0)), xk, a0); a1 = madd(f32x4.convert_i32x4_s(v128.and(v1, m0)), xk, a1);
      xk = v128.load32_splat(xp, 28);
      a0 = madd(f32x4.convert_i32x4_s(v128.and(v0, m1)), xk, a0); a1 = madd(f32x4.convert_i32x4_s(v128.and(v1, m1)), xk, a1);
      p += 32;
      xp += 32;
    }
  } else if (bits == 8 && full) {
    while (p < end) {
      const v0 = v128.load(p), v1 = v128.load(p, 16);
      let xk = v128.load32_splat(xp, 0);
      a0 = madd(f32x4.convert_i32x4_s(v128.and(v0, i32x4.splat(0xff))), xk, a0); a1 = madd(f32x4.convert_i32x4_s(v128.and(v1, i32x4.splat(0xff))), xk, a1);
      xk = v128.load32_splat(xp, 4);
      a0 = madd(f32x4.convert_i32x4_s(v128.and(v0, i32x4.splat(0xff00))), xk, a0); a1 = madd(f32x4.convert_i32x4_s(v128.and(v1, i32x4.splat(0xff00))), xk, a1);
      xk = v128.load32_splat(xp, 8);
      a0 = madd(f32x4.convert_i32x4_s(v128.and(v0, i32x4.splat(0xff0000))), xk, a0); a1 = madd(f32x4.convert_i32x4_s(v128.and(v1, i32x4.splat(0xff0000))), xk, a1);
      xk = v128.load32_splat(xp, 12);
      a0 = madd(f32x4.convert_i32x4_s(i32x4.shr_u(v0, 24)), xk, a0); a1 = madd(f32x4.convert_i32x4_s(i32x4.shr_u(v1, 24)), xk, a1);
      p += 32;
      xp += 16;
    }
  } else {
    while (p < end) {
      const v0 = v128.load(p), v1 = v128.load(p, 16);
      for (let j = 0; j < per; j++) {
        const xk = v128.load32_splat(xp + <usize>j * 4);
        a0 = madd(qScaled(v0, bits, j), xk, a0);
        if (full) a1 = madd(qScaled(v1, bits, j), xk, a1);
      }
      p += 32;
      xp += <usize>per * 4;
    }
  }
  v128.store(a, a0);
  if (full) v128.store(a, a1, 16);
}

/** Per call, before gemv_q: xs[g] = the sequential f32 sum of x over group g (permuted order), for
 *  the zero term; xq[i] = x[i]·2^-e(j), j = i mod (32/b), e as in qScaled (exact unless the result
 *  is subnormal, |x| < 2^-102; the twin does the same). */
export function group_sums(bits: i32, K: i32, gs: i32, x: usize, xs: usize, xq: usize): void {
  const G = (K + gs - 1) / gs;
  for (let g = 0; g < G; g++) {
    let s: f32 = 0;
    const i1 = min(K, (g + 1) * gs);
    for (let i = g * gs; i < i1; i++) s += load<f32>(x + <usize>i * 4);
    store<f32>(xs + <usize>g * 4, s);
  }
  const per = 32 / bits;
  for (let i = 0; i < K; i++) {
    const j = i % per;
    const v = load<f32>(x + <usize>i * 4);
    const e = bits == 4 ? 4 * (j & 1) : (j == 3 ? 0 : 8 * j);
    store<f32>(xq + <usize>i * 4, v * reinterpret<f32>(<u32>(127 - e) << 23));
  }
}

/**
 * y[n] for n in [n0, n1) (n0 a multiple of 8, n1 one of 8 or N): a quantized W in the panel layout
 * (`qp`: 8-column panels, see src/quant/gptq.ts toPanels), x = xq [K] (permuted, pre-scaled) and xs [G]
 * from group_sums,
 * ab scratch of N f32 (the group sums between K blocks; this task touches [n0, n1) only).
 */
export function gemv_q(bits: i32, K: i32, N: i32, gs: i32, x: usize, xs: usize, qp: usize, sz: usize,
  y: usize, ab: usize, n0: i32, n1: i32): void {
  const panelB = <usize>(K * bits / 32) * 32; // bytes of one 8-column panel
  const G = (K + gs - 1) / gs;
  for (let n = n0; n < n1; n++) { store<f32>(y + <usize>n * 4, 0); store<f32>(ab + <usize>n * 4, 0); }
  for (let k0 = 0; k0 < K; k0 += GEMV_KB) {
    const k1 = min(K, k0 + GEMV_KB);
    for (let n = n0; n < n1; n += 8) {
      const pan = qp + <usize>(n >> 3) * panelB;
      const full = n + 8 <= n1;
      const a = ab + <usize>n * 4;
      // the groups (or parts of groups) inside [k0, k1)
      for (let i0 = k0; i0 < k1;) {
        const g = i0 / gs;
        const gEnd = min(K, (g + 1) * gs);
        const i1 = min(k1, gEnd);
        if (bits == 4) {
          if (full) panelRows(4, i0, i1, x, pan, a, true); else panelRows(4, i0, i1, x, pan, a, false);
        } else {
          if (full) panelRows(8, i0, i1, x, pan, a, true); else panelRows(8, i0, i1, x, pan, a, false);
        }
        if (i1 == gEnd) {
          // group done: y += scale · (Σ x·q − zero · Σ x), and the group sum restarts at 0
          const so = szAt(sz, G, g, n);
          const xsg = v128.load32_splat(xs + <usize>g * 4);
          const yp = y + <usize>n * 4;
          v128.store(yp, f32x4.add(v128.load(yp), f32x4.mul(v128.load(so), f32x4.sub(v128.load(a), f32x4.mul(v128.load(so, 32), xsg)))));
          v128.store(a, f32x4.splat(0));
          if (full) {
            v128.store(yp, f32x4.add(v128.load(yp, 16), f32x4.mul(v128.load(so, 16), f32x4.sub(v128.load(a, 16), f32x4.mul(v128.load(so, 48), xsg)))), 16);
            v128.store(a, f32x4.splat(0), 16);
          }
        }
        i0 = i1;
      }
    }
  }
}

/** The dequantized columns [n0, n0 + nb) (n0 a multiple of 8, nb of 4) as f32 rows dst[(n − n0)·K + i]. */
export function dequant_cols(bits: i32, K: i32, N: i32, gs: i32, qp: usize, sz: usize, n0: i32, nb: i32, dst: usize): void {
  const per = 32 / bits;
  const mask = i32x4.splat((1 << bits) - 1);
  const panelB = <usize>(K / per) * 32;
  const dstRow = <usize>K * 4;
  const G = (K + gs - 1) / gs;
  for (let n = n0; n < n0 + nb; n += 4) {
    const d = dst + <usize>(n - n0) * dstRow;
    const pan = qp + <usize>(n >> 3) * panelB + <usize>(n & 4) * 4;
    for (let g = 0; g < G; g++) {
      const so = szAt(sz, G, g, n);
      const s0 = v128.load(so), z0 = v128.load(so, 32);
      const i1 = min(K, (g + 1) * gs);
      for (let i = g * gs; i < i1; i += per) {
        const v = v128.load(pan + <usize>(i * bits));
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
export function gemm_q(bits: i32, M: i32, K: i32, N: i32, gs: i32, x: usize, qp: usize, sz: usize,
  c: usize, n0: i32, n1: i32, scratch: usize, KC: i32, MC: i32, NC: i32): void {
  const dq = scratch;
  const gsc = scratch + <usize>(QNB * K) * 4;
  for (let b0 = n0; b0 < n1; b0 += QNB) {
    const nb = min(QNB, n1 - b0);
    dequant_cols(bits, K, N, gs, qp, sz, b0, nb, dq);
    gemm_blocked(M, nb, K, x, K, B_F32_NK, dq, K, c + <usize>b0 * 4, N, 0, nb, gsc, KC, MC, NC);
  }
}

// ---------------------------------------------------------------------------------------------
// Integer-dot GEMM (opt-in, changes numerics): activations quantized per row to int16, weights
// widened to int16 (q − zero), products summed in i32 by i32x4.dot_i16x8_s (8 multiply-adds per
// instruction, against 4 per mul + add pair in f32), one f32 scale per group and column applied to
// each block's integer sum.
//
//   quant_rows_i16: per row r, amax = max|x|, ax[r] = fl(amax / 32767), inv = fl(32767 / amax),
//     xq[r, i] = nearest_even(fl(x[r, i] · inv)) clamped to ±32767 (amax = 0: all 0, ax = 0);
//     rows of ldq int16 (K rounded up to even, the pad 0).
//   gemm_q_dot: per output (r, n), inputs in blocks of at most DOT_KB = 128 inside each group
//     (blocks start at group starts): D = Σ xq·(q − zero) exactly in i32 (|D| <= 128·32767·256 <
//     2^31), t = fl(scale · f32(D)); acc = t for the first block, else fl(acc + t), blocks
//     ascending; y = fl(acc · ax[r]). Twin: linearQuantDotI16 (src/quant/gptq.ts).
// The only error beyond the weights' own is rounding x to 16 bits of its row's max (relative
// 1.5e-5 of amax per input) and the f32 sums of the blocks.

/** Inputs per integer block: the i32 sums cannot overflow below 2^31 / (32767 · 256) = 256. */
export const DOT_KB: i32 = 128;
const DOT_NC: i32 = 512; // columns per packed B block (DOT_KB x 512 x 2 bytes = 128 KiB)
const DOT_MC: i32 = 128; // rows per packed A block (128 x 128 x 2 bytes = 32 KiB)

export function quant_rows_i16(M: i32, K: i32, x: usize, xq: usize, ldq: i32, ax: usize): void {
  for (let r = 0; r < M; r++) {
    const row = x + <usize>r * <usize>K * 4;
    let amax: f32 = 0;
    for (let i = 0; i < K; i++) amax = max(amax, abs<f32>(load<f32>(row + <usize>i * 4)));
    const inv: f32 = amax > 0 ? <f32>32767 / amax : 0;
    store<f32>(ax + <usize>r * 4, amax / <f32>32767);
    const q = xq + <usize>r * <usize>ldq * 2;
    for (let i = 0; i < K; i++) {
      const v = min<f32>(32767, max<f32>(-32767, nearest<f32>(load<f32>(row + <usize>i * 4) * inv)));
      store<i16>(q + <usize>i * 2, <i16>v);
    }
    for (let i = K; i < ldq; i++) store<i16>(q + <usize>i * 2, 0);
  }
}

/** Scratch of gemm_q_dot: the packed B block, the packed A block, a 4x8 edge tile (i32). */
export function gemm_q_dot_scratch_bytes(): i32 {
  return DOT_KB * DOT_NC * 2 + DOT_MC * DOT_KB * 2 + 128;
}

// Inputs [k0, k0 + kc) of columns [j0, j0 + nc) (j0 a multiple of 8) as int16 pairs (q − zero):
// per 8-column panel, per input pair p: 8 columns x (q[k0+2p], q[k0+2p+1]) = 32 bytes, columns
// 0-3 then 4-7. Columns >= N (the padded half of the last panel) are 0. g: the inputs' group.
function packBDot(bits: i32, K: i32, N: i32, qp: usize, sz: usize, G: i32, g: i32, k0: i32, kc: i32, j0: i32, nc: i32, bp: usize): void {
  const per = 32 / bits;
  const panelB = <usize>(K / per) * 32;
  for (let jr = 0; jr < nc; jr += 8) {
    const n = j0 + jr;
    const pan = qp + <usize>(n >> 3) * panelB;
    const dst = bp + <usize>(jr * kc) * 2;
    // zeros as int16 pairs [z0, z0, z1, z1, z2, z2, z3, z3]; a missing half (n + 4 >= N) is 0
    const zo = szAt(sz, G, g, n) + 32;
    const zi0 = i32x4.trunc_sat_f32x4_s(v128.load(zo));
    const z0 = i8x16.shuffle(zi0, zi0, 0, 1, 0, 1, 4, 5, 4, 5, 8, 9, 8, 9, 12, 13, 12, 13);
    const hasHi = n + 4 < N;
    const zi1 = i32x4.trunc_sat_f32x4_s(v128.load(zo, 16)); // 0 in a padded half
    const z1 = i8x16.shuffle(zi1, zi1, 0, 1, 0, 1, 4, 5, 4, 5, 8, 9, 8, 9, 12, 13, 12, 13);
    let p = pan + <usize>(k0 * bits);
    let d = dst;
    const end = pan + <usize>((k0 + kc) * bits);
    if (bits == 8) {
      // a word = inputs k..k+3 of one column in its bytes: pairs (k, k+1) then (k+2, k+3)
      while (p < end) {
        const v0 = v128.load(p);
        const s0 = i8x16.shuffle(v0, v0, 0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15);
        v128.store(d, i16x8.sub(i16x8.extend_low_i8x16_u(s0), z0));
        v128.store(d, i16x8.sub(i16x8.extend_high_i8x16_u(s0), z0), 32);
        if (hasHi) {
          const v1 = v128.load(p, 16);
          const s1 = i8x16.shuffle(v1, v1, 0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15);
          v128.store(d, i16x8.sub(i16x8.extend_low_i8x16_u(s1), z1), 16);
          v128.store(d, i16x8.sub(i16x8.extend_high_i8x16_u(s1), z1), 48);
        } else {
          v128.store(d, i32x4.splat(0), 16);
          v128.store(d, i32x4.splat(0), 48);
        }
        p += 32;
        d += 64;
      }
    } else {
      // a word = inputs k..k+7 in its nibbles: byte m holds the pair (k+2m, k+2m+1), low nibble first
      const m4 = i8x16.splat(0x0f);
      while (p < end) {
        for (let h = 0; h < 2; h++) {
          const zz = h == 0 ? z0 : z1;
          const o = <usize>h * 16;
          if (h == 1 && !hasHi) {
            for (let q = 0; q < 4; q++) v128.store(d + o + <usize>q * 32, i32x4.splat(0));
            continue;
          }
          const v = v128.load(p + o);
          const lo = v128.and(v, m4), hi = v128.and(i16x8.shr_u(v, 4), m4);
          // bytes (lo, hi) of byte m of each word: pairs m = 0, 1 then 2, 3
          const t01 = i8x16.shuffle(lo, hi, 0, 16, 4, 20, 8, 24, 12, 28, 1, 17, 5, 21, 9, 25, 13, 29);
          const t23 = i8x16.shuffle(lo, hi, 2, 18, 6, 22, 10, 26, 14, 30, 3, 19, 7, 23, 11, 27, 15, 31);
          v128.store(d + o, i16x8.sub(i16x8.extend_low_i8x16_u(t01), zz));
          v128.store(d + o, i16x8.sub(i16x8.extend_high_i8x16_u(t01), zz), 32);
          v128.store(d + o, i16x8.sub(i16x8.extend_low_i8x16_u(t23), zz), 64);
          v128.store(d + o, i16x8.sub(i16x8.extend_high_i8x16_u(t23), zz), 96);
        }
        p += 32;
        d += 128;
      }
    }
  }
}

// Rows [i0, i0 + mc) x input pairs [k0/2, (k0 + kc)/2) of xq into tiles of 4 rows:
// ap[t·kc/2·4 + p·4 + r] = pair p of row i0 + t + r (an i32: two int16); rows >= M are 0.
function packADot(xq: usize, ldq: i32, M: i32, i0: i32, mc: i32, k0: i32, kc: i32, ap: usize): void {
  const np = kc >> 1;
  for (let t = 0; t < mc; t += 4) {
    const tile = ap + <usize>(t * np) * 4; // tile t/4 starts at (t/4)·np·16 bytes
    for (let r = 0; r < 4; r++) {
      const i = i0 + t + r;
      if (i < M) {
        const src = xq + (<usize>i * <usize>ldq + <usize>k0) * 2;
        for (let p = 0; p < np; p++) store<u32>(tile + <usize>(p * 4 + r) * 4, load<u32>(src + <usize>p * 4));
      } else {
        for (let p = 0; p < np; p++) store<u32>(tile + <usize>(p * 4 + r) * 4, 0);
      }
    }
  }
}

// 4x8 tile of D (i32) = A tile (np pairs x 4 rows) · B panel (np pairs x 8 columns), then
// C = [C +] fl(scale · f32(D)) with the group's scales s0 (columns 0-3), s1 (4-7).
// @ts-ignore: decorator
@inline function microDot(np: i32, ap: usize, bp: usize, c: usize, ldc: usize, acc: i32, s0: v128, s1: v128): void {
  let c00 = i32x4.splat(0), c01 = i32x4.splat(0);
  let c10 = i32x4.splat(0), c11 = i32x4.splat(0);
  let c20 = i32x4.splat(0), c21 = i32x4.splat(0);
  let c30 = i32x4.splat(0), c31 = i32x4.splat(0);
  const bend = bp + <usize>np * 32;
  while (bp < bend) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = i32x4.add(c00, i32x4.dot_i16x8_s(a, b0)); c01 = i32x4.add(c01, i32x4.dot_i16x8_s(a, b1));
    a = v128.load32_splat(ap, 4);
    c10 = i32x4.add(c10, i32x4.dot_i16x8_s(a, b0)); c11 = i32x4.add(c11, i32x4.dot_i16x8_s(a, b1));
    a = v128.load32_splat(ap, 8);
    c20 = i32x4.add(c20, i32x4.dot_i16x8_s(a, b0)); c21 = i32x4.add(c21, i32x4.dot_i16x8_s(a, b1));
    a = v128.load32_splat(ap, 12);
    c30 = i32x4.add(c30, i32x4.dot_i16x8_s(a, b0)); c31 = i32x4.add(c31, i32x4.dot_i16x8_s(a, b1));
    ap += 16;
    bp += 32;
  }
  if (acc) {
    v128.store(c, f32x4.add(v128.load(c), f32x4.mul(s0, f32x4.convert_i32x4_s(c00))));
    v128.store(c, f32x4.add(v128.load(c, 16), f32x4.mul(s1, f32x4.convert_i32x4_s(c01))), 16);
    v128.store(c + ldc, f32x4.add(v128.load(c + ldc), f32x4.mul(s0, f32x4.convert_i32x4_s(c10))));
    v128.store(c + ldc, f32x4.add(v128.load(c + ldc, 16), f32x4.mul(s1, f32x4.convert_i32x4_s(c11))), 16);
    v128.store(c + 2 * ldc, f32x4.add(v128.load(c + 2 * ldc), f32x4.mul(s0, f32x4.convert_i32x4_s(c20))));
    v128.store(c + 2 * ldc, f32x4.add(v128.load(c + 2 * ldc, 16), f32x4.mul(s1, f32x4.convert_i32x4_s(c21))), 16);
    v128.store(c + 3 * ldc, f32x4.add(v128.load(c + 3 * ldc), f32x4.mul(s0, f32x4.convert_i32x4_s(c30))));
    v128.store(c + 3 * ldc, f32x4.add(v128.load(c + 3 * ldc, 16), f32x4.mul(s1, f32x4.convert_i32x4_s(c31))), 16);
  } else {
    v128.store(c, f32x4.mul(s0, f32x4.convert_i32x4_s(c00)));
    v128.store(c, f32x4.mul(s1, f32x4.convert_i32x4_s(c01)), 16);
    v128.store(c + ldc, f32x4.mul(s0, f32x4.convert_i32x4_s(c10)));
    v128.store(c + ldc, f32x4.mul(s1, f32x4.convert_i32x4_s(c11)), 16);
    v128.store(c + 2 * ldc, f32x4.mul(s0, f32x4.convert_i32x4_s(c20)));
    v128.store(c + 2 * ldc, f32x4.mul(s1, f32x4.convert_i32x4_s(c21)), 16);
    v128.store(c + 3 * ldc, f32x4.mul(s0, f32x4.convert_i32x4_s(c30)));
    v128.store(c + 3 * ldc, f32x4.mul(s1, f32x4.convert_i32x4_s(c31)), 16);
  }
}

/**
 * C[:, n0:n1] = x · Wᵀ (n0 a multiple of 8) through integer dot products: xq [M, ldq] int16 and
 * ax [M] from quant_rows_i16 (x permuted), W in the panel layout, C [M, N] f32. `scratch` holds
 * gemm_q_dot_scratch_bytes(). Values do not depend on the split of the columns.
 */
export function gemm_q_dot(bits: i32, M: i32, K: i32, N: i32, gs: i32, xq: usize, ldq: i32, ax: usize, qp: usize,
  sz: usize, c: usize, n0: i32, n1: i32, scratch: usize): void {
  if (M <= 0 || n1 <= n0) return;
  const G = (K + gs - 1) / gs;
  const bp = scratch;
  const ap = bp + <usize>(DOT_KB * DOT_NC) * 2;
  const ct = ap + <usize>(DOT_MC * DOT_KB) * 2; // 4x8 f32 tile for edges
  const ldcB = <usize>N * 4;
  for (let jc = n0; jc < n1; jc += DOT_NC) {
    const nc = min(DOT_NC, n1 - jc);
    const ncp = (nc + 7) & ~7; // whole panels
    // blocks of <= DOT_KB inputs inside each group, ascending
    for (let pc = 0; pc < K;) {
      const g = pc / gs;
      const kc = min(DOT_KB, min(K, (g + 1) * gs) - pc);
      const acc = pc > 0 ? 1 : 0;
      packBDot(bits, K, N, qp, sz, G, g, pc, kc, jc, ncp, bp);
      const np = kc >> 1;
      for (let ic = 0; ic < M; ic += DOT_MC) {
        const mc = min(DOT_MC, M - ic);
        packADot(xq, ldq, M, ic, (mc + 3) & ~3, pc, kc, ap);
        for (let jr = 0; jr < nc; jr += 8) {
          const bpanel = bp + <usize>(jr * kc) * 2;
          const cols = min(8, nc - jr);
          const n = jc + jr;
          // a padded column's scale is 0 (and its output is not stored)
          const so = szAt(sz, G, g, n);
          const s0 = v128.load(so), s1 = v128.load(so, 16);
          for (let ir = 0; ir < mc; ir += 4) {
            const atile = ap + <usize>(ir * np) * 4;
            const rows = min(4, mc - ir);
            const cptr = c + <usize>(ic + ir) * ldcB + <usize>n * 4;
            if (rows == 4 && cols == 8) {
              microDot(np, atile, bpanel, cptr, ldcB, acc, s0, s1);
            } else {
              for (let r = 0; r < 4; r++) for (let q = 0; q < 8; q++) {
                const v: f32 = acc && r < rows && q < cols ? load<f32>(cptr + <usize>r * ldcB + <usize>q * 4) : 0;
                store<f32>(ct + <usize>(r * 8 + q) * 4, v);
              }
              microDot(np, atile, bpanel, ct, 32, acc, s0, s1);
              for (let r = 0; r < rows; r++) for (let q = 0; q < cols; q++) {
                store<f32>(cptr + <usize>r * ldcB + <usize>q * 4, load<f32>(ct + <usize>(r * 8 + q) * 4));
              }
            }
          }
        }
      }
      pc += kc;
    }
    // the rows' activation scales, last
    for (let i = 0; i < M; i++) {
      const a = load<f32>(ax + <usize>i * 4);
      const row = c + <usize>i * ldcB;
      for (let j = jc; j < jc + nc; j++) store<f32>(row + <usize>j * 4, load<f32>(row + <usize>j * 4) * a);
    }
  }
}

/**
 * Decode (M <= 3 rows, one row per call) through integer dot products: y[n] for n in [n0, n1)
 * (n0 a multiple of 8, n1 one of 8 or N). xr [K] is xq (quant_rows_i16) in the pair order of
 * dot_pair_order, ax the row's scale, bsum [B] i32 the sums of xq over the blocks gemm_q_dot uses
 * (<= DOT_KB inputs inside each group, ascending). Per block D = Σ xq·q − zero·Σ xq: the same
 * integer as gemm_q_dot's Σ xq·(q − zero), hence the same bits (twin linearQuantDotI16).
 * The columns are the lanes and the words are read as int16 lanes, masked in place: a word's low
 * and high halves give the pairs (q[k+j], q[k+j+per/2]) of one column (int8: j = 0, 1 by & 0xFF and
 * >> 8; int4: j = 0..3 by >> 4j and & 0xF), dotted with the pair (xq[k+j], xq[k+j+per/2]).
 */
export function gemv_q_dot(bits: i32, K: i32, N: i32, gs: i32, xr: usize, ax: usize, bsum: usize, qp: usize,
  sz: usize, y: usize, n0: i32, n1: i32): void {
  const G = (K + gs - 1) / gs;
  const per = 32 / bits;
  const panelB = <usize>(K / per) * 32;
  const a = load<f32>(ax);
  const m8 = i16x8.splat(0xff), m4 = i16x8.splat(0xf);
  let n = n0;
  // two full panels per pass: each splat of x serves 16 columns, and no edge test in the loop
  for (; n + 16 <= n1; n += 16) gemvDot16(bits, K, gs, xr, a, bsum, qp + <usize>(n >> 3) * panelB, panelB, szAt(sz, G, 0, n), <usize>G * 64, y, n);
  for (; n < n1; n += 8) {
    const pan = qp + <usize>(n >> 3) * panelB;
    const full = n + 8 <= n1;
    let y0 = f32x4.splat(0), y1 = f32x4.splat(0);
    let b = 0;
    for (let k0 = 0; k0 < K;) {
      const g = k0 / gs;
      const k1 = min(k0 + DOT_KB, min(K, (g + 1) * gs));
      let a0 = i32x4.splat(0), a1 = i32x4.splat(0);
      let p = pan + <usize>(k0 * bits);
      const end = pan + <usize>(k1 * bits);
      let xp = xr + <usize>k0 * 2;
      if (bits == 8) {
        while (p < end) {
          const x02 = v128.load32_splat(xp), x13 = v128.load32_splat(xp, 4);
          const v0 = v128.load(p);
          a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v128.and(v0, m8), x02));
          a0 = i32x4.add(a0, i32x4.dot_i16x8_s(i16x8.shr_u(v0, 8), x13));
          if (full) {
            const v1 = v128.load(p, 16);
            a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v128.and(v1, m8), x02));
            a1 = i32x4.add(a1, i32x4.dot_i16x8_s(i16x8.shr_u(v1, 8), x13));
          }
          p += 32;
          xp += 8;
        }
      } else {
        while (p < end) {
          const x04 = v128.load32_splat(xp), x15 = v128.load32_splat(xp, 4);
          const x26 = v128.load32_splat(xp, 8), x37 = v128.load32_splat(xp, 12);
          const v0 = v128.load(p);
          a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v128.and(v0, m4), x04));
          a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v128.and(i16x8.shr_u(v0, 4), m4), x15));
          a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v128.and(i16x8.shr_u(v0, 8), m4), x26));
          a0 = i32x4.add(a0, i32x4.dot_i16x8_s(i16x8.shr_u(v0, 12), x37));
          if (full) {
            const v1 = v128.load(p, 16);
            a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v128.and(v1, m4), x04));
            a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v128.and(i16x8.shr_u(v1, 4), m4), x15));
            a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v128.and(i16x8.shr_u(v1, 8), m4), x26));
            a1 = i32x4.add(a1, i32x4.dot_i16x8_s(i16x8.shr_u(v1, 12), x37));
          }
          p += 32;
          xp += 16;
        }
      }
      // D = Σ xq·q − zero·Σ xq (exact: both terms < 2^30), then y += fl(scale · f32(D))
      const sx = i32x4.splat(load<i32>(bsum + <usize>b * 4));
      const so = szAt(sz, G, g, n);
      const d0 = i32x4.sub(a0, i32x4.mul(i32x4.trunc_sat_f32x4_s(v128.load(so, 32)), sx));
      const t0 = f32x4.mul(v128.load(so), f32x4.convert_i32x4_s(d0));
      y0 = k0 == 0 ? t0 : f32x4.add(y0, t0);
      if (full) {
        const d1 = i32x4.sub(a1, i32x4.mul(i32x4.trunc_sat_f32x4_s(v128.load(so, 48)), sx));
        const t1 = f32x4.mul(v128.load(so, 16), f32x4.convert_i32x4_s(d1));
        y1 = k0 == 0 ? t1 : f32x4.add(y1, t1);
      }
      b++;
      k0 = k1;
    }
    const av = f32x4.splat(a);
    v128.store(y + <usize>n * 4, f32x4.mul(y0, av));
    if (full) v128.store(y + <usize>n * 4, f32x4.mul(y1, av), 16);
  }
}

/** gemv_q_dot on the two full panels at `pan` and `pan + panelB` (columns n .. n + 15), their
 *  group lines at `sz` and `sz + szB`: the same integer block sums D and the same f32 steps per
 *  column as the one-panel loop, hence the same bits. */
// @ts-ignore: decorator
@inline function gemvDot16(bits: i32, K: i32, gs: i32, xr: usize, a: f32, bsum: usize, pan: usize, panelB: usize,
  sz: usize, szB: usize, y: usize, n: i32): void {
  const m8 = i16x8.splat(0xff), m4 = i16x8.splat(0xf);
  let y0 = f32x4.splat(0), y1 = f32x4.splat(0), y2 = f32x4.splat(0), y3 = f32x4.splat(0);
  let b = 0;
  for (let k0 = 0; k0 < K;) {
    const g = k0 / gs;
    const k1 = min(k0 + DOT_KB, min(K, (g + 1) * gs));
    let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
    let p = pan + <usize>(k0 * bits);
    const end = pan + <usize>(k1 * bits);
    let xp = xr + <usize>k0 * 2;
    if (bits == 8) {
      while (p < end) {
        const x02 = v128.load32_splat(xp), x13 = v128.load32_splat(xp, 4);
        const v0 = v128.load(p), v1 = v128.load(p, 16), v2 = v128.load(p + panelB), v3 = v128.load(p + panelB, 16);
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v128.and(v0, m8), x02));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v128.and(v1, m8), x02));
        a2 = i32x4.add(a2, i32x4.dot_i16x8_s(v128.and(v2, m8), x02));
        a3 = i32x4.add(a3, i32x4.dot_i16x8_s(v128.and(v3, m8), x02));
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(i16x8.shr_u(v0, 8), x13));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(i16x8.shr_u(v1, 8), x13));
        a2 = i32x4.add(a2, i32x4.dot_i16x8_s(i16x8.shr_u(v2, 8), x13));
        a3 = i32x4.add(a3, i32x4.dot_i16x8_s(i16x8.shr_u(v3, 8), x13));
        p += 32;
        xp += 8;
      }
    } else {
      while (p < end) {
        const v0 = v128.load(p), v1 = v128.load(p, 16), v2 = v128.load(p + panelB), v3 = v128.load(p + panelB, 16);
        const x04 = v128.load32_splat(xp), x15 = v128.load32_splat(xp, 4);
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v128.and(v0, m4), x04));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v128.and(v1, m4), x04));
        a2 = i32x4.add(a2, i32x4.dot_i16x8_s(v128.and(v2, m4), x04));
        a3 = i32x4.add(a3, i32x4.dot_i16x8_s(v128.and(v3, m4), x04));
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v128.and(i16x8.shr_u(v0, 4), m4), x15));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v128.and(i16x8.shr_u(v1, 4), m4), x15));
        a2 = i32x4.add(a2, i32x4.dot_i16x8_s(v128.and(i16x8.shr_u(v2, 4), m4), x15));
        a3 = i32x4.add(a3, i32x4.dot_i16x8_s(v128.and(i16x8.shr_u(v3, 4), m4), x15));
        const x26 = v128.load32_splat(xp, 8), x37 = v128.load32_splat(xp, 12);
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v128.and(i16x8.shr_u(v0, 8), m4), x26));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v128.and(i16x8.shr_u(v1, 8), m4), x26));
        a2 = i32x4.add(a2, i32x4.dot_i16x8_s(v128.and(i16x8.shr_u(v2, 8), m4), x26));
        a3 = i32x4.add(a3, i32x4.dot_i16x8_s(v128.and(i16x8.shr_u(v3, 8), m4), x26));
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(i16x8.shr_u(v0, 12), x37));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(i16x8.shr_u(v1, 12), x37));
        a2 = i32x4.add(a2, i32x4.dot_i16x8_s(i16x8.shr_u(v2, 12), x37));
        a3 = i32x4.add(a3, i32x4.dot_i16x8_s(i16x8.shr_u(v3, 12), x37));
        p += 32;
        xp += 16;
      }
    }
    const sx = i32x4.splat(load<i32>(bsum + <usize>b * 4));
    const s0 = sz + <usize>g * 64, s1 = s0 + szB;
    const t0 = f32x4.mul(v128.load(s0), f32x4.convert_i32x4_s(i32x4.sub(a0, i32x4.mul(i32x4.trunc_sat_f32x4_s(v128.load(s0, 32)), sx))));
    const t1 = f32x4.mul(v128.load(s0, 16), f32x4.convert_i32x4_s(i32x4.sub(a1, i32x4.mul(i32x4.trunc_sat_f32x4_s(v128.load(s0, 48)), sx))));
    const t2 = f32x4.mul(v128.load(s1), f32x4.convert_i32x4_s(i32x4.sub(a2, i32x4.mul(i32x4.trunc_sat_f32x4_s(v128.load(s1, 32)), sx))));
    const t3 = f32x4.mul(v128.load(s1, 16), f32x4.convert_i32x4_s(i32x4.sub(a3, i32x4.mul(i32x4.trunc_sat_f32x4_s(v128.load(s1, 48)), sx))));
    if (k0 == 0) {
      y0 = t0;
      y1 = t1;
      y2 = t2;
      y3 = t3;
    } else {
      y0 = f32x4.add(y0, t0);
      y1 = f32x4.add(y1, t1);
      y2 = f32x4.add(y2, t2);
      y3 = f32x4.add(y3, t3);
    }
    b++;
    k0 = k1;
  }
  const av = f32x4.splat(a);
  const yp = y + <usize>n * 4;
  v128.store(yp, f32x4.mul(y0, av));
  v128.store(yp, f32x4.mul(y1, av), 16);
  v128.store(yp, f32x4.mul(y2, av), 32);
  v128.store(yp, f32x4.mul(y3, av), 48);
}

/** xr = xq in gemv_q_dot's pair order, per word of 32/b inputs: int8 [x0, x2, x1, x3],
 *  int4 [x0, x4, x1, x5, x2, x6, x3, x7] (K a multiple of 32/b). */
export function dot_pair_order(bits: i32, K: i32, xq: usize, xr: usize): void {
  const per = 32 / bits, half = per >> 1;
  for (let k = 0; k < K; k += per) {
    for (let j = 0; j < half; j++) {
      store<i16>(xr + <usize>(k + 2 * j) * 2, load<i16>(xq + <usize>(k + j) * 2));
      store<i16>(xr + <usize>(k + 2 * j + 1) * 2, load<i16>(xq + <usize>(k + j + half) * 2));
    }
  }
}

/** bsum[b] = Σ xq over gemv_q_dot's blocks (<= DOT_KB inputs inside each group, ascending). */
export function dot_block_sums(K: i32, gs: i32, xq: usize, bsum: usize): void {
  let b = 0;
  for (let k0 = 0; k0 < K;) {
    const k1 = min(k0 + DOT_KB, min(K, (k0 / gs + 1) * gs));
    let s = 0;
    for (let i = k0; i < k1; i++) s += <i32>load<i16>(xq + <usize>i * 2);
    store<i32>(bsum + <usize>b * 4, s);
    b++;
    k0 = k1;
  }
}

// ---------------------------------------------------------------------------------------------
// Decode through integer dots with int8 activations (opt-in, quantDot 'int8'; llama.cpp's q8_0
// scheme for x): per block of at most DOT8_KB = 32 inputs inside a group (blocks start at group
// starts), the block's own scale — 8 bits per input instead of gemv_q_dot's 16 bits per row.
//
//   quant_blocks_i8: per block b, amax = max|x|, axb[b] = fl(amax / 127), inv = fl(127 / amax),
//     xq_i = nearest_even(fl(x_i · inv)) clamped to ±127 (amax = 0: all 0, axb = 0; NaN: 0);
//     per group g, xg[g] = sequential f32 sum over its blocks of fl(axb[b] · f32(Σ xq_i)).
//   gemv_q_dot8: per output n, per group g, per block b in g (ascending):
//     P = Σ xq_i·q_i exactly (|P| <= 32·127·255 < 2^21), A = fl(axb[b] · f32(P)) for the first
//     block, else fl(A + fl(axb[b] · f32(P))); then u = fl(scale · fl(A − fl(zero · xg[g]))),
//     y = u for the first group, else fl(y + u). Twin: linearQuantDotI8 (src/quant/gptq.ts).
// Every P is an exact integer, so how it is computed does not change a bit: the default build
// uses i32x4.dot_i16x8_s on xq widened to int16 (xr16, gemv_q_dot's pair order); the relaxed
// build, for int4 weights, i16x8.relaxed_dot_i8x16_i7x16_s on the bytes (xr8) with the nibbles
// (0..15, inside the i7 operand's deterministic range) as the second operand: 16 multiply-adds per
// instruction, summed in int16 for a whole block (each lane adds 4 products per input pair:
// <= 4·15·128 per step, 4 steps: 30720 < 2^15) and widened to int32 once per block.

/** Inputs per activation block of gemv_q_dot8 (q8_0's block). */
export const DOT8_KB: i32 = 32;

/** x [K] (permuted) to gemv_q_dot8's operands: xr16 [K] int16 in dot_pair_order's order, xr8 [K]
 *  bytes (int4: per word [x0, x2, x4, x6, x1, x3, x5, x7]; unused for int8), axb [blocks] f32,
 *  xg [groups] f32. */
export function quant_blocks_i8(bits: i32, K: i32, gs: i32, x: usize, xr16: usize, xr8: usize, axb: usize, xg: usize): void {
  const per = 32 / bits, half = per >> 1;
  let b = 0;
  for (let g0 = 0, g = 0; g0 < K; g0 += gs, g++) {
    const g1 = min(K, g0 + gs);
    let xs: f32 = 0;
    for (let k0 = g0; k0 < g1; k0 += DOT8_KB) {
      const k1 = min(g1, k0 + DOT8_KB);
      if (k1 - k0 == 32) {
        // a whole block in vectors: the same values (max is exact and propagates NaN like the
        // scalar max, min/max/nearest/trunc_sat are the scalar ops lane by lane, the sum is exact)
        const t = block32(bits, x + <usize>k0 * 4, xr16 + <usize>k0 * 2, xr8 + <usize>k0, axb + <usize>b * 4);
        xs = k0 == g0 ? t : xs + t;
        b++;
        continue;
      }
      let amax: f32 = 0;
      for (let i = k0; i < k1; i++) amax = max(amax, abs<f32>(load<f32>(x + <usize>i * 4)));
      const inv: f32 = amax > 0 ? <f32>127 / amax : 0;
      const ab: f32 = amax / <f32>127;
      store<f32>(axb + <usize>b * 4, ab);
      let s = 0;
      for (let i = k0; i < k1; i++) {
        const q = <i32>min<f32>(127, max<f32>(-127, nearest<f32>(load<f32>(x + <usize>i * 4) * inv)));
        s += q;
        const w = i & ~(per - 1), j = i & (per - 1); // per = 4 or 8: no division
        store<i16>(xr16 + <usize>(w + (j < half ? 2 * j : 2 * (j - half) + 1)) * 2, <i16>q);
        if (bits == 4) store<i8>(xr8 + <usize>(w + (j & 1 ? 4 + (j >> 1) : j >> 1)), <i8>q);
      }
      const t: f32 = ab * <f32>s;
      xs = k0 == g0 ? t : xs + t;
      b++;
    }
    store<f32>(xg + <usize>g * 4, xs);
  }
}

// One block of 32 inputs of quant_blocks_i8 (x, xr16, xr8 at the block's start): stores the
// block's scale at `ab`, returns fl(scale · Σ q).
// @ts-ignore: decorator
@inline function block32(bits: i32, x: usize, xr16: usize, xr8: usize, ab: usize): f32 {
  const v0 = v128.load(x), v1 = v128.load(x, 16), v2 = v128.load(x, 32), v3 = v128.load(x, 48);
  const v4 = v128.load(x, 64), v5 = v128.load(x, 80), v6 = v128.load(x, 96), v7 = v128.load(x, 112);
  let m = f32x4.max(f32x4.max(f32x4.abs(v0), f32x4.abs(v1)), f32x4.max(f32x4.abs(v2), f32x4.abs(v3)));
  m = f32x4.max(m, f32x4.max(f32x4.max(f32x4.abs(v4), f32x4.abs(v5)), f32x4.max(f32x4.abs(v6), f32x4.abs(v7))));
  const amax = max(max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)), max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
  const inv = f32x4.splat(amax > 0 ? <f32>127 / amax : 0);
  const a = amax / <f32>127;
  store<f32>(ab, a);
  const q0 = qLanes(v0, inv), q1 = qLanes(v1, inv), q2 = qLanes(v2, inv), q3 = qLanes(v3, inv);
  const q4 = qLanes(v4, inv), q5 = qLanes(v5, inv), q6 = qLanes(v6, inv), q7 = qLanes(v7, inv);
  const h0 = i16x8.narrow_i32x4_s(q0, q1), h1 = i16x8.narrow_i32x4_s(q2, q3);
  const h2 = i16x8.narrow_i32x4_s(q4, q5), h3 = i16x8.narrow_i32x4_s(q6, q7);
  if (bits == 4) {
    // xr16 per word of 8: [x0, x4, x1, x5, x2, x6, x3, x7]; xr8 per word: [x0, x2, x4, x6, x1, x3, x5, x7]
    v128.store(xr16, i8x16.shuffle(h0, h0, 0, 1, 8, 9, 2, 3, 10, 11, 4, 5, 12, 13, 6, 7, 14, 15));
    v128.store(xr16, i8x16.shuffle(h1, h1, 0, 1, 8, 9, 2, 3, 10, 11, 4, 5, 12, 13, 6, 7, 14, 15), 16);
    v128.store(xr16, i8x16.shuffle(h2, h2, 0, 1, 8, 9, 2, 3, 10, 11, 4, 5, 12, 13, 6, 7, 14, 15), 32);
    v128.store(xr16, i8x16.shuffle(h3, h3, 0, 1, 8, 9, 2, 3, 10, 11, 4, 5, 12, 13, 6, 7, 14, 15), 48);
    const b0 = i8x16.narrow_i16x8_s(h0, h1), b1 = i8x16.narrow_i16x8_s(h2, h3);
    v128.store(xr8, i8x16.shuffle(b0, b0, 0, 2, 4, 6, 1, 3, 5, 7, 8, 10, 12, 14, 9, 11, 13, 15));
    v128.store(xr8, i8x16.shuffle(b1, b1, 0, 2, 4, 6, 1, 3, 5, 7, 8, 10, 12, 14, 9, 11, 13, 15), 16);
  } else {
    // xr16 per word of 4: [x0, x2, x1, x3]
    v128.store(xr16, i8x16.shuffle(h0, h0, 0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15));
    v128.store(xr16, i8x16.shuffle(h1, h1, 0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15), 16);
    v128.store(xr16, i8x16.shuffle(h2, h2, 0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15), 32);
    v128.store(xr16, i8x16.shuffle(h3, h3, 0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15), 48);
  }
  const sq = i32x4.add(i32x4.add(i32x4.add(q0, q1), i32x4.add(q2, q3)), i32x4.add(i32x4.add(q4, q5), i32x4.add(q6, q7)));
  const sum = i32x4.extract_lane(sq, 0) + i32x4.extract_lane(sq, 1) + i32x4.extract_lane(sq, 2) + i32x4.extract_lane(sq, 3);
  return a * <f32>sum;
}

// q = trunc_sat(min(127, max(-127, nearest(x · inv)))) per lane (NaN -> 0, as the scalar <i32>)
// @ts-ignore: decorator
@inline function qLanes(v: v128, inv: v128): v128 {
  return i32x4.trunc_sat_f32x4_s(f32x4.min(f32x4.splat(127), f32x4.max(f32x4.splat(-127), f32x4.nearest(f32x4.mul(v, inv)))));
}

/**
 * gemv_q_dot8 (one row): y[n] for n in [n0, n1) (n0 a multiple of 8, n1 one of 8 or N) from
 * quant_blocks_i8's operands. Two full panels per pass, then single (or half) panels.
 */
export function gemv_q_dot8(bits: i32, K: i32, N: i32, gs: i32, xr16: usize, xr8: usize, axb: usize, xg: usize, qp: usize,
  sz: usize, y: usize, n0: i32, n1: i32): void {
  const panelB = <usize>(K / (32 / bits)) * 32;
  const G = (K + gs - 1) / gs, szB = <usize>G * 64; // one panel's group lines
  let n = n0;
  for (; n + 16 <= n1; n += 16) dot8Pass(16, bits, K, gs, xr16, xr8, axb, xg, qp + <usize>(n >> 3) * panelB, panelB, szAt(sz, G, 0, n), szB, y, n);
  for (; n + 8 <= n1; n += 8) dot8Pass(8, bits, K, gs, xr16, xr8, axb, xg, qp + <usize>(n >> 3) * panelB, panelB, szAt(sz, G, 0, n), szB, y, n);
  if (n < n1) dot8Pass(4, bits, K, gs, xr16, xr8, axb, xg, qp + <usize>(n >> 3) * panelB, panelB, szAt(sz, G, 0, n), szB, y, n);
}

// One pass over `cols` (16: two panels, 8: one, 4: the valid half of the last padded panel)
// columns; `cols` is a constant at every call site, so each copy keeps only its own lanes.
// @ts-ignore: decorator
@inline function dot8Pass(cols: i32, bits: i32, K: i32, gs: i32, xr16: usize, xr8: usize, axb: usize, xg: usize,
  pan: usize, panelB: usize, sz: usize, szB: usize, y: usize, n: i32): void {
  const m8 = i16x8.splat(0xff), m4 = i16x8.splat(0xf), n4 = i8x16.splat(0xf);
  let y0 = f32x4.splat(0), y1 = f32x4.splat(0), y2 = f32x4.splat(0), y3 = f32x4.splat(0);
  let b = 0;
  for (let g0 = 0, g = 0; g0 < K; g0 += gs, g++) {
    const g1 = min(K, g0 + gs);
    let A0 = f32x4.splat(0), A1 = f32x4.splat(0), A2 = f32x4.splat(0), A3 = f32x4.splat(0);
    for (let k0 = g0; k0 < g1; k0 += DOT8_KB) {
      const k1 = min(g1, k0 + DOT8_KB);
      let p = pan + <usize>(k0 * bits);
      const end = pan + <usize>(k1 * bits);
      let P0 = i32x4.splat(0), P1 = i32x4.splat(0), P2 = i32x4.splat(0), P3 = i32x4.splat(0);
      if (ASC_FEATURE_RELAXED_SIMD && bits == 4) {
        let h0 = i16x8.splat(0), h1 = i16x8.splat(0), h2 = i16x8.splat(0), h3 = i16x8.splat(0);
        let xp = xr8 + <usize>k0;
        while (p < end) {
          const xe = v128.load32_splat(xp), xo = v128.load32_splat(xp, 4);
          const v0 = v128.load(p);
          h0 = i16x8.add(h0, i16x8.relaxed_dot_i8x16_i7x16_s(xe, v128.and(v0, n4)));
          h0 = i16x8.add(h0, i16x8.relaxed_dot_i8x16_i7x16_s(xo, v128.and(i16x8.shr_u(v0, 4), n4)));
          if (cols > 4) {
            const v1 = v128.load(p, 16);
            h1 = i16x8.add(h1, i16x8.relaxed_dot_i8x16_i7x16_s(xe, v128.and(v1, n4)));
            h1 = i16x8.add(h1, i16x8.relaxed_dot_i8x16_i7x16_s(xo, v128.and(i16x8.shr_u(v1, 4), n4)));
          }
          if (cols > 8) {
            const v2 = v128.load(p + panelB), v3 = v128.load(p + panelB, 16);
            h2 = i16x8.add(h2, i16x8.relaxed_dot_i8x16_i7x16_s(xe, v128.and(v2, n4)));
            h3 = i16x8.add(h3, i16x8.relaxed_dot_i8x16_i7x16_s(xe, v128.and(v3, n4)));
            h2 = i16x8.add(h2, i16x8.relaxed_dot_i8x16_i7x16_s(xo, v128.and(i16x8.shr_u(v2, 4), n4)));
            h3 = i16x8.add(h3, i16x8.relaxed_dot_i8x16_i7x16_s(xo, v128.and(i16x8.shr_u(v3, 4), n4)));
          }
          p += 32;
          xp += 8;
        }
        P0 = i32x4.extadd_pairwise_i16x8_s(h0);
        if (cols > 4) P1 = i32x4.extadd_pairwise_i16x8_s(h1);
        if (cols > 8) {
          P2 = i32x4.extadd_pairwise_i16x8_s(h2);
          P3 = i32x4.extadd_pairwise_i16x8_s(h3);
        }
      } else {
        let xp = xr16 + <usize>k0 * 2;
        if (bits == 8) {
          while (p < end) {
            const x02 = v128.load32_splat(xp), x13 = v128.load32_splat(xp, 4);
            const v0 = v128.load(p);
            P0 = i32x4.add(P0, i32x4.dot_i16x8_s(v128.and(v0, m8), x02));
            P0 = i32x4.add(P0, i32x4.dot_i16x8_s(i16x8.shr_u(v0, 8), x13));
            if (cols > 4) {
              const v1 = v128.load(p, 16);
              P1 = i32x4.add(P1, i32x4.dot_i16x8_s(v128.and(v1, m8), x02));
              P1 = i32x4.add(P1, i32x4.dot_i16x8_s(i16x8.shr_u(v1, 8), x13));
            }
            if (cols > 8) {
              const v2 = v128.load(p + panelB), v3 = v128.load(p + panelB, 16);
              P2 = i32x4.add(P2, i32x4.dot_i16x8_s(v128.and(v2, m8), x02));
              P3 = i32x4.add(P3, i32x4.dot_i16x8_s(v128.and(v3, m8), x02));
              P2 = i32x4.add(P2, i32x4.dot_i16x8_s(i16x8.shr_u(v2, 8), x13));
              P3 = i32x4.add(P3, i32x4.dot_i16x8_s(i16x8.shr_u(v3, 8), x13));
            }
            p += 32;
            xp += 8;
          }
        } else {
          while (p < end) {
            const x04 = v128.load32_splat(xp), x15 = v128.load32_splat(xp, 4);
            const x26 = v128.load32_splat(xp, 8), x37 = v128.load32_splat(xp, 12);
            const v0 = v128.load(p);
            P0 = i32x4.add(P0, i32x4.dot_i16x8_s(v128.and(v0, m4), x04));
            P0 = i32x4.add(P0, i32x4.dot_i16x8_s(v128.and(i16x8.shr_u(v0, 4), m4), x15));
            P0 = i32x4.add(P0, i32x4.dot_i16x8_s(v128.and(i16x8.shr_u(v0, 8), m4), x26));
            P0 = i32x4.add(P0, i32x4.dot_i16x8_s(i16x8.shr_u(v0, 12), x37));
            if (cols > 4) {
              const v1 = v128.load(p, 16);
              P1 = i32x4.add(P1, i32x4.dot_i16x8_s(v128.and(v1, m4), x04));
              P1 = i32x4.add(P1, i32x4.dot_i16x8_s(v128.and(i16x8.shr_u(v1, 4), m4), x15));
              P1 = i32x4.add(P1, i32x4.dot_i16x8_s(v128.and(i16x8.shr_u(v1, 8), m4), x26));
              P1 = i32x4.add(P1, i32x4.dot_i16x8_s(i16x8.shr_u(v1, 12), x37));
            }
            if (cols > 8) {
              const v2 = v128.load(p + panelB), v3 = v128.load(p + panelB, 16);
              P2 = i32x4.add(P2, i32x4.dot_i16x8_s(v128.and(v2, m4), x04));
              P3 = i32x4.add(P3, i32x4.dot_i16x8_s(v128.and(v3, m4), x04));
              P2 = i32x4.add(P2, i32x4.dot_i16x8_s(v128.and(i16x8.shr_u(v2, 4), m4), x15));
              P3 = i32x4.add(P3, i32x4.dot_i16x8_s(v128.and(i16x8.shr_u(v3, 4), m4), x15));
              P2 = i32x4.add(P2, i32x4.dot_i16x8_s(v128.and(i16x8.shr_u(v2, 8), m4), x26));
              P3 = i32x4.add(P3, i32x4.dot_i16x8_s(v128.and(i16x8.shr_u(v3, 8), m4), x26));
              P2 = i32x4.add(P2, i32x4.dot_i16x8_s(i16x8.shr_u(v2, 12), x37));
              P3 = i32x4.add(P3, i32x4.dot_i16x8_s(i16x8.shr_u(v3, 12), x37));
            }
            p += 32;
            xp += 16;
          }
        }
      }
      // A = fl(A + fl(axb · f32(P))) (the block's scale; P exact)
      const av = f32x4.splat(load<f32>(axb + <usize>b * 4));
      const t0 = f32x4.mul(av, f32x4.convert_i32x4_s(P0));
      A0 = k0 == g0 ? t0 : f32x4.add(A0, t0);
      if (cols > 4) {
        const t1 = f32x4.mul(av, f32x4.convert_i32x4_s(P1));
        A1 = k0 == g0 ? t1 : f32x4.add(A1, t1);
      }
      if (cols > 8) {
        const t2 = f32x4.mul(av, f32x4.convert_i32x4_s(P2));
        const t3 = f32x4.mul(av, f32x4.convert_i32x4_s(P3));
        A2 = k0 == g0 ? t2 : f32x4.add(A2, t2);
        A3 = k0 == g0 ? t3 : f32x4.add(A3, t3);
      }
      b++;
    }
    // y = fl(y + fl(scale · fl(A − fl(zero · xg))))
    const xz = f32x4.splat(load<f32>(xg + <usize>g * 4));
    const s0 = sz + <usize>g * 64, s1 = s0 + szB;
    const u0 = f32x4.mul(v128.load(s0), f32x4.sub(A0, f32x4.mul(v128.load(s0, 32), xz)));
    y0 = g0 == 0 ? u0 : f32x4.add(y0, u0);
    if (cols > 4) {
      const u1 = f32x4.mul(v128.load(s0, 16), f32x4.sub(A1, f32x4.mul(v128.load(s0, 48), xz)));
      y1 = g0 == 0 ? u1 : f32x4.add(y1, u1);
    }
    if (cols > 8) {
      const u2 = f32x4.mul(v128.load(s1), f32x4.sub(A2, f32x4.mul(v128.load(s1, 32), xz)));
      const u3 = f32x4.mul(v128.load(s1, 16), f32x4.sub(A3, f32x4.mul(v128.load(s1, 48), xz)));
      y2 = g0 == 0 ? u2 : f32x4.add(y2, u2);
      y3 = g0 == 0 ? u3 : f32x4.add(y3, u3);
    }
  }
  const yp = y + <usize>n * 4;
  v128.store(yp, y0);
  if (cols > 4) v128.store(yp, y1, 16);
  if (cols > 8) {
    v128.store(yp, y2, 32);
    v128.store(yp, y3, 48);
  }
}

/** quant_blocks_i8 over rows [0, M) of x [M, K] into row-major operands (xr16 [Mp, K], xr8
 *  [Mp, K], axb [Mp, B], xg [Mp, G]); rows [M, Mp) are zero (the 4-row tiles' padding). */
export function quant_rows_i8(bits: i32, M: i32, Mp: i32, K: i32, gs: i32, B: i32, G: i32, x: usize, xr16: usize, xr8: usize, axb: usize, xg: usize): void {
  for (let r = 0; r < M; r++) {
    quant_blocks_i8(bits, K, gs, x + <usize>r * <usize>K * 4, xr16 + <usize>r * <usize>K * 2, xr8 + <usize>r * <usize>K,
      axb + <usize>r * <usize>B * 4, xg + <usize>r * <usize>G * 4);
  }
  if (Mp > M) {
    memory.fill(xr16 + <usize>M * <usize>K * 2, 0, <usize>(Mp - M) * <usize>K * 2);
    memory.fill(xr8 + <usize>M * <usize>K, 0, <usize>(Mp - M) * <usize>K);
    memory.fill(axb + <usize>M * <usize>B * 4, 0, <usize>(Mp - M) * <usize>B * 4);
    memory.fill(xg + <usize>M * <usize>G * 4, 0, <usize>(Mp - M) * <usize>G * 4);
  }
}

/**
 * Prefill (M >= 4 rows) with int8 activations: y [M, N] for columns [n0, n1) (n0 a multiple of 8,
 * n1 one of 8 or N) from quant_rows_i8's operands (B blocks and G groups per row). Tiles of 4
 * rows x one panel (8 columns, or the valid 4 of the last, padded, panel); per output the same
 * integers P and the same f32 steps in the same order as gemv_q_dot8 (twin linearQuantDotI8), so
 * prefill and decode give the same bits. The panel (K·bits bytes) stays in L1/L2 while the row
 * tiles pass over it.
 */
export function gemm_q_dot8(bits: i32, M: i32, K: i32, N: i32, gs: i32, B: i32, G: i32, xr16: usize, xr8: usize, axb: usize, xg: usize,
  qp: usize, sz: usize, c: usize, n0: i32, n1: i32): void {
  const panelB = <usize>(K * bits);
  for (let n = n0; n < n1; n += 8) {
    const pan = qp + <usize>(n >> 3) * panelB;
    if (n + 8 <= n1) {
      for (let m = 0; m < M; m += 4) dot8Tile(8, bits, M, K, N, gs, B, G, xr16, xr8, axb, xg, pan, szAt(sz, G, 0, n), c, m, n);
    } else {
      for (let m = 0; m < M; m += 4) dot8Tile(4, bits, M, K, N, gs, B, G, xr16, xr8, axb, xg, pan, szAt(sz, G, 0, n), c, m, n);
    }
  }
}

// 4 rows (m .. m+3; rows >= M are the zero padding and are not stored) x `cols` columns.
// Accumulators: P (or h) [row][quad], A [row][quad] (the group's sum), y [row][quad].
// @ts-ignore: decorator
@inline function dot8Tile(cols: i32, bits: i32, M: i32, K: i32, N: i32, gs: i32, B: i32, G: i32, xr16: usize, xr8: usize, axb: usize,
  xg: usize, pan: usize, sz: usize, c: usize, m: i32, n: i32): void {
  const m8 = i16x8.splat(0xff), m4 = i16x8.splat(0xf), n4 = i8x16.splat(0xf);
  const K2 = <usize>K * 2, K1 = <usize>K;
  const r16 = xr16 + <usize>m * K2, r8 = xr8 + <usize>m * K1;
  const rb = axb + <usize>m * <usize>B * 4, rg = xg + <usize>m * <usize>G * 4;
  const Bs = <usize>B * 4, Gs = <usize>G * 4;
  let y00 = f32x4.splat(0), y01 = f32x4.splat(0), y10 = f32x4.splat(0), y11 = f32x4.splat(0);
  let y20 = f32x4.splat(0), y21 = f32x4.splat(0), y30 = f32x4.splat(0), y31 = f32x4.splat(0);
  let b = 0;
  for (let g0 = 0, g = 0; g0 < K; g0 += gs, g++) {
    const g1 = min(K, g0 + gs);
    let A00 = f32x4.splat(0), A01 = f32x4.splat(0), A10 = f32x4.splat(0), A11 = f32x4.splat(0);
    let A20 = f32x4.splat(0), A21 = f32x4.splat(0), A30 = f32x4.splat(0), A31 = f32x4.splat(0);
    for (let k0 = g0; k0 < g1; k0 += DOT8_KB) {
      const k1 = min(g1, k0 + DOT8_KB);
      let p = pan + <usize>(k0 * bits);
      const end = pan + <usize>(k1 * bits);
      let P00 = i32x4.splat(0), P01 = i32x4.splat(0), P10 = i32x4.splat(0), P11 = i32x4.splat(0);
      let P20 = i32x4.splat(0), P21 = i32x4.splat(0), P30 = i32x4.splat(0), P31 = i32x4.splat(0);
      if (ASC_FEATURE_RELAXED_SIMD && bits == 4) {
        let h00 = i16x8.splat(0), h01 = i16x8.splat(0), h10 = i16x8.splat(0), h11 = i16x8.splat(0);
        let h20 = i16x8.splat(0), h21 = i16x8.splat(0), h30 = i16x8.splat(0), h31 = i16x8.splat(0);
        let xp = r8 + <usize>k0;
        while (p < end) {
          // the low nibbles (even inputs) of both column quads against each row's even inputs,
          // then the high nibbles against the odd ones: two weight vectors live, not four
          // (fewer registers for V8 to spill; measured 1-7 % faster)
          let w0 = v128.and(v128.load(p), n4);
          let w1 = cols > 4 ? v128.and(v128.load(p, 16), n4) : w0;
          let xs = v128.load32_splat(xp);
          h00 = i16x8.add(h00, i16x8.relaxed_dot_i8x16_i7x16_s(xs, w0));
          if (cols > 4) h01 = i16x8.add(h01, i16x8.relaxed_dot_i8x16_i7x16_s(xs, w1));
          xs = v128.load32_splat(xp + K1);
          h10 = i16x8.add(h10, i16x8.relaxed_dot_i8x16_i7x16_s(xs, w0));
          if (cols > 4) h11 = i16x8.add(h11, i16x8.relaxed_dot_i8x16_i7x16_s(xs, w1));
          xs = v128.load32_splat(xp + 2 * K1);
          h20 = i16x8.add(h20, i16x8.relaxed_dot_i8x16_i7x16_s(xs, w0));
          if (cols > 4) h21 = i16x8.add(h21, i16x8.relaxed_dot_i8x16_i7x16_s(xs, w1));
          xs = v128.load32_splat(xp + 3 * K1);
          h30 = i16x8.add(h30, i16x8.relaxed_dot_i8x16_i7x16_s(xs, w0));
          if (cols > 4) h31 = i16x8.add(h31, i16x8.relaxed_dot_i8x16_i7x16_s(xs, w1));
          w0 = v128.and(i16x8.shr_u(v128.load(p), 4), n4);
          w1 = cols > 4 ? v128.and(i16x8.shr_u(v128.load(p, 16), 4), n4) : w0;
          xs = v128.load32_splat(xp, 4);
          h00 = i16x8.add(h00, i16x8.relaxed_dot_i8x16_i7x16_s(xs, w0));
          if (cols > 4) h01 = i16x8.add(h01, i16x8.relaxed_dot_i8x16_i7x16_s(xs, w1));
          xs = v128.load32_splat(xp + K1, 4);
          h10 = i16x8.add(h10, i16x8.relaxed_dot_i8x16_i7x16_s(xs, w0));
          if (cols > 4) h11 = i16x8.add(h11, i16x8.relaxed_dot_i8x16_i7x16_s(xs, w1));
          xs = v128.load32_splat(xp + 2 * K1, 4);
          h20 = i16x8.add(h20, i16x8.relaxed_dot_i8x16_i7x16_s(xs, w0));
          if (cols > 4) h21 = i16x8.add(h21, i16x8.relaxed_dot_i8x16_i7x16_s(xs, w1));
          xs = v128.load32_splat(xp + 3 * K1, 4);
          h30 = i16x8.add(h30, i16x8.relaxed_dot_i8x16_i7x16_s(xs, w0));
          if (cols > 4) h31 = i16x8.add(h31, i16x8.relaxed_dot_i8x16_i7x16_s(xs, w1));
          p += 32;
          xp += 8;
        }
        P00 = i32x4.extadd_pairwise_i16x8_s(h00);
        P10 = i32x4.extadd_pairwise_i16x8_s(h10);
        P20 = i32x4.extadd_pairwise_i16x8_s(h20);
        P30 = i32x4.extadd_pairwise_i16x8_s(h30);
        if (cols > 4) {
          P01 = i32x4.extadd_pairwise_i16x8_s(h01);
          P11 = i32x4.extadd_pairwise_i16x8_s(h11);
          P21 = i32x4.extadd_pairwise_i16x8_s(h21);
          P31 = i32x4.extadd_pairwise_i16x8_s(h31);
        }
      } else {
        // int16 lanes: a word's halves give pairs of inputs per column (gemv_q_dot's pair order)
        let xp = r16 + <usize>k0 * 2;
        const shifts = bits == 8 ? 2 : 4; // pairs per word
        while (p < end) {
          const v0 = v128.load(p);
          const v1 = cols > 4 ? v128.load(p, 16) : v0;
          for (let j = 0; j < shifts; j++) {
            // pair j of each column: int8 (& 0xFF, >> 8), int4 (>> 4j & 0xF, the last >> 12)
            let q0: v128, q1: v128;
            if (bits == 8) {
              q0 = j == 0 ? v128.and(v0, m8) : i16x8.shr_u(v0, 8);
              q1 = j == 0 ? v128.and(v1, m8) : i16x8.shr_u(v1, 8);
            } else {
              q0 = v128.and(i16x8.shr_u(v0, 4 * j), m4);
              q1 = v128.and(i16x8.shr_u(v1, 4 * j), m4);
            }
            const o = <usize>j * 4;
            let xx = v128.load32_splat(xp + o);
            P00 = i32x4.add(P00, i32x4.dot_i16x8_s(q0, xx));
            if (cols > 4) P01 = i32x4.add(P01, i32x4.dot_i16x8_s(q1, xx));
            xx = v128.load32_splat(xp + K2 + o);
            P10 = i32x4.add(P10, i32x4.dot_i16x8_s(q0, xx));
            if (cols > 4) P11 = i32x4.add(P11, i32x4.dot_i16x8_s(q1, xx));
            xx = v128.load32_splat(xp + 2 * K2 + o);
            P20 = i32x4.add(P20, i32x4.dot_i16x8_s(q0, xx));
            if (cols > 4) P21 = i32x4.add(P21, i32x4.dot_i16x8_s(q1, xx));
            xx = v128.load32_splat(xp + 3 * K2 + o);
            P30 = i32x4.add(P30, i32x4.dot_i16x8_s(q0, xx));
            if (cols > 4) P31 = i32x4.add(P31, i32x4.dot_i16x8_s(q1, xx));
          }
          p += 32;
          xp += <usize>shifts * 4;
        }
      }
      // A = fl(axb · f32(P)) for the group's first block, else fl(A + ...); per row its block scale
      const bo = <usize>b * 4;
      let av = f32x4.splat(load<f32>(rb + bo));
      A00 = k0 == g0 ? f32x4.mul(av, f32x4.convert_i32x4_s(P00)) : f32x4.add(A00, f32x4.mul(av, f32x4.convert_i32x4_s(P00)));
      if (cols > 4) A01 = k0 == g0 ? f32x4.mul(av, f32x4.convert_i32x4_s(P01)) : f32x4.add(A01, f32x4.mul(av, f32x4.convert_i32x4_s(P01)));
      av = f32x4.splat(load<f32>(rb + Bs + bo));
      A10 = k0 == g0 ? f32x4.mul(av, f32x4.convert_i32x4_s(P10)) : f32x4.add(A10, f32x4.mul(av, f32x4.convert_i32x4_s(P10)));
      if (cols > 4) A11 = k0 == g0 ? f32x4.mul(av, f32x4.convert_i32x4_s(P11)) : f32x4.add(A11, f32x4.mul(av, f32x4.convert_i32x4_s(P11)));
      av = f32x4.splat(load<f32>(rb + 2 * Bs + bo));
      A20 = k0 == g0 ? f32x4.mul(av, f32x4.convert_i32x4_s(P20)) : f32x4.add(A20, f32x4.mul(av, f32x4.convert_i32x4_s(P20)));
      if (cols > 4) A21 = k0 == g0 ? f32x4.mul(av, f32x4.convert_i32x4_s(P21)) : f32x4.add(A21, f32x4.mul(av, f32x4.convert_i32x4_s(P21)));
      av = f32x4.splat(load<f32>(rb + 3 * Bs + bo));
      A30 = k0 == g0 ? f32x4.mul(av, f32x4.convert_i32x4_s(P30)) : f32x4.add(A30, f32x4.mul(av, f32x4.convert_i32x4_s(P30)));
      if (cols > 4) A31 = k0 == g0 ? f32x4.mul(av, f32x4.convert_i32x4_s(P31)) : f32x4.add(A31, f32x4.mul(av, f32x4.convert_i32x4_s(P31)));
      b++;
    }
    // y = fl(scale · fl(A − fl(zero · xg))) for the first group, else fl(y + ...)
    const so = sz + <usize>g * 64; // the panel's line of group g
    const s0 = v128.load(so), z0 = v128.load(so, 32);
    const s1 = cols > 4 ? v128.load(so, 16) : s0, z1 = cols > 4 ? v128.load(so, 48) : z0;
    const go = <usize>g * 4;
    let xz = f32x4.splat(load<f32>(rg + go));
    y00 = g0 == 0 ? f32x4.mul(s0, f32x4.sub(A00, f32x4.mul(z0, xz))) : f32x4.add(y00, f32x4.mul(s0, f32x4.sub(A00, f32x4.mul(z0, xz))));
    if (cols > 4) y01 = g0 == 0 ? f32x4.mul(s1, f32x4.sub(A01, f32x4.mul(z1, xz))) : f32x4.add(y01, f32x4.mul(s1, f32x4.sub(A01, f32x4.mul(z1, xz))));
    xz = f32x4.splat(load<f32>(rg + Gs + go));
    y10 = g0 == 0 ? f32x4.mul(s0, f32x4.sub(A10, f32x4.mul(z0, xz))) : f32x4.add(y10, f32x4.mul(s0, f32x4.sub(A10, f32x4.mul(z0, xz))));
    if (cols > 4) y11 = g0 == 0 ? f32x4.mul(s1, f32x4.sub(A11, f32x4.mul(z1, xz))) : f32x4.add(y11, f32x4.mul(s1, f32x4.sub(A11, f32x4.mul(z1, xz))));
    xz = f32x4.splat(load<f32>(rg + 2 * Gs + go));
    y20 = g0 == 0 ? f32x4.mul(s0, f32x4.sub(A20, f32x4.mul(z0, xz))) : f32x4.add(y20, f32x4.mul(s0, f32x4.sub(A20, f32x4.mul(z0, xz))));
    if (cols > 4) y21 = g0 == 0 ? f32x4.mul(s1, f32x4.sub(A21, f32x4.mul(z1, xz))) : f32x4.add(y21, f32x4.mul(s1, f32x4.sub(A21, f32x4.mul(z1, xz))));
    xz = f32x4.splat(load<f32>(rg + 3 * Gs + go));
    y30 = g0 == 0 ? f32x4.mul(s0, f32x4.sub(A30, f32x4.mul(z0, xz))) : f32x4.add(y30, f32x4.mul(s0, f32x4.sub(A30, f32x4.mul(z0, xz))));
    if (cols > 4) y31 = g0 == 0 ? f32x4.mul(s1, f32x4.sub(A31, f32x4.mul(z1, xz))) : f32x4.add(y31, f32x4.mul(s1, f32x4.sub(A31, f32x4.mul(z1, xz))));
  }
  const cp = c + (<usize>m * <usize>N + <usize>n) * 4, ldc = <usize>N * 4;
  v128.store(cp, y00);
  if (cols > 4) v128.store(cp, y01, 16);
  if (m + 1 < M) {
    v128.store(cp + ldc, y10);
    if (cols > 4) v128.store(cp + ldc, y11, 16);
  }
  if (m + 2 < M) {
    v128.store(cp + 2 * ldc, y20);
    if (cols > 4) v128.store(cp + 2 * ldc, y21, 16);
  }
  if (m + 3 < M) {
    v128.store(cp + 3 * ldc, y30);
    if (cols > 4) v128.store(cp + 3 * ldc, y31, 16);
  }
}

// ---- several Linears of one x in one job (decode: q/k/v, gate/up) -------------------------------
// The backend's linearQuantMany: one x rounded once, one range job over the matrices' columns laid
// end to end — matrix j owns [o_j, o_j + N_j) of the range, o_j a multiple of 8 — so a task covers
// parts of one or two matrices, and each part is exactly the single-matrix call on those columns
// (same bits as separate calls). `table`: per matrix 6 words: o, N, qp, sz, y, ab (gemv_q's scratch).

/** Bytes of one linearQuantMany table entry. */
export const MANY_ENTRY: i32 = 24;

/** gemv_q over the matrices in `table` for the range [n0, n1). */
export function gemv_q_many(bits: i32, K: i32, gs: i32, x: usize, xs: usize, table: usize, count: i32, n0: i32, n1: i32): void {
  for (let j = 0; j < count; j++) {
    const e = table + <usize>(j * MANY_ENTRY);
    const o = load<i32>(e), N = load<i32>(e, 4);
    const a = max(n0, o), b = min(n1, o + N);
    if (a < b) gemv_q(bits, K, N, gs, x, xs, load<u32>(e, 8), load<u32>(e, 12), load<u32>(e, 16), load<u32>(e, 20), a - o, b - o);
  }
}

/** gemv_q_dot over the matrices in `table` for the range [n0, n1). */
export function gemv_q_dot_many(bits: i32, K: i32, gs: i32, xr: usize, ax: usize, bsum: usize, table: usize, count: i32, n0: i32, n1: i32): void {
  for (let j = 0; j < count; j++) {
    const e = table + <usize>(j * MANY_ENTRY);
    const o = load<i32>(e), N = load<i32>(e, 4);
    const a = max(n0, o), b = min(n1, o + N);
    if (a < b) gemv_q_dot(bits, K, N, gs, xr, ax, bsum, load<u32>(e, 8), load<u32>(e, 12), load<u32>(e, 16), a - o, b - o);
  }
}

/** gemv_q_dot8 over the matrices in `table` for the range [n0, n1). */
export function gemv_q_dot8_many(bits: i32, K: i32, gs: i32, xr16: usize, xr8: usize, axb: usize, xg: usize, table: usize, count: i32,
  n0: i32, n1: i32): void {
  for (let j = 0; j < count; j++) {
    const e = table + <usize>(j * MANY_ENTRY);
    const o = load<i32>(e), N = load<i32>(e, 4);
    const a = max(n0, o), b = min(n1, o + N);
    if (a < b) gemv_q_dot8(bits, K, N, gs, xr16, xr8, axb, xg, load<u32>(e, 8), load<u32>(e, 12), load<u32>(e, 16), a - o, b - o);
  }
}
