// f32 GEMM with packed panels and a 4x8 register-blocked micro-kernel (WASM SIMD128).
//
//   C[M, N] = A[M, K] · B[K, N]        (C, A row-major f32 in this module's memory)
//
// B is a weight in its stored layout and dtype, selected by `bKind`:
//   B_F32_NK  / B_BF16_NK : nn.Linear weight (N, K) — B = Wᵀ          (linear)
//   B_F32_KN  / B_BF16_KN : weight (K, N) stored row-major (vte.weight) (matmul)
// bf16 weights stay bf16 in memory; they are widened (a 16-bit shift, exact) while a
// kc x nc block is packed into f32 panels in per-thread scratch.
//
// Loops (Goto/BLIS order), all per thread over the output columns [n0, n1):
//   jc: nc-wide column blocks  ->  pc: kc-deep K blocks (pack B block: nc/8 panels of kc x 8)
//     ic: mc-tall row blocks (pack A block: mc/4 tiles of kc x 4)
//       jr: 8-column panel (kc x 8 f32 = 8 KiB, stays in L1)
//         ir: 4-row tile  -> micro-kernel: 8 v128 accumulators = a 4x8 tile of C.
// Shapes: M rows of A/C · N columns of B/C · K reduction · kc/mc/nc block sizes.
//
// Blocking is a run-time choice (gemm_blocked's KC, MC, NC; the backend picks it per process,
// docs/kernels.md "GEMM blocking"): KC >= 1, MC a multiple of 4 (A tiles), NC a multiple of 8
// (B panels); the caller checks this. gemm() is the default blocking 256/128/1024 (used by
// attention_blocked in ops.ts, whose scratch comes from gemm_scratch_bytes()).
//
// Numerics: every C[i, j] is the plain sequential f32 sum
//   acc = 0; for k = 0..K-1: acc = fl(acc + fl(A[i,k] * B[k,j]))
// with mul and add rounded separately (not fused; see madd.ts): the first K block starts
// from 0 and later blocks reload the partial C into the accumulators, so blocking does not
// change the order. Hence the result does not depend on M, on the thread split of N, or on
// the tile position, and equals a scalar Math.fround twin bit for bit
// (test/kernels/kernels.test.ts checks that, also across blockings in
// test/kernels/gemm-blocking.test.ts; the backend suite checks |Δ| <= K·u·Σ|a·b| against f64).

import { madd } from './madd';

export const B_F32_NK: i32 = 0;
export const B_BF16_NK: i32 = 1;
export const B_F32_KN: i32 = 2;
export const B_BF16_KN: i32 = 3;

/** The default blocking (gemm(), and the backend's fallback). */
export const KC_DEFAULT: i32 = 256;
export const MC_DEFAULT: i32 = 128;
export const NC_DEFAULT: i32 = 1024;

/** Bytes of per-thread scratch gemm_blocked(.., KC, MC, NC) needs: packed B block (KC x NC),
 *  packed A block (KC x MC), one 4x8 C tile. */
export function gemm_blocked_scratch_bytes(KC: i32, MC: i32, NC: i32): i32 {
  return (KC * NC + KC * MC + 32) * 4;
}

/** Bytes of per-thread scratch gemm() (the default blocking) needs. */
export function gemm_scratch_bytes(): i32 {
  return gemm_blocked_scratch_bytes(KC_DEFAULT, MC_DEFAULT, NC_DEFAULT);
}

