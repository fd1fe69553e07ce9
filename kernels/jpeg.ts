// JPEG inverse DCT, "islow", on SIMD — the WebAssembly twin of src/image/jpeg/idct.ts
// (idctIslow, the readable definition), which mirrors libjpeg-turbo jidctint.c (jpeg_idct_islow).
// Standalone: this group does not use the model backend's shared memory. The image decoder
// instantiates it with a memory of its own (src/image/jpeg/idct-wasm.ts) and passes byte offsets.
// Legend: a block = 64 int16 coefficients in natural (row-major) order; q = 64 int32
// dequantization multipliers; out = 8 rows of 8 samples, `stride` bytes apart.
//
// Numerics: exact integer arithmetic, the same operations as idctIslow on 4 lanes at once:
// i32x4.mul keeps the low 32 bits of the product (= Math.imul), adds wrap, shifts are
// arithmetic, so every lane equals the scalar code bit for bit for ANY input (also where int32
// wraps). idctIslow's two shortcuts (a column with zero AC terms -> DC << PASS1_BITS, a row with
// zero AC terms -> (w0 + 16) >> 5) are taken per lane with a bitselect, so even the inputs where
// a shortcut differs from the full formula (wrapped products) agree. Pass 1 works on 4 columns
// per vector; its rows go through a 4x4 transpose so pass 2 works on 4 rows per vector.
// Test: test/image/jpeg-idct-wasm.test.ts (random blocks, every golden, both paths).

const CONST_BITS = 13;
const PASS1_BITS = 2;
const FIX_0_298631336 = 2446, FIX_0_390180644 = 3196, FIX_0_541196100 = 4433, FIX_0_765366865 = 6270;
const FIX_0_899976223 = 7373, FIX_1_175875602 = 9633, FIX_1_501321110 = 12299, FIX_1_847759065 = 15137;
const FIX_1_961570560 = 16069, FIX_2_053119869 = 16819, FIX_2_562915447 = 20995, FIX_3_072711026 = 25172;

// @ts-ignore: decorator
@inline function k(c: i32): v128 { return i32x4.splat(c); }
// @ts-ignore: decorator
@inline function mul(a: v128, c: i32): v128 { return i32x4.mul(a, i32x4.splat(c)); }

/**
 * One 1-D islow pass on 4 lanes (jidctint.c, the even and odd parts): inputs x0..x7, outputs
 * (o + r) >> s in natural order, stored as 8 vectors `step` bytes apart from `dst`; a lane whose
 * mask is all ones gets `short` in all 8 outputs instead.
 */
// @ts-ignore: decorator
@inline function pass(x0: v128, x1: v128, x2: v128, x3: v128, x4: v128, x5: v128, x6: v128, x7: v128,
  r: i32, s: i32, mask: v128, short: v128, dst: usize, step: usize): void {
  // even part
  let z1 = mul(i32x4.add(x2, x6), FIX_0_541196100);
  let tmp2 = i32x4.add(z1, mul(x6, -FIX_1_847759065));
  let tmp3 = i32x4.add(z1, mul(x2, FIX_0_765366865));
  let tmp0 = i32x4.shl(i32x4.add(x0, x4), CONST_BITS);
  let tmp1 = i32x4.shl(i32x4.sub(x0, x4), CONST_BITS);
  const tmp10 = i32x4.add(tmp0, tmp3), tmp13 = i32x4.sub(tmp0, tmp3);
  const tmp11 = i32x4.add(tmp1, tmp2), tmp12 = i32x4.sub(tmp1, tmp2);
  // odd part
  z1 = i32x4.add(x7, x1);
  let z2 = i32x4.add(x5, x3), z3 = i32x4.add(x7, x3), z4 = i32x4.add(x5, x1);
  const z5 = mul(i32x4.add(z3, z4), FIX_1_175875602);
  tmp0 = mul(x7, FIX_0_298631336); tmp1 = mul(x5, FIX_2_053119869);
  tmp2 = mul(x3, FIX_3_072711026); tmp3 = mul(x1, FIX_1_501321110);
  z1 = mul(z1, -FIX_0_899976223); z2 = mul(z2, -FIX_2_562915447);
  z3 = i32x4.add(mul(z3, -FIX_1_961570560), z5); z4 = i32x4.add(mul(z4, -FIX_0_390180644), z5);
  tmp0 = i32x4.add(tmp0, i32x4.add(z1, z3)); tmp1 = i32x4.add(tmp1, i32x4.add(z2, z4));
  tmp2 = i32x4.add(tmp2, i32x4.add(z2, z3)); tmp3 = i32x4.add(tmp3, i32x4.add(z1, z4));
  const R = k(r);
  v128.store(dst, v128.bitselect(short, i32x4.shr_s(i32x4.add(i32x4.add(tmp10, tmp3), R), s), mask));
  v128.store(dst + 7 * step, v128.bitselect(short, i32x4.shr_s(i32x4.add(i32x4.sub(tmp10, tmp3), R), s), mask));
  v128.store(dst + step, v128.bitselect(short, i32x4.shr_s(i32x4.add(i32x4.add(tmp11, tmp2), R), s), mask));
  v128.store(dst + 6 * step, v128.bitselect(short, i32x4.shr_s(i32x4.add(i32x4.sub(tmp11, tmp2), R), s), mask));
  v128.store(dst + 2 * step, v128.bitselect(short, i32x4.shr_s(i32x4.add(i32x4.add(tmp12, tmp1), R), s), mask));
  v128.store(dst + 5 * step, v128.bitselect(short, i32x4.shr_s(i32x4.add(i32x4.sub(tmp12, tmp1), R), s), mask));
  v128.store(dst + 3 * step, v128.bitselect(short, i32x4.shr_s(i32x4.add(i32x4.add(tmp13, tmp0), R), s), mask));
  v128.store(dst + 4 * step, v128.bitselect(short, i32x4.shr_s(i32x4.add(i32x4.sub(tmp13, tmp0), R), s), mask));
}

