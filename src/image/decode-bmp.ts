// BMP -> 8-bit RGB as Pillow 11.3 `Image.open(bmp).convert('RGB')` (BmpImagePlugin.py, the raw
// unpackers of Unpack.c, and BmpRleDecoder). Pixel-exact, quirks included, because the model
// saw Pillow's pixels:
//  - headers: 12-byte BITMAPCOREHEADER (OS/2 v1: u16 size, 3-byte palette entries) and
//    40/52/56/64/108/124-byte INFO..V5. Height is "negative" (top-down) only when its top
//    byte is 0xFF; width and height are otherwise read unsigned;
//  - if bfOffBits points right after the header and bits <= 8, Pillow skips 4 * colors bytes
//    (even for OS/2's 3-byte entries) — writers that forgot the palette;
//  - a palette whose entries are exactly (i,i,i) for i = 0..colors-1 (or black/white for 2
//    colors) is dropped: mode "L" / "1" with raw mode "L" / "1" regardless of the bit depth,
//    so an 8-bit file with a 2-entry black/white palette is read as 1 bit per pixel, and a
//    gray 4-bit one as 8 bits per pixel (Pillow fails when the row stride is too small);
//  - palette indices past the entries read as black; more than 256 entries is an error;
//  - 16-bit: 5/6-bit fields scale by v * 255 / 31 (or / 63), truncating; 555 by default,
//    BI_BITFIELDS accepts only 565 and 555;
//  - 32-bit: the X/A byte is dropped (alpha is never composited); BI_BITFIELDS accepts only
//    the byte-aligned layouts Pillow lists;
//  - RLE8/RLE4 follow BmpRleDecoder exactly, including its bugs: a delta code consumes 4
//    bytes and takes (right, up) from the last two; encoded runs are clipped at the row end
//    but absolute runs are not; odd RLE4 absolute runs lose their last pixel; word alignment
//    is by absolute file offset; data ending before the last pixel is an error.

import { ImageError } from '../errors.js';
import { DECODE_SLACK, type RgbImage } from './rgb.js';

const RLE8 = 1;
const RLE4 = 2;
const BITFIELDS = 3;

/** How a row of stored bytes maps to pixels (Pillow's raw mode names). */
type RawMode = 'P;1' | 'P;4' | 'P' | '1' | 'L' | 'BGR;15' | 'BGR;16' | 'BGR' | 'BGRX' | 'XBGR' | 'BGXR' | 'ABGR' | 'RGBA' | 'BGRA' | 'BGAR';

export interface BmpHeader {
  width: number;
  height: number;
  bits: number;
  compression: number;
  topDown: boolean;
  /** Pillow's mode after the palette check: 'P', 'L', '1', 'RGB' or 'RGBA'. */
  mode: string;
  rawMode: RawMode;
  /** Palette bytes (BGR or BGRX entries, as stored; may be short). Only for mode 'P'. */
  palette?: Uint8Array;
  paletteEntrySize: number;
  /** Byte offset of the pixel data. */
  dataOffset: number;
}

const u16 = (b: Uint8Array, o: number) => b[o] | (b[o + 1] << 8);
const u32 = (b: Uint8Array, o: number) => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;

const MASK_MODES_32: Array<[number[], RawMode]> = [
  [[0xff0000, 0xff00, 0xff, 0x0], 'BGRX'],
  [[0xff000000, 0xff0000, 0xff00, 0x0], 'XBGR'],
  [[0xff000000, 0xff00, 0xff, 0x0], 'BGXR'],
  [[0xff000000, 0xff0000, 0xff00, 0xff], 'ABGR'],
  [[0xff, 0xff00, 0xff0000, 0xff000000], 'RGBA'],
  [[0xff0000, 0xff00, 0xff, 0xff000000], 'BGRA'],
  [[0xff000000, 0xff00, 0xff, 0xff0000], 'BGAR'],
  [[0x0, 0x0, 0x0, 0x0], 'BGRA'],
];
/** Byte positions of R, G, B inside a 4-byte pixel, per 32-bit raw mode. */
const RGB_POS_32: Record<string, [number, number, number]> = {
  BGRX: [2, 1, 0],
  XBGR: [3, 2, 1],
  BGXR: [3, 1, 0],
  ABGR: [3, 2, 1],
  RGBA: [0, 1, 2],
  BGRA: [2, 1, 0],
  BGAR: [3, 1, 0],
};
const RAW_BITS: Record<RawMode, number> = {
  'P;1': 1,
  'P;4': 4,
  P: 8,
  1: 1,
  L: 8,
  'BGR;15': 16,
  'BGR;16': 16,
  BGR: 24,
  BGRX: 32,
  XBGR: 32,
  BGXR: 32,
  ABGR: 32,
  RGBA: 32,
  BGRA: 32,
  BGAR: 32,
};