// Pack the B block rows [k0, k0+kc) x columns [j0, j0+nc) into panels of 8 columns:
// bp[p*kc*8 + k*8 + c] = B[k0+k, j0+p*8+c]; columns >= jEnd are zero. ldb is the weight's row
// stride in elements (N for a dense (K, N) weight, K for a dense (N, K) one).
function packB(bKind: i32, w: usize, ldb: i32, k0: i32, kc: i32, j0: i32, nc: i32, jEnd: i32, bp: usize): void {
  for (let p = 0; p < nc; p += 8) {
    const panel = bp + <usize>(p * kc) * 4; // p is the panel's first column: panel p/8 starts at (p/8)*kc*8
    const cols = min(8, jEnd - (j0 + p));
    if (bKind == B_F32_KN || bKind == B_BF16_KN) {
      // rows of B are contiguous: 8 consecutive values per k
      for (let k = 0; k < kc; k++) {
        const dst = panel + <usize>(k * 8) * 4;
        if (cols == 8) {
          if (bKind == B_F32_KN) {
            const src = w + (<usize>(k0 + k) * <usize>ldb + <usize>(j0 + p)) * 4;
            v128.store(dst, v128.load(src));
            v128.store(dst, v128.load(src, 16), 16);
          } else {
            const src = w + (<usize>(k0 + k) * <usize>ldb + <usize>(j0 + p)) * 2;
            const h = v128.load(src); // 8 bf16
            v128.store(dst, i32x4.shl(i32x4.extend_low_i16x8_u(h), 16));
            v128.store(dst, i32x4.shl(i32x4.extend_high_i16x8_u(h), 16), 16);
          }
        } else {
          for (let c = 0; c < 8; c++) {
            let v: f32 = 0;
            if (c < cols) {
              const idx = <usize>(k0 + k) * <usize>ldb + <usize>(j0 + p + c);
              v = bKind == B_F32_KN ? load<f32>(w + idx * 4) : reinterpret<f32>(<u32>load<u16>(w + idx * 2) << 16);
            }
            store<f32>(dst + <usize>c * 4, v);
          }
        }
      }
    } else {
      // (N, K): column c of the panel is row (j0+p+c) of W, read along k. Full panels go
      // 4 k at a time: one v128 of 4 k-values per row (bf16 widened), then two 4x4
      // transposes give, per k, the 8 column values [r0..r3 | r4..r7].
      const k4 = cols == 8 ? kc & ~3 : 0;
      const bf = bKind == B_BF16_NK;
      const eb: usize = bf ? 2 : 4;
      const row0 = w + (<usize>(j0 + p) * <usize>ldb + <usize>k0) * eb;
      const rs = <usize>ldb * eb;
      for (let k = 0; k < k4; k += 4) {
        const o = <usize>k * eb;
        let r0: v128, r1: v128, r2: v128, r3: v128, r4: v128, r5: v128, r6: v128, r7: v128;
        if (bf) {
          r0 = wide4(row0 + o); r1 = wide4(row0 + rs + o); r2 = wide4(row0 + 2 * rs + o); r3 = wide4(row0 + 3 * rs + o);
          r4 = wide4(row0 + 4 * rs + o); r5 = wide4(row0 + 5 * rs + o); r6 = wide4(row0 + 6 * rs + o); r7 = wide4(row0 + 7 * rs + o);
        } else {
          r0 = v128.load(row0 + o); r1 = v128.load(row0 + rs + o); r2 = v128.load(row0 + 2 * rs + o); r3 = v128.load(row0 + 3 * rs + o);
          r4 = v128.load(row0 + 4 * rs + o); r5 = v128.load(row0 + 5 * rs + o); r6 = v128.load(row0 + 6 * rs + o); r7 = v128.load(row0 + 7 * rs + o);
        }
        const dst = panel + <usize>(k * 8) * 4;
        // transpose rows 0-3: t0 = [r0k0 r1k0 r0k1 r1k1], t1 = [r2k0 r3k0 r2k1 r3k1], ...
        let t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
        let t2 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7), t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
        v128.store(dst, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
        v128.store(dst, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7), 32);
        v128.store(dst, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5), 64);
        v128.store(dst, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7), 96);
        t0 = v128.shuffle<f32>(r4, r5, 0, 4, 1, 5); t1 = v128.shuffle<f32>(r6, r7, 0, 4, 1, 5);
        t2 = v128.shuffle<f32>(r4, r5, 2, 6, 3, 7); t3 = v128.shuffle<f32>(r6, r7, 2, 6, 3, 7);
        v128.store(dst, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5), 16);
        v128.store(dst, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7), 48);
        v128.store(dst, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5), 80);
        v128.store(dst, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7), 112);
      }
      for (let c = 0; c < 8; c++) {
        const n = j0 + p + c;
        if (c < cols) {
          if (!bf) {
            const src = w + (<usize>n * <usize>ldb + <usize>k0) * 4;
            for (let k = k4; k < kc; k++) {
              store<f32>(panel + <usize>(k * 8 + c) * 4, load<f32>(src + <usize>k * 4));
            }
          } else {
            const src = w + (<usize>n * <usize>ldb + <usize>k0) * 2;
            for (let k = k4; k < kc; k++) {
              store<u32>(panel + <usize>(k * 8 + c) * 4, <u32>load<u16>(src + <usize>k * 2) << 16);
            }
          }
        } else {
          for (let k = 0; k < kc; k++) store<f32>(panel + <usize>(k * 8 + c) * 4, 0);
        }
      }
    }
  }
}