/** 4x4 transpose of the i32 vectors at a, a + step, a + 2 step, a + 3 step, stored to d, d + 16, d + 32, d + 48. */
// @ts-ignore: decorator
@inline function transpose4(a: usize, step: usize, d: usize): void {
  const r0 = v128.load(a), r1 = v128.load(a + step), r2 = v128.load(a + 2 * step), r3 = v128.load(a + 3 * step);
  const t0 = v128.shuffle<i32>(r0, r1, 0, 4, 1, 5), t1 = v128.shuffle<i32>(r0, r1, 2, 6, 3, 7);
  const t2 = v128.shuffle<i32>(r2, r3, 0, 4, 1, 5), t3 = v128.shuffle<i32>(r2, r3, 2, 6, 3, 7);
  v128.store(d, v128.shuffle<i32>(t0, t2, 0, 1, 4, 5));
  v128.store(d + 16, v128.shuffle<i32>(t0, t2, 2, 3, 6, 7));
  v128.store(d + 32, v128.shuffle<i32>(t1, t3, 0, 1, 4, 5));
  v128.store(d + 48, v128.shuffle<i32>(t1, t3, 2, 3, 6, 7));
}

/** The 128 bytes of a block = 0 (the entropy decoder writes only nonzero coefficients). */
// @ts-ignore: decorator
@inline function zeroBlock(p: usize): void {
  const z = i32x4.splat(0);
  v128.store(p, z); v128.store(p, z, 16); v128.store(p, z, 32); v128.store(p, z, 48);
  v128.store(p, z, 64); v128.store(p, z, 80); v128.store(p, z, 96); v128.store(p, z, 112);
}

/** Scratch the caller leaves free: ws [8 rows, 8 cols] i32 (256 B), then 2 x [8 cols, 4 rows] i32 (256 B). */
export const IDCT_SCRATCH_BYTES: i32 = 768;

/**
 * `n` consecutive blocks at `coef` (n x 64 int16) x quant `q` (64 int32) -> samples: block b
 * fills 8 rows of 8 bytes at out + 8 b, rows `stride` bytes apart. `scratch`: IDCT_SCRATCH_BYTES.
 * Same values as idctIslow for each block. `clear` != 0: each block's coefficients are zeroed
 * once read (ready for the next MCU row).
 */
