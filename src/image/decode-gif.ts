// GIF (first frame) -> 8-bit RGB as Pillow 11.3 `Image.open(gif).convert('RGB')`
// (GifImagePlugin.py `_open` / `_seek(0)` / `load_prepare`, libImaging/GifDecode.c). Pixel-exact:
//  - the image is the logical screen, grown to hold the first frame if that reaches past it;
//    outside the frame it holds the GCE transparency index if there is one, else index 0
//    (NOT the background colour), looked up in the frame's palette like every other pixel;
//  - colours come from the local palette, else the global one; a palette whose entries are
//    exactly (i, i, i) does not count (an identity local palette falls back to the global
//    one: mode "L" at open, but load() attaches the global palette). With neither, mode "L":
//    pixel = index. Indices past the palette read as black. Transparency is kept as an
//    index only: convert('RGB') never composites;
//  - LZW as GifDecode.c: codes LSB-first across sub-blocks; a sub-block is consumed only
//    whole; code size grows when the entry at (1 << size) - 1 is added (so min code sizes 0
//    and 1 never grow); a full table keeps going without a clear; code == next is the KwKwK
//    case; a code past the table, or a first code after clear above it, is "broken data";
//    more pixels than the frame holds are ignored; min code size > 12 is refused;
//  - an end code before the last pixel only pauses GifDecode.c: ImageFile.load then feeds it
//    the next 64 KiB of the file (decoding carries on after the end code) or, at the end of
//    the file, raises "image file is truncated". We replay the same 64 KiB reads;
//  - stray bytes between blocks are skipped, as Pillow skips them.

import { ImageError } from '../errors.js';
import { DECODE_SLACK, type RgbImage } from './rgb.js';

export interface GifHeader {
  /** Image size: the logical screen, grown to contain the first frame. */
  width: number;
  height: number;
  /** First frame: its rectangle, LZW minimum code size, interlacing and data offset. */
  frame: { x: number; y: number; w: number; h: number; interlaced: boolean; minCodeSize: number; dataOffset: number };
  /** RGB triples (may be short), or undefined for mode "L" (no palette / identity palette). */
  palette?: Uint8Array;
  /** GCE transparency index of the first frame, if any. */
  transparency?: number;
}

const u16 = (b: Uint8Array, o: number) => b[o] | (b[o + 1] << 8);
/** Pillow's ImageFile.decodermaxblock: the decoder is fed the file in reads of this size. */
const READ_BLOCK = 65536;