const sameMasks = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => v === b[i]);

/** Parse and validate the headers (and read the palette: at most 65536 entries). No pixel buffers. */
export function readBmpHeader(bytes: Uint8Array, label: string): BmpHeader {
  const fail = (what: string, hint?: string): never => {
    throw new ImageError(`${label}: BMP ${what}`, hint);
  };
  if (bytes.length < 18) fail(`truncated: ${bytes.length} bytes, the file and DIB headers need at least 18`, 'the file is incomplete');
  let offset = u32(bytes, 10);
  const headerSize = u32(bytes, 14);
  if (14 + headerSize > bytes.length) {
    fail(
      `truncated inside its ${headerSize}-byte DIB header (file has ${bytes.length} bytes)`,
      'the file is incomplete (Pillow: "Truncated File Read")',
    );
  }
  const hd = 18; // header_data starts here (after the size field)
  let pos = 14 + headerSize;
  let width: number;
  let height: number;
  let bits: number;
  let compression: number;
  let colors = 0;
  let paletteEntrySize: number;
  let topDown = false;
  let masks: number[] | undefined;
  if (headerSize === 12) {
    width = u16(bytes, hd);
    height = u16(bytes, hd + 2);
    bits = u16(bytes, hd + 6);
    compression = 0;
    paletteEntrySize = 3;
  } else if ([40, 52, 56, 64, 108, 124].includes(headerSize)) {
    topDown = bytes[hd + 7] === 0xff; // Pillow's test for a negative height
    width = u32(bytes, hd);
    height = topDown ? 2 ** 32 - u32(bytes, hd + 4) : u32(bytes, hd + 4);
    bits = u16(bytes, hd + 10);
    compression = u32(bytes, hd + 12);
    colors = u32(bytes, hd + 28);
    paletteEntrySize = 4;
    if (compression === BITFIELDS) {
      if (headerSize - 4 >= 48) {
        masks = [u32(bytes, hd + 36), u32(bytes, hd + 40), u32(bytes, hd + 44), headerSize - 4 >= 52 ? u32(bytes, hd + 48) : 0];
      } else {
        // a 40-byte header's masks follow it (the reserved 4th RGBQUAD byte is not alpha)
        if (pos + 12 > bytes.length) fail('truncated inside its BI_BITFIELDS masks', 'the file is incomplete');
        masks = [u32(bytes, pos), u32(bytes, pos + 4), u32(bytes, pos + 8), 0];
        pos += 12;
      }
    }
  } else {
    return fail(
      `header type ${headerSize} is not supported (expected a DIB header of 12, 40, 52, 56, 64, 108 or 124 bytes)`,
      'Pillow refuses it too ("Unsupported BMP header type")',
    );
  }
  if (width === 0 || height === 0) fail(`header says ${width}x${height}: an image needs at least 1x1 pixels`);
  if (bits >= 1 && bits <= 8) {
    colors = colors || 2 ** bits;
    if (offset === 14 + headerSize) offset += 4 * colors;
  }

  let mode: string;
  let rawMode: RawMode;
  switch (bits) {
    case 1:
      mode = 'P';
      rawMode = 'P;1';
      break;
    case 4:
      mode = 'P';
      rawMode = 'P;4';
      break;
    case 8:
      mode = 'P';
      rawMode = 'P';
      break;
    case 16:
      mode = 'RGB';
      rawMode = 'BGR;15';
      break;
    case 24:
      mode = 'RGB';
      rawMode = 'BGR';
      break;
    case 32:
      mode = 'RGB';
      rawMode = 'BGRX';
      break;
    default:
      return fail(`pixel depth ${bits} is not supported (expected 1, 4, 8, 16, 24 or 32 bits)`, 'Pillow refuses it too');
  }
  if (compression === BITFIELDS) {
    const m = masks!;
    const hexm = m.map((v) => '0x' + v.toString(16)).join(', ');
    const bad = () =>
      fail(
        `BI_BITFIELDS layout (${hexm}) at ${bits} bits is not one Pillow reads`,
        'Pillow supports 32-bit byte-aligned masks, 24-bit BGR, 16-bit 565 and 555; convert the image',
      );
    if (bits === 32) {
      const hit = MASK_MODES_32.find(([mm]) => sameMasks(mm, m));
      if (!hit) bad();
      rawMode = hit![1];
      if (rawMode.includes('A')) mode = 'RGBA';
    } else if (bits === 24 && sameMasks(m.slice(0, 3), [0xff0000, 0xff00, 0xff])) {
      rawMode = 'BGR';
    } else if (bits === 16 && sameMasks(m.slice(0, 3), [0xf800, 0x7e0, 0x1f])) {
      rawMode = 'BGR;16';
    } else if (bits === 16 && sameMasks(m.slice(0, 3), [0x7c00, 0x3e0, 0x1f])) {
      rawMode = 'BGR;15';
    } else {
      bad();
    }
  } else if (compression !== 0 && compression !== RLE8 && compression !== RLE4) {
    const names: Record<number, string> = { 4: 'BI_JPEG', 5: 'BI_PNG' };
    fail(
      `compression ${compression}${names[compression] ? ` (${names[compression]})` : ''} is not supported`,
      'Pillow reads uncompressed, RLE8, RLE4 and BI_BITFIELDS BMPs only; convert the image',
    );
  }

  let palette: Uint8Array | undefined;
  if (mode === 'P') {
    if (!(colors > 0 && colors <= 65536)) fail(`palette size ${colors} is not supported (expected 1..65536)`);
    palette = bytes.subarray(pos, Math.min(bytes.length, pos + paletteEntrySize * colors));
    pos += palette.length;
    let gray = true;
    for (let i = 0; i < colors && gray; i++) {
      const v = colors === 2 ? (i === 0 ? 0 : 255) : i & 255; // Pillow's o8(i) wraps
      const o = i * paletteEntrySize;
      if (o + 3 > palette.length || palette[o] !== v || palette[o + 1] !== v || palette[o + 2] !== v) gray = false;
    }
    if (gray) {
      mode = colors === 2 ? '1' : 'L';
      rawMode = mode as RawMode;
      palette = undefined;
    } else if (Math.floor(palette.length / paletteEntrySize) > 256) {
      fail(
        `palette has ${Math.floor(palette.length / paletteEntrySize)} entries, more than 256`,
        'Pillow refuses it too ("invalid palette size")',
      );
    }
  }
  return { width, height, bits, compression, topDown, mode, rawMode, palette, paletteEntrySize, dataOffset: offset || pos };
}

