// Decode limits of hostile images: JPEG scan count, the byte budget (maxDecodeBytes, from
// the header alone), validated DecodeOptions, and other hostile sizes. Every refusal must come
// BEFORE the big allocation: the messages name the header values the decision was made from.
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ImageError } from '../../src/errors.js';
import { type BmpHeader, bmpDecodeBytes } from '../../src/image/decode-bmp.js';
import { type GifHeader, gifDecodeBytes } from '../../src/image/decode-gif.js';
import { type JpegHeader, jpegDecodeBytes } from '../../src/image/decode-jpeg.js';
import { type PngHeader, pngDecodeBytes } from '../../src/image/decode-png.js';
import { moduleWithMaxMemory, type WebpHeader, webpDecodeBytes } from '../../src/image/decode-webp.js';
import { decodeImage, MAX_DECODE_BYTES, MAX_IMAGE_PIXELS, MAX_JPEG_SCANS, preprocessImage, sniffFormat } from '../../src/image/index.js';
import { png as pngBytes } from './png-bytes.js';

function imageError(f: () => unknown): ImageError {
  try {
    f();
  } catch (e) {
    if (!(e instanceof ImageError)) throw e;
    return e;
  }
  throw new Error('expected an ImageError, nothing was thrown');
}

// ---- byte builders ----------------------------------------------------------------------------

const concat = (parts: ArrayLike<number>[]) => {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};
/** A PNG with the given IHDR and IDAT (the IDAT need not match: guards fire before inflating). */
function png(w: number, h: number, depth: number, colorType: number, interlace: number, idat: Uint8Array): Uint8Array {
  return pngBytes(w, h, idat, { depth, colorType, interlace });
}

const seg = (marker: number, body: number[]) => [0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 255, ...body];

/** Entropy-coded bytes from a '0'/'1' string: padded with 1s, 0xFF stuffed with 0x00. */
function entropyBytes(bits: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < bits.length; i += 8) {
    const v = parseInt(bits.slice(i, i + 8).padEnd(8, '1'), 2);
    out.push(v);
    if (v === 0xff) out.push(0);
  }
  return out;
}
/** One AC scan in which every one of `blocks` blocks is empty, as end-of-block runs: EOB14
 *  ('10' + 14 bits, 16384..32767 blocks) while it fits, then EOB0 ('0', one block) per block. */
function eobRunBits(blocks: number): string {
  let bits = '';
  while (blocks >= 16384) {
    const run = Math.min(blocks, 32767);
    bits += '10' + (run - 16384).toString(2).padStart(14, '0');
    blocks -= run;
  }
  return bits + '0'.repeat(blocks);
}
/**
 * A gray progressive JPEG, w x h: SOI, DQT (all 1), SOF2, DHT (DC: one 1-bit code, category 0;
 * AC: '0' = EOB, '10' = EOB14 run), one DC scan, then `acScans` scans of spectral selection 1..63
 * in which every block is empty (end-of-block runs), EOI. A scan over 8192x8192 costs ~70 bytes,
 * so thousands of them make a small file — and each one makes the decoder walk every block again.
 */
function eobScansJpeg(w: number, h: number, acScans: number, sampling = 0x11): Uint8Array {
  const blocks = Math.ceil(w / 8) * Math.ceil(h / 8);
  const sos = (ss: number, se: number) => seg(0xda, [1, 1, 0x00, ss, se, 0x00]);
  const counts = (n1: number, n2: number) => [n1, n2, ...new Array(14).fill(0)];
  const dc = Uint8Array.from([...sos(0, 0), ...entropyBytes('0'.repeat(blocks))]);
  const ac = Uint8Array.from([...sos(1, 63), ...entropyBytes(eobRunBits(blocks))]);
  const parts: ArrayLike<number>[] = [
    [0xff, 0xd8],
    seg(0xdb, [0x00, ...new Array(64).fill(1)]),
    seg(0xc2, [8, h >> 8, h & 255, w >> 8, w & 255, 1, 1, sampling, 0]),
    seg(0xc4, [0x00, ...counts(1, 0), 0x00, 0x10, ...counts(1, 1), 0x00, 0xe0]),
    dc,
  ];
  for (let i = 0; i < acScans; i++) parts.push(ac);
  parts.push([0xff, 0xd9]);
  return concat(parts);
}