/** Parse the screen descriptor, palettes and extensions up to the first image's data. */
export function readGifHeader(bytes: Uint8Array, label: string): GifHeader {
  const fail = (what: string, hint = 'the file is truncated or corrupt (Pillow cannot open it either)'): never => {
    throw new ImageError(`${label}: GIF ${what}`, hint);
  };
  const sig = String.fromCharCode(...bytes.subarray(0, 6));
  if (sig !== 'GIF87a' && sig !== 'GIF89a') fail(`signature is '${sig}', expected 'GIF87a' or 'GIF89a'`);
  if (bytes.length < 13) fail(`truncated inside the screen descriptor (${bytes.length} bytes)`);
  let width = u16(bytes, 6);
  let height = u16(bytes, 8);
  let pos = 13;
  const take = (n: number) => {
    const s = bytes.subarray(pos, Math.min(bytes.length, pos + n));
    pos += s.length;
    return s;
  };
  const byte = (): number | undefined => (pos < bytes.length ? bytes[pos++] : undefined);
  /** One data sub-block (Pillow's `data()`): undefined at a 0 terminator or end of file. */
  const subBlock = (): Uint8Array | undefined => {
    const n = byte();
    return n ? take(n) : undefined;
  };
  const palette = (n: number): Uint8Array | false => {
    const p = take(n);
    return paletteNeeded(p, label) ? p : false;
  };
  let globalPalette: Uint8Array | false = false;
  if (bytes[10] & 0x80) globalPalette = palette(3 << ((bytes[10] & 7) + 1));

  let transparency: number | undefined;
  let s = byte();
  if (s === undefined || s === 0x3b) fail('has no image (Pillow: "no more images in GIF file")');
  for (;;) {
    if (s === undefined) s = byte();
    if (s === undefined || s === 0x3b) fail('has no image descriptor before its end (Pillow: "image not found in GIF frame")');
    if (s === 0x21) {
      const kind = byte();
      if (kind === undefined) fail('truncated inside an extension');
      let block = subBlock();
      if (kind === 0xf9 && block !== undefined) {
        if (block.length < 3 || (block[0] & 1 && block.length < 4)) fail(`graphic control extension has only ${block.length} bytes`);
        if (block[0] & 1) transparency = block[3];
      } else if (kind === 0xfe) {
        while (block?.length) block = subBlock();
        s = undefined;
        continue;
      } else if (kind === 0xff && block !== undefined) {
        if (String.fromCharCode(...block.subarray(0, 11)) === 'NETSCAPE2.0') subBlock();
      }
      for (let b = subBlock(); b?.length; b = subBlock());
    } else if (s === 0x2c) {
      if (pos + 9 > bytes.length) fail('truncated inside the image descriptor');
      const x = u16(bytes, pos);
      const y = u16(bytes, pos + 2);
      const w = u16(bytes, pos + 4);
      const h = u16(bytes, pos + 6);
      const flags = bytes[pos + 8];
      pos += 9;
      width = Math.max(width, x + w);
      height = Math.max(height, y + h);
      const local = flags & 0x80 ? palette(3 << ((flags & 7) + 1)) : undefined;
      const minCodeSize = byte();
      if (minCodeSize === undefined) fail('truncated before the image data');
      if (width === 0 || height === 0) fail(`is ${width}x${height}: an image needs at least 1x1 pixels`);
      if (w === 0 || h === 0) fail(`first frame is ${w}x${h}: it has no pixels`);
      // An identity local palette makes the frame mode "L", but Image.load() then still
      // attaches the global palette (putpalette turns L into P): its colours are used.
      const pal = local || globalPalette;
      return {
        width,
        height,
        transparency,
        palette: pal || undefined,
        frame: { x, y, w, h, interlaced: (flags & 0x40) !== 0, minCodeSize: minCodeSize!, dataOffset: pos },
      };
    }
    s = undefined; // any other byte is skipped
  }
}

/** Pillow's `_is_palette_needed`: false when every entry is (i, i, i). Reads past a partial entry fail as in Python. */
function paletteNeeded(p: Uint8Array, label: string): boolean {
  for (let i = 0; i < p.length; i += 3) {
    const k = i / 3;
    if (p[i] !== k) return true;
    if (i + 2 >= p.length) throw new ImageError(`${label}: GIF palette is truncated mid-entry`, 'the file is truncated');
    if (p[i + 1] !== k || p[i + 2] !== k) return true;
  }
  return false;
}

/** Upper bound of the bytes decodeGif allocates: a palette index per pixel of the image (the
 *  screen grown to hold the first frame, so a frame far outside the screen is counted in full),
 *  the RGB result, and DECODE_SLACK (the LZW tables are 12 KB). */
export function gifDecodeBytes(h: GifHeader): number {
  return h.width * h.height * 4 + DECODE_SLACK;
}

/** Decode the first frame of a GIF whose header has already passed the pixel guard. */
export function decodeGif(bytes: Uint8Array, hd: GifHeader, label: string): RgbImage {
  const { width: W, height: H } = hd;
  const index = new Uint8Array(W * H).fill(hd.transparency ?? 0); // [H, W] palette indices
  lzwFrame(bytes, hd, index, label);
  const out = new Uint8Array(W * H * 3); // [H, W, 3]
  const pal = hd.palette;
  const entries = pal ? Math.floor(pal.length / 3) : 0;
  for (let i = 0, o = 0; i < W * H; i++, o += 3) {
    const v = index[i];
    if (!pal) {
      out[o] = out[o + 1] = out[o + 2] = v;
    } else if (v < entries) {
      out[o] = pal[v * 3];
      out[o + 1] = pal[v * 3 + 1];
      out[o + 2] = pal[v * 3 + 2];
    } // else black: out is zero-filled
  }
  return { width: W, height: H, data: out };
}