// 4 bf16 at p widened to f32x4 (exact).
// @ts-ignore: decorator
@inline function wide4(p: usize): v128 {
  return i32x4.shl(i32x4.extend_low_i16x8_u(v128.load64_zero(p)), 16);
}

// Pack rows [i0, i0+mc) x columns [k0, k0+kc) of A into tiles of 4 rows:
// ap[t*kc*4 + k*4 + r] = A[i0+t*4+r, k0+k]; rows >= M are zero.
function packA(a: usize, lda: i32, M: i32, i0: i32, mc: i32, k0: i32, kc: i32, ap: usize): void {
  const k4 = kc & ~3;
  for (let t = 0; t < mc; t += 4) {
    const tile = ap + <usize>(t * kc) * 4; // t is the tile's first row: tile t/4 starts at (t/4)*kc*4
    if (i0 + t + 4 <= M) {
      // 4 full rows: 4x4 transposes, 4 k at a time
      const r0p = a + (<usize>(i0 + t) * <usize>lda + <usize>k0) * 4;
      const rs = <usize>lda * 4;
      for (let k = 0; k < k4; k += 4) {
        const o = <usize>k * 4;
        const r0 = v128.load(r0p + o), r1 = v128.load(r0p + rs + o);
        const r2 = v128.load(r0p + 2 * rs + o), r3 = v128.load(r0p + 3 * rs + o);
        const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
        const t2 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7), t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
        const dst = tile + <usize>(k * 4) * 4;
        v128.store(dst, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
        v128.store(dst, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7), 16);
        v128.store(dst, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5), 32);
        v128.store(dst, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7), 48);
      }
      for (let r = 0; r < 4; r++) {
        const src = r0p + <usize>r * rs;
        for (let k = k4; k < kc; k++) store<f32>(tile + <usize>(k * 4 + r) * 4, load<f32>(src + <usize>k * 4));
      }
      continue;
    }
    for (let r = 0; r < 4; r++) {
      const i = i0 + t + r;
      if (i < M) {
        const src = a + (<usize>i * <usize>lda + <usize>k0) * 4;
        for (let k = 0; k < kc; k++) store<f32>(tile + <usize>(k * 4 + r) * 4, load<f32>(src + <usize>k * 4));
      } else {
        for (let k = 0; k < kc; k++) store<f32>(tile + <usize>(k * 4 + r) * 4, 0);
      }
    }
  }
}