/** Upper bound of the bytes decodeBmp allocates: the RGB result, plus one index per pixel for
 *  RLE, and DECODE_SLACK. The palette is a view of the file; nothing else grows with the image. */
export function bmpDecodeBytes(h: BmpHeader): number {
  const px = h.width * h.height;
  return px * 3 + (h.compression === RLE8 || h.compression === RLE4 ? px : 0) + DECODE_SLACK;
}

/** Decode a BMP whose header has already passed the pixel guard. */
export function decodeBmp(bytes: Uint8Array, h: BmpHeader, label: string): RgbImage {
  const { width: w, height: ht } = h;
  const out = new Uint8Array(w * ht * 3); // [H, W, 3]
  if (h.compression === RLE8 || h.compression === RLE4) {
    if (h.mode !== 'P' && h.mode !== 'L') {
      throw new ImageError(
        `${label}: BMP is RLE-compressed but ${h.bits}-bit (Pillow mode ${h.mode})`,
        'Pillow refuses it too ("unknown raw mode"): RLE needs a palette image',
      );
    }
    const idx = rleIndices(bytes, h, label);
    for (let y = 0; y < ht; y++) {
      const row = h.topDown ? y : ht - 1 - y;
      for (let x = 0; x < w; x++) putIndex(out, (row * w + x) * 3, idx[y * w + x], h);
    }
    return { width: w, height: ht, data: out };
  }

  const rawBits = RAW_BITS[h.rawMode];
  const rowBytes = Math.ceil((w * rawBits) / 8);
  const strideRaw = Math.floor((w * h.bits + 31) / 8);
  const stride = strideRaw - (strideRaw % 4);
  if (stride < rowBytes) {
    throw new ImageError(
      `${label}: BMP rows of ${stride} bytes cannot hold ${w} pixels of raw mode ${h.rawMode} (${rowBytes} bytes)`,
      'Pillow fails on this too ("codec configuration error"): a gray palette made Pillow re-read the pixels at another depth',
    );
  }
  const need = h.dataOffset + stride * (ht - 1) + rowBytes;
  if (need > bytes.length) {
    throw new ImageError(
      `${label}: BMP pixel data truncated: needs ${need} bytes, the file has ${bytes.length}`,
      'the file is incomplete (Pillow: "image file is truncated")',
    );
  }
  const b = bytes;
  for (let y = 0; y < ht; y++) {
    let s = h.dataOffset + y * stride;
    let o = (h.topDown ? y : ht - 1 - y) * w * 3;
    switch (h.rawMode) {
      case 'P;1':
      case '1':
        for (let x = 0; x < w; x++, o += 3) putIndex(out, o, (b[s + (x >> 3)] >> (7 - (x & 7))) & 1, h);
        break;
      case 'P;4':
        for (let x = 0; x < w; x++, o += 3) putIndex(out, o, (b[s + (x >> 1)] >> (x & 1 ? 0 : 4)) & 15, h);
        break;
      case 'P':
      case 'L':
        for (let x = 0; x < w; x++, o += 3) putIndex(out, o, b[s + x], h);
        break;
      case 'BGR;15':
        for (let x = 0; x < w; x++, o += 3, s += 2) {
          const p = u16(b, s);
          out[o] = Math.floor((((p >> 10) & 31) * 255) / 31);
          out[o + 1] = Math.floor((((p >> 5) & 31) * 255) / 31);
          out[o + 2] = Math.floor(((p & 31) * 255) / 31);
        }
        break;
      case 'BGR;16':
        for (let x = 0; x < w; x++, o += 3, s += 2) {
          const p = u16(b, s);
          out[o] = Math.floor((((p >> 11) & 31) * 255) / 31);
          out[o + 1] = Math.floor((((p >> 5) & 63) * 255) / 63);
          out[o + 2] = Math.floor(((p & 31) * 255) / 31);
        }
        break;
      case 'BGR':
        for (let x = 0; x < w; x++, o += 3, s += 3) {
          out[o] = b[s + 2];
          out[o + 1] = b[s + 1];
          out[o + 2] = b[s];
        }
        break;
      default: {
        const [r, g, bl] = RGB_POS_32[h.rawMode];
        for (let x = 0; x < w; x++, o += 3, s += 4) {
          out[o] = b[s + r];
          out[o + 1] = b[s + g];
          out[o + 2] = b[s + bl];
        }
      }
    }
  }
  return { width: w, height: ht, data: out };
}

