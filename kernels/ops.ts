// Row-wise and elementwise kernels: dot, softmax, layer norm, RMS norm, gelu-tanh, gated
// activations, add/scale/softcap, rotary embedding, attention, bf16 widening.
// All pointers are byte offsets into this instance's (shared) memory; all data is f32
// unless a name says bf16. Each `Numerics:` note states order, lanes and the error bound;
// the twins are the readable operators in src/ops/ (bounds: test/ops/backend-suite.ts, run on
// this build by test/kernels/backend-suite-wasm.test.ts; bit-exact twins: test/kernels/row-ops.test.ts).

import { madd } from './madd';
import { gemm, gemm_scratch_bytes, B_F32_NK, B_F32_KN } from './gemm';
import { hi2, join2, lo2, vexp2, vexp_nonpos, vexp64, vtanh64 } from './vmath';

// ---------------------------------------------------------------------------------------
// Reductions in f64: a f32x4 is split into two f64x2 (promote is exact).
// @ts-ignore: decorator
@inline function lo64(v: v128): v128 { return f64x2.promote_low_f32x4(v); }
// @ts-ignore: decorator
@inline function hi64(v: v128): v128 { return f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1)); }
// @ts-ignore: decorator
@inline function hsum64(a: v128, b: v128): f64 {
  const s = f64x2.add(a, b);
  return f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
}
// @ts-ignore: decorator
@inline function hsum4(s: v128): f32 {
  return (f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 2)) + (f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 3));
}

/** Σ a[i]·b[i] in f32. Numerics: lane l of two accumulators sums i ≡ l and i ≡ 4+l (mod 8),
 *  mul then add; s = acc0 + acc1, (s0+s2)+(s1+s3), tail in order. |Δ| <= (n/8+3)·u·Σ|ab|. */
export function dot(a: usize, b: usize, n: i32): f32 {
  const n8 = n & ~7;
  let e = f32x4.splat(0), o = f32x4.splat(0);
  for (let i = 0; i < n8; i += 8) {
    const p = <usize>i * 4;
    e = madd(v128.load(a + p), v128.load(b + p), e);
    o = madd(v128.load(a + p, 16), v128.load(b + p, 16), o);
  }
  let s = hsum4(f32x4.add(e, o));
  for (let i = n8; i < n; i++) s += load<f32>(a + <usize>i * 4) * load<f32>(b + <usize>i * 4);
  return s;
}

/** dst[i] = bf16 src[i] widened to f32 (exact). */
export function widen_bf16(src: usize, dst: usize, n: i32): void {
  const n8 = n & ~7;
  for (let i = 0; i < n8; i += 8) {
    const h = v128.load(src + <usize>i * 2);
    v128.store(dst + <usize>i * 4, i32x4.shl(i32x4.extend_low_i16x8_u(h), 16));
    v128.store(dst + <usize>i * 4, i32x4.shl(i32x4.extend_high_i16x8_u(h), 16), 16);
  }
  for (let i = n8; i < n; i++) store<u32>(dst + <usize>i * 4, <u32>load<u16>(src + <usize>i * 2) << 16);
}

// ---------------------------------------------------------------------------------------
/** Largest non-NaN value of x[0, n) with pmax (its first operand wins when the comparison is
 *  false, so a NaN x is skipped); -inf for an empty or all-NaN row. Exact, so order-free. */
// @ts-ignore: decorator
@inline function row_max(xr: usize, n: i32): f32 {
  let mv = f32x4.splat(-Infinity);
  const n4 = n & ~3;
  for (let i = 0; i < n4; i += 4) mv = f32x4.pmax(mv, v128.load(xr + <usize>i * 4));
  return max_tail(mv, xr, n4, n);
}
/** pmax over the lanes of mv and x[i0, n), NaN skipped as in row_max. */
// @ts-ignore: decorator
@inline function max_tail(mv: v128, xr: usize, i0: i32, n: i32): f32 {
  const l0 = f32x4.extract_lane(mv, 0), l1 = f32x4.extract_lane(mv, 1);
  const l2 = f32x4.extract_lane(mv, 2), l3 = f32x4.extract_lane(mv, 3);
  const a = l0 < l1 ? l1 : l0, b = l2 < l3 ? l3 : l2;
  let m = a < b ? b : a;
  for (let i = i0; i < n; i++) { const v = load<f32>(xr + <usize>i * 4); m = m < v ? v : m; }
  return m;
}

/** Softmax over each of `rows` rows of length n (x may equal y).
 *  Numerics: m = max x (exact; in a row with a NaN, m may be any value, which does not matter:
 *  see below); e = vexp_nonpos(x - m) (<= 2 ulp); Σe in
 *  f64; y = e · f32(1/Σe) (the reciprocal in f64, rounded once, then one f32 mul, as torch's
 *  CPU softmax multiplies by 1/Σ). Relative error per element <= 4 ulp. A NaN in x, a +inf
 *  (inf - inf) or a row of -inf makes some x - m NaN, so Σe is NaN and the whole row is NaN,
 *  as in torch — with no test in the loops.
 *  Order of Σe: per 16 elements (four vectors e0..e3) the f32 lanes T = (e0 + e1) + (e2 + e3);
 *  lane l of s0/s1 (f64) sums T[l] over the blocks in order, then the remaining vectors of
 *  the n mod 16 part one by one, then (l0 + l2) + (l1 + l3), then the n mod 4 tail in order
 *  (twin: test/kernels/row-ops.test.ts).
 *  Speed: compute-bound on the exp (~25 vector ops per 4 elements), so the memory-bound max
 *  of the next row is taken inside this row's exp pass (its loads overlap the arithmetic);
 *  four vectors per step for independent chains. */
export function softmax_rows(x: usize, y: usize, rows: i32, n: i32): void {
  if (rows <= 0) return;
  const rowBytes = <usize>n * 4;
  let m = row_max(x, n);
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * rowBytes, yr = y + <usize>r * rowBytes;
    // exp pass; m becomes the next row's max (taken on the way), sum this row's Σe
    let sum: f64;
    if (r + 1 < rows) {
      const xn = xr + rowBytes;
      const mv = softmax_exp_pass(xr, yr, n, m, xn, true);
      sum = exp_sum;
      m = max_tail(mv, xn, n & ~3, n);
    } else {
      softmax_exp_pass(xr, yr, n, m, xr, false);
      sum = exp_sum;
    }
    const inv = <f32>(1.0 / sum);
    const sv = f32x4.splat(inv);
    const n4 = n & ~3;
    let i = 0;
    for (; i < n4; i += 4) v128.store(yr + <usize>i * 4, f32x4.mul(v128.load(yr + <usize>i * 4), sv));
    for (; i < n; i++) store<f32>(yr + <usize>i * 4, load<f32>(yr + <usize>i * 4) * inv);
  }
}

/** Σe of the last softmax_exp_pass (a second return value). */
let exp_sum: f64 = 0;