/** SOI + a baseline SOF for w x h with the given [h, v] sampling per component; no scans, no EOI. */
function jpegHeaderOnly(w: number, h: number, sampling: Array<[number, number]>): Uint8Array {
  const comps = sampling.flatMap(([sh, sv], i) => [i + 1, (sh << 4) | sv, 0]);
  return concat([[0xff, 0xd8], seg(0xc0, [8, h >> 8, h & 255, w >> 8, w & 255, sampling.length, ...comps])]);
}

// ---- row 1: JPEG scans --------------------------------------------------------------------------

describe('JPEG: the number of scans is bounded before decoding (MAX_JPEG_SCANS)', () => {
  it('the reproducer decodes while it has few scans (uniform gray: every coefficient is 0)', () => {
    const img = decodeImage(eobScansJpeg(16, 16, 20));
    expect([img.width, img.height]).toEqual([16, 16]);
    expect(img.data.every((v) => v === 128)).toBe(true);
  });
  it('1 DC + 4000 end-of-block AC scans over 8192x8192 is refused from the header walk, naming the count', () => {
    // before the fix jpeg-js walked the 1M blocks 4001 times (minutes) and kept ~700 MB of blocks
    const bomb = eobScansJpeg(8192, 8192, 4000);
    const e = imageError(() => decodeImage(bomb, { label: 'scans.jpg' }));
    expect(e.message).toMatch(
      /^scans\.jpg: JPEG has more than 500 scans \(counted 501 SOS markers before stopping; .*refused before decoding/,
    );
    expect(e.message).toMatch(/the 8192x8192 frame.*raise maxJpegScans/s);
  });
  it('the bound is the first refused count, and maxJpegScans raises it', () => {
    expect(MAX_JPEG_SCANS).toBe(500);
    const at = eobScansJpeg(16, 16, MAX_JPEG_SCANS - 1); // 1 DC + 499 AC = 500 scans: accepted
    expect(decodeImage(at).width).toBe(16);
    const over = eobScansJpeg(16, 16, MAX_JPEG_SCANS);
    expect(imageError(() => decodeImage(over)).message).toMatch(/more than 500 scans \(counted 501/);
    expect(decodeImage(over, { maxJpegScans: 501 }).width).toBe(16);
    expect(imageError(() => decodeImage(eobScansJpeg(16, 16, 10), { maxJpegScans: 5 })).message).toMatch(/more than 5 scans \(counted 6/);
  });
  it('the walk stops counting at the bound (a 100000-scan file is not counted to the end)', () => {
    const e = imageError(() => decodeImage(eobScansJpeg(8, 8, 100_000)));
    expect(e.message).toMatch(/counted 501 SOS/);
  });
});

// ---- row 2: the byte budget ---------------------------------------------------------------------

const tinyIdat = deflateSync(new Uint8Array(100));

describe("maxDecodeBytes: the decoders' allocations, estimated from the header, are bounded", () => {
  it('a 9459x9459 16-bit RGBA PNG (inside the pixel limit) is refused before inflating, plain and interlaced', () => {
    // a 696 KB all-zero file of this size took 2.42 GB RSS (3.85 GB interlaced); the IDAT here is a
    // stub: the budget must fire from IHDR alone, so it is never inflated
    expect(9459 * 9459).toBeLessThanOrEqual(MAX_IMAGE_PIXELS);
    for (const [interlace, name] of [
      [0, ''],
      [1, ' interlaced'],
    ] as const) {
      const e = imageError(() => decodeImage(png(9459, 9459, 16, 6, interlace, tinyIdat), { label: 'deep.png' }));
      expect(e.message).toMatch(
        new RegExp(
          `^deep\\.png: decoding this 9459x9459 16-bit RGBA${name} PNG would allocate up to \\d+\\.\\d\\d GB .*estimated from the header, nothing decoded.*above the limit of 4\\.29 GB`,
        ),
      );
      expect(e.message).toMatch(/Hint: .*16-bit.*raise maxDecodeBytes/);
    }
  });
  it('an 8-bit RGB PNG at the pixel limit passes the budget (and fails later, on its stub IDAT)', () => {
    for (const interlace of [0, 1]) {
      const e = imageError(() => decodeImage(png(9459, 9459, 8, 2, interlace, tinyIdat)));
      expect(e.message).toMatch(/does not inflate to the \d+ bytes|truncated/);
    }
  });
  it('a 4:4:4 JPEG and a gray JPEG at the pixel limit pass the budget (and fail later: no scan data)', () => {
    for (const s of [
      [
        [1, 1],
        [1, 1],
        [1, 1],
      ],
      [[1, 1]],
      [
        [2, 2],
        [1, 1],
        [1, 1],
      ],
    ] as Array<Array<[number, number]>>) {
      expect(imageError(() => decodeImage(jpegHeaderOnly(9459, 9459, s))).message).toMatch(/truncated \(no EOI/);
    }
  });
  it('maxDecodeBytes is configurable, and refuses with the header values in the message', () => {
    const small = png(4, 4, 16, 6, 0, deflateSync(new Uint8Array(4 * (1 + 4 * 8))));
    expect(decodeImage(small).width).toBe(4);
    const h: PngHeader = { width: 4, height: 4, bitDepth: 16, colorType: 6, interlace: 0 };
    const est = pngDecodeBytes(h, small.length);
    expect(decodeImage(small, { maxDecodeBytes: est }).width).toBe(4);
    expect(imageError(() => decodeImage(small, { maxDecodeBytes: est - 1 })).message).toMatch(
      new RegExp(`4x4 16-bit RGBA PNG would allocate up to \\d\\.\\d\\d GB \\(${est} bytes\\).*maxDecodeBytes = ${est - 1}`),
    );
    // through preprocessImage too
    expect(() => preprocessImage(small, { maxDecodeBytes: 100 })).toThrow(/above the limit .*maxDecodeBytes = 100/);
  });
  it('the default lets every 8-bit RGB image within MAX_IMAGE_PIXELS decode, in every format (estimates at the limit)', () => {
    // worst shapes at the pixel limit: square, one long row, and JPEG's widest frame
    const rows: Array<[string, number]> = [];
    const side = Math.floor(Math.sqrt(MAX_IMAGE_PIXELS)); // 9459
    // PNG rows cost pngjs a JS object each: rows of 32+ pixels at the limit (2.8 million rows)
    for (const [w, h] of [
      [side, side],
      [MAX_IMAGE_PIXELS, 1],
      [32, Math.floor(MAX_IMAGE_PIXELS / 32)],
    ]) {
      for (const interlace of [0, 1]) {
        // the IDAT can be at most what 8-bit RGB rows deflate to; 16 MB is generous for a file
        rows.push([
          `PNG ${w}x${h} RGB8 interlace ${interlace}`,
          pngDecodeBytes({ width: w, height: h, bitDepth: 8, colorType: 2, interlace }, 16e6),
        ]);
        rows.push([
          `PNG ${w}x${h} RGBA8 interlace ${interlace}`,
          pngDecodeBytes({ width: w, height: h, bitDepth: 8, colorType: 6, interlace }, 16e6),
        ]);
      }
    }
    const jpeg = (w: number, h: number, sampling: Array<[number, number]>): JpegHeader => ({
      width: w,
      height: h,
      components: sampling.length,
      precision: 8,
      progressive: true,
      jfif: true,
      componentIds: [1, 2, 3],
      sampling,
      scans: 10,
    });
    // a q100 4:4:4 JPEG at the limit is ~60 MB; 200 MB leaves room for EXIF/ICC and worse encoders
    for (const [w, h] of [
      [side, side],
      [65535, Math.floor(MAX_IMAGE_PIXELS / 65535)],
      [Math.floor(MAX_IMAGE_PIXELS / 65535), 65535],
    ]) {
      rows.push([
        `JPEG ${w}x${h} 4:4:4`,
        jpegDecodeBytes(
          jpeg(w, h, [
            [1, 1],
            [1, 1],
            [1, 1],
          ]),
          200e6,
        ),
      ]);
      rows.push([
        `JPEG ${w}x${h} 4:2:0`,
        jpegDecodeBytes(
          jpeg(w, h, [
            [2, 2],
            [1, 1],
            [1, 1],
          ]),
          200e6,
        ),
      ]);
      rows.push([
        `JPEG ${w}x${h} 4x4/1x1/1x1`,
        jpegDecodeBytes(
          jpeg(w, h, [
            [4, 4],
            [1, 1],
            [1, 1],
          ]),
          200e6,
        ),
      ]);
    }
    rows.push(['BMP 24-bit', bmpDecodeBytes({ width: side, height: side, compression: 0 } as BmpHeader)]);
    rows.push(['BMP RLE8', bmpDecodeBytes({ width: side, height: side, compression: 1 } as BmpHeader)]);
    rows.push(['GIF', gifDecodeBytes({ width: side, height: side } as GifHeader)]);
    const webp = (fw: number, fh: number, size: number): WebpHeader => ({
      width: side,
      height: side,
      animated: false,
      frame: { x: 0, y: 0, w: fw, h: fh, start: 0, end: size },
    });
    rows.push(['WebP', webpDecodeBytes(webp(side, side, 200e6))]);
    const over = rows.filter(([, b]) => b > MAX_DECODE_BYTES);
    expect(over.map(([n, b]) => `${n}: ${b}`)).toEqual([]);
    // a 1-pixel-wide PNG at the limit would need ~11 GB of per-row JS objects in pngjs (past V8's
    // heap: a crash, not an exception): the budget refuses it, with the rows in the message
    const tall = pngDecodeBytes({ width: 1, height: MAX_IMAGE_PIXELS, bitDepth: 8, colorType: 2, interlace: 0 }, 1e6);
    expect(tall).toBeGreaterThan(MAX_DECODE_BYTES);
    expect(imageError(() => decodeImage(png(1, MAX_IMAGE_PIXELS, 8, 2, 0, tinyIdat))).message).toMatch(
      /1x89478485 8-bit RGB PNG would allocate up to 2\d\.\d\d GB/,
    );
    // and the 9459x9459 16-bit RGBA PNG is above it
    expect(pngDecodeBytes({ width: 9459, height: 9459, bitDepth: 16, colorType: 6, interlace: 0 }, 696e3)).toBeGreaterThan(
      MAX_DECODE_BYTES,
    );
  });
});

// ---- row 3: options and input are validated ------------------------------------------------------

describe('DecodeOptions and the input are validated (typed errors, never a disabled guard)', () => {
  const ok = png(2, 2, 8, 2, 0, deflateSync(new Uint8Array(2 * 7)));
  it('maxPixels / maxDecodeBytes must be positive finite numbers; NaN no longer switches the guard off', () => {
    for (const v of [NaN, Infinity, -Infinity, 0, -1, '100', null]) {
      for (const key of ['maxPixels', 'maxDecodeBytes']) {
        const e = imageError(() => decodeImage(ok, { [key]: v } as never));
        expect(e.message, `${key}=${String(v)}`).toMatch(
          new RegExp(`^image: invalid decode options:\\n  - ${key}: expected a positive finite number, got `),
        );
      }
    }
    // a 9459x9459 header with maxPixels NaN is refused for the option, not decoded
    expect(imageError(() => decodeImage(png(9459, 9459, 16, 6, 0, tinyIdat), { maxPixels: NaN })).message).toMatch(
      /maxPixels: expected a positive finite number, got the number NaN/,
    );
    expect(decodeImage(ok, { maxPixels: 4, maxDecodeBytes: 1e8 }).width).toBe(2);
  });
  it('every problem is reported at once: maxJpegScans integer, label string, boolean flag, unknown keys', () => {
    const e = imageError(() => decodeImage(ok, { maxJpegScans: 2.5, label: 7, applyExifOrientation: 'yes', maxpixels: 5 } as never));
    expect(e.message).toMatch(/maxJpegScans: expected a positive finite integer, got the number 2\.5/);
    expect(e.message).toMatch(/label: expected a string, got the number 7/);
    expect(e.message).toMatch(/applyExifOrientation: expected a boolean, got a string/);
    expect(e.message).toMatch(/maxpixels: not a decode option \(known: maxPixels,/);
    expect(e.hint).toMatch(/NaN/);
  });
  it('options that are not an object, and inputs that are not a Uint8Array, are ImageErrors (not TypeErrors)', () => {
    for (const opts of [null, 5, 'x', []]) {
      expect(imageError(() => decodeImage(ok, opts as never)).message).toMatch(/decodeImage: options must be an object/);
    }
    const cases: Array<[unknown, RegExp]> = [
      [null, /got null/],
      [undefined, /got undefined/],
      ['a.png', /got a string/],
      [[1, 2, 3], /got Array/],
      [new ArrayBuffer(8), /got ArrayBuffer\nHint: wrap it: new Uint8Array\(buffer\)/],
      [new Uint16Array(4), /got Uint16Array/],
    ];
    for (const [input, re] of cases) {
      expect(imageError(() => decodeImage(input as never, { label: 'in' })).message).toMatch(
        /^in: expected the file's bytes as a Uint8Array, got /,
      );
      expect(imageError(() => decodeImage(input as never)).message).toMatch(re);
      expect(imageError(() => sniffFormat(input as never)).message).toMatch(/sniffFormat: expected the file's bytes as a Uint8Array/);
    }
    expect(() => preprocessImage(ok, { maxPixels: NaN })).toThrow(ImageError);
    expect(decodeImage(Buffer.from(ok)).width).toBe(2); // a Buffer is a Uint8Array
  });
});

// ---- row 4: other hostile sizes ------------------------------------------------------------------

describe('other hostile sizes', () => {
  it('JPEG sampling factors outside 1..4 are refused before jpeg-js pads every MCU to them', () => {
    const e = imageError(() =>
      decodeImage(
        jpegHeaderOnly(64, 64, [
          [15, 15],
          [1, 1],
          [1, 1],
        ]),
        { label: 's.jpg' },
      ),
    );
    expect(e.message).toMatch(/^s\.jpg: JPEG component 1 has sampling factors 15x15, expected 1\.\.4 each\nHint: .*Bogus sampling factors/);
    expect(imageError(() => decodeImage(eobScansJpeg(16, 16, 1, 0x50))).message).toMatch(/sampling factors 5x0/);
  });
  it('a second JPEG frame header (SOF) is refused before jpeg-js allocates its blocks', () => {
    const one = eobScansJpeg(16, 16, 2);
    const sof = Uint8Array.from(seg(0xc2, [8, 0xff, 0xff, 0xff, 0xff, 1, 1, 0x11, 0]));
    const two = concat([one.subarray(0, one.length - 2), sof, [0xff, 0xd9]]);
    expect(imageError(() => decodeImage(two, { label: 'two.jpg' })).message).toMatch(
      /^two\.jpg: JPEG has a second frame header \(SOF\) at byte \d+\nHint: .*two SOF markers/,
    );
  });
  it('a GIF frame far outside a 1x1 screen grows the image, and the guards see the grown size', () => {
    // screen 1x1; frame at (60000, 60000), 5000x5000: Pillow's image becomes 65000x65000
    const b = [
      ...new TextEncoder().encode('GIF89a'),
      1,
      0,
      1,
      0,
      0,
      0,
      0,
      0x2c,
      0x60,
      0xea,
      0x60,
      0xea,
      0x88,
      0x13,
      0x88,
      0x13,
      0,
      2,
      2,
      0x4c,
      0x01,
      0,
      0x3b,
    ];
    expect(imageError(() => decodeImage(Uint8Array.from(b))).message).toMatch(/65000x65000 = 4225000000 pixels exceeds/);
    expect(imageError(() => decodeImage(Uint8Array.from(b), { maxPixels: 5e9, maxDecodeBytes: 1e9 })).message).toMatch(
      /decoding this 65000x65000 GIF would allocate up to 16\.9\d GB/,
    );
  });
  it("the WebP codec's wasm memory has a maximum (libwebp cannot grow past its estimate)", () => {
    const mod = moduleWithMaxMemory(512); // 32 MiB
    const stub = () => {
      throw new Error('no WASI');
    };
    const inst = new WebAssembly.Instance(mod, { wasi_snapshot_preview1: { fd_close: stub, fd_seek: stub, fd_write: stub } });
    const mem = inst.exports.memory as WebAssembly.Memory;
    const pages = mem.buffer.byteLength / 65536;
    expect(() => mem.grow(512 - pages)).not.toThrow();
    expect(() => mem.grow(1)).toThrow(RangeError);
    // and malloc past it returns NULL, which decodeStill turns into an ImageError
    expect((inst.exports.malloc as (n: number) => number)(64 << 20)).toBe(0);
  });
});