// The micro-kernel: a 4x8 tile of C (4 rows x two v128) += A tile (kc x 4) · B panel (kc x 8).
// `acc` = 0 on the first K block (start from zero), 1 afterwards (continue from C).
// @ts-ignore: decorator
@inline function micro4x8(kc: i32, ap: usize, bp: usize, c: usize, ldc: usize, acc: i32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  if (acc) {
    c00 = v128.load(c); c01 = v128.load(c, 16);
    c10 = v128.load(c + ldc); c11 = v128.load(c + ldc, 16);
    c20 = v128.load(c + 2 * ldc); c21 = v128.load(c + 2 * ldc, 16);
    c30 = v128.load(c + 3 * ldc); c31 = v128.load(c + 3 * ldc, 16);
  }
  // Loop on the B pointer (no separate counter): V8 then keeps the bound in a register; this
  // measured ~6% faster than a counted loop. Manual 2x unrolling or a 6x8 tile measured
  // slower (register pressure: V8 allocates 15 xmm registers).
  const bend = bp + <usize>kc * 32;
  while (bp < bend) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = madd(a, b0, c00); c01 = madd(a, b1, c01);
    a = v128.load32_splat(ap, 4);
    c10 = madd(a, b0, c10); c11 = madd(a, b1, c11);
    a = v128.load32_splat(ap, 8);
    c20 = madd(a, b0, c20); c21 = madd(a, b1, c21);
    a = v128.load32_splat(ap, 12);
    c30 = madd(a, b0, c30); c31 = madd(a, b1, c31);
    ap += 16;
    bp += 32;
  }
  v128.store(c, c00); v128.store(c, c01, 16);
  v128.store(c + ldc, c10); v128.store(c + ldc, c11, 16);
  v128.store(c + 2 * ldc, c20); v128.store(c + 2 * ldc, c21, 16);
  v128.store(c + 3 * ldc, c30); v128.store(c + 3 * ldc, c31, 16);
}

/**
 * C[:, n0:n1] = A · B for this thread's column range with the default blocking.
 * `scratch` holds gemm_scratch_bytes().
 */
export function gemm(M: i32, N: i32, K: i32, a: usize, lda: i32, bKind: i32, w: usize, ldb: i32,
  c: usize, ldc: i32, n0: i32, n1: i32, scratch: usize): void {
  gemm_blocked(M, N, K, a, lda, bKind, w, ldb, c, ldc, n0, n1, scratch, KC_DEFAULT, MC_DEFAULT, NC_DEFAULT);
}

/**
 * C[:, n0:n1] = A · B for this thread's column range. A [M, lda] f32, C [M, ldc] f32,
 * B per `bKind` with N columns and K rows, rows of the stored weight ldb elements apart.
 * Blocks: KC deep (>= 1), MC tall (multiple of 4), NC wide (multiple of 8); `scratch` holds
 * gemm_blocked_scratch_bytes(KC, MC, NC). The values do not depend on KC, MC or NC.
 */
export function gemm_blocked(M: i32, N: i32, K: i32, a: usize, lda: i32, bKind: i32, w: usize, ldb: i32,
  c: usize, ldc: i32, n0: i32, n1: i32, scratch: usize, KC: i32, MC: i32, NC: i32): void {
  if (M <= 0 || n1 <= n0) return;
  const bp = scratch;
  const ap = scratch + <usize>(KC * NC) * 4;
  const ct = ap + <usize>(KC * MC) * 4; // 4x8 tile for edges
  const ldcB = <usize>ldc * 4;
  if (K <= 0) {
    for (let i = 0; i < M; i++) for (let j = n0; j < n1; j++) store<f32>(c + <usize>i * ldcB + <usize>j * 4, 0);
    return;
  }
  // equal column blocks of at most NC (a short last block would repack A for little work)
  const nblk = (n1 - n0 + NC - 1) / NC;
  const ncb = (((n1 - n0 + nblk - 1) / nblk + 7) / 8) * 8;
  for (let jc = n0; jc < n1; jc += ncb) {
    const nc = min(ncb, n1 - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      const acc = pc > 0 ? 1 : 0;
      packB(bKind, w, ldb, pc, kc, jc, nc, n1, bp);
      for (let ic = 0; ic < M; ic += MC) {
        const mc = min(MC, M - ic);
        packA(a, lda, M, ic, mc, pc, kc, ap);
        for (let jr = 0; jr < nc; jr += 8) {
          const bpanel = bp + <usize>(jr * kc) * 4;
          const cols = min(8, nc - jr);
          for (let ir = 0; ir < mc; ir += 4) {
            const atile = ap + <usize>(ir * kc) * 4;
            const rows = min(4, mc - ir);
            const cptr = c + <usize>(ic + ir) * ldcB + <usize>(jc + jr) * 4;
            if (rows == 4 && cols == 8) {
              micro4x8(kc, atile, bpanel, cptr, ldcB, acc);
            } else {
              // edge tile: run on a 4x8 scratch tile, copy the valid part back
              for (let r = 0; r < 4; r++) for (let q = 0; q < 8; q++) {
                const v: f32 = acc && r < rows && q < cols ? load<f32>(cptr + <usize>r * ldcB + <usize>q * 4) : 0;
                store<f32>(ct + <usize>(r * 8 + q) * 4, v);
              }
              micro4x8(kc, atile, bpanel, ct, 32, acc);
              for (let r = 0; r < rows; r++) for (let q = 0; q < cols; q++) {
                store<f32>(cptr + <usize>r * ldcB + <usize>q * 4, load<f32>(ct + <usize>(r * 8 + q) * 4));
              }
            }
          }
        }
      }
    }
  }
}