/** y = vexp_nonpos(x - m) over one row, Σe into exp_sum; with `next`, also the running pmax of
 *  the row at xn over the first n & ~3 elements (returned; the caller adds the tail). */
// @ts-ignore: decorator
@inline function softmax_exp_pass(xr: usize, yr: usize, n: i32, m: f32, xn: usize, next: bool): v128 {
  const n4 = n & ~3, n16 = n & ~15;
  const ms = f32x4.splat(m);
  let mv = f32x4.splat(-Infinity);
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
  let i = 0;
  for (; i < n16; i += 16) {
    const p = xr + <usize>i * 4, q = yr + <usize>i * 4;
    const e0 = vexp_nonpos(f32x4.sub(v128.load(p), ms)), e1 = vexp_nonpos(f32x4.sub(v128.load(p, 16), ms));
    const e2 = vexp_nonpos(f32x4.sub(v128.load(p, 32), ms)), e3 = vexp_nonpos(f32x4.sub(v128.load(p, 48), ms));
    v128.store(q, e0); v128.store(q, e1, 16); v128.store(q, e2, 32); v128.store(q, e3, 48);
    const t = f32x4.add(f32x4.add(e0, e1), f32x4.add(e2, e3));
    s0 = f64x2.add(s0, lo64(t)); s1 = f64x2.add(s1, hi64(t));
    if (next) {
      const pn = xn + <usize>i * 4;
      const a = f32x4.pmax(v128.load(pn), v128.load(pn, 16)), b = f32x4.pmax(v128.load(pn, 32), v128.load(pn, 48));
      mv = f32x4.pmax(mv, f32x4.pmax(a, b));
    }
  }
  for (; i < n4; i += 4) {
    const e = vexp_nonpos(f32x4.sub(v128.load(xr + <usize>i * 4), ms));
    v128.store(yr + <usize>i * 4, e);
    s0 = f64x2.add(s0, lo64(e)); s1 = f64x2.add(s1, hi64(e));
    if (next) mv = f32x4.pmax(mv, v128.load(xn + <usize>i * 4));
  }
  let sum = hsum64(s0, s1);
  for (; i < n; i++) {
    const e = f32x4.extract_lane(vexp_nonpos(f32x4.splat(load<f32>(xr + <usize>i * 4) - m)), 0);
    store<f32>(yr + <usize>i * 4, e);
    sum += <f64>e;
  }
  exp_sum = sum;
  return mv;
}

/** LayerNorm rows: y = (x - mean)·rstd·w + b (w, b f32 [n]).
 *  Numerics: mean and biased variance (two-pass, Σ(x - mean)²) accumulated in f64;
 *  mean and rstd = 1/sqrt(var + eps) rounded to f32 once; then per element in f32:
 *  y = fl(fl(fl(x - mean)·rstd)·w) + b. |Δ| vs an f64 evaluation <= ~4 ulp of |y| + 2u·|b|.
 *  Order of each f64 sum: lane l of s0/s1 sums over i ≡ l (mod 4) in increasing i, then
 *  (l0 + l2) + (l1 + l3), then the n mod 4 tail in order (twin: test/kernels/row-ops.test.ts).
 *  Speed: each sum is one chain of dependent f64 adds (3-4 cycles per 4 elements), so two
 *  rows are summed side by side (two independent chains); every row keeps its own order. */
export function layer_norm_rows(x: usize, y: usize, rows: i32, n: i32, w: usize, b: usize, eps: f32): void {
  let r = 0;
  for (; r + 2 <= rows; r += 2) {
    const xa = x + <usize>r * <usize>n * 4, xb = xa + <usize>n * 4;
    const ya = y + <usize>r * <usize>n * 4, yb = ya + <usize>n * 4;
    const m = ln_means2(xa, xb, n);
    const ma = f64x2.extract_lane(m, 0), mb = f64x2.extract_lane(m, 1);
    const v = ln_sums2(xa, xb, n, ma, mb);
    ln_out(xa, ya, n, w, b, ma, f64x2.extract_lane(v, 0), eps);
    ln_out(xb, yb, n, w, b, mb, f64x2.extract_lane(v, 1), eps);
  }
  for (; r < rows; r++) {
    const xr = x + <usize>r * <usize>n * 4;
    const yr = y + <usize>r * <usize>n * 4;
    const mean = ln_mean(xr, n);
    ln_out(xr, yr, n, w, b, mean, ln_sq(xr, n, mean), eps);
  }
}

/** Σx / n of one row in layer_norm_rows's order. */
// @ts-ignore: decorator
@inline function ln_mean(xr: usize, n: i32): f64 {
  const n4 = n & ~3;
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
  for (let i = 0; i < n4; i += 4) {
    const v = v128.load(xr + <usize>i * 4);
    s0 = f64x2.add(s0, lo64(v)); s1 = f64x2.add(s1, hi64(v));
  }
  let sum = hsum64(s0, s1);
  for (let i = n4; i < n; i++) sum += <f64>load<f32>(xr + <usize>i * 4);
  return sum / <f64>n;
}

/** Σ(x - mean)² of one row in layer_norm_rows's order. */
// @ts-ignore: decorator
@inline function ln_sq(xr: usize, n: i32, mean: f64): f64 {
  const n4 = n & ~3;
  const mv = f64x2.splat(mean);
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
  for (let i = 0; i < n4; i += 4) {
    const v = v128.load(xr + <usize>i * 4);
    const d0 = f64x2.sub(lo64(v), mv), d1 = f64x2.sub(hi64(v), mv);
    s0 = f64x2.add(s0, f64x2.mul(d0, d0)); s1 = f64x2.add(s1, f64x2.mul(d1, d1));
  }
  let ss = hsum64(s0, s1);
  for (let i = n4; i < n; i++) { const d = <f64>load<f32>(xr + <usize>i * 4) - mean; ss += d * d; }
  return ss;
}

/** ln_mean of two rows side by side (lane 0: row a, lane 1: row b): two independent chains. */
function ln_means2(xa: usize, xb: usize, n: i32): v128 {
  const n4 = n & ~3;
  let a0 = f64x2.splat(0), a1 = f64x2.splat(0), b0 = f64x2.splat(0), b1 = f64x2.splat(0);
  for (let i = 0; i < n4; i += 4) {
    const p = <usize>i * 4;
    const va = v128.load(xa + p), vb = v128.load(xb + p);
    a0 = f64x2.add(a0, lo64(va)); a1 = f64x2.add(a1, hi64(va));
    b0 = f64x2.add(b0, lo64(vb)); b1 = f64x2.add(b1, hi64(vb));
  }
  let sa = hsum64(a0, a1), sb = hsum64(b0, b1);
  for (let i = n4; i < n; i++) {
    const p = <usize>i * 4;
    sa += <f64>load<f32>(xa + p); sb += <f64>load<f32>(xb + p);
  }
  return f64x2.replace_lane(f64x2.splat(sa / <f64>n), 1, sb / <f64>n);
}

