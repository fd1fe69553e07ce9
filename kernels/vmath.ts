// Vector f32 math for the elementwise kernels: exp, sigmoid-style helpers and tanh.
// WebAssembly has no transcendental instructions; these are range reduction + polynomial.
//
// Numerics (f32, u = 2^-24 relative rounding):
//  vexp(x): x = n·ln2 + r with n = nearest(x·log2 e), r = (x - n·C1) - n·C2 (Cody-Waite,
//    C1 = 0.693359375 exact in 9 bits, C2 = -2.12194440e-4), |r| <= 0.347; e^r by its Taylor
//    polynomial to degree 7 (truncation < 6e-9 relative) in Horner form; times 2^n built from
//    the exponent bits. Measured/derived error <= 2 ulp for x in [-87.3, 88.7]; x < -87.33
//    returns exactly 0 (so exp(-inf) = 0), x > 88.72 returns +inf, NaN stays NaN.
//  vtanh(y): |y| < 0.5: odd Taylor polynomial to y^15 (truncation < 1e-8 relative);
//    otherwise sign(y)·(1 - 2/(e^{2|y|} + 1)); error <= 3 ulp of |tanh y| (relative, since
//    |tanh| >= 0.46 on that branch). Saturates to ±1 for large |y|.
// Twins: Math.exp / Math.tanh in the ops/ TS implementation; the test bound is stated per
// op in test/ops/backend-suite.ts (run on the wasm build by test/kernels/backend-suite-wasm.test.ts).

/** exp(r) for the reduced argument |r| <= ln2/2: Taylor 1 + r + r²/2 + ... + r⁷/5040 (Horner,
 *  mul and add rounded separately). Shared by vexp and vexp_nonpos, so they agree bit for bit. */
// @ts-ignore: decorator
@inline function expTaylor7(r: v128): v128 {
  let p = f32x4.splat(1.0 / 5040.0);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0 / 720.0));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0 / 120.0));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0 / 24.0));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0 / 6.0));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(0.5));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0));
  return p;
}

