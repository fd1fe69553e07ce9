// YCbCr -> RGB — mirrors libjpeg-turbo jdcolor.c (build_ycc_rgb_table, ycc_rgb_convert):
//   R = Y + round(1.40200 (Cr-128)),  B = Y + round(1.77200 (Cb-128)),
//   G = Y + ((-0.34414 (Cb-128) - 0.71414 (Cr-128) + 1/2) >> 16)   (16-bit fixed point)
// each clamped to 0..255. Numerics: the tables are built exactly as C builds them (double
// multiply, then integer); every value fits in int32.

const SCALEBITS = 16, ONE_HALF = 1 << (SCALEBITS - 1);
const FIX = (x: number) => Math.floor(x * (1 << SCALEBITS) + 0.5);

const CR_R = new Int32Array(256), CB_B = new Int32Array(256), CR_G = new Int32Array(256), CB_G = new Int32Array(256);
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

/** One row of `w` pixels: Y, Cb, Cr rows -> interleaved RGB at out[o..]. */
export function yccToRgbRow(y: Uint8Array, cb: Uint8Array, cr: Uint8Array, w: number, out: Uint8Array, o: number): void {
  for (let x = 0; x < w; x++, o += 3) {
    const Y = y[x] + 256, b = cb[x], r = cr[x];
    out[o] = LIMIT[Y + CR_R[r]];
    out[o + 1] = LIMIT[Y + ((CB_G[b] + CR_G[r]) >> SCALEBITS)];
    out[o + 2] = LIMIT[Y + CB_B[b]];
  }
}

/** RGB stored as is (Adobe transform 0, or component ids 'R','G','B'): interleave. */
export function rgbRow(r: Uint8Array, g: Uint8Array, b: Uint8Array, w: number, out: Uint8Array, o: number): void {
  for (let x = 0; x < w; x++, o += 3) { out[o] = r[x]; out[o + 1] = g[x]; out[o + 2] = b[x]; }
}

/** Gray -> RGB by replication (Pillow's L -> RGB). */
export function grayRow(g: Uint8Array, w: number, out: Uint8Array, o: number): void {
  for (let x = 0; x < w; x++, o += 3) { const v = g[x]; out[o] = v; out[o + 1] = v; out[o + 2] = v; }
}