/** One pixel from an index: gray for modes 'L' / '1', a palette entry for 'P' (black past the end). */
function putIndex(out: Uint8Array, o: number, v: number, h: BmpHeader): void {
  if (h.mode === 'L') {
    out[o] = out[o + 1] = out[o + 2] = v;
    return;
  }
  if (h.mode === '1') {
    out[o] = out[o + 1] = out[o + 2] = v ? 255 : 0;
    return;
  }
  const pal = h.palette!;
  const e = h.paletteEntrySize;
  if ((v + 1) * e > pal.length) {
    out[o] = out[o + 1] = out[o + 2] = 0;
    return;
  }
  out[o] = pal[v * e + 2];
  out[o + 1] = pal[v * e + 1];
  out[o + 2] = pal[v * e];
}

/** BmpRleDecoder, statement for statement: palette indices in file row order (bottom-up unless top-down). */
function rleIndices(bytes: Uint8Array, h: BmpHeader, label: string): Uint8Array {
  const xsize = h.width;
  const dest = h.width * h.height;
  const rle4 = h.compression === RLE4;
  const data = new Uint8Array(dest);
  const end = bytes.length;
  let fp = Math.min(h.dataOffset, end); // the file position (alignment is by absolute offset)
  let n = 0; // len(data): may run past `dest`, writes beyond it are dropped
  let x = 0;
  const push = (v: number) => {
    if (n < dest) data[n] = v;
    n++;
  };
  while (n < dest) {
    if (fp + 2 > end) break;
    let count = bytes[fp];
    const byte = bytes[fp + 1];
    fp += 2;
    if (count) {
      if (x + count > xsize) count = Math.max(0, xsize - x);
      if (rle4) {
        for (let i = 0; i < count; i++) push(i % 2 === 0 ? byte >> 4 : byte & 15);
      } else {
        const m = Math.min(count, Math.max(0, dest - n));
        data.fill(byte, n, n + m);
        n += count;
      }
      x += count;
    } else if (byte === 0) {
      if (n % xsize) n += xsize - (n % xsize); // end of line: pad the row with index 0
      x = 0;
    } else if (byte === 1) {
      break; // end of bitmap
    } else if (byte === 2) {
      // Pillow reads 2 bytes, checks them, then reads 2 MORE for (right, up)
      if (fp + 2 > end) break;
      fp += 2;
      if (fp + 2 > end) {
        throw new ImageError(
          `${label}: BMP RLE delta code at byte ${fp - 4} runs past the end of the file`,
          'the file is truncated (Pillow fails with "not enough values to unpack")',
        );
      }
      n += bytes[fp] + bytes[fp + 1] * xsize;
      fp += 2;
      x = n % xsize;
    } else {
      // absolute run of `byte` pixels
      const byteCount = rle4 ? byte >> 1 : byte;
      const got = Math.min(byteCount, end - fp);
      for (let i = 0; i < got; i++) {
        const v = bytes[fp + i];
        if (rle4) {
          push(v >> 4);
          push(v & 15);
        } else push(v);
      }
      fp += got;
      if (got < byteCount) break;
      x += byte;
      if (fp % 2 !== 0) fp += 1;
    }
  }
  if (n < dest) {
    throw new ImageError(
      `${label}: BMP RLE data ends after ${n} of ${dest} pixels`,
      'the file is truncated, or its RLE stream ends early (Pillow fails too: "not enough image data")',
    );
  }
  return data;
}
