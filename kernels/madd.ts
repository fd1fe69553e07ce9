// v128 multiply-add used by every f32 kernel.
//
// Numerics: the default build rounds twice — f32x4.mul then f32x4.add, each correctly
// rounded — exactly what a plain TS twin computes with Math.fround(acc + Math.fround(a*b)).
// The relaxed-SIMD build (compiled with `--enable relaxed-simd`, selected at run time only
// where WebAssembly.validate accepts it, never for parity tests) uses f32x4.relaxed_madd,
// which the engine may lower to one fused FMA (one rounding) or to mul+add (two roundings):
// per product the result differs from the default build by at most 1/2 ulp of a*b.

// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return f32x4.relaxed_madd(a, b, c);
  } else {
    return f32x4.add(c, f32x4.mul(a, b));
  }
}