/** ln_sq of two rows side by side (lane 0: row a, lane 1: row b): two independent chains. */
function ln_sums2(xa: usize, xb: usize, n: i32, ma: f64, mb: f64): v128 {
  const n4 = n & ~3;
  const mva = f64x2.splat(ma), mvb = f64x2.splat(mb);
  let a0 = f64x2.splat(0), a1 = f64x2.splat(0), b0 = f64x2.splat(0), b1 = f64x2.splat(0);
  for (let i = 0; i < n4; i += 4) {
    const p = <usize>i * 4;
    const va = v128.load(xa + p), vb = v128.load(xb + p);
    const da0 = f64x2.sub(lo64(va), mva), da1 = f64x2.sub(hi64(va), mva);
    const db0 = f64x2.sub(lo64(vb), mvb), db1 = f64x2.sub(hi64(vb), mvb);
    a0 = f64x2.add(a0, f64x2.mul(da0, da0)); a1 = f64x2.add(a1, f64x2.mul(da1, da1));
    b0 = f64x2.add(b0, f64x2.mul(db0, db0)); b1 = f64x2.add(b1, f64x2.mul(db1, db1));
  }
  let sa = hsum64(a0, a1), sb = hsum64(b0, b1);
  for (let i = n4; i < n; i++) {
    const p = <usize>i * 4;
    const da = <f64>load<f32>(xa + p) - ma, db = <f64>load<f32>(xb + p) - mb;
    sa += da * da; sb += db * db;
  }
  return f64x2.replace_lane(f64x2.splat(sa), 1, sb);
}

/** y = fl(fl(fl(x - mean)·rstd)·w) + b for one row, given its mean and Σ(x - mean)². */
// @ts-ignore: decorator
@inline function ln_out(xr: usize, yr: usize, n: i32, w: usize, b: usize, mean: f64, ss: f64, eps: f32): void {
  const n4 = n & ~3;
  const rstd = <f32>(1.0 / Math.sqrt(ss / <f64>n + <f64>eps));
  const m32 = <f32>mean;
  const mvs = f32x4.splat(m32), rv = f32x4.splat(rstd);
  for (let i = 0; i < n4; i += 4) {
    const p = <usize>i * 4;
    const t = f32x4.mul(f32x4.sub(v128.load(xr + p), mvs), rv);
    v128.store(yr + p, f32x4.add(f32x4.mul(t, v128.load(w + p)), v128.load(b + p)));
  }
  for (let i = n4; i < n; i++) {
    const p = <usize>i * 4;
    store<f32>(yr + p, ((load<f32>(xr + p) - m32) * rstd) * load<f32>(w + p) + load<f32>(b + p));
  }
}

/** RMSNorm rows: y = fl(x·r)·fl(w + offset), r = f32(1/sqrt(mean(x²) + eps)).
 *  Numerics: Σx² in f64 (each x² exact); r rounded to f32 once (HF computes rsqrt in f32:
 *  <= 1 ulp apart); then two f32 multiplies. |Δ| <= ~3 ulp of |y|. offset 0 Llama, 1 Gemma2. */
export function rms_norm_rows(x: usize, y: usize, rows: i32, n: i32, w: usize, eps: f32, offset: f32): void {
  const n4 = n & ~3;
  const off = f32x4.splat(offset);
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * <usize>n * 4;
    const yr = y + <usize>r * <usize>n * 4;
    let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
    for (let i = 0; i < n4; i += 4) {
      const v = v128.load(xr + <usize>i * 4);
      const a = lo64(v), c = hi64(v);
      s0 = f64x2.add(s0, f64x2.mul(a, a)); s1 = f64x2.add(s1, f64x2.mul(c, c));
    }
    let ss = hsum64(s0, s1);
    for (let i = n4; i < n; i++) { const v = <f64>load<f32>(xr + <usize>i * 4); ss += v * v; }
    const rr = <f32>(1.0 / Math.sqrt(ss / <f64>n + <f64>eps));
    const rv = f32x4.splat(rr);
    for (let i = 0; i < n4; i += 4) {
      const p = <usize>i * 4;
      v128.store(yr + p, f32x4.mul(f32x4.mul(v128.load(xr + p), rv), f32x4.add(v128.load(w + p), off)));
    }
    for (let i = n4; i < n; i++) {
      const p = <usize>i * 4;
      store<f32>(yr + p, (load<f32>(xr + p) * rr) * (load<f32>(w + p) + offset));
    }
  }
}

// ---------------------------------------------------------------------------------------
// Elementwise. Each processes [i0, i1) so threads can split long arrays.

// gelu_pytorch_tanh = 0.5·x·(1 + tanh(u)) = x·σ(2u) = x / (1 + e^{-2u}), u = √(2/π)·(x + 0.044715·x³).
// The σ form has no cancellation for negative x (torch's 1 + tanh(u) loses all bits there).
// Numerics (f32): w = -2u·log2 e = x·(k1 + k2·x²) with k1 = -2√(2/π)·log2 e, k2 = 0.044715·k1
// (f32 constants, reference/fit_exp_poly.py): x², k2·x², + k1, ·x, each rounded (k1 and
// k2·x² have the same sign: no cancellation), so |Δw| <= ~5u·|w|; then y = x / (1 + vexp2(w)).
// e^{-2u} = 2^w inherits |Δw|·ln2 = ~3.5u·|2u| of relative error, damped by 2^w/(1 + 2^w);
// with vexp2 (1.5 ulp), the add and the division: |Δy| <= (3 + 3.5·|2u|)·u·|y|. It grows
// only where y is tiny (|2u| = 20 at x = -5.6, y = -1e-8); torch's own f32 1 + tanh(u) is
// off by 2^-24/|1 + tanh(u)| relative there (docs/kernels.md compares the two).
// x = +inf -> inf, x = -inf -> NaN (torch: -inf·0 = NaN too), x << 0 -> -0.
// @ts-ignore: decorator
@inline function gelu32(x: v128): v128 {
  const x2 = f32x4.mul(x, x);
  const w = f32x4.mul(x, f32x4.add(f32x4.splat(-2.302208185195923), f32x4.mul(x2, f32x4.splat(-0.10294324159622192))));
  return f32x4.div(x, f32x4.add(f32x4.splat(1.0), vexp2(w)));
}
// silu and softcap in f64 lanes (see vmath.ts): one f32 rounding at the end, like the TS twins.
// @ts-ignore: decorator
@inline function silu64(x: v128): v128 {
  // x·σ(x) = x / (1 + e^{-x}); e^{-x} saturates at e^700 for x < -700, giving -0 after rounding.
  return f64x2.div(x, f64x2.add(f64x2.splat(1.0), vexp64(f64x2.neg(x))));
}
// @ts-ignore: decorator
@inline function vsilu(x: v128): v128 { return join2(silu64(lo2(x)), silu64(hi2(x))); }
// @ts-ignore: decorator
@inline function vcap(x: v128, c: v128): v128 {
  return join2(f64x2.mul(c, vtanh64(f64x2.div(lo2(x), c))), f64x2.mul(c, vtanh64(f64x2.div(hi2(x), c))));
}

