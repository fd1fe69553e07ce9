// GEMV for decode: y[n] = Σ_k x[k] · W[n, k] with an nn.Linear weight W (N, K), one x row.
// Memory-bound: each weight is read once. bf16 weights stay bf16 in memory and are widened
// in registers.
//
// bf16 widening without shuffles: a v128 of 8 bf16 is, as i32x4, lane l = (w[2l+1] << 16) |
// w[2l]. `i32x4.shl(v, 16)` yields the even elements as f32, `v128.and(v, 0xffff0000)` the
// odd ones — two ALU ops per 8 weights. x is therefore prepared once per call in
// "deinterleaved" order (deinterleave8): per block of 8, [x0 x2 x4 x6 | x1 x3 x5 x7].
//
// Two schedules, chosen by K (measured, bench/kernels.mjs; AMD EPYC, V8):
// - K <= GEMV_ONE_ROW_MAX_K (x fits half of L1): ONE row at a time, six v128 accumulators
//   over 96-byte steps. The weights are then read as a single sequential stream; reading
//   8 rows at once (8 streams 6 KiB apart, K = 3072) ran at 24 GB/s of pure reads against
//   34 GB/s for one stream, and the 8-row GEMV at 20 against 30 for this one.
// - larger K: 8 rows per pass, one accumulator each, reusing every x load 8 times (one row
//   at a time fell to 14 GB/s at K = 8192, where x no longer stays in L1).
//
// Numerics: per block of 8, lane l adds x[k+2l]·w then x[k+2l+1]·w (mul then add, not
// fused). One-row schedule: 8-block b goes to accumulator b mod 6, the accumulators are
// combined lane-wise as ((a0 + a1) + (a2 + a3)) + (a4 + a5); 8-row schedule: one
// accumulator. Then the lanes: (s0 + s2) + (s1 + s3), then the K mod 8 tail in order.
// Error bound: |Δ| <= (K/4 + 6)·u·Σ|x_k·w_k| (u = 2^-24). The order is fixed per output
// element and per K, so the result does not depend on the thread split of N. Twin: a scalar
// loop with the same order in test/kernels/kernels.test.ts (bit-exact) and the f64 bound.

import { madd } from './madd';

/** xd[8b + l] = x[8b + 2l], xd[8b + 4 + l] = x[8b + 2l + 1] for the K - K%8 leading values. */
export function deinterleave8(x: usize, K: i32, xd: usize): void {
  const K8 = K & ~7;
  for (let k = 0; k < K8; k += 8) {
    const lo = v128.load(x + <usize>k * 4);
    const hi = v128.load(x + <usize>k * 4, 16);
    v128.store(xd + <usize>k * 4, v128.shuffle<f32>(lo, hi, 0, 2, 4, 6));
    v128.store(xd + <usize>k * 4, v128.shuffle<f32>(lo, hi, 1, 3, 5, 7), 16);
  }
}

// @ts-ignore: decorator
@inline function hsum(s: v128): f32 {
  return (f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 2)) + (f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 3));
}

// Lane sum, then the K mod 8 tail in order, stored to y[n] (no arrays: the stub runtime
// would allocate them in the shared memory).
function finishRow(a: v128, K8: i32, K: i32, x: usize, w: usize, rowB: usize, y: usize, n: i32): void {
  const wr = w + <usize>n * rowB;
  let s = hsum(a);
  for (let k = K8; k < K; k++) s += load<f32>(x + <usize>k * 4) * reinterpret<f32>(<u32>load<u16>(wr + <usize>k * 2) << 16);
  store<f32>(y + <usize>n * 4, s);
}

/** Largest K for the one-row schedule: deinterleaved x (4·K bytes) takes <= half of L1. */
export const GEMV_ONE_ROW_MAX_K: i32 = 4096;

// @ts-ignore: decorator
@inline function bf16Block(v: v128, xp: usize, off: usize, a: v128, hiMask: v128): v128 {
  return madd(v128.and(v, hiMask), v128.load(xp + off, 16), madd(i32x4.shl(v, 16), v128.load(xp + off), a));
}

