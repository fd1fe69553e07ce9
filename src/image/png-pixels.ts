// PNG image data, inflated -> 8-bit RGB as Pillow 11.3 converts it (PngImagePlugin's raw modes +
// Convert.c; the sample rules are rgb.ts's). From the PNG specification (W3C, 2nd ed.):
//   §9 filters: each row = filter byte + the row's bytes; None/Sub/Up/Average/Paeth reverse
//      against the previous row of the same pass (zero above the first), `bpp` bytes to the left
//      (bytes per complete pixel, at least 1);
//   §8 Adam7: seven passes over sub-images (x0, y0, dx, dy), each filtered on its own;
//   §7 samples: 1/2/4-bit packed MSB first, rows padded to a byte; 16-bit big-endian.
// Colour: gray -> (v, v, v); RGB; palette index -> PLTE (an index past the entries is black, as
// in Pillow); gray+alpha -> gray; RGBA -> RGB: alpha is dropped, never composited.
// No inflate here: the caller inflates (node:zlib in Node, DecompressionStream in a browser) and
// has already checked the data is exactly `inflatedSize(header)` bytes.
// Shapes: W, H image size · C channels · d bit depth.

import { ImageError } from '../errors.js';
import type { RgbImage, SampleRule } from './rgb.js';

export interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number; // 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA
  interlace: number; // 0 none, 1 Adam7
}

export const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** Adam7 passes: [x0, y0, dx, dy]. */
export const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

/** The sub-images that are stored: the whole image, or each non-empty Adam7 pass. */
function passes(h: PngHeader): { x0: number; y0: number; dx: number; dy: number; w: number; h: number }[] {
  if (h.interlace === 0) return [{ x0: 0, y0: 0, dx: 1, dy: 1, w: h.width, h: h.height }];
  return ADAM7.map(([x0, y0, dx, dy]) => ({
    x0,
    y0,
    dx,
    dy,
    w: Math.ceil((h.width - x0) / dx),
    h: Math.ceil((h.height - y0) / dy),
  })).filter((p) => p.w > 0 && p.h > 0);
}

/** Bytes of the inflated image data: (filter byte + packed row) per row of each pass. */
export function inflatedSize(h: PngHeader): number {
  const bits = CHANNELS[h.colorType] * h.bitDepth;
  return passes(h).reduce((s, p) => s + (Math.ceil((p.w * bits) / 8) + 1) * p.h, 0);
}

/** Which Pillow sample rule applies (see rgb.ts). Palettes hold 8-bit colours. */
export function pillowRule(h: PngHeader): SampleRule {
  if (h.colorType === 3) return 'u8';
  if (h.bitDepth === 16) return h.colorType === 0 ? 'u16-clamp' : 'u16-high-byte';
  if (h.bitDepth === 8) return 'u8';
  return h.bitDepth === 1 ? 'scale-1bit' : h.bitDepth === 2 ? 'scale-2bit' : 'scale-4bit';
}

/** A 256-entry lookup (or, for 16 bits, a function) from a stored sample to Pillow's 8-bit value. */
function sampleTo8(rule: SampleRule): (v: number) => number {
  switch (rule) {
    case 'u8':
      return (v) => v;
    case 'u16-high-byte':
      return (v) => v >>> 8;
    case 'u16-clamp':
      return (v) => (v > 255 ? 255 : v);
    case 'scale-1bit':
      return (v) => v * 255;
    case 'scale-2bit':
      return (v) => v * 85;
    case 'scale-4bit':
      return (v) => v * 17;
  }
}

/** Reverse one row's filter in place: `cur` holds the filtered bytes, `prev` the previous
 *  unfiltered row of the pass (zeros above the first). */
function unfilterRow(type: number, cur: Uint8Array, prev: Uint8Array, bpp: number): boolean {
  const n = cur.length;
  switch (type) {
    case 0:
      return true;
    case 1:
      for (let i = bpp; i < n; i++) cur[i] = (cur[i] + cur[i - bpp]) & 255;
      return true;
    case 2:
      for (let i = 0; i < n; i++) cur[i] = (cur[i] + prev[i]) & 255;
      return true;
    case 3:
      for (let i = 0; i < bpp && i < n; i++) cur[i] = (cur[i] + (prev[i] >> 1)) & 255;
      for (let i = bpp; i < n; i++) cur[i] = (cur[i] + ((cur[i - bpp] + prev[i]) >> 1)) & 255;
      return true;
    case 4:
      for (let i = 0; i < bpp && i < n; i++) cur[i] = (cur[i] + prev[i]) & 255; // Paeth(0, b, 0) = b
      for (let i = bpp; i < n; i++) {
        const a = cur[i - bpp];
        const b = prev[i];
        const c = prev[i - bpp];
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        cur[i] = (cur[i] + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c)) & 255;
      }
      return true;
    default:
      return false;
  }
}

/**
 * Inflated PNG data -> RGB. `palette` is PLTE's bytes (palette images only). Throws ImageError
 * on an unknown filter type; the length was checked by the caller.
 */
export function pngPixels(data: Uint8Array, h: PngHeader, palette: Uint8Array | undefined, label: string): RgbImage {
  const C = CHANNELS[h.colorType];
  const d = h.bitDepth;
  const bpp = Math.max(1, (C * d) >> 3);
  const to8 = sampleTo8(pillowRule(h));
  const pal = new Uint8Array(256 * 3); // Pillow reads indices past the palette as black
  if (palette) pal.set(palette.subarray(0, Math.min(palette.length, 768)));
  const out = new Uint8Array(h.width * h.height * 3); // [H, W, 3]
  let pos = 0;
  for (const p of passes(h)) {
    const rowBytes = Math.ceil((p.w * C * d) / 8);
    let prev = new Uint8Array(rowBytes);
    let cur = new Uint8Array(rowBytes);
    const samples = new Uint16Array(p.w * C); // one row's samples, unpacked
    for (let y = 0; y < p.h; y++) {
      const type = data[pos];
      cur.set(data.subarray(pos + 1, pos + 1 + rowBytes));
      pos += rowBytes + 1;
      if (!unfilterRow(type, cur, prev, bpp)) {
        throw new ImageError(
          `${label}: PNG row ${y}${h.interlace ? ' of an Adam7 pass' : ''} has filter type ${type} (0-4 exist)`,
          'the file is corrupt',
        );
      }
      if (d === 8) samples.set(cur);
      else if (d === 16) for (let i = 0; i < samples.length; i++) samples[i] = (cur[2 * i] << 8) | cur[2 * i + 1];
      else {
        const perByte = 8 / d;
        const mask = (1 << d) - 1;
        for (let i = 0; i < samples.length; i++) samples[i] = (cur[(i / perByte) | 0] >> (8 - d - (i % perByte) * d)) & mask;
      }
      let o = ((p.y0 + y * p.dy) * h.width + p.x0) * 3;
      const step = p.dx * 3;
      for (let x = 0, s = 0; x < p.w; x++, s += C, o += step) {
        if (h.colorType === 3) {
          const k = samples[s] * 3;
          out[o] = pal[k];
          out[o + 1] = pal[k + 1];
          out[o + 2] = pal[k + 2];
        } else if (C <= 2) {
          out[o] = out[o + 1] = out[o + 2] = to8(samples[s]);
        } else {
          out[o] = to8(samples[s]);
          out[o + 1] = to8(samples[s + 1]);
          out[o + 2] = to8(samples[s + 2]);
        }
      }
      [prev, cur] = [cur, prev];
    }
  }
  return { width: h.width, height: h.height, data: out };
}