// @ts-ignore: decorator
@inline export function vexp(x: v128): v128 {
  const hiLimit = f32x4.splat(88.7228391);
  const loLimit = f32x4.splat(-87.3365479);
  // pmin/pmax are single instructions (min/max with NaN semantics are ~8); NaN is handled last
  const xc = f32x4.pmax(f32x4.pmin(x, hiLimit), loLimit);
  // n = nearest(x·log2 e) with the 1.5·2^23 trick: the add rounds to an integer and leaves n
  // in the low mantissa bits (|n| <= 128 << 2^22), so n's int32 value is a subtraction away.
  const magic = f32x4.splat(12582912.0);
  const tn = f32x4.add(f32x4.mul(xc, f32x4.splat(1.44269504088896341)), magic);
  const n = f32x4.sub(tn, magic);
  let r = f32x4.sub(xc, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  const p = expTaylor7(r);
  // 2^n: n in [-126, 128]; n = 128 (x near the top) is split as 2^127 · 2 to stay finite.
  const ni = i32x4.sub(tn, i32x4.splat(0x4b400000));
  const big = i32x4.gt_s(ni, i32x4.splat(127));
  const n1 = v128.bitselect(i32x4.splat(127), ni, big);
  const scale = i32x4.shl(i32x4.add(n1, i32x4.splat(127)), 23);
  let res = f32x4.mul(p, scale);
  res = v128.bitselect(f32x4.mul(res, f32x4.splat(2.0)), res, big);
  // exact limits: x < lo -> 0, x > hi -> inf, NaN -> NaN
  res = v128.andnot(res, f32x4.lt(x, loLimit));
  res = v128.bitselect(f32x4.splat(Infinity), res, f32x4.gt(x, hiLimit));
  res = v128.bitselect(x, res, f32x4.ne(x, x));
  return res;
}

/** vexp for x <= 0 (incl. -0, -inf) or NaN — softmax's x - max — bit for bit the same as
 *  vexp there, with the steps that only matter for x > 0 left out: no upper clamp (x <= 0 <
 *  88.7), no 2^128 split (n <= 0 <= 127) and no +inf case; for NaN lanes both end with the
 *  same `x` bitselect. 2^n: (n + 127) << 23 = (bits(tn) - (0x4b400000 - 127)) << 23 (i32
 *  wrap-around, same bits). Never call it with a positive x (the result would be wrong). */
// @ts-ignore: decorator
@inline export function vexp_nonpos(x: v128): v128 {
  const loLimit = f32x4.splat(-87.3365479);
  const xc = f32x4.pmax(x, loLimit);
  const magic = f32x4.splat(12582912.0);
  const tn = f32x4.add(f32x4.mul(xc, f32x4.splat(1.44269504088896341)), magic);
  const n = f32x4.sub(tn, magic);
  let r = f32x4.sub(xc, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  const p = expTaylor7(r);
  const scale = i32x4.shl(i32x4.sub(tn, i32x4.splat(0x4b400000 - 127)), 23);
  let res = f32x4.mul(p, scale);
  res = v128.andnot(res, f32x4.lt(x, loLimit));
  return v128.bitselect(x, res, f32x4.ne(x, x));
}

// @ts-ignore: decorator
@inline export function vtanh(y: v128): v128 {
  const ay = f32x4.abs(y);
  // small branch: y·(1 + y²·(c3 + y²·(c5 + ...)))
  const y2 = f32x4.mul(y, y);
  let p = f32x4.splat(-929569.0 / 638512875.0);
  p = f32x4.add(f32x4.mul(p, y2), f32x4.splat(21844.0 / 6081075.0));
  p = f32x4.add(f32x4.mul(p, y2), f32x4.splat(-1382.0 / 155925.0));
  p = f32x4.add(f32x4.mul(p, y2), f32x4.splat(62.0 / 2835.0));
  p = f32x4.add(f32x4.mul(p, y2), f32x4.splat(-17.0 / 315.0));
  p = f32x4.add(f32x4.mul(p, y2), f32x4.splat(2.0 / 15.0));
  p = f32x4.add(f32x4.mul(p, y2), f32x4.splat(-1.0 / 3.0));
  const small = f32x4.add(y, f32x4.mul(y, f32x4.mul(p, y2)));
  // large branch: 1 - 2/(e^{2|y|} + 1), sign restored
  const e = vexp(f32x4.add(ay, ay));
  const t = f32x4.sub(f32x4.splat(1.0), f32x4.div(f32x4.splat(2.0), f32x4.add(e, f32x4.splat(1.0))));
  const signBit = v128.and(y, i32x4.splat(0x80000000));
  const large = v128.or(t, signBit);
  return v128.bitselect(small, large, f32x4.lt(ay, f32x4.splat(0.5)));
}

/** e^x for one f32 (scalar tails use the same polynomial through lane 0). */
// @ts-ignore: decorator
@inline export function sexp(x: f32): f32 {
  return f32x4.extract_lane(vexp(f32x4.splat(x)), 0);
}

// @ts-ignore: decorator
@inline export function stanh(x: f32): f32 {
  return f32x4.extract_lane(vtanh(f32x4.splat(x)), 0);
}

// ---------------------------------------------------------------------------------------
// f64x2 versions for the elementwise activations (gelu, silu, softcap), where the result is
// one f32 rounding of a well-conditioned f64 evaluation — the same contract as the TS twins
// (Math.exp/Math.tanh in f64, one fround), so the two agree to ~1 ulp.
//
// Numerics: vexp64(a): a clamped to [-700, 700] (e^±700 behave as 0/inf after the f32
//   rounding these kernels end with), n = nearest(a·log2 e), r = a - n·ln2_hi - n·ln2_lo
//   (fdlibm split, n·ln2_hi exact), e^r by Taylor to degree 9 (truncation < 2e-11 relative),
//   times 2^n from the exponent bits: relative error < 1e-10 ≈ 2^-33, far below f32's 2^-24.
//   vtanh64(z) = sign(z)·(1 - 2/(e^{2|z|} + 1)): absolute error < 4e-16 (fine near 0, where
//   the result is later scaled and rounded to f32 with an absolute bound).

// @ts-ignore: decorator
@inline export function vexp64(a: v128): v128 {
  const x = f64x2.pmax(f64x2.pmin(a, f64x2.splat(700.0)), f64x2.splat(-700.0));
  const magic = f64x2.splat(6755399441055744.0); // 1.5·2^52: rounds to an integer, as in vexp
  const tn = f64x2.add(f64x2.mul(x, f64x2.splat(1.4426950408889634)), magic);
  const n = f64x2.sub(tn, magic);
  let r = f64x2.sub(x, f64x2.mul(n, f64x2.splat(6.93147180369123816490e-01)));
  r = f64x2.sub(r, f64x2.mul(n, f64x2.splat(1.90821492927058770002e-10)));
  let p = f64x2.splat(1.0 / 362880.0);
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 40320.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 5040.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 720.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 120.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 24.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 6.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(0.5));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0));
  const ni = i64x2.sub(tn, i64x2.splat(0x4338000000000000));
  const scale = i64x2.shl(i64x2.add(ni, i64x2.splat(1023)), 52);
  const res = f64x2.mul(p, scale);
  return v128.bitselect(a, res, f64x2.ne(a, a)); // NaN stays NaN
}

// @ts-ignore: decorator
@inline export function vtanh64(z: v128): v128 {
  const az = f64x2.abs(z);
  const e = vexp64(f64x2.add(az, az));
  const t = f64x2.sub(f64x2.splat(1.0), f64x2.div(f64x2.splat(2.0), f64x2.add(e, f64x2.splat(1.0))));
  return v128.or(t, v128.and(z, i64x2.splat(0x8000000000000000)));
}

/** f32x4 -> two f64x2 -> f(.) -> f32x4 (each lane rounded once). */
// @ts-ignore: decorator
@inline export function lo2(v: v128): v128 { return f64x2.promote_low_f32x4(v); }
// @ts-ignore: decorator
@inline export function hi2(v: v128): v128 { return f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1)); }
// @ts-ignore: decorator
@inline export function join2(lo: v128, hi: v128): v128 {
  return v128.shuffle<f32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
}