/** One-row schedule (K <= GEMV_ONE_ROW_MAX_K): see the header. */
function gemv_bf16_rows1(K: i32, x: usize, xd: usize, w: usize, y: usize, n0: i32, n1: i32): void {
  const K8 = K & ~7;
  const K48 = <usize>(K8 / 48) * 96; // bytes of weights in whole 6-block steps
  const rowB = <usize>K * 2;
  const hiMask = i32x4.splat(0xffff0000);
  for (let n = n0; n < n1; n++) {
    let p = w + <usize>n * rowB;
    const end = p + K48;
    let xp = xd;
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0);
    let a3 = f32x4.splat(0), a4 = f32x4.splat(0), a5 = f32x4.splat(0);
    while (p < end) {
      a0 = bf16Block(v128.load(p), xp, 0, a0, hiMask);
      a1 = bf16Block(v128.load(p, 16), xp, 32, a1, hiMask);
      a2 = bf16Block(v128.load(p, 32), xp, 64, a2, hiMask);
      a3 = bf16Block(v128.load(p, 48), xp, 96, a3, hiMask);
      a4 = bf16Block(v128.load(p, 64), xp, 128, a4, hiMask);
      a5 = bf16Block(v128.load(p, 80), xp, 160, a5, hiMask);
      p += 96;
      xp += 192;
    }
    // the last K8/8 mod 6 blocks go to accumulators 0, 1, ... (block b -> b mod 6)
    const rest = (K8 - (K8 / 48) * 48) >> 3;
    if (rest > 0) a0 = bf16Block(v128.load(p), xp, 0, a0, hiMask);
    if (rest > 1) a1 = bf16Block(v128.load(p, 16), xp, 32, a1, hiMask);
    if (rest > 2) a2 = bf16Block(v128.load(p, 32), xp, 64, a2, hiMask);
    if (rest > 3) a3 = bf16Block(v128.load(p, 48), xp, 96, a3, hiMask);
    if (rest > 4) a4 = bf16Block(v128.load(p, 64), xp, 128, a4, hiMask);
    finishRow(f32x4.add(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)), f32x4.add(a4, a5)), K8, K, x, w, rowB, y, n);
  }
}

