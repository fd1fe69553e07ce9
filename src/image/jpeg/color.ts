// YCbCr -> RGB — mirrors libjpeg-turbo jdcolor.c (build_ycc_rgb_table, ycc_rgb_convert):
//   R = Y + round(1.40200 (Cr-128)),  B = Y + round(1.77200 (Cb-128)),
//   G = Y + ((-0.34414 (Cb-128) - 0.71414 (Cr-128) + 1/2) >> 16)   (16-bit fixed point)
// each clamped to 0..255. Numerics: the tables are built exactly as C builds them (double
// multiply, then integer); every value fits in int32.

const SCALEBITS = 16;
const ONE_HALF = 1 << (SCALEBITS - 1);
const FIX = (x: number) => Math.floor(x * (1 << SCALEBITS) + 0.5);

const CR_R = new Int32Array(256);
const CB_B = new Int32Array(256);
const CR_G = new Int32Array(256);
const CB_G = new Int32Array(256);
for (let i = 0; i < 256; i++) {
  const x = i - 128;
  CR_R[i] = (FIX(1.402) * x + ONE_HALF) >> SCALEBITS;
  CB_B[i] = (FIX(1.772) * x + ONE_HALF) >> SCALEBITS;
  CR_G[i] = -FIX(0.71414) * x;
  CB_G[i] = -FIX(0.34414) * x + ONE_HALF;
}

/** libjpeg's range_limit: v + 256 -> clamp(v, 0, 255) for v in -256..767 (every sum below is in -227..481). */
const LIMIT = new Uint8Array(1024);
for (let i = 0; i < 1024; i++) LIMIT[i] = Math.max(0, Math.min(255, i - 256));

/** One row of `w` pixels: Y, Cb, Cr at y[yo..], cb[bo..], cr[ro..] -> interleaved RGB at out[o..]. */
export function yccToRgbRow(
  y: Uint8Array,
  cb: Uint8Array,
  cr: Uint8Array,
  w: number,
  out: Uint8Array,
  o: number,
  yo = 0,
  bo = 0,
  ro = 0,
): void {
  for (let x = 0; x < w; x++, o += 3) {
    const Y = y[yo + x] + 256;
    const b = cb[bo + x];
    const r = cr[ro + x];
    out[o] = LIMIT[Y + CR_R[r]];
    out[o + 1] = LIMIT[Y + ((CB_G[b] + CR_G[r]) >> SCALEBITS)];
    out[o + 2] = LIMIT[Y + CB_B[b]];
  }
}

/**
 * One output row y of a 4:2:0 YCbCr image (Y full size, Cb and Cr h2v2 fancy-upsampled): the
 * same values as upsampleRow('h2v2Fancy') for Cb and Cr then yccToRgbRow, in one pass without
 * the upsampled rows (jdsample.c h2v2_fancy_upsample fused with jdcolor.c ycc_rgb_convert).
 * yRow: the Y samples at Y[yo..yo+w); cb, cr: the chroma planes, `dw` real columns (> 2), `dh` rows.
 */
export function yccH2v2Row(
  Y: Uint8Array,
  yo: number,
  cb: Uint8Array,
  cr: Uint8Array,
  stride: number,
  dw: number,
  dh: number,
  y: number,
  w: number,
  out: Uint8Array,
  o: number,
): void {
  // the near chroma row k and the far one (the row above for even y, below for odd y; the
  // edge rows repeat: jdmainct.c context rows); vertical then horizontal 3:1 weights, /16
  const k = y >> 1;
  const below = y & 1;
  const n = below ? Math.min(k + 1, dh - 1) : Math.max(k - 1, 0);
  const r0 = k * stride;
  const r1 = n * stride;
  let bLast = cb[r0] * 3 + cb[r1];
  let bCur = bLast;
  let rLast = cr[r0] * 3 + cr[r1];
  let rCur = rLast;
  for (let i = 0; i < dw; i++, o += 6) {
    const j = i + 1 < dw ? i + 1 : i; // the last column's right neighbour is itself
    const bNext = cb[r0 + j] * 3 + cb[r1 + j];
    const rNext = cr[r0 + j] * 3 + cr[r1 + j];
    // left output pixel 2i: (3 cur + last + 8) >> 4, right 2i+1: (3 cur + next + 7) >> 4
    let b = (bCur * 3 + bLast + 8) >> 4;
    let r = (rCur * 3 + rLast + 8) >> 4;
    let Yv = Y[yo + 2 * i] + 256;
    out[o] = LIMIT[Yv + CR_R[r]];
    out[o + 1] = LIMIT[Yv + ((CB_G[b] + CR_G[r]) >> SCALEBITS)];
    out[o + 2] = LIMIT[Yv + CB_B[b]];
    if (2 * i + 1 < w) {
      b = (bCur * 3 + bNext + 7) >> 4;
      r = (rCur * 3 + rNext + 7) >> 4;
      Yv = Y[yo + 2 * i + 1] + 256;
      out[o + 3] = LIMIT[Yv + CR_R[r]];
      out[o + 4] = LIMIT[Yv + ((CB_G[b] + CR_G[r]) >> SCALEBITS)];
      out[o + 5] = LIMIT[Yv + CB_B[b]];
    }
    bLast = bCur;
    bCur = bNext;
    rLast = rCur;
    rCur = rNext;
  }
}

/** RGB stored as is (Adobe transform 0, or component ids 'R','G','B'): interleave. */
export function rgbRow(r: Uint8Array, g: Uint8Array, b: Uint8Array, w: number, out: Uint8Array, o: number): void {
  for (let x = 0; x < w; x++, o += 3) {
    out[o] = r[x];
    out[o + 1] = g[x];
    out[o + 2] = b[x];
  }
}

/** Gray -> RGB by replication (Pillow's L -> RGB). */
export function grayRow(g: Uint8Array, w: number, out: Uint8Array, o: number): void {
  for (let x = 0; x < w; x++, o += 3) {
    const v = g[x];
    out[o] = v;
    out[o + 1] = v;
    out[o + 2] = v;
  }
}
