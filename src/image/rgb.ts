// To RGB like Pillow's `Image.convert('RGB')` (Pillow 11.3's libImaging/Convert.c and the
// PNG/JPEG plugins' raw modes). The decoders hand us samples plus the Pillow mode they map to;
// these helpers turn them into 8-bit RGB the way Pillow would. Alpha is DROPPED, never
// composited onto a background (Pillow's RGBA->RGB and LA->RGB simply ignore it).
//
// The 16-bit rules, checked against Pillow 11.3 (reference/image_golden.py, png/ cases):
//  - 16-bit RGB / RGBA / gray+alpha PNGs open as RGB / RGBA / RGBA with raw modes "RGB;16B" ...:
//    Pillow keeps the HIGH byte of each sample (v >> 8: truncation, not rounding);
//  - 16-bit gray opens as mode "I;16"; convert('RGB') CLAMPS: min(v, 255) — so a typical
//    16-bit gray image turns almost entirely white. This is Pillow's behaviour and the model
//    saw it, so we match it (docs/image.md).
//  - 1/2/4-bit gray open as "1"/"L;2"/"L;4": scaled to 0..255 by x255, x85, x17.

import { ImageError } from '../errors.js';

/** Added to every decoder's byte estimate: what a decode costs beyond its buffers (compiled code,
 *  heap growth, the LZW / Huffman tables). Measured: a 9459x9459 GIF's RSS grew 4 MB past its two
 *  buffers; 32 MiB leaves margin. */
export const DECODE_SLACK = 32 << 20;

/** 8-bit RGB, row-major, 3 bytes per pixel: data.length = width * height * 3. */
export interface RgbImage {
  width: number;
  height: number;
  /** [height, width, 3] bytes. May be a view (byteOffset != 0) into a buffer it does not fill —
   *  a baseline JPEG's RGB stays in its decoder's WebAssembly.Memory, which cannot be transferred:
   *  `data.slice()` before a postMessage transfer list. */
  data: Uint8Array;
}

/** How one decoded sample maps to an 8-bit Pillow value. */
export type SampleRule = 'u8' | 'u16-high-byte' | 'u16-clamp' | 'scale-1bit' | 'scale-2bit' | 'scale-4bit';

/** Validate an RgbImage handed in by a caller (size, integer dims, buffer length). */
export function checkRgbImage(img: RgbImage, label = 'image'): void {
  const { width, height, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new ImageError(`${label}: size ${width}x${height} is not a positive integer size`, 'width and height must be integers >= 1');
  }
  if (!(data instanceof Uint8Array) || data.length !== width * height * 3) {
    throw new ImageError(
      `${label}: RGB data has ${data?.length} bytes, expected ${width}*${height}*3 = ${width * height * 3}`,
      'RgbImage.data is 8-bit RGB, row-major, 3 bytes per pixel (no alpha)',
    );
  }
}
