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

/** Scratch the caller leaves free: ws [8 rows, 8 cols] i32 (256 B), then 2 x [8 cols, 4 rows] i32 (256 B). */
export const IDCT_SCRATCH_BYTES: i32 = 768;

/**
 * `n` consecutive blocks at `coef` (n x 64 int16) x quant `q` (64 int32) -> samples: block b
 * fills 8 rows of 8 bytes at out + 8 b, rows `stride` bytes apart. `scratch`: IDCT_SCRATCH_BYTES.
 * Same values as idctIslow for each block.
 */
export function idct_islow_row(coef: usize, q: usize, out: usize, stride: i32, n: i32, scratch: usize): void {
  const ws = scratch, cols = scratch + 256, rows = scratch + 512;
  const zero = i32x4.splat(0);
  for (let b = 0; b < n; b++, coef += 128, out += 8) {
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