/** y[n] for n in [n0, n1): bf16 W (N, K) at w, x [K] f32 at x (tail), xd deinterleaved. */
export function gemv_bf16(K: i32, x: usize, xd: usize, w: usize, y: usize, n0: i32, n1: i32): void {
  if (K <= GEMV_ONE_ROW_MAX_K) {
    gemv_bf16_rows1(K, x, xd, w, y, n0, n1);
    return;
  }
  const K8 = K & ~7;
  const rowB = <usize>K * 2;
  const hiMask = i32x4.splat(0xffff0000);
  let n = n0;
  // 8 rows per pass, looping on the weight pointer: measured ~14% faster than 4 rows with a
  // counted loop (fewer address computations and x loads per weight byte).
  for (; n + 8 <= n1; n += 8) {
    let p = w + <usize>n * rowB;
    const end = p + <usize>K8 * 2;
    let xp = xd;
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let a4 = f32x4.splat(0), a5 = f32x4.splat(0), a6 = f32x4.splat(0), a7 = f32x4.splat(0);
    while (p < end) {
      const xe = v128.load(xp);
      const xo = v128.load(xp, 16);
      let v = v128.load(p);
      a0 = madd(v128.and(v, hiMask), xo, madd(i32x4.shl(v, 16), xe, a0));
      v = v128.load(p + rowB);
      a1 = madd(v128.and(v, hiMask), xo, madd(i32x4.shl(v, 16), xe, a1));
      v = v128.load(p + 2 * rowB);
      a2 = madd(v128.and(v, hiMask), xo, madd(i32x4.shl(v, 16), xe, a2));
      v = v128.load(p + 3 * rowB);
      a3 = madd(v128.and(v, hiMask), xo, madd(i32x4.shl(v, 16), xe, a3));
      v = v128.load(p + 4 * rowB);
      a4 = madd(v128.and(v, hiMask), xo, madd(i32x4.shl(v, 16), xe, a4));
      v = v128.load(p + 5 * rowB);
      a5 = madd(v128.and(v, hiMask), xo, madd(i32x4.shl(v, 16), xe, a5));
      v = v128.load(p + 6 * rowB);
      a6 = madd(v128.and(v, hiMask), xo, madd(i32x4.shl(v, 16), xe, a6));
      v = v128.load(p + 7 * rowB);
      a7 = madd(v128.and(v, hiMask), xo, madd(i32x4.shl(v, 16), xe, a7));
      p += 16;
      xp += 32;
    }
    finishRow(a0, K8, K, x, w, rowB, y, n);
    finishRow(a1, K8, K, x, w, rowB, y, n + 1);
    finishRow(a2, K8, K, x, w, rowB, y, n + 2);
    finishRow(a3, K8, K, x, w, rowB, y, n + 3);
    finishRow(a4, K8, K, x, w, rowB, y, n + 4);
    finishRow(a5, K8, K, x, w, rowB, y, n + 5);
    finishRow(a6, K8, K, x, w, rowB, y, n + 6);
    finishRow(a7, K8, K, x, w, rowB, y, n + 7);
  }
  for (; n + 4 <= n1; n += 4) {
    const w0 = w + <usize>n * rowB;
    const w1 = w0 + rowB, w2 = w1 + rowB, w3 = w2 + rowB;
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    for (let k = 0; k < K8; k += 8) {
      const xe = v128.load(xd + <usize>k * 4);
      const xo = v128.load(xd + <usize>k * 4, 16);
      const kb = <usize>k * 2;
      let v = v128.load(w0 + kb);
      a0 = madd(v128.and(v, hiMask), xo, madd(i32x4.shl(v, 16), xe, a0));
      v = v128.load(w1 + kb);
      a1 = madd(v128.and(v, hiMask), xo, madd(i32x4.shl(v, 16), xe, a1));
      v = v128.load(w2 + kb);
      a2 = madd(v128.and(v, hiMask), xo, madd(i32x4.shl(v, 16), xe, a2));
      v = v128.load(w3 + kb);
      a3 = madd(v128.and(v, hiMask), xo, madd(i32x4.shl(v, 16), xe, a3));
    }
    let s0 = hsum(a0), s1 = hsum(a1), s2 = hsum(a2), s3 = hsum(a3);
    for (let k = K8; k < K; k++) {
      const xk = load<f32>(x + <usize>k * 4);
      const kb = <usize>k * 2;
      s0 += xk * reinterpret<f32>(<u32>load<u16>(w0 + kb) << 16);
      s1 += xk * reinterpret<f32>(<u32>load<u16>(w1 + kb) << 16);
      s2 += xk * reinterpret<f32>(<u32>load<u16>(w2 + kb) << 16);
      s3 += xk * reinterpret<f32>(<u32>load<u16>(w3 + kb) << 16);
    }
    store<f32>(y + <usize>n * 4, s0);
    store<f32>(y + <usize>(n + 1) * 4, s1);
    store<f32>(y + <usize>(n + 2) * 4, s2);
    store<f32>(y + <usize>(n + 3) * 4, s3);
  }
  for (; n < n1; n++) {
    const w0 = w + <usize>n * rowB;
    let a0 = f32x4.splat(0);
    for (let k = 0; k < K8; k += 8) {
      const v = v128.load(w0 + <usize>k * 2);
      a0 = madd(i32x4.shl(v, 16), v128.load(xd + <usize>k * 4), a0);
      a0 = madd(v128.and(v, hiMask), v128.load(xd + <usize>k * 4, 16), a0);
    }
    let s0 = hsum(a0);
    for (let k = K8; k < K; k++) s0 += load<f32>(x + <usize>k * 4) * reinterpret<f32>(<u32>load<u16>(w0 + <usize>k * 2) << 16);
    store<f32>(y + <usize>n * 4, s0);
  }
}

