// Inverse DCT, "islow" — mirrors libjpeg-turbo jidctint.c (jpeg_idct_islow), the JDCT_ISLOW
// method Pillow leaves on (JDCT_DEFAULT): dequantize, columns then rows in 32-bit integers with
// 13-bit constants (CONST_BITS), 2 extra bits between passes (PASS1_BITS), rounding shifts
// (DESCALE), then the post-IDCT range limit: the value wraps mod 1024 (RANGE_MASK) to
// -512..511, +128, clamped to 0..255.
// Numerics: exact integer arithmetic; for a valid file every intermediate fits in int32 as the
// C code's comments require, so Math.imul (int32 multiply, wraps) equals C's. (For absurd
// coefficients C's 64-bit JLONG could differ; the SIMD build Pillow ships truncates differently
// again.) Dequantization multipliers come as an Int32Array (natural order).

const CONST_BITS = 13;
const PASS1_BITS = 2;
const FIX_0_298631336 = 2446;
const FIX_0_390180644 = 3196;
const FIX_0_541196100 = 4433;
const FIX_0_765366865 = 6270;
const FIX_0_899976223 = 7373;
const FIX_1_175875602 = 9633;
const FIX_1_501321110 = 12299;
const FIX_1_847759065 = 15137;
const FIX_1_961570560 = 16069;
const FIX_2_053119869 = 16819;
const FIX_2_562915447 = 20995;
const FIX_3_072711026 = 25172;

/** idct_table: post-IDCT value (masked to 0..1023) -> sample, libjpeg's prepare_range_limit_table. */
const RANGE = new Uint8Array(1024);
for (let x = 0; x < 1024; x++) {
  const v = (x < 512 ? x : x - 1024) + 128;
  RANGE[x] = v < 0 ? 0 : v > 255 ? 255 : v;
}

const ws = new Int32Array(64); // [8 rows, 8 cols] workspace between the passes

/** One block: coefficients `coef[co..co+64)` (natural order) x quant `q` -> 8x8 samples into `out` at `oo`, row stride `stride`.
 *  Speed: Math.imul (the products fit in int32 for any valid file, see Numerics), locals instead
 *  of repeated array reads, explicit stores for the constant rows. */
