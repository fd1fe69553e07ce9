// EXIF orientation (tag 0x0112) — read from a TIFF-structured EXIF block and applied like
// Pillow's ImageOps.exif_transpose. OFF by default everywhere: Ovis/HF feed the stored pixels
// (Image.open without exif_transpose), so applying it changes what the model sees.

import type { RgbImage } from './rgb.js';

/** The orientation value 1..8 from an EXIF block starting at the TIFF header, or undefined. */
export function exifOrientation(tiff: Uint8Array | undefined): number | undefined {
  if (!tiff || tiff.length < 8) return undefined;
  const le = tiff[0] === 0x49 && tiff[1] === 0x49; // 'II' little-endian, 'MM' big-endian
  if (!le && !(tiff[0] === 0x4d && tiff[1] === 0x4d)) return undefined;
  const u16 = (o: number) => (le ? tiff[o] | (tiff[o + 1] << 8) : (tiff[o] << 8) | tiff[o + 1]);
  const u32 = (o: number) =>
    le
      ? (tiff[o] | (tiff[o + 1] << 8) | (tiff[o + 2] << 16)) + tiff[o + 3] * 2 ** 24
      : tiff[o] * 2 ** 24 + ((tiff[o + 1] << 16) | (tiff[o + 2] << 8) | tiff[o + 3]);
  if (u16(2) !== 42) return undefined;
  const ifd = u32(4);
  if (ifd + 2 > tiff.length) return undefined;
  const n = u16(ifd);
  for (let i = 0; i < n; i++) {
    const e = ifd + 2 + 12 * i;
    if (e + 12 > tiff.length) return undefined;
    if (u16(e) === 0x0112) {
      const v = u16(e + 8); // SHORT, stored left-justified in the value field
      return v >= 1 && v <= 8 ? v : undefined;
    }
  }
  return undefined;
}

/** Apply an EXIF orientation (ImageOps.exif_transpose's Image.Transpose per value). */
export function applyOrientation(img: RgbImage, orientation: number | undefined): RgbImage {
  if (!orientation || orientation === 1) return img;
  const { width: W, height: H, data } = img;
  const swap = orientation >= 5;
  const w = swap ? H : W;
  const h = swap ? W : H;
  // (X, Y) in the output -> (x, y) in the input
  const src: (X: number, Y: number) => number = {
    2: (X: number, Y: number) => Y * W + (W - 1 - X), // FLIP_LEFT_RIGHT
    3: (X: number, Y: number) => (H - 1 - Y) * W + (W - 1 - X), // ROTATE_180
    4: (X: number, Y: number) => (H - 1 - Y) * W + X, // FLIP_TOP_BOTTOM
    5: (X: number, Y: number) => X * W + Y, // TRANSPOSE
    6: (X: number, Y: number) => (H - 1 - X) * W + Y, // ROTATE_270 (90 degrees clockwise)
    7: (X: number, Y: number) => (H - 1 - X) * W + (W - 1 - Y), // TRANSVERSE
    8: (X: number, Y: number) => X * W + (W - 1 - Y), // ROTATE_90 (counter-clockwise)
  }[orientation]!;
  const out = new Uint8Array(w * h * 3);
  for (let Y = 0; Y < h; Y++) {
    for (let X = 0; X < w; X++) {
      const s = src(X, Y) * 3;
      const o = (Y * w + X) * 3;
      out[o] = data[s];
      out[o + 1] = data[s + 1];
      out[o + 2] = data[s + 2];
    }
  }
  return { width: w, height: h, data: out };
}