/** y[n] for n in [n0, n1): f32 W (N, K). Same contract as gemv_bf16 but on plain x: per
 *  block of 8, lane l adds x[k+l]·w then x[k+4+l]·w. */
export function gemv_f32(K: i32, x: usize, w: usize, y: usize, n0: i32, n1: i32): void {
  const K8 = K & ~7;
  const rowB = <usize>K * 4;
  let n = n0;
  for (; n + 4 <= n1; n += 4) {
    const w0 = w + <usize>n * rowB;
    const w1 = w0 + rowB, w2 = w1 + rowB, w3 = w2 + rowB;
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    for (let k = 0; k < K8; k += 8) {
      const kb = <usize>k * 4;
      const xe = v128.load(x + kb);
      const xo = v128.load(x + kb, 16);
      a0 = madd(v128.load(w0 + kb, 16), xo, madd(v128.load(w0 + kb), xe, a0));
      a1 = madd(v128.load(w1 + kb, 16), xo, madd(v128.load(w1 + kb), xe, a1));
      a2 = madd(v128.load(w2 + kb, 16), xo, madd(v128.load(w2 + kb), xe, a2));
      a3 = madd(v128.load(w3 + kb, 16), xo, madd(v128.load(w3 + kb), xe, a3));
    }
    let s0 = hsum(a0), s1 = hsum(a1), s2 = hsum(a2), s3 = hsum(a3);
    for (let k = K8; k < K; k++) {
      const xk = load<f32>(x + <usize>k * 4);
      const kb = <usize>k * 4;
      s0 += xk * load<f32>(w0 + kb); s1 += xk * load<f32>(w1 + kb);
      s2 += xk * load<f32>(w2 + kb); s3 += xk * load<f32>(w3 + kb);
    }
    store<f32>(y + <usize>n * 4, s0);
    store<f32>(y + <usize>(n + 1) * 4, s1);
    store<f32>(y + <usize>(n + 2) * 4, s2);
    store<f32>(y + <usize>(n + 3) * 4, s3);
  }
  for (; n < n1; n++) {
    const w0 = w + <usize>n * rowB;
    let a0 = f32x4.splat(0);
    for (let k = 0; k < K8; k += 8) {
      const kb = <usize>k * 4;
      a0 = madd(v128.load(w0 + kb), v128.load(x + kb), a0);
      a0 = madd(v128.load(w0 + kb, 16), v128.load(x + kb, 16), a0);
    }
    let s0 = hsum(a0);
    for (let k = K8; k < K; k++) s0 += load<f32>(x + <usize>k * 4) * load<f32>(w0 + <usize>k * 4);
    store<f32>(y + <usize>n * 4, s0);
  }
}

/** Streaming read of [p, p + bytes) (bytes % 64 == 0) for the bandwidth reference in
 *  bench/kernels.mjs: 4 v128 loads per step into 4 independent integer accumulators, so the
 *  loop is bound by memory reads only. Returns a value that depends on every byte. */
export function read_stream(p: usize, bytes: usize): i32 {
  let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
  const end = p + bytes;
  while (p < end) {
    a0 = i32x4.add(a0, v128.load(p)); a1 = i32x4.add(a1, v128.load(p, 16));
    a2 = i32x4.add(a2, v128.load(p, 32)); a3 = i32x4.add(a3, v128.load(p, 48));
    p += 64;
  }
  const s = i32x4.add(i32x4.add(a0, a1), i32x4.add(a2, a3));
  return i32x4.extract_lane(s, 0) ^ i32x4.extract_lane(s, 1) ^ i32x4.extract_lane(s, 2) ^ i32x4.extract_lane(s, 3);
}