export function idctIslow(coef: Int16Array, co: number, q: Int32Array, out: Uint8Array, oo: number, stride: number): void {
  // Pass 1: columns from input, results scaled up by 2^PASS1_BITS into ws
  for (let c = 0; c < 8; c++) {
    const i = co + c;
    const c1 = coef[i + 8];
    const c2 = coef[i + 16];
    const c3 = coef[i + 24];
    const c4 = coef[i + 32];
    const c5 = coef[i + 40];
    const c6 = coef[i + 48];
    const c7 = coef[i + 56];
    if ((c1 | c2 | c3 | c4 | c5 | c6 | c7) === 0) {
      const dc = Math.imul(coef[i], q[c]) << PASS1_BITS; // AC terms all zero: a constant column
      ws[c] = dc;
      ws[c + 8] = dc;
      ws[c + 16] = dc;
      ws[c + 24] = dc;
      ws[c + 32] = dc;
      ws[c + 40] = dc;
      ws[c + 48] = dc;
      ws[c + 56] = dc;
      continue;
    }
    // even part
    let z2 = Math.imul(c2, q[c + 16]);
    let z3 = Math.imul(c6, q[c + 48]);
    let z1 = Math.imul(z2 + z3, FIX_0_541196100);
    let tmp2 = z1 + Math.imul(z3, -FIX_1_847759065);
    let tmp3 = z1 + Math.imul(z2, FIX_0_765366865);
    z2 = Math.imul(coef[i], q[c]);
    z3 = Math.imul(c4, q[c + 32]);
    let tmp0 = (z2 + z3) << CONST_BITS;
    let tmp1 = (z2 - z3) << CONST_BITS;
    const tmp10 = tmp0 + tmp3;
    const tmp13 = tmp0 - tmp3;
    const tmp11 = tmp1 + tmp2;
    const tmp12 = tmp1 - tmp2;
    // odd part
    tmp0 = Math.imul(c7, q[c + 56]);
    tmp1 = Math.imul(c5, q[c + 40]);
    tmp2 = Math.imul(c3, q[c + 24]);
    tmp3 = Math.imul(c1, q[c + 8]);
    z1 = tmp0 + tmp3;
    z2 = tmp1 + tmp2;
    z3 = tmp0 + tmp2;
    let z4 = tmp1 + tmp3;
    const z5 = Math.imul(z3 + z4, FIX_1_175875602);
    tmp0 = Math.imul(tmp0, FIX_0_298631336);
    tmp1 = Math.imul(tmp1, FIX_2_053119869);
    tmp2 = Math.imul(tmp2, FIX_3_072711026);
    tmp3 = Math.imul(tmp3, FIX_1_501321110);
    z1 = Math.imul(z1, -FIX_0_899976223);
    z2 = Math.imul(z2, -FIX_2_562915447);
    z3 = Math.imul(z3, -FIX_1_961570560) + z5;
    z4 = Math.imul(z4, -FIX_0_390180644) + z5;
    tmp0 += z1 + z3;
    tmp1 += z2 + z4;
    tmp2 += z2 + z3;
    tmp3 += z1 + z4;
    const R1 = 1 << (CONST_BITS - PASS1_BITS - 1);
    const S1 = CONST_BITS - PASS1_BITS;
    ws[c] = (tmp10 + tmp3 + R1) >> S1;
    ws[56 + c] = (tmp10 - tmp3 + R1) >> S1;
    ws[8 + c] = (tmp11 + tmp2 + R1) >> S1;
    ws[48 + c] = (tmp11 - tmp2 + R1) >> S1;
    ws[16 + c] = (tmp12 + tmp1 + R1) >> S1;
    ws[40 + c] = (tmp12 - tmp1 + R1) >> S1;
    ws[24 + c] = (tmp13 + tmp0 + R1) >> S1;
    ws[32 + c] = (tmp13 - tmp0 + R1) >> S1;
  }
  // Pass 2: rows from ws, descaled by 2^(CONST_BITS + PASS1_BITS + 3), range-limited
  const S2 = CONST_BITS + PASS1_BITS + 3;
  const R2 = 1 << (S2 - 1);
  for (let r = 0, o = oo; r < 64; r += 8, o += stride) {
    const w0 = ws[r];
    const w1 = ws[r + 1];
    const w2 = ws[r + 2];
    const w3 = ws[r + 3];
    const w4 = ws[r + 4];
    const w5 = ws[r + 5];
    const w6 = ws[r + 6];
    const w7 = ws[r + 7];
    if ((w1 | w2 | w3 | w4 | w5 | w6 | w7) === 0) {
      const dc = RANGE[((w0 + (1 << (PASS1_BITS + 2))) >> (PASS1_BITS + 3)) & 1023];
      out[o] = dc;
      out[o + 1] = dc;
      out[o + 2] = dc;
      out[o + 3] = dc;
      out[o + 4] = dc;
      out[o + 5] = dc;
      out[o + 6] = dc;
      out[o + 7] = dc;
      continue;
    }
    let z1 = Math.imul(w2 + w6, FIX_0_541196100);
    let tmp2 = z1 + Math.imul(w6, -FIX_1_847759065);
    let tmp3 = z1 + Math.imul(w2, FIX_0_765366865);
    let tmp0 = (w0 + w4) << CONST_BITS;
    let tmp1 = (w0 - w4) << CONST_BITS;
    const tmp10 = tmp0 + tmp3;
    const tmp13 = tmp0 - tmp3;
    const tmp11 = tmp1 + tmp2;
    const tmp12 = tmp1 - tmp2;
    z1 = w7 + w1;
    let z2 = w5 + w3;
    let z3 = w7 + w3;
    let z4 = w5 + w1;
    const z5 = Math.imul(z3 + z4, FIX_1_175875602);
    tmp0 = Math.imul(w7, FIX_0_298631336);
    tmp1 = Math.imul(w5, FIX_2_053119869);
    tmp2 = Math.imul(w3, FIX_3_072711026);
    tmp3 = Math.imul(w1, FIX_1_501321110);
    z1 = Math.imul(z1, -FIX_0_899976223);
    z2 = Math.imul(z2, -FIX_2_562915447);
    z3 = Math.imul(z3, -FIX_1_961570560) + z5;
    z4 = Math.imul(z4, -FIX_0_390180644) + z5;
    tmp0 += z1 + z3;
    tmp1 += z2 + z4;
    tmp2 += z2 + z3;
    tmp3 += z1 + z4;
    out[o] = RANGE[((tmp10 + tmp3 + R2) >> S2) & 1023];
    out[o + 7] = RANGE[((tmp10 - tmp3 + R2) >> S2) & 1023];
    out[o + 1] = RANGE[((tmp11 + tmp2 + R2) >> S2) & 1023];
    out[o + 6] = RANGE[((tmp11 - tmp2 + R2) >> S2) & 1023];
    out[o + 2] = RANGE[((tmp12 + tmp1 + R2) >> S2) & 1023];
    out[o + 5] = RANGE[((tmp12 - tmp1 + R2) >> S2) & 1023];
    out[o + 3] = RANGE[((tmp13 + tmp0 + R2) >> S2) & 1023];
    out[o + 4] = RANGE[((tmp13 - tmp0 + R2) >> S2) & 1023];
  }
}