// Apply a v128 -> v128 op to [i0, i1) with a scalar-lane tail (the tail goes through the
// same vector code with one lane, so every element sees identical arithmetic).
/** Numerics: gelu32 per element (<= (3 + 3.5·|2u|) ulp).
 *  Speed: 16 elements (four independent vectors) per step; each element's arithmetic is the
 *  same whichever loop takes it (the tail goes through lane 0). x may equal y. */
export function gelu_tanh(x: usize, y: usize, i0: i32, i1: i32): void {
  let i = i0;
  for (; i + 16 <= i1; i += 16) {
    const p = <usize>i * 4;
    const a = gelu32(v128.load(x + p)), b = gelu32(v128.load(x + p, 16));
    const c = gelu32(v128.load(x + p, 32)), d = gelu32(v128.load(x + p, 48));
    v128.store(y + p, a); v128.store(y + p, b, 16); v128.store(y + p, c, 32); v128.store(y + p, d, 48);
  }
  for (; i + 4 <= i1; i += 4) v128.store(y + <usize>i * 4, gelu32(v128.load(x + <usize>i * 4)));
  for (; i < i1; i++) store<f32>(y + <usize>i * 4, f32x4.extract_lane(gelu32(f32x4.splat(load<f32>(x + <usize>i * 4))), 0));
}

/** y = f32(act(g))·u; act 0 = silu, 1 = gelu_tanh (torch rounds act(g) to f32 first).
 *  Numerics: silu in f64 (<= 0.5 ulp + 2^-30), gelu as gelu_tanh; then one f32 mul (+0.5 ulp). */
export function gated(g: usize, u: usize, y: usize, act: i32, i0: i32, i1: i32): void {
  let i = i0;
  if (act == 0) {
    for (; i + 4 <= i1; i += 4) {
      const p = <usize>i * 4;
      v128.store(y + p, f32x4.mul(vsilu(v128.load(g + p)), v128.load(u + p)));
    }
    for (; i < i1; i++) {
      const p = <usize>i * 4;
      store<f32>(y + p, f32x4.extract_lane(vsilu(f32x4.splat(load<f32>(g + p))), 0) * load<f32>(u + p));
    }
  } else {
    for (; i + 4 <= i1; i += 4) {
      const p = <usize>i * 4;
      v128.store(y + p, f32x4.mul(gelu32(v128.load(g + p)), v128.load(u + p)));
    }
    for (; i < i1; i++) {
      const p = <usize>i * 4;
      store<f32>(y + p, f32x4.extract_lane(gelu32(f32x4.splat(load<f32>(g + p))), 0) * load<f32>(u + p));
    }
  }
}

/** y = a + b (exact f32 add, bit-identical to the twin). */
export function add(a: usize, b: usize, y: usize, i0: i32, i1: i32): void {
  let i = i0;
  for (; i + 4 <= i1; i += 4) { const p = <usize>i * 4; v128.store(y + p, f32x4.add(v128.load(a + p), v128.load(b + p))); }
  for (; i < i1; i++) { const p = <usize>i * 4; store<f32>(y + p, load<f32>(a + p) + load<f32>(b + p)); }
}

/** SigLIP patch unfold (Conv2d kernel P, stride P, 'valid'): pixels [n, C, S, S] at px ->
 *  rows [n·g·g, C·P·P] at y for patch rows r in [r0, r1), r = (b·g + gy)·g + gx, each row in
 *  the conv weight's (c, ky, kx) order. An exact copy (twin: src/ops/patch-embed.ts). */
export function unfold_patches(px: usize, C: i32, S: i32, P: i32, y: usize, r0: i32, r1: i32): void {
  const g = S / P;
  const L = C * P * P;
  for (let r = r0; r < r1; r++) {
    const b = r / (g * g), gy = (r / g) % g, gx = r % g;
    let o = y + <usize>r * L * 4;
    for (let c = 0; c < C; c++) {
      for (let ky = 0; ky < P; ky++) {
        const src = px + (<usize>((b * C + c) * S + gy * P + ky) * S + gx * P) * 4;
        let kx = 0;
        for (; kx + 4 <= P; kx += 4) v128.store(o + <usize>kx * 4, v128.load(src + <usize>kx * 4));
        for (; kx < P; kx++) store<f32>(o + <usize>kx * 4, load<f32>(src + <usize>kx * 4));
        o += <usize>P * 4;
      }
    }
  }
}

/** y = x·s (one f32 mul, bit-identical to the twin). */
export function scale(x: usize, y: usize, s: f32, i0: i32, i1: i32): void {
  const sv = f32x4.splat(s);
  let i = i0;
  for (; i + 4 <= i1; i += 4) { const p = <usize>i * 4; v128.store(y + p, f32x4.mul(v128.load(x + p), sv)); }
  for (; i < i1; i++) { const p = <usize>i * 4; store<f32>(y + p, load<f32>(x + p) * s); }
}

/** y = c·tanh(x/c). Numerics: x/c, tanh and ·c in f64 (vtanh64), one f32 rounding:
 *  <= 0.5 ulp of |y| + 3·2^-52·c absolute. */
export function softcap(x: usize, y: usize, c: f32, i0: i32, i1: i32): void {
  const cv = f64x2.splat(<f64>c);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const p = <usize>i * 4;
    v128.store(y + p, vcap(v128.load(x + p), cv));
  }
  for (; i < i1; i++) {
    const p = <usize>i * 4;
    store<f32>(y + p, f32x4.extract_lane(vcap(f32x4.splat(load<f32>(x + p)), cv), 0));
  }
}

/** Rotate-half RoPE in place on rows [t0, t1) of x [T, nHeads·hd]; cos/sin [T, hd].
 *  out[i] = x[i]·cos[i] - x[i+h]·sin[i], out[i+h] = x[i+h]·cos[i+h] + x[i]·sin[i+h], h = hd/2.
 *  Numerics: two f32 products and one add/sub per element, same as HF's q·cos + rot(q)·sin
 *  (negation is exact): bit-identical to the twin. */
