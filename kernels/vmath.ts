// Vector f32 exp for the row and elementwise kernels. WebAssembly has no transcendental
// instructions: range reduction, a polynomial, and 2^n built from the exponent bits.
// These loops are compute-bound (a row of 65531 floats sits in L2), so the forms below are
// chosen for few operations and short dependency chains (see docs/kernels.md, "Row and
// elementwise kernels vs read bandwidth").
//
// Numerics (f32, u = 2^-24):
//  vexp_nonpos(t), t <= 0 (incl. -0, -inf) or NaN: t = n·ln2 + r with n = nearest(t·log2 e)
//    (1.5·2^23 trick), r = (t - n·C1) - n·C2 (Cody-Waite: C1 = 0.693359375 has 9 bits, so
//    n·C1 and t - n·C1 are exact; C2 = ln2 - C1 rounded), |r| <= ln2/2; e^r by expPoly6;
//    times 2^n from the exponent bits. t is first clamped to -88, where n = -127 gives the
//    exponent field 0: e = +0 for t < -87.68 (e^t < 2^-126.5; torch gives a subnormal there),
//    the same clamp sends -inf to 0. Between -87.68 and -87.34 the result is a subnormal,
//    rounded once. NaN stays NaN. Error <= 2 ulp (test/kernels/row-ops.test.ts measures it
//    against Math.exp over the whole range).
//  vexp2(w) = 2^w for any w: n = nearest(w), f = w - n exact (Sterbenz), |f| <= 1/2, 2^f by
//    pow2Poly6, times 2^n; w is clamped to [-127.4, 128.4], so n = -127 gives +0 and n = 128
//    gives the exponent field 255: +inf (2^w >= 2^127.5 is reported as inf, 2^w < 2^-126.5
//    as 0). NaN stays NaN. Error <= 1.5 ulp for the w given (gelu's error comes from w itself,
//    see gelu32 in ops.ts).
// Coefficients: degree-6 relative-minimax fits with P(0) = 1, rounded to f32
// (reference/fit_exp_poly.py): |P/exp - 1| <= 0.29 u in exact arithmetic.

/** e^r for |r| <= ln2/2: 1 + r + r²·(b + r²·(c + r²·c6)), b = c2 + c3·r, c = c4 + c5·r — three
 *  short chains instead of one 12-deep Horner chain (the loops are latency-bound on it). */
// @ts-ignore: decorator
@inline function expPoly6(r: v128): v128 {
  const r2 = f32x4.mul(r, r);
  const a = f32x4.add(f32x4.splat(1.0), r);
  const b = f32x4.add(f32x4.splat(0.4999999403953552), f32x4.mul(r, f32x4.splat(0.16666431725025177)));
  const c = f32x4.add(f32x4.splat(0.04166800528764725), f32x4.mul(r, f32x4.splat(0.008374178782105446)));
  const d = f32x4.add(c, f32x4.mul(r2, f32x4.splat(0.0013843626948073506)));
  return f32x4.add(a, f32x4.mul(r2, f32x4.add(b, f32x4.mul(r2, d))));
}

/** 2^f for |f| <= 1/2, the same shape as expPoly6: (1 + c1·f) + f²·(b + f²·(c + f²·c6)). */
// @ts-ignore: decorator
@inline function pow2Poly6(f: v128): v128 {
  const f2 = f32x4.mul(f, f);
  const a = f32x4.add(f32x4.splat(1.0), f32x4.mul(f, f32x4.splat(0.6931471824645996)));
  const b = f32x4.add(f32x4.splat(0.24022647738456726), f32x4.mul(f, f32x4.splat(0.055503323674201965)));
  const c = f32x4.add(f32x4.splat(0.00961843691766262), f32x4.mul(f, f32x4.splat(0.0013398875016719103)));
  const d = f32x4.add(c, f32x4.mul(f2, f32x4.splat(0.00015353361959569156)));
  return f32x4.add(a, f32x4.mul(f2, f32x4.add(b, f32x4.mul(f2, d))));
}

/** 2^n as f32 bits from tn = n + 1.5·2^23 (n in the low mantissa bits): (n + 127) << 23 with
 *  i32 wrap-around; n = -127 -> +0, n = 128 -> +inf. */
// @ts-ignore: decorator
@inline function pow2n(tn: v128): v128 {
  return i32x4.shl(i32x4.sub(tn, i32x4.splat(0x4b400000 - 127)), 23);
}

/** e^t for t <= 0 or NaN (softmax's x - max). Never call it with a positive t. */
// @ts-ignore: decorator
@inline export function vexp_nonpos(t: v128): v128 {
  const xc = f32x4.pmax(t, f32x4.splat(-88.0)); // pmax keeps a NaN first operand
  const magic = f32x4.splat(12582912.0);
  const tn = f32x4.add(f32x4.mul(xc, f32x4.splat(1.44269504088896341)), magic);
  const n = f32x4.sub(tn, magic);
  // n·C1 and n·C2 are independent: the two subtractions are the only chain
  const r = f32x4.sub(f32x4.sub(xc, f32x4.mul(n, f32x4.splat(0.693359375))), f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  return f32x4.mul(expPoly6(r), pow2n(tn));
}

/** 2^w for any w (NaN stays NaN). */
// @ts-ignore: decorator
@inline export function vexp2(w: v128): v128 {
  const wc = f32x4.pmax(f32x4.pmin(w, f32x4.splat(128.4)), f32x4.splat(-127.4)); // NaN passes both
  const magic = f32x4.splat(12582912.0);
  const tn = f32x4.add(wc, magic);
  const f = f32x4.sub(wc, f32x4.sub(tn, magic));
  return f32x4.mul(pow2Poly6(f), pow2n(tn));
}

// ---------------------------------------------------------------------------------------
// f64x2 versions for the elementwise activations silu and softcap, where the result is
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