/** C[i, j] += b[j] for rows [0, M) and columns [n0, n1) (bias after the GEMM, f32). */
export function add_bias(M: i32, c: usize, ldc: i32, b: usize, n0: i32, n1: i32): void {
  for (let i = 0; i < M; i++) {
    const row = c + <usize>i * <usize>ldc * 4;
    for (let j = n0; j < n1; j++) store<f32>(row + <usize>j * 4, load<f32>(row + <usize>j * 4) + load<f32>(b + <usize>j * 4));
  }
}

/** The SIMD128 mul+add ceiling for the benchmark: 12 independent v128 accumulators, each
 *  round does 12 f32x4 multiply-adds (96 flops; `iters` rounds, even) with no memory traffic. Returns a value
 *  derived from every accumulator so the loop cannot be removed. The multiplier `m` and the
 *  addend `k` are arguments (the caller passes 0.999999 and 1e-7): as compile-time constants
 *  some V8 versions (Deno 2.9's) rematerialise them inside the loop at every use, and the
 *  probe then measured instruction overhead (16 GFLOP/s) instead of the FP pipes. */
export function peak_madd(iters: i32, x: f32, m: f32, k: f32): f32 {
  const b = f32x4.splat(m);
  let a0 = f32x4.splat(x), a1 = f32x4.splat(x + 1), a2 = f32x4.splat(x + 2), a3 = f32x4.splat(x + 3);
  let a4 = f32x4.splat(x + 4), a5 = f32x4.splat(x + 5), a6 = f32x4.splat(x + 6), a7 = f32x4.splat(x + 7);
  let a8 = f32x4.splat(x + 8), a9 = f32x4.splat(x + 9), a10 = f32x4.splat(x + 10), a11 = f32x4.splat(x + 11);
  const c = f32x4.splat(k);
  // two rounds per iteration, so the loop's own instructions (counter, V8's back-edge stack
  // check) are amortised over 24 multiply-adds
  for (let i = 0; i < iters; i += 2) {
    a0 = madd(a0, b, c); a1 = madd(a1, b, c); a2 = madd(a2, b, c); a3 = madd(a3, b, c);
    a4 = madd(a4, b, c); a5 = madd(a5, b, c); a6 = madd(a6, b, c); a7 = madd(a7, b, c);
    a8 = madd(a8, b, c); a9 = madd(a9, b, c); a10 = madd(a10, b, c); a11 = madd(a11, b, c);
    a0 = madd(a0, b, c); a1 = madd(a1, b, c); a2 = madd(a2, b, c); a3 = madd(a3, b, c);
    a4 = madd(a4, b, c); a5 = madd(a5, b, c); a6 = madd(a6, b, c); a7 = madd(a7, b, c);
    a8 = madd(a8, b, c); a9 = madd(a9, b, c); a10 = madd(a10, b, c); a11 = madd(a11, b, c);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)), f32x4.add(f32x4.add(a4, a5), f32x4.add(a6, a7)));
  const t = f32x4.add(s, f32x4.add(f32x4.add(a8, a9), f32x4.add(a10, a11)));
  return f32x4.extract_lane(t, 0);
}