export function rope(x: usize, nHeads: i32, hd: i32, cos: usize, sin: usize, t0: i32, t1: i32): void {
  const half = hd >> 1;
  const h4 = half & ~3;
  for (let t = t0; t < t1; t++) {
    const ct = cos + <usize>t * <usize>hd * 4;
    const st = sin + <usize>t * <usize>hd * 4;
    for (let h = 0; h < nHeads; h++) {
      const xr = x + (<usize>t * <usize>nHeads + <usize>h) * <usize>hd * 4;
      let i = 0;
      for (; i < h4; i += 4) {
        const p = <usize>i * 4, q = <usize>(i + half) * 4;
        const x1 = v128.load(xr + p), x2 = v128.load(xr + q);
        v128.store(xr + p, f32x4.sub(f32x4.mul(x1, v128.load(ct + p)), f32x4.mul(x2, v128.load(st + p))));
        v128.store(xr + q, f32x4.add(f32x4.mul(x2, v128.load(ct + q)), f32x4.mul(x1, v128.load(st + q))));
      }
      for (; i < half; i++) {
        const p = <usize>i * 4, q = <usize>(i + half) * 4;
        const x1 = load<f32>(xr + p), x2 = load<f32>(xr + q);
        store<f32>(xr + p, x1 * load<f32>(ct + p) - x2 * load<f32>(st + p));
        store<f32>(xr + q, x2 * load<f32>(ct + q) + x1 * load<f32>(st + q));
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// Attention for decode (Tq < 16) in passes that each walk the rows of K or V in address
// order (every kv head of a row, then the next row) — the order the hardware prefetchers
// follow. The cache rows are Nkv·Dh floats wide; a loop over one kv head at a time reads Dh
// floats out of each row (512 B of 4 KiB on Llama 3.2 3B), a new page per row, and ran at a
// third of the read bandwidth; half rows per thread (a kv-head split) still lost a third.
//   1. attention_decode_scores, tasks = key ranges [j0, j1): s_j = scale·(q·k_j) for every
//      query i, head h and visible key j, into the shared score rows S[i, h, :].
//   2. attention_decode_softmax, tasks = score rows (i, h): softcap c·tanh(s/c) when c > 0,
//      then an exact softmax over the visible range (softmax_rows), p in place of s.
//   3. attention_decode_pv, tasks = key blocks of ATT_PVB keys [b·PVB, (b+1)·PVB): per block,
//      query and head the partial sum Σ_j p_j·v_j over the block's visible keys.
//   4. attention_decode_combine: o = the partials of a row's visible blocks added in block order.
// q [Tq, Nq·Dh], k/v [Tk, Nkv·Dh], o [Tq, Nq·Dh]; scratch: S [Tq, Nq, srow(Tk)] then the
// partials [nblocks, Tq, Nq, Dh]. Query head h uses kv head h / G, G = Nq/Nkv. Visible keys
// form one range [jlo, jhi) (qpos = qPos0 + i, kpos = kPos0 + j): causal kpos <= qpos;
// window W > 0: qpos - kpos < W. The whole score row fits in scratch, so no online
// rescaling is needed: the kernels keep HF's order (scores, softcap, softmax, P·V).
//
// Numerics (no value depends on the thread count or on how tasks are cut: blocks are fixed
// by key index): q·k_j with 4-lane accumulation (lane l sums d ≡ l mod 4, mul then add),
// then (l0+l2)+(l1+l3), tail d in order, times scale (one f32 mul); softmax as softmax_rows;
// P·V per output element sequentially in j within each block of ATT_PVB keys (mul then add,
// from 0), the block sums added in block order. Bounds: scores <= (Dh/4+2)·u·Σ|q·k| + 1 ulp;
// probabilities <= 4 ulp + the score error's effect (|Δp/p| <= 2·max|Δs|); output <=
// (min(Tk, PVB) + Tk/PVB)·u·Σ|p·v| + that.
// Speed: 4 keys at a time; query heads in pairs, so each key (value) vector loaded from L1
// feeds two heads; the 4 dot products of a head end in one 4x4 transpose-add (hsum4x4: the
// same sums as four hsum4) and one 4-score store; inner loops two vectors per iteration.

/** Keys per P·V block (the unit of P·V tasks; partial sums of Nq·Dh floats per block and query). */
export const ATT_PVB: i32 = 256;

/** Floats per score row: Tk rounded up to 4 (rows start 16-byte aligned). */
// @ts-ignore: decorator
@inline function att_srow(Tk: i32): i32 { return (Tk + 3) & ~3; }

/** Scratch bytes of attention_decode_*, shared by the threads: the score rows S [Tq, Nq, srow(Tk)]
 *  and the P·V partials [ceil(Tk / ATT_PVB), Tq, Nq, Dh]. */
export function attention_decode_scratch_bytes(Tq: i32, Tk: i32, Nq: i32, Dh: i32): i32 {
  return Tq * Nq * (att_srow(Tk) + (Tk + ATT_PVB - 1) / ATT_PVB * Dh) * 4;
}

// @ts-ignore: decorator
@inline function vis_lo(qpos: i32, kPos0: i32, window: i32): i32 { return window > 0 ? max(0, qpos - window - kPos0 + 1) : 0; }
// @ts-ignore: decorator
@inline function vis_hi(qpos: i32, kPos0: i32, causal: i32, Tk: i32): i32 { return causal ? min(Tk, qpos - kPos0 + 1) : Tk; }

/** Lane l = (a_l[0] + a_l[2]) + (a_l[1] + a_l[3]): four hsum4 at once, the same bits. */
// @ts-ignore: decorator
@inline function hsum4x4(a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  const s01 = f32x4.add(v128.shuffle<f32>(a0, a1, 0, 4, 1, 5), v128.shuffle<f32>(a0, a1, 2, 6, 3, 7));
  const s23 = f32x4.add(v128.shuffle<f32>(a2, a3, 0, 4, 1, 5), v128.shuffle<f32>(a2, a3, 2, 6, 3, 7));
  return f32x4.add(v128.shuffle<f32>(s01, s23, 0, 1, 4, 5), v128.shuffle<f32>(s01, s23, 2, 3, 6, 7));
}

/** t + q[d]·(k0[d], k1[d], k2[d], k3[d]) for the d >= d4 tail (f32 mul then add, as a scalar loop). */
// @ts-ignore: decorator
@inline function tail4(t: v128, q: usize, k0: usize, ks: usize, d4: i32, Dh: i32): v128 {
  for (let d = d4; d < Dh; d++) {
    const p = <usize>d * 4;
    let kv = f32x4.splat(load<f32>(k0 + p));
    kv = f32x4.replace_lane(kv, 1, load<f32>(k0 + ks + p));
    kv = f32x4.replace_lane(kv, 2, load<f32>(k0 + 2 * ks + p));
    kv = f32x4.replace_lane(kv, 3, load<f32>(k0 + 3 * ks + p));
    t = f32x4.add(t, f32x4.mul(f32x4.splat(load<f32>(q + p)), kv));
  }
  return t;
}

/** Scores of keys k0, k0+ks, k0+2ks, k0+3ks for heads qa and qa+Dh -> 4 floats at sa and at sa+sRow. */
// @ts-ignore: decorator
@inline function score4x2(qa: usize, k0: usize, ks: usize, Dh: i32, d4: i32, sa: usize, sRow: usize, sv: v128): void {
  const qb = qa + <usize>Dh * 4;
  const k1 = k0 + ks, k2 = k1 + ks, k3 = k2 + ks;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
  // two vectors per iteration: the second at a constant offset (no extra address arithmetic)
  let d = 0;
  for (; d + 8 <= d4; d += 8) {
    const p = <usize>d * 4;
    let x = v128.load(qa + p), y = v128.load(qb + p);
    let kv = v128.load(k0 + p);
    a0 = madd(x, kv, a0); b0 = madd(y, kv, b0);
    kv = v128.load(k1 + p);
    a1 = madd(x, kv, a1); b1 = madd(y, kv, b1);
    kv = v128.load(k2 + p);
    a2 = madd(x, kv, a2); b2 = madd(y, kv, b2);
    kv = v128.load(k3 + p);
    a3 = madd(x, kv, a3); b3 = madd(y, kv, b3);
    x = v128.load(qa + p, 16); y = v128.load(qb + p, 16);
    kv = v128.load(k0 + p, 16);
    a0 = madd(x, kv, a0); b0 = madd(y, kv, b0);
    kv = v128.load(k1 + p, 16);
    a1 = madd(x, kv, a1); b1 = madd(y, kv, b1);
    kv = v128.load(k2 + p, 16);
    a2 = madd(x, kv, a2); b2 = madd(y, kv, b2);
    kv = v128.load(k3 + p, 16);
    a3 = madd(x, kv, a3); b3 = madd(y, kv, b3);
  }
  if (d < d4) {
    const p = <usize>d * 4;
    const x = v128.load(qa + p), y = v128.load(qb + p);
    let kv = v128.load(k0 + p);
    a0 = madd(x, kv, a0); b0 = madd(y, kv, b0);
    kv = v128.load(k1 + p);
    a1 = madd(x, kv, a1); b1 = madd(y, kv, b1);
    kv = v128.load(k2 + p);
    a2 = madd(x, kv, a2); b2 = madd(y, kv, b2);
    kv = v128.load(k3 + p);
    a3 = madd(x, kv, a3); b3 = madd(y, kv, b3);
  }
  const ta = tail4(hsum4x4(a0, a1, a2, a3), qa, k0, ks, d4, Dh);
  const tb = tail4(hsum4x4(b0, b1, b2, b3), qb, k0, ks, d4, Dh);
  v128.store(sa, f32x4.mul(ta, sv));
  v128.store(sa + sRow, f32x4.mul(tb, sv));
}

/** score4x2 for one head. */
// @ts-ignore: decorator
@inline function score4x1(qa: usize, k0: usize, ks: usize, Dh: i32, d4: i32, sa: usize, sv: v128): void {
  const k1 = k0 + ks, k2 = k1 + ks, k3 = k2 + ks;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let d = 0;
  for (; d + 8 <= d4; d += 8) {
    const p = <usize>d * 4;
    let x = v128.load(qa + p);
    a0 = madd(x, v128.load(k0 + p), a0);
    a1 = madd(x, v128.load(k1 + p), a1);
    a2 = madd(x, v128.load(k2 + p), a2);
    a3 = madd(x, v128.load(k3 + p), a3);
    x = v128.load(qa + p, 16);
    a0 = madd(x, v128.load(k0 + p, 16), a0);
    a1 = madd(x, v128.load(k1 + p, 16), a1);
    a2 = madd(x, v128.load(k2 + p, 16), a2);
    a3 = madd(x, v128.load(k3 + p, 16), a3);
  }
  if (d < d4) {
    const p = <usize>d * 4;
    const x = v128.load(qa + p);
    a0 = madd(x, v128.load(k0 + p), a0);
    a1 = madd(x, v128.load(k1 + p), a1);
    a2 = madd(x, v128.load(k2 + p), a2);
    a3 = madd(x, v128.load(k3 + p), a3);
  }
  v128.store(sa, f32x4.mul(tail4(hsum4x4(a0, a1, a2, a3), qa, k0, ks, d4, Dh), sv));
}

/** q·k for one key: the arithmetic of one lane of score4x1. */
// @ts-ignore: decorator
@inline function dotq(q: usize, k: usize, Dh: i32, d4: i32): f32 {
  let a = f32x4.splat(0);
  for (let d = 0; d < d4; d += 4) a = madd(v128.load(q + <usize>d * 4), v128.load(k + <usize>d * 4), a);
  let s = hsum4(a);
  for (let d = d4; d < Dh; d++) s += load<f32>(q + <usize>d * 4) * load<f32>(k + <usize>d * 4);
  return s;
}

export function attention_decode_scores(q: usize, k: usize, s: usize, Tq: i32, Tk: i32, Nq: i32, Nkv: i32, Dh: i32,
  scl: f32, causal: i32, qPos0: i32, kPos0: i32, window: i32, j0: i32, j1: i32): void {
  const G = Nq / Nkv;
  const d4 = Dh & ~3;
  const hB = <usize>Dh * 4; // bytes of one head's vector
  const kStride = <usize>Nkv * hB;
  const sRow = <usize>att_srow(Tk) * 4;
  const sv = f32x4.splat(scl);
  for (let i = 0; i < Tq; i++) {
    const qpos = qPos0 + i;
    const lo = max(j0, vis_lo(qpos, kPos0, window)), hi = min(j1, vis_hi(qpos, kPos0, causal, Tk));
    const qi = q + <usize>i * <usize>Nq * hB;
    const si = s + <usize>i * <usize>Nq * sRow;
    let j = lo;
    for (; j + 4 <= hi; j += 4) {
      const kj = k + <usize>j * kStride;
      for (let g = 0; g < Nkv; g++) {
        const k0 = kj + <usize>g * hB;
        const qg = qi + <usize>(g * G) * hB;
        const sg = si + <usize>(g * G) * sRow + <usize>j * 4;
        let hh = 0;
        for (; hh + 2 <= G; hh += 2) score4x2(qg + <usize>hh * hB, k0, kStride, Dh, d4, sg + <usize>hh * sRow, sRow, sv);
        if (hh < G) score4x1(qg + <usize>hh * hB, k0, kStride, Dh, d4, sg + <usize>hh * sRow, sv);
      }
    }
    for (; j < hi; j++) {
      const kj = k + <usize>j * kStride;
      for (let h = 0; h < Nq; h++) {
        store<f32>(si + <usize>h * sRow + <usize>j * 4, dotq(qi + <usize>h * hB, kj + <usize>(h / G) * hB, Dh, d4) * scl);
      }
    }
  }
}

/** oa[d] += Σ over 4 values (rows v0 + r·vs) of p·v, p from the score rows at pa (head a)
 *  and pa+sRow (head b = a+1, output row ob), sequentially in the 4 keys. */
// @ts-ignore: decorator
@inline function pv4x2(v0: usize, vs: usize, Dh: i32, d4: i32, pa: usize, sRow: usize, oa: usize): void {
  const ob = oa + <usize>Dh * 4, pb = pa + sRow;
  const v1 = v0 + vs, v2 = v1 + vs, v3 = v2 + vs;
  const a0 = v128.load32_splat(pa), a1 = v128.load32_splat(pa, 4), a2 = v128.load32_splat(pa, 8), a3 = v128.load32_splat(pa, 12);
  const b0 = v128.load32_splat(pb), b1 = v128.load32_splat(pb, 4), b2 = v128.load32_splat(pb, 8), b3 = v128.load32_splat(pb, 12);
  let d = 0;
  for (; d + 8 <= d4; d += 8) {
    const p = <usize>d * 4;
    let ya = v128.load(oa + p), yb = v128.load(ob + p);
    let x = v128.load(v0 + p);
    ya = madd(a0, x, ya); yb = madd(b0, x, yb);
    x = v128.load(v1 + p);
    ya = madd(a1, x, ya); yb = madd(b1, x, yb);
    x = v128.load(v2 + p);
    ya = madd(a2, x, ya); yb = madd(b2, x, yb);
    x = v128.load(v3 + p);
    ya = madd(a3, x, ya); yb = madd(b3, x, yb);
    v128.store(oa + p, ya); v128.store(ob + p, yb);
    ya = v128.load(oa + p, 16); yb = v128.load(ob + p, 16);
    x = v128.load(v0 + p, 16);
    ya = madd(a0, x, ya); yb = madd(b0, x, yb);
    x = v128.load(v1 + p, 16);
    ya = madd(a1, x, ya); yb = madd(b1, x, yb);
    x = v128.load(v2 + p, 16);
    ya = madd(a2, x, ya); yb = madd(b2, x, yb);
    x = v128.load(v3 + p, 16);
    ya = madd(a3, x, ya); yb = madd(b3, x, yb);
    v128.store(oa + p, ya, 16); v128.store(ob + p, yb, 16);
  }
  for (; d < d4; d += 4) {
    const p = <usize>d * 4;
    let ya = v128.load(oa + p), yb = v128.load(ob + p);
    let x = v128.load(v0 + p);
    ya = madd(a0, x, ya); yb = madd(b0, x, yb);
    x = v128.load(v1 + p);
    ya = madd(a1, x, ya); yb = madd(b1, x, yb);
    x = v128.load(v2 + p);
    ya = madd(a2, x, ya); yb = madd(b2, x, yb);
    x = v128.load(v3 + p);
    ya = madd(a3, x, ya); yb = madd(b3, x, yb);
    v128.store(oa + p, ya); v128.store(ob + p, yb);
  }
  for (; d < Dh; d++) {
    pv_tail(v0, vs, d, pa, oa);
    pv_tail(v0, vs, d, pb, ob);
  }
}

/** pv4x2 for one head. */
// @ts-ignore: decorator
@inline function pv4x1(v0: usize, vs: usize, Dh: i32, d4: i32, pa: usize, oa: usize): void {
  const v1 = v0 + vs, v2 = v1 + vs, v3 = v2 + vs;
  const a0 = v128.load32_splat(pa), a1 = v128.load32_splat(pa, 4), a2 = v128.load32_splat(pa, 8), a3 = v128.load32_splat(pa, 12);
  let d = 0;
  for (; d + 8 <= d4; d += 8) {
    const p = <usize>d * 4;
    let ya = v128.load(oa + p), yb = v128.load(oa + p, 16);
    ya = madd(a0, v128.load(v0 + p), ya); yb = madd(a0, v128.load(v0 + p, 16), yb);
    ya = madd(a1, v128.load(v1 + p), ya); yb = madd(a1, v128.load(v1 + p, 16), yb);
    ya = madd(a2, v128.load(v2 + p), ya); yb = madd(a2, v128.load(v2 + p, 16), yb);
    ya = madd(a3, v128.load(v3 + p), ya); yb = madd(a3, v128.load(v3 + p, 16), yb);
    v128.store(oa + p, ya); v128.store(oa + p, yb, 16);
  }
  for (; d < d4; d += 4) {
    const p = <usize>d * 4;
    let ya = v128.load(oa + p);
    ya = madd(a0, v128.load(v0 + p), ya);
    ya = madd(a1, v128.load(v1 + p), ya);
    ya = madd(a2, v128.load(v2 + p), ya);
    ya = madd(a3, v128.load(v3 + p), ya);
    v128.store(oa + p, ya);
  }
  for (; d < Dh; d++) pv_tail(v0, vs, d, pa, oa);
}

/** Element d (>= d4) of pv4x1: scalar f32 mul then add, 4 keys in order. */
// @ts-ignore: decorator
@inline function pv_tail(v0: usize, vs: usize, d: i32, pa: usize, oa: usize): void {
  const p = <usize>d * 4;
  let y = load<f32>(oa + p);
  y += load<f32>(pa) * load<f32>(v0 + p);
  y += load<f32>(pa, 4) * load<f32>(v0 + vs + p);
  y += load<f32>(pa, 8) * load<f32>(v0 + 2 * vs + p);
  y += load<f32>(pa, 12) * load<f32>(v0 + 3 * vs + p);
  store<f32>(oa + p, y);
}

export function attention_decode_softmax(s: usize, Tq: i32, Tk: i32, Nq: i32, causal: i32, qPos0: i32, kPos0: i32, window: i32,
  cap: f32, r0: i32, r1: i32): void {
  const sRow = <usize>att_srow(Tk) * 4;
  for (let r = r0; r < r1; r++) {
    const qpos = qPos0 + r / Nq;
    const lo = vis_lo(qpos, kPos0, window), hi = vis_hi(qpos, kPos0, causal, Tk);
    if (hi <= lo) continue; // (the backend refuses such a row before dispatch)
    const sr = s + <usize>r * sRow + <usize>lo * 4;
    if (cap > 0) softcap(sr, sr, cap, 0, hi - lo);
    softmax_rows(sr, sr, 1, hi - lo);
  }
}

export function attention_decode_pv(v: usize, s: usize, Tq: i32, Tk: i32, Nq: i32, Nkv: i32, Dh: i32,
  causal: i32, qPos0: i32, kPos0: i32, window: i32, b0: i32, b1: i32): void {
  const G = Nq / Nkv;
  const d4 = Dh & ~3;
  const hB = <usize>Dh * 4;
  const vStride = <usize>Nkv * hB;
  const sRow = <usize>att_srow(Tk) * 4;
  const part = s + <usize>Tq * <usize>Nq * sRow; // partials [block, i, h, d]
  for (let b = b0; b < b1; b++) {
    for (let i = 0; i < Tq; i++) {
      const qpos = qPos0 + i;
      const lo = max(b * ATT_PVB, vis_lo(qpos, kPos0, window)), hi = min((b + 1) * ATT_PVB, vis_hi(qpos, kPos0, causal, Tk));
      if (hi <= lo) continue; // combine skips the blocks a query does not see
      const si = s + <usize>i * <usize>Nq * sRow;
      const oi = part + (<usize>b * <usize>Tq + <usize>i) * <usize>Nq * hB;
      for (let d = 0; d < Nq * Dh; d++) store<f32>(oi + <usize>d * 4, 0);
      let j = lo;
      for (; j + 4 <= hi; j += 4) {
        const vj = v + <usize>j * vStride;
        for (let g = 0; g < Nkv; g++) {
          const v0 = vj + <usize>g * hB;
          const pg = si + <usize>(g * G) * sRow + <usize>j * 4;
          const og = oi + <usize>(g * G) * hB;
          let hh = 0;
          for (; hh + 2 <= G; hh += 2) pv4x2(v0, vStride, Dh, d4, pg + <usize>hh * sRow, sRow, og + <usize>hh * hB);
          if (hh < G) pv4x1(v0, vStride, Dh, d4, pg + <usize>hh * sRow, og + <usize>hh * hB);
        }
      }
      for (; j < hi; j++) {
        const vj = v + <usize>j * vStride;
        for (let h = 0; h < Nq; h++) {
          const pj = load<f32>(si + <usize>h * sRow + <usize>j * 4);
          const v0 = vj + <usize>(h / G) * hB, oh = oi + <usize>h * hB;
          const pv = f32x4.splat(pj);
          let d = 0;
          for (; d < d4; d += 4) {
            const p = <usize>d * 4;
            v128.store(oh + p, madd(pv, v128.load(v0 + p), v128.load(oh + p)));
          }
          for (; d < Dh; d++) {
            const p = <usize>d * 4;
            store<f32>(oh + p, load<f32>(oh + p) + pj * load<f32>(v0 + p));
          }
        }
      }
    }
  }
}

export function attention_decode_combine(s: usize, o: usize, Tq: i32, Tk: i32, Nq: i32, Dh: i32, causal: i32, qPos0: i32, kPos0: i32,
  window: i32): void {
  const n = Nq * Dh, n4 = n & ~3;
  const part = s + <usize>Tq * <usize>Nq * <usize>att_srow(Tk) * 4;
  const blockB = <usize>Tq * <usize>n * 4;
  for (let i = 0; i < Tq; i++) {
    const qpos = qPos0 + i;
    const lo = vis_lo(qpos, kPos0, window), hi = vis_hi(qpos, kPos0, causal, Tk);
    const oi = o + <usize>i * <usize>n * 4;
    if (hi <= lo) { for (let d = 0; d < n; d++) store<f32>(oi + <usize>d * 4, 0); continue; }
    const bLo = lo / ATT_PVB, bHi = (hi - 1) / ATT_PVB;
    const first = part + <usize>bLo * blockB + <usize>i * <usize>n * 4;
    for (let d = 0; d < n; d++) store<f32>(oi + <usize>d * 4, load<f32>(first + <usize>d * 4));
    for (let b = bLo + 1; b <= bHi; b++) {
      const pb = part + <usize>b * blockB + <usize>i * <usize>n * 4;
      let d = 0;
      for (; d < n4; d += 4) v128.store(oi + <usize>d * 4, f32x4.add(v128.load(oi + <usize>d * 4), v128.load(pb + <usize>d * 4)));
      for (; d < n; d++) store<f32>(oi + <usize>d * 4, load<f32>(oi + <usize>d * 4) + load<f32>(pb + <usize>d * 4));
    }
  }
}

// ---------------------------------------------------------------------------------------
// Blocked attention for prefill / vision (Tq >= 16): one task = (query block of QB rows,
// head h), t = block·Nq + h; a thread takes tasks [t0, t1). Per task, with the visible key
// columns of the block [jlo, jhi) (union of its rows' ranges):
//   S[QB, jhi-jlo] = Q_h[block] · K_h[jlo:jhi]ᵀ        (gemm, B = K rows as an (N, K) weight)
//   per row: ·scale, softcap, mask its own range, softmax (as softmax_rows; masked p = 0)
//   O_h[block] = P · V_h[jlo:jhi]                      (gemm, B = V rows as a (K, N) weight)
// Numerics: q·k is gemm's sequential f32 sum over d; P·V gemm's sequential sum over j from
// jlo (masked p are exactly 0 and add nothing); softmax as softmax_rows. Bounds as attention().

export const ATT_QB: i32 = 64;

export function attention_blocked_scratch_bytes(Tk: i32): i32 {
  return ATT_QB * (Tk + 4) * 4 + gemm_scratch_bytes() + 64;
}

export function attention_blocked(q: usize, k: usize, v: usize, o: usize, Tq: i32, Tk: i32, Nq: i32, Nkv: i32, Dh: i32,
  scl: f32, causal: i32, qPos0: i32, kPos0: i32, window: i32, cap: f32, t0: i32, t1: i32, scratch: usize): void {
  const group = Nq / Nkv;
  const S = scratch;
  const gs = scratch + <usize>(ATT_QB * (Tk + 4)) * 4;
  const qw = Nq * Dh, kw = Nkv * Dh;
  for (let t = t0; t < t1; t++) {
    const b = t / Nq, h = t % Nq;
    const i0 = b * ATT_QB, rows = min(ATT_QB, Tq - i0);
    if (rows <= 0) continue;
    const kvo = <usize>((h / group) * Dh) * 4;
    // visible range of the block: rows' ranges only grow with i
    let jlo = 0, jhi = Tk;
    if (window > 0) jlo = max(0, qPos0 + i0 - window - kPos0 + 1);
    if (causal) jhi = min(Tk, qPos0 + i0 + rows - 1 - kPos0 + 1);
    const ow = o + (<usize>i0 * <usize>qw + <usize>(h * Dh)) * 4;
    if (jhi <= jlo) {
      for (let r = 0; r < rows; r++) for (let d = 0; d < Dh; d++) store<f32>(ow + (<usize>r * <usize>qw + <usize>d) * 4, 0);
      continue;
    }
    const nk = jhi - jlo;
    gemm(rows, nk, Dh, q + (<usize>i0 * <usize>qw + <usize>(h * Dh)) * 4, qw, B_F32_NK,
      k + <usize>jlo * <usize>kw * 4 + kvo, kw, S, nk, 0, nk, gs);
    for (let r = 0; r < rows; r++) {
      const qpos = qPos0 + i0 + r;
      let rlo = 0, rhi = Tk;
      if (causal) rhi = min(Tk, qpos - kPos0 + 1);
      if (window > 0) rlo = max(0, qpos - window - kPos0 + 1);
      rlo = max(rlo, jlo) - jlo; rhi = min(rhi, jhi) - jlo;
      const sr = S + <usize>r * <usize>nk * 4;
      for (let j = 0; j < rlo; j++) store<f32>(sr + <usize>j * 4, 0);
      for (let j = max(rhi, rlo); j < nk; j++) store<f32>(sr + <usize>j * 4, 0);
      if (rhi <= rlo) continue; // checked by the caller; leaves the row's p all 0
      const sv = sr + <usize>rlo * 4;
      scale(sv, sv, scl, 0, rhi - rlo);
      if (cap > 0) softcap(sv, sv, cap, 0, rhi - rlo);
      softmax_rows(sv, sv, 1, rhi - rlo);
    }
    gemm(rows, Dh, nk, S, nk, B_F32_KN, v + <usize>jlo * <usize>kw * 4 + kvo, kw, ow, qw, 0, Dh, gs);
  }
}
