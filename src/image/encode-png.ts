// 8-bit RGB -> PNG (colour type 2, filter 0 on every row, one IDAT): what `ovis preprocess --png`
// writes so a person can look at the crops. The zlib stream comes from the caller (node:zlib's
// deflateSync in the CLI): this module stays importable where no zlib is built in.

import { crc32, PNG_SIGNATURE } from './decode-png.js';

/** A zlib (RFC 1950) compressor, e.g. node:zlib's deflateSync. */
export type Deflate = (data: Uint8Array) => Uint8Array;

/** One PNG chunk: length, 4-letter type, data, CRC-32 of type + data. */
export function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length); // length, type, data, CRC of type + data
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  v.setUint32(8 + data.length, crc32(out, 4, 8 + data.length));
  return out;
}

/** rgb: [height, width, 3] bytes, rows top to bottom. */
export function encodeRgbPng(width: number, height: number, rgb: Uint8Array, deflate: Deflate): Uint8Array {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0) || rgb.length !== width * height * 3) {
    throw new RangeError(`encodeRgbPng: ${rgb.length} bytes is not ${width}x${height} RGB`);
  }
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit, truecolour, deflate, adaptive filtering, no interlace
  const raw = new Uint8Array(height * (1 + width * 3)); // each row: filter byte 0 (None), then its samples
  for (let y = 0; y < height; y++) raw.set(rgb.subarray(y * width * 3, (y + 1) * width * 3), y * (1 + width * 3) + 1);
  const parts = [PNG_SIGNATURE, pngChunk('IHDR', ihdr), pngChunk('IDAT', deflate(raw)), pngChunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