/** GifDecode.c for the first frame (no transparency skipping), writing indices into `index`. */
function lzwFrame(bytes: Uint8Array, hd: GifHeader, index: Uint8Array, label: string): void {
  const { x: x0, y: y0, w: xsize, h: ysize, minCodeSize: bits, dataOffset } = hd.frame;
  const W = hd.width;
  if (bits > 12) {
    throw new ImageError(
      `${label}: GIF LZW minimum code size is ${bits}, at most 12 is possible`,
      'the file is corrupt (Pillow: "codec configuration error")',
    );
  }
  const broken = (why: string): never => {
    throw new ImageError(`${label}: GIF LZW data is broken: ${why}`, 'the file is corrupt (Pillow: "broken data stream")');
  };
  const GIFTABLE = 4096;
  const GIFBUFFER = 4096;
  const GIFBITS = 12;
  const clear = 1 << bits;
  const end = clear + 1;
  let interlace = hd.frame.interlaced ? 1 : 0;
  let step = interlace ? 8 : 1;
  let x = 0;
  let y = 0;
  let state = 1;
  let next = 0;
  let codesize = 0;
  let codemask = 0;
  let lastcode = 0;
  let lastdata = 0;
  const buffer = new Uint8Array(GIFBUFFER);
  const data = new Uint8Array(GIFTABLE);
  const link = new Uint16Array(GIFTABLE);
  let bufferindex = GIFBUFFER;
  let bitbuffer = 0;
  let bitcount = 0;
  let blocksize = 0;
  let ptr = dataOffset;
  let avail = Math.min(bytes.length, dataOffset + READ_BLOCK);
  const len = bytes.length;
  const more = (): void => {
    if (avail >= len) {
      throw new ImageError(
        `${label}: GIF image data ends before the first frame is complete (${y} of ${ysize} rows)`,
        'the file is truncated (Pillow: "image file is truncated")',
      );
    }
    avail = Math.min(len, avail + READ_BLOCK);
  };
  /** Store one pixel; true when the frame is complete (NEWLINE returned -1). */
  const put = (v: number): boolean => {
    index[(y0 + y) * W + x0 + x] = v;
    if (++x < xsize) return false;
    x = 0;
    y += step;
    while (y >= ysize) {
      switch (interlace) {
        case 1:
          y = 4;
          interlace = 2;
          break;
        case 2:
          step = 4;
          y = 2;
          interlace = 3;
          break;
        case 3:
          step = 2;
          y = 1;
          interlace = 0;
          break;
        default:
          return true;
      }
    }
    return false;
  };

  for (;;) {
    if (state === 1) {
      next = clear + 2;
      codesize = bits + 1;
      codemask = (1 << codesize) - 1;
      bufferindex = GIFBUFFER;
      state = 2;
    }
    if (bufferindex < GIFBUFFER) {
      // the rest of the last code's string, written right to left into buffer
      const start = bufferindex;
      bufferindex = GIFBUFFER;
      for (let k = start; k < GIFBUFFER; k++) if (put(buffer[k])) return;
      continue;
    }
    while (bitcount < codesize) {
      if (blocksize > 0) {
        bitbuffer |= bytes[ptr++] << bitcount;
        bitcount += 8;
        blocksize--;
      } else {
        // a sub-block is only started once all of it has been read
        while (avail - ptr < 1) more();
        const c = bytes[ptr];
        while (avail - ptr < c + 1) more();
        blocksize = c;
        ptr++;
      }
    }
    let c = bitbuffer & codemask;
    bitbuffer >>>= codesize;
    bitcount -= codesize;
    if (c === clear) {
      if (state !== 2) state = 1;
      continue;
    }
    if (c === end) {
      more(); // GifDecode.c returns here; ImageFile.load reads on or fails
      continue;
    }
    if (state === 2) {
      if (c > clear) broken(`first code after a clear is ${c}, above the clear code ${clear}`);
      lastdata = c & 255;
      lastcode = c;
      state = 3;
    } else {
      const thiscode = c;
      if (c > next) broken(`code ${c} is past the next table entry ${next}`);
      if (c === next) {
        if (bufferindex <= 0) broken('string longer than 4096');
        buffer[--bufferindex] = lastdata;
        c = lastcode;
      }
      while (c >= clear) {
        if (bufferindex <= 0 || c >= GIFTABLE) broken(`code ${c} cannot be expanded`);
        buffer[--bufferindex] = data[c];
        c = link[c];
      }
      lastdata = c & 255;
      if (next < GIFTABLE) {
        data[next] = c & 255;
        link[next] = lastcode;
        if (next === codemask && codesize < GIFBITS) {
          codesize++;
          codemask = (1 << codesize) - 1;
        }
        next++;
      }
      lastcode = thiscode;
    }
    if (put(lastdata)) return;
  }
}
