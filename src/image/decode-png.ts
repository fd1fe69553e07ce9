// PNG -> 8-bit RGB as Pillow 11.3 `Image.open(png).convert('RGB')` (PngImagePlugin + Convert.c).
//
// We read the chunk stream ourselves (signature, CRCs, IHDR validity, the pixel guard BEFORE any
// allocation, truncation), inflate the IDAT data with a bound (inflate.ts: node:zlib, or the
// platform's DecompressionStream in a browser), then unfilter and map samples to RGB with
// Pillow's rules (png-pixels.ts). Where Pillow differs from a naive decoder:
//  - tRNS is ignored (alpha is dropped by convert('RGB'); Pillow keeps the RGB of "transparent"
//    gray/RGB pixels);
//  - palette indices past the PLTE entries read as black;
//  - 16-bit: Pillow takes the high byte (or clamps, for 16-bit gray).
// Ancillary chunks are not read (Pillow's RGB conversion ignores gAMA, iCCP, ...).
// (Until 2026-12 this file handed a normalised stream to pngjs for the unfiltering; the pixels
// are the same — test/image goldens — and no CommonJS package or node:zlib import is left.)

import { ImageError } from '../errors.js';
import { type Inflate, inflateSync } from './inflate.js';
import { ADAM7, inflatedSize, type PngHeader, pngPixels } from './png-pixels.js';
import { DECODE_SLACK, type RgbImage } from './rgb.js';

export type { PngHeader } from './png-pixels.js';
export { inflatedSize } from './png-pixels.js';

export const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

interface Chunk {
  type: string;
  start: number;
  length: number;
} // data = bytes[start, start+length)

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(bytes: Uint8Array, start: number, end: number): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const u32 = (b: Uint8Array, o: number) => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;

const VALID_DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };

/** Parse and validate IHDR only (cheap: first 33 bytes). */
export function readPngHeader(bytes: Uint8Array, label: string): PngHeader {
  for (let i = 0; i < 8; i++) {
    if (bytes[i] !== PNG_SIGNATURE[i]) throw new ImageError(`${label}: not a PNG (bad signature)`);
  }
  if (bytes.length < 33)
    throw new ImageError(`${label}: PNG truncated inside the IHDR chunk (${bytes.length} bytes)`, 'the file is incomplete');
  const len = u32(bytes, 8);
  const type = String.fromCharCode(bytes[12], bytes[13], bytes[14], bytes[15]);
  if (type !== 'IHDR' || len !== 13) {
    throw new ImageError(`${label}: PNG's first chunk is '${type}' of ${len} bytes, expected 'IHDR' of 13 bytes`, 'the file is corrupt');
  }
  if (crc32(bytes, 12, 29) !== u32(bytes, 29)) throw new ImageError(`${label}: PNG IHDR checksum mismatch`, 'the file is corrupt');
  const h: PngHeader = {
    width: u32(bytes, 16),
    height: u32(bytes, 20),
    bitDepth: bytes[24],
    colorType: bytes[25],
    interlace: bytes[28],
  };
  if (h.width === 0 || h.height === 0) {
    throw new ImageError(`${label}: PNG header says ${h.width}x${h.height}: an image needs at least 1x1 pixels`);
  }
  const depths = VALID_DEPTHS[h.colorType];
  if (!depths) throw new ImageError(`${label}: PNG colour type ${h.colorType} is invalid (expected 0, 2, 3, 4 or 6)`);
  if (!depths.includes(h.bitDepth)) {
    throw new ImageError(`${label}: PNG bit depth ${h.bitDepth} is invalid for colour type ${h.colorType} (allowed: ${depths.join(', ')})`);
  }
  if (bytes[26] !== 0 || bytes[27] !== 0 || h.interlace > 1) {
    throw new ImageError(
      `${label}: PNG compression/filter/interlace method ${bytes[26]}/${bytes[27]}/${h.interlace} is invalid (expected 0/0/0-1)`,
    );
  }
  return h;
}

function readChunks(bytes: Uint8Array, label: string): Chunk[] {
  const chunks: Chunk[] = [];
  let o = 8;
  for (;;) {
    if (o + 12 > bytes.length) {
      throw new ImageError(`${label}: PNG truncated at byte ${o} of ${bytes.length} (no IEND chunk)`, 'the file is incomplete');
    }
    const length = u32(bytes, o);
    const type = String.fromCharCode(bytes[o + 4], bytes[o + 5], bytes[o + 6], bytes[o + 7]);
    if (length > 0x7fffffff || o + 12 + length > bytes.length) {
      throw new ImageError(
        `${label}: PNG chunk '${type}' at byte ${o} claims ${length} bytes, only ${bytes.length - o - 12} remain`,
        'the file is truncated or corrupt',
      );
    }
    if (crc32(bytes, o + 4, o + 8 + length) !== u32(bytes, o + 8 + length)) {
      throw new ImageError(`${label}: PNG chunk '${type}' at byte ${o} fails its CRC check`, 'the file is corrupt (Pillow refuses it too)');
    }
    chunks.push({ type, start: o + 8, length });
    o += 12 + length;
    if (type === 'IEND') return chunks;
  }
}