export function idct_islow_row(coef: usize, q: usize, out: usize, stride: i32, n: i32, scratch: usize, clear: i32): void {
  const ws = scratch, cols = scratch + 256, rows = scratch + 512;
  const zero = i32x4.splat(0);
  const notDc = i16x8(0, -1, -1, -1, -1, -1, -1, -1);
  for (let b = 0; b < n; b++, coef += 128, out += 8) {
    // A block whose 63 AC coefficients are all zero (most chroma blocks of a photo): both
    // passes take their shortcuts everywhere (columns 1..7 are 0, column 0 is dc << PASS1_BITS,
    // every row then (w0 + 16) >> 5), so the block is one value; same wrapping i32 operations.
    const ac = v128.or(v128.or(v128.or(v128.and(v128.load(coef), notDc), v128.load(coef, 16)),
      v128.or(v128.load(coef, 32), v128.load(coef, 48))),
    v128.or(v128.or(v128.load(coef, 64), v128.load(coef, 80)), v128.or(v128.load(coef, 96), v128.load(coef, 112))));
    if (!v128.any_true(ac)) {
      const v = ((((<i32>load<i16>(coef) * load<i32>(q)) << PASS1_BITS) + (1 << (PASS1_BITS + 2))) >> (PASS1_BITS + 3));
      const x = ((v << 22) >> 22) + 128; // post-IDCT range limit, as below
      const px = i64x2.extract_lane(i8x16.splat(<i8>(x < 0 ? 0 : x > 255 ? 255 : x)), 0);
      let o = out;
      for (let r = 0; r < 8; r++, o += <usize>stride) store<i64>(o, px);
      if (clear) zeroBlock(coef);
      continue;
    }
    // Pass 1: columns 0-3 then 4-7 (lanes = columns), dequantized, into ws rows
    for (let half: usize = 0; half < 16; half += 8) {
      const x0 = i32x4.mul(v128.load16x4_s(coef + half), v128.load(q + half * 2));
      const x1 = i32x4.mul(v128.load16x4_s(coef + 16 + half), v128.load(q + 32 + half * 2));
      const x2 = i32x4.mul(v128.load16x4_s(coef + 32 + half), v128.load(q + 64 + half * 2));
      const x3 = i32x4.mul(v128.load16x4_s(coef + 48 + half), v128.load(q + 96 + half * 2));
      const x4 = i32x4.mul(v128.load16x4_s(coef + 64 + half), v128.load(q + 128 + half * 2));
      const x5 = i32x4.mul(v128.load16x4_s(coef + 80 + half), v128.load(q + 160 + half * 2));
      const x6 = i32x4.mul(v128.load16x4_s(coef + 96 + half), v128.load(q + 192 + half * 2));
      const x7 = i32x4.mul(v128.load16x4_s(coef + 112 + half), v128.load(q + 224 + half * 2));
      // the shortcut tests the coefficients (before dequantization), as idctIslow does
      const ac = v128.or(v128.or(v128.or(v128.load16x4_s(coef + 16 + half), v128.load16x4_s(coef + 32 + half)),
        v128.or(v128.load16x4_s(coef + 48 + half), v128.load16x4_s(coef + 64 + half))),
      v128.or(v128.or(v128.load16x4_s(coef + 80 + half), v128.load16x4_s(coef + 96 + half)), v128.load16x4_s(coef + 112 + half)));
      pass(x0, x1, x2, x3, x4, x5, x6, x7, 1 << (CONST_BITS - PASS1_BITS - 1), CONST_BITS - PASS1_BITS,
        i32x4.eq(ac, zero), i32x4.shl(x0, PASS1_BITS), ws + half * 2, 32);
    }
    if (clear) zeroBlock(coef);
    // Pass 2: rows 0-3 then 4-7 (lanes = rows), range-limited to bytes
    for (let half: usize = 0; half < 256; half += 128) {
      transpose4(ws + half, 32, cols); // ws[r][0..3] -> column vectors 0..3 over 4 rows
      transpose4(ws + half + 16, 32, cols + 64); // columns 4..7
      const w0 = v128.load(cols), w1 = v128.load(cols, 16), w2 = v128.load(cols, 32), w3 = v128.load(cols, 48);
      const w4 = v128.load(cols, 64), w5 = v128.load(cols, 80), w6 = v128.load(cols, 96), w7 = v128.load(cols, 112);
      const ac = v128.or(v128.or(v128.or(w1, w2), v128.or(w3, w4)), v128.or(v128.or(w5, w6), w7));
      const S2 = CONST_BITS + PASS1_BITS + 3;
      pass(w0, w1, w2, w3, w4, w5, w6, w7, 1 << (S2 - 1), S2,
        i32x4.eq(ac, zero), i32x4.shr_s(i32x4.add(w0, k(1 << (PASS1_BITS + 2))), PASS1_BITS + 3), cols, 16);
      transpose4(cols, 16, rows); // column vectors -> rows, columns 0..3
      transpose4(cols + 64, 16, rows + 64); // columns 4..7
      // post-IDCT range limit (idct.ts RANGE): the low 10 bits as a signed value, + 128, clamped to 0..255
      for (let r: usize = 0; r < 4; r++) {
        const lo = i32x4.add(i32x4.shr_s(i32x4.shl(v128.load(rows + r * 16), 22), 22), k(128));
        const hi = i32x4.add(i32x4.shr_s(i32x4.shl(v128.load(rows + 64 + r * 16), 22), 22), k(128));
        const s16 = i16x8.narrow_i32x4_s(lo, hi);
        const u8 = i8x16.narrow_i16x8_u(s16, s16);
        store<i64>(out + (<usize>(half >> 5) + r) * <usize>stride, i64x2.extract_lane(u8, 0));
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// 4:2:0 YCbCr -> RGB: h2v2 fancy upsampling fused with the colour conversion — the twin of
// src/image/jpeg/color.ts yccH2v2Row (jdsample.c h2v2_fancy_upsample + jdcolor.c
// ycc_rgb_convert). Numerics: exact integers. The colour tables of color.ts are the formulas
// below evaluated per sample (CR_R = (FIX(1.402) x + 2^15) >> 16, ...), and its LIMIT table is a
// clamp to 0..255, so each lane equals the table code. 8 chroma columns (16 pixels) per step;
// the first and last chroma columns (whose neighbour is themselves) and the tail are scalar.

const FIX_1_40200 = 91881, FIX_1_77200 = 116130, FIX_0_71414 = 46802, FIX_0_34414 = 22554, ONE_HALF = 1 << 15;

// @ts-ignore: decorator
@inline function clamp255(v: i32): u8 { return <u8>(v < 0 ? 0 : v > 255 ? 255 : v); }

/** One pixel from Y, upsampled Cb, Cr (0..255 each) to out[0..3). */
// @ts-ignore: decorator
@inline function pixel(Y: i32, b: i32, r: i32, out: usize): void {
  const cb = b - 128, cr = r - 128;
  store<u8>(out, clamp255(Y + ((FIX_1_40200 * cr + ONE_HALF) >> 16)));
  store<u8>(out, clamp255(Y + ((-FIX_0_34414 * cb + ONE_HALF - FIX_0_71414 * cr) >> 16)), 1);
  store<u8>(out, clamp255(Y + ((FIX_1_77200 * cb + ONE_HALF) >> 16)), 2);
}

/** Chroma column i -> output pixels 2i and 2i+1 (if < w), scalar. */
// @ts-ignore: decorator
@inline function column(yRow: usize, cb0: usize, cb1: usize, cr0: usize, cr1: usize, i: i32, dw: i32, w: i32, out: usize): void {
  const l = i > 0 ? i - 1 : 0, n = i + 1 < dw ? i + 1 : i;
  const bC = <i32>load<u8>(cb0 + i) * 3 + <i32>load<u8>(cb1 + i), rC = <i32>load<u8>(cr0 + i) * 3 + <i32>load<u8>(cr1 + i);
  const bL = <i32>load<u8>(cb0 + l) * 3 + <i32>load<u8>(cb1 + l), rL = <i32>load<u8>(cr0 + l) * 3 + <i32>load<u8>(cr1 + l);
  const bN = <i32>load<u8>(cb0 + n) * 3 + <i32>load<u8>(cb1 + n), rN = <i32>load<u8>(cr0 + n) * 3 + <i32>load<u8>(cr1 + n);
  const o = out + <usize>(6 * i);
  pixel(<i32>load<u8>(yRow + 2 * i), (bC * 3 + bL + 8) >> 4, (rC * 3 + rL + 8) >> 4, o);
  if (2 * i + 1 < w) pixel(<i32>load<u8>(yRow + 2 * i + 1), (bC * 3 + bN + 7) >> 4, (rC * 3 + rN + 7) >> 4, o + 3);
}

/** R, G, B bytes 0..7 of three vectors -> 24 interleaved bytes R0 G0 B0 R1 ... at o. */
// @ts-ignore: decorator
@inline function interleave8(R: v128, G: v128, B: v128, o: usize): void {
  const RG = v128.shuffle<u8>(R, G, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23); // R0..R7 G0..G7
  v128.store(o, v128.shuffle<u8>(RG, B, 0, 8, 16, 1, 9, 17, 2, 10, 18, 3, 11, 19, 4, 12, 20, 5));
  store<i64>(o + 16, i64x2.extract_lane(v128.shuffle<u8>(RG, B, 13, 21, 6, 14, 22, 7, 15, 23, 0, 0, 0, 0, 0, 0, 0, 0), 0));
}

// 16 pixels a step on i16x8 lanes: the 16-bit fixed-point constants are split so every product
// fits in i16 x i16 -> i32 (extmul, dot): with c' = c - 65536 m,
//   (c x + 2^15) >> 16 = m x + ((c' x + 2^15) >> 16)   exactly (m x 2^16 is a multiple of 2^16), so
//   R = Y + cr + ((26345 cr + 2^15) >> 16)                      (91881 = 65536 + 26345)
//   G = Y - cr + ((-22554 cb + 18734 cr + 2^15) >> 16)          (-46802 = -65536 + 18734)
//   B = Y + 2 cb + ((-14942 cb + 2^15) >> 16)                   (116130 = 2 x 65536 - 14942)
// with cb, cr = sample - 128; every sum fits in i16 (-180..433) and the unsigned narrowing clamps
// to 0..255 as LIMIT does. Exhaustively equal to color.ts (test/image/jpeg-idct-wasm.test.ts).

/** (p + 2^15) >> 16 of two i32x4 products, narrowed to one i16x8. */
// @ts-ignore: decorator
@inline function hi16(lo: v128, hi: v128): v128 {
  const h = i32x4.splat(ONE_HALF);
  return i16x8.narrow_i32x4_s(i32x4.shr_s(i32x4.add(lo, h), 16), i32x4.shr_s(i32x4.add(hi, h), 16));
}

/** R, G, B (i16x8, before clamping) of 8 pixels from Y, Cb, Cr samples (i16x8, 0..255). */
// @ts-ignore: decorator
@inline function rTerm(Y: v128, cr: v128): v128 {
  const c = i16x8.sub(cr, i16x8.splat(128)), k = i16x8.splat(26345);
  return i16x8.add(i16x8.add(Y, c), hi16(i32x4.extmul_low_i16x8_s(c, k), i32x4.extmul_high_i16x8_s(c, k)));
}
// @ts-ignore: decorator
@inline function gTerm(Y: v128, cb: v128, cr: v128): v128 {
  const b = i16x8.sub(cb, i16x8.splat(128)), c = i16x8.sub(cr, i16x8.splat(128));
  const k = i16x8(-22554, 18734, -22554, 18734, -22554, 18734, -22554, 18734);
  const lo = i32x4.dot_i16x8_s(v128.shuffle<i16>(b, c, 0, 8, 1, 9, 2, 10, 3, 11), k);
  const hi = i32x4.dot_i16x8_s(v128.shuffle<i16>(b, c, 4, 12, 5, 13, 6, 14, 7, 15), k);
  return i16x8.add(i16x8.sub(Y, c), hi16(lo, hi));
}
// @ts-ignore: decorator
@inline function bTerm(Y: v128, cb: v128): v128 {
  const b = i16x8.sub(cb, i16x8.splat(128)), k = i16x8.splat(-14942);
  return i16x8.add(i16x8.add(Y, i16x8.shl(b, 1)), hi16(i32x4.extmul_low_i16x8_s(b, k), i32x4.extmul_high_i16x8_s(b, k)));
}

/** R, G, B bytes of 16 pixels (u8x16 each) -> 48 interleaved bytes R0 G0 B0 R1 ... at o. */
// @ts-ignore: decorator
@inline function interleave16(R: v128, G: v128, B: v128, o: usize): void {
  const lo = v128.shuffle<u8>(R, G, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23); // R0 G0 .. R7 G7
  const hi = v128.shuffle<u8>(R, G, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31); // R8 G8 .. R15 G15
  v128.store(o, v128.shuffle<u8>(lo, B, 0, 1, 16, 2, 3, 17, 4, 5, 18, 6, 7, 19, 8, 9, 20, 10));
  const mid = v128.shuffle<u8>(lo, hi, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 0, 0, 0, 0, 0); // G5 R6 G6 R7 G7 R8 G8 R9 G9 R10 G10
  v128.store(o, v128.shuffle<u8>(mid, B, 0, 21, 1, 2, 22, 3, 4, 23, 5, 6, 24, 7, 8, 25, 9, 10), 16);
  v128.store(o, v128.shuffle<u8>(hi, B, 26, 6, 7, 27, 8, 9, 28, 10, 11, 29, 12, 13, 30, 14, 15, 31), 32);
}

/** 16 pixels: Y, Cb, Cr as two i16x8 halves each -> RGB, 48 bytes at o. */
// @ts-ignore: decorator
@inline function ycc16(yA: v128, yB: v128, bA: v128, bB: v128, rA: v128, rB: v128, o: usize): void {
  interleave16(
    i8x16.narrow_i16x8_u(rTerm(yA, rA), rTerm(yB, rB)),
    i8x16.narrow_i16x8_u(gTerm(yA, bA, rA), gTerm(yB, bB, rB)),
    i8x16.narrow_i16x8_u(bTerm(yA, bA), bTerm(yB, bB)),
    o,
  );
}

/** 8 bytes at p, zero-extended to i16x8. */
// @ts-ignore: decorator
@inline function bytes8(p: usize): v128 { return i16x8.extend_low_i8x16_u(v128.load64_zero(p)); }

/**
 * One output row of a 4:2:0 image: Y samples at yRow[0..w), the near chroma rows cb0, cr0 and
 * the far ones cb1, cr1 (dw > 2 real columns; the caller picks them: color.ts yccH2v2Row's k and
 * n) -> RGB at out[0..3w). Same bytes as color.ts yccH2v2Row.
 */
export function ycc_h2v2_row(yRow: usize, cb0: usize, cb1: usize, cr0: usize, cr1: usize, dw: i32, w: i32, out: usize): void {
  column(yRow, cb0, cb1, cr0, cr1, 0, dw, w, out);
  let i = 1;
  for (; i + 8 < dw; i += 8) { // chroma columns i..i+7 (pixels 2i..2i+15), their neighbours i-1..i+8 all real
    const p = <usize>i;
    // vertical sums 3 near + far of columns i-1..i+6 (L) and i+1..i+8 (N); C = columns i..i+7
    const bL = i16x8.add(i16x8.mul(bytes8(cb0 + p - 1), i16x8.splat(3)), bytes8(cb1 + p - 1));
    const bN = i16x8.add(i16x8.mul(bytes8(cb0 + p + 1), i16x8.splat(3)), bytes8(cb1 + p + 1));
    const rL = i16x8.add(i16x8.mul(bytes8(cr0 + p - 1), i16x8.splat(3)), bytes8(cr1 + p - 1));
    const rN = i16x8.add(i16x8.mul(bytes8(cr0 + p + 1), i16x8.splat(3)), bytes8(cr1 + p + 1));
    const b3 = i16x8.mul(v128.shuffle<i16>(bL, bN, 1, 2, 3, 4, 5, 6, 7, 14), i16x8.splat(3));
    const r3 = i16x8.mul(v128.shuffle<i16>(rL, rN, 1, 2, 3, 4, 5, 6, 7, 14), i16x8.splat(3));
    // even pixel 2j: (3 C + L + 8) >> 4, odd 2j+1: (3 C + N + 7) >> 4 (at most 4088: i16)
    const bE = i16x8.shr_u(i16x8.add(i16x8.add(b3, bL), i16x8.splat(8)), 4), bO = i16x8.shr_u(i16x8.add(i16x8.add(b3, bN), i16x8.splat(7)), 4);
    const rE = i16x8.shr_u(i16x8.add(i16x8.add(r3, rL), i16x8.splat(8)), 4), rO = i16x8.shr_u(i16x8.add(i16x8.add(r3, rN), i16x8.splat(7)), 4);
    const yv = v128.load(yRow + 2 * p); // Y of pixels 2i..2i+15
    ycc16(i16x8.extend_low_i8x16_u(yv), i16x8.extend_high_i8x16_u(yv),
      v128.shuffle<i16>(bE, bO, 0, 8, 1, 9, 2, 10, 3, 11), v128.shuffle<i16>(bE, bO, 4, 12, 5, 13, 6, 14, 7, 15),
      v128.shuffle<i16>(rE, rO, 0, 8, 1, 9, 2, 10, 3, 11), v128.shuffle<i16>(rE, rO, 4, 12, 5, 13, 6, 14, 7, 15),
      out + <usize>(6 * i));
  }
  for (; i < dw; i++) column(yRow, cb0, cb1, cr0, cr1, i, dw, w, out);
}

// ---------------------------------------------------------------------------------------------
// Full-size planes -> RGB, 8 pixels a step, the twins of color.ts yccToRgbRow (jdcolor.c
// ycc_rgb_convert), rgbRow (jdcolor.c rgb_rgb_convert: RGB stored as is) and grayRow (Pillow's
// L -> RGB replication; libjpeg's gray_rgb_convert). Same numerics as ycc_h2v2_row; tails scalar.

/** One row of `w` pixels from full-size Y, Cb, Cr samples at y, cb, cr -> RGB at out[0..3w) (color.ts yccToRgbRow). */
export function ycc_row(y: usize, cb: usize, cr: usize, w: i32, out: usize): void {
  let x = 0;
  for (; x + 16 <= w; x += 16) {
    const p = <usize>x;
    const yv = v128.load(y + p), bv = v128.load(cb + p), rv = v128.load(cr + p);
    ycc16(i16x8.extend_low_i8x16_u(yv), i16x8.extend_high_i8x16_u(yv), i16x8.extend_low_i8x16_u(bv), i16x8.extend_high_i8x16_u(bv),
      i16x8.extend_low_i8x16_u(rv), i16x8.extend_high_i8x16_u(rv), out + 3 * p);
  }
  for (; x < w; x++) pixel(<i32>load<u8>(y + x), <i32>load<u8>(cb + x), <i32>load<u8>(cr + x), out + <usize>(3 * x));
}

/** One row of `w` pixels from R, G, B samples stored as is -> interleaved RGB (color.ts rgbRow). */
export function rgb_row(r: usize, g: usize, b: usize, w: i32, out: usize): void {
  let x = 0;
  for (; x + 8 <= w; x += 8) {
    const p = <usize>x;
    interleave8(v128.load64_zero(r + p), v128.load64_zero(g + p), v128.load64_zero(b + p), out + 3 * p);
  }
  for (; x < w; x++) {
    const o = out + <usize>(3 * x);
    store<u8>(o, load<u8>(r + x)); store<u8>(o, load<u8>(g + x), 1); store<u8>(o, load<u8>(b + x), 2);
  }
}

/** One row of `w` gray samples -> RGB by replication (color.ts grayRow). */
export function gray_row(g: usize, w: i32, out: usize): void {
  let x = 0;
  for (; x + 16 <= w; x += 16) {
    const v = v128.load(g + <usize>x), o = out + <usize>(3 * x);
    v128.store(o, v128.shuffle<u8>(v, v, 0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5));
    v128.store(o, v128.shuffle<u8>(v, v, 5, 5, 6, 6, 6, 7, 7, 7, 8, 8, 8, 9, 9, 9, 10, 10), 16);
    v128.store(o, v128.shuffle<u8>(v, v, 10, 11, 11, 11, 12, 12, 12, 13, 13, 13, 14, 14, 14, 15, 15, 15), 32);
  }
  for (; x < w; x++) {
    const v = load<u8>(g + x), o = out + <usize>(3 * x);
    store<u8>(o, v); store<u8>(o, v, 1); store<u8>(o, v, 2);
  }
}

// ---------------------------------------------------------------------------------------------
// Sequential Huffman decoding, the twin of src/image/jpeg/entropy.ts decodeBlockFast (jdhuff.c
// decode_mcu_fast): the same bit buffer (an i32 holding the last `bits` bits read, topped up a
// byte at a time to more than 24 bits, a stuffed 0xFF 0x00 taken as 0xFF), the same tables and
// the same steps, for blocks whose every possible byte lies before the next marker (the caller
// passes `end`). Same coefficients, DC predictions and bit position bit for bit
// (test/image/jpeg-idct-wasm.test.ts: every golden through both paths, random scans).
// A table at t (HUFF_TABLE_BYTES): fast i32 [1024] | lookup u16 [512] | maxcode i32 [18] (at
// +5120) | valoffset i32 [17] (+5248) | huffval u8 [256] (+5376), as huffman.ts builds them.

export const HUFF_TABLE_BYTES: i32 = 5632;
const HT_LOOKUP = 4096, HT_MAXCODE = 5120, HT_VALOFF = 5248, HT_HUFFVAL = 5376;

/** A symbol the combined lookup did not resolve: the 9-bit lookup, else code by code to 16 bits
 *  (a bad code: 17 bits, symbol 0). Bits come from / go back to the state at st. */
function slowSymbol(st: usize, data: usize, t: usize): i32 {
  let buf = load<i32>(st), bits = load<i32>(st, 4), pos = load<i32>(st, 8);
  let sym = 0;
  const e = <i32>load<u16>(t + HT_LOOKUP + <usize>(((buf >>> (bits - 9)) & 511) << 1));
  if (e != 0) {
    bits -= e >> 8;
    sym = e & 0xff;
  } else {
    let l = 10;
    while (l <= 16 && ((buf >>> (bits - l)) & ((1 << l) - 1)) > load<i32>(t + HT_MAXCODE + <usize>(l << 2))) l++;
    if (l <= 16) {
      sym = <i32>load<u8>(t + HT_HUFFVAL + <usize>((((buf >>> (bits - l)) & ((1 << l) - 1)) + load<i32>(t + HT_VALOFF + <usize>(l << 2))) & 0xff));
      bits -= l;
    } else {
      bits -= 16;
      if (bits < 1)
        while (bits <= 24) {
          const c = <i32>load<u8>(data + <usize>pos); pos++;
          if (c == 0xff) pos++;
          buf = (buf << 8) | c;
          bits += 8;
        }
      bits -= 1;
      sym = 0;
    }
  }
  store<i32>(st, buf); store<i32>(st, bits, 4); store<i32>(st, pos, 8);
  return sym;
}

/**
 * Blocks b..total) of an MCU row (block b = MCU b / nb, its block b % nb) while the next block's
 * bytes lie before `end` (pos + 520 < end); returns the first block not decoded. State at st:
 * i32 buf, bits, pos (from data), _, DC predictions [4]. Block j of an MCU (desc + 32 j, i32):
 * component, DC table, AC table, coefficients of MCU 0 (int16 [64], natural order, zeroed), bytes
 * from one MCU to the next. order: i32 [80], zigzag -> natural (entropy.ts NATURAL_ORDER).
 */
export function huff_seq(st: usize, data: usize, end: i32, desc: usize, nb: i32, b: i32, total: i32, order: usize): i32 {
  let buf = load<i32>(st), bits = load<i32>(st, 4), pos = load<i32>(st, 8);
  for (; b < total && pos + 520 < end; b++) {
    const mx = b / nb, d = desc + <usize>((b - mx * nb) << 5);
    const ci = load<i32>(d), dc = <usize>load<i32>(d, 4), ac = <usize>load<i32>(d, 8);
    const blk = <usize>load<i32>(d, 12) + <usize>(mx * load<i32>(d, 16));
    // DC: size category, then the extra bits of the difference (HUFF_EXTEND)
    if (bits < 16)
      while (bits <= 24) {
        const c = <i32>load<u8>(data + <usize>pos); pos++;
        if (c == 0xff) pos++;
        buf = (buf << 8) | c;
        bits += 8;
      }
    let f = load<i32>(dc + <usize>(((buf >>> (bits - 10)) & 1023) << 2));
    let t = 0;
    if (f != 0) {
      bits -= f & 0xff;
      t = f >> 16;
    } else {
      store<i32>(st, buf); store<i32>(st, bits, 4); store<i32>(st, pos, 8);
      const sym = slowSymbol(st, data, dc);
      buf = load<i32>(st); bits = load<i32>(st, 4); pos = load<i32>(st, 8);
      if (sym) {
        if (bits < sym)
          while (bits <= 24) {
            const c = <i32>load<u8>(data + <usize>pos); pos++;
            if (c == 0xff) pos++;
            buf = (buf << 8) | c;
            bits += 8;
          }
        bits -= sym;
        const r = (buf >>> bits) & ((1 << sym) - 1);
        t = r < 1 << (sym - 1) ? r + (-1 << sym) + 1 : r;
      }
    }
    const p = st + 16 + <usize>(ci << 2);
    const pr = load<i32>(p) + t;
    store<i32>(p, pr);
    store<i16>(blk, <i16>pr);
    // AC: (run, size) symbols in zigzag order until EOB or k = 63
    for (let k = 1; k < 64; k++) {
      if (bits < 16)
        while (bits <= 24) {
          const c = <i32>load<u8>(data + <usize>pos); pos++;
          if (c == 0xff) pos++;
          buf = (buf << 8) | c;
          bits += 8;
        }
      f = load<i32>(ac + <usize>(((buf >>> (bits - 10)) & 1023) << 2));
      if (f != 0) {
        bits -= f & 0xff;
        const v = f >> 16;
        if (v != 0) {
          k += (f >> 12) & 15;
          store<i16>(blk + <usize>(load<i32>(order + <usize>(k << 2)) << 1), <i16>v);
          continue;
        }
        if ((f & 0xf000) != 0xf000) break; // EOB (sz = 0, run != 15)
        k += 15; // ZRL
        continue;
      }
      store<i32>(st, buf); store<i32>(st, bits, 4); store<i32>(st, pos, 8);
      const sym = slowSymbol(st, data, ac);
      buf = load<i32>(st); bits = load<i32>(st, 4); pos = load<i32>(st, 8);
      const run = sym >> 4, sz = sym & 15;
      if (sz) {
        k += run;
        if (bits < sz)
          while (bits <= 24) {
            const c = <i32>load<u8>(data + <usize>pos); pos++;
            if (c == 0xff) pos++;
            buf = (buf << 8) | c;
            bits += 8;
          }
        bits -= sz;
        const r = (buf >>> bits) & ((1 << sz) - 1);
        store<i16>(blk + <usize>(load<i32>(order + <usize>(k << 2)) << 1), <i16>(r < 1 << (sz - 1) ? r + (-1 << sz) + 1 : r));
      } else {
        if (run != 15) break;
        k += 15;
      }
    }
  }
  store<i32>(st, buf); store<i32>(st, bits, 4); store<i32>(st, pos, 8);
  return b;
}

/** Top up the bit buffer at st (as huff_seq does) when it holds fewer than `need` bits. */
// @ts-ignore: decorator
@inline function need(st: usize, data: usize, n: i32): void {
  let bits = load<i32>(st, 4);
  if (bits < n) {
    let buf = load<i32>(st), pos = load<i32>(st, 8);
    while (bits <= 24) {
      const c = <i32>load<u8>(data + <usize>pos); pos++;
      if (c == 0xff) pos++;
      buf = (buf << 8) | c;
      bits += 8;
    }
    store<i32>(st, buf); store<i32>(st, bits, 4); store<i32>(st, pos, 8);
  }
}

/** One bit from the state at st (need(st, data, 1) first). */
// @ts-ignore: decorator
@inline function bit(st: usize): i32 {
  const bits = load<i32>(st, 4) - 1;
  store<i32>(st, bits, 4);
  return (load<i32>(st) >>> bits) & 1;
}

/**
 * Progressive AC refinement (jdphuff.c decode_mcu_AC_refine), the twin of entropy.ts
 * decodeAcRefineFast plus decodeScan's skip of EOB-run blocks with no coefficient in the band
 * (lastNz < Ss): blocks blk + 128 i, i = 0..n) of one component (lastNz: a byte per block), while
 * each decoded block's bytes lie before `end` (pos + 520 < end). State at st: buf, bits, pos,
 * EOBRUN. Returns the blocks done. t: the AC table (HUFF_TABLE_BYTES layout).
 */
export function huff_ac_refine(st: usize, data: usize, end: i32, t: usize, ss: i32, se: i32, p1: i32, blk: usize, n: i32, lastNz: usize, order: usize): i32 {
  const m1 = -p1;
  let i = 0;
  for (; i < n; i++, blk += 128) {
    let eobrun = load<i32>(st, 12);
    let last = <i32>load<u8>(lastNz + <usize>i);
    if (eobrun > 0 && last < ss) {
      store<i32>(st, eobrun - 1, 12);
      continue;
    }
    if (load<i32>(st, 8) + 520 >= end) break;
    let k = ss;
    if (eobrun == 0) {
      for (; k <= se; k++) {
        need(st, data, 16);
        const buf = load<i32>(st), bits = load<i32>(st, 4);
        const f = load<i32>(t + <usize>(((buf >>> (bits - 10)) & 1023) << 2));
        let sym = 0, s = 0;
        if (f != 0 && (f & 0xe00) == 0) {
          // size 0 or 1: the combined entry's extra bit is the sign bit
          store<i32>(st, bits - (f & 0xff), 4);
          sym = (f >> 8) & 0xff;
          if (f >> 16) s = f > 0 ? p1 : m1;
        } else {
          sym = slowSymbol(st, data, t);
          if (sym & 15) {
            // libjpeg warns if the size is not 1, and reads one bit
            need(st, data, 1);
            s = bit(st) ? p1 : m1;
          }
        }
        let r = sym >> 4;
        if (!(sym & 15) && r != 15) {
          eobrun = 1 << r;
          if (r) {
            need(st, data, r);
            const b2 = load<i32>(st, 4) - r;
            store<i32>(st, b2, 4);
            eobrun += (load<i32>(st) >>> b2) & ((1 << r) - 1);
          }
          break;
        }
        // skip r zero coefficients, correcting the nonzero ones on the way
        do {
          const at = blk + <usize>(load<i32>(order + <usize>(k << 2)) << 1);
          const c = <i32>load<i16>(at);
          if (c != 0) {
            need(st, data, 1);
            if (bit(st) && (c & p1) == 0) store<i16>(at, <i16>(c >= 0 ? c + p1 : c + m1));
          } else if (--r < 0) break;
          k++;
        } while (k <= se);
        if (s) {
          store<i16>(blk + <usize>(load<i32>(order + <usize>(k << 2)) << 1), <i16>s);
          if (k > last) last = k;
        }
      }
      store<u8>(lastNz + <usize>i, <u8>last);
    }
    if (eobrun > 0) {
      // past `last` every coefficient is zero: no correction bits there
      for (const e = last < se ? last : se; k <= e; k++) {
        const at = blk + <usize>(load<i32>(order + <usize>(k << 2)) << 1);
        const c = <i32>load<i16>(at);
        if (c != 0) {
          need(st, data, 1);
          if (bit(st) && (c & p1) == 0) store<i16>(at, <i16>(c >= 0 ? c + p1 : c + m1));
        }
      }
      eobrun--;
    }
    store<i32>(st, eobrun, 12);
  }
  return i;
}

/**
 * Progressive DC scans (jdphuff.c decode_mcu_DC_first / DC_refine), the twins of entropy.ts
 * decodeDcFirstFast and decodeDcRefineFast: blocks b..total) of MCU row `my` (blocks as huff_seq's,
 * descriptor slot 5 = bytes from one MCU row to the next) while pos + room < end. First scan
 * (refine = 0): the DC difference, prediction += it, coefficient = prediction << al; refinement:
 * one bit, coefficient |= 1 << al. Returns the first block not decoded.
 */
export function huff_dc(st: usize, data: usize, end: i32, desc: usize, nb: i32, b: i32, total: i32, my: i32, al: i32, refine: i32, room: i32): i32 {
  for (; b < total && load<i32>(st, 8) + room < end; b++) {
    const mx = b / nb, d = desc + <usize>((b - mx * nb) << 5);
    const blk = <usize>load<i32>(d, 12) + <usize>(my * load<i32>(d, 20)) + <usize>(mx * load<i32>(d, 16));
    if (refine) {
      need(st, data, 1);
      if (bit(st)) store<i16>(blk, <i16>(<i32>load<i16>(blk) | (1 << al)));
      continue;
    }
    const ci = load<i32>(d), dc = <usize>load<i32>(d, 4);
    need(st, data, 16);
    const buf = load<i32>(st), bits = load<i32>(st, 4);
    const f = load<i32>(dc + <usize>(((buf >>> (bits - 10)) & 1023) << 2));
    let t = 0;
    if (f != 0) {
      store<i32>(st, bits - (f & 0xff), 4);
      t = f >> 16;
    } else {
      const sz = slowSymbol(st, data, dc);
      if (sz) {
        need(st, data, sz);
        const b2 = load<i32>(st, 4) - sz;
        store<i32>(st, b2, 4);
        const r = (load<i32>(st) >>> b2) & ((1 << sz) - 1);
        t = r < 1 << (sz - 1) ? r + (-1 << sz) + 1 : r;
      }
    }
    const p = st + 16 + <usize>(ci << 2);
    const pr = load<i32>(p) + t;
    store<i32>(p, pr);
    store<i16>(blk, <i16>(pr << al));
  }
  return b;
}