/** Rows pngjs unfiltered (each became its own Buffer): the image's, or every Adam7 pass's. */
function filteredRows(h: PngHeader): number {
  if (h.interlace === 0) return h.height;
  let rows = 0;
  for (const [x0, y0, , dy] of ADAM7) if (h.width > x0 && h.height > y0) rows += Math.ceil((h.height - y0) / dy);
  return rows;
}

/** What pngjs costs per unfiltered row beyond the row's bytes: a Buffer (or a view) and the
 *  reader's callback. Measured: a 1x8000000 8-bit RGB PNG grew RSS by 1.09 GB, ~125 bytes a row
 *  beyond its pixel buffers; 250 leaves margin. These are JS-heap objects: a 1x89478485 PNG (inside
 *  the pixel limit) would need ~11 GB of them, past V8's heap limit — a process crash, not an
 *  exception — so the budget refuses PNGs with more than ~7 million rows. */
const ROW_OVERHEAD = 250;

/**
 * Upper bound of the bytes decoding this PNG allocates, from IHDR and the file size alone (the
 * IDAT total is at most the file). It is still the bound of the former pngjs path, kept on
 * purpose: the decoder now allocates less (the IDAT copy, one inflate, two rows, the RGB
 * result), so the bound stays an upper bound; tightening it is a separate change (the limits
 * tests pin today's figures). Summed as if nothing were freed, allocation by allocation
 * (pngjs 7.0.0 lib/parser-sync.js, sync-inflate.js, filter-parse-sync.js, bitmapper.js):
 *  - IDAT concatenations: ours, the stream we hand pngjs, and pngjs's own: 3 x file;
 *  - inflate, twice (our exact-size check, then pngjs), each filling chunk buffers then
 *    Buffer.concat: 2 x 2 x E, E = inflatedSize (filter bytes included, every Adam7 pass);
 *  - unfiltering: one Buffer per row (per pass row when interlaced), then Buffer.concat: 2 x E
 *    plus ROW_OVERHEAD per row;
 *  - bitmapper's RGBA samples: width * height * 4 bytes, or a Uint16Array (x 2) at 16 bits;
 *  - our RGB result: width * height * 3; and DECODE_SLACK.
 */
export function pngDecodeBytes(h: PngHeader, fileBytes: number): number {
  const px = h.width * h.height;
  return (
    3 * fileBytes + 6 * inflatedSize(h) + filteredRows(h) * ROW_OVERHEAD + px * 4 * (h.bitDepth === 16 ? 2 : 1) + px * 3 + DECODE_SLACK
  );
}

/** The image data must inflate to exactly what the header implies: the bound on the output
 *  stops a "zip bomb" early, and data cut short would otherwise leave rows unset. */
function inflateExact(data: Uint8Array, header: PngHeader, label: string, inflate: Inflate): Uint8Array {
  const expected = inflatedSize(header);
  let inflated: Uint8Array;
  try {
    inflated = inflate(data, expected + 1);
  } catch (e) {
    if (e === INFLATE_PENDING) throw e;
    throw new ImageError(
      `${label}: PNG image data does not inflate to the ${expected} bytes its header implies (${(e as Error).message})`,
      'the file is truncated or corrupt',
    );
  }
  if (inflated.length !== expected) {
    throw new ImageError(`${label}: PNG image data is truncated: ${inflated.length} of ${expected} bytes`, 'the file is incomplete');
  }
  return inflated;
}

/** Thrown by an Inflate that has no answer yet (decodeImageAsync: it inflates asynchronously
 *  after every header check and limit passed, then decodes again with the result). */
export const INFLATE_PENDING: unique symbol = Symbol('inflate pending');

/** Decode a PNG whose header has already passed the pixel guard. `inflate` defaults to
 *  node:zlib's (inflate.ts); decodeImageAsync passes DecompressionStream's result. */
export function decodePng(bytes: Uint8Array, header: PngHeader, label: string, inflate: Inflate = inflateSync): RgbImage {
  const chunks = readChunks(bytes, label);
  const idat = chunks.filter((c) => c.type === 'IDAT');
  if (idat.length === 0) throw new ImageError(`${label}: PNG has no IDAT chunk (no image data)`, 'the file is corrupt');
  const plte = chunks.find((c) => c.type === 'PLTE');
  if (header.colorType === 3 && !plte) throw new ImageError(`${label}: palette PNG without a PLTE chunk`, 'the file is corrupt');

  const data = new Uint8Array(idat.reduce((a, c) => a + c.length, 0));
  let o = 0;
  for (const c of idat) {
    data.set(bytes.subarray(c.start, c.start + c.length), o);
    o += c.length;
  }

  const inflated = inflateExact(data, header, label, inflate);
  return pngPixels(inflated, header, plte ? bytes.subarray(plte.start, plte.start + plte.length) : undefined, label);
}

/** The raw eXIf chunk (EXIF without the "Exif\0\0" prefix), if any — for orientation. */
export function pngExif(bytes: Uint8Array): Uint8Array | undefined {
  let o = 8;
  while (o + 12 <= bytes.length) {
    const length = u32(bytes, o);
    const type = String.fromCharCode(bytes[o + 4], bytes[o + 5], bytes[o + 6], bytes[o + 7]);
    if (o + 12 + length > bytes.length) return undefined;
    if (type === 'eXIf') return bytes.subarray(o + 8, o + 8 + length);
    if (type === 'IDAT' || type === 'IEND') return undefined; // eXIf must precede IDAT
    o += 12 + length;
  }
  return undefined;
}
