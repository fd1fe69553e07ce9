// The WebAssembly SIMD kernels (kernels/jpeg.ts via src/image/jpeg/idct-wasm.ts) against their
// readable twins idctIslow (src/image/jpeg/idct.ts) and yccH2v2Row, yccToRgbRow, rgbRow, grayRow (color.ts), bit for bit: first that the WebAssembly path
// is live here (so nothing below passes by falling back), then seeded random blocks (valid
// ranges, DC-only, zero columns and rows, absurd values where int32 wraps), random 4:2:0 planes
// (widths around the 4-column step, saturated samples), random full-size planes (widths around
// the 8- and 16-pixel steps), then every golden
// decoded through both paths to Pillow's bytes.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { grayRow, rgbRow, yccH2v2Row, yccToRgbRow } from '../../src/image/jpeg/color.js';
import { DEFAULT_JPEG_IDCT, decodeJpegExact } from '../../src/image/jpeg/decoder.js';
import { idctIslow } from '../../src/image/jpeg/idct.js';
import { createWasmIdct, wasmIdctAvailable } from '../../src/image/jpeg/idct-wasm.js';
import { ROOT } from './golden.js';

/** xorshift32, seeded. */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

describe('JPEG kernels: WebAssembly SIMD = the TS definitions', () => {
  it('the WebAssembly path is live (Node has SIMD128) and is the default', () => {
    expect(wasmIdctAvailable()).toBe(true);
    expect(DEFAULT_JPEG_IDCT).toBe('wasm');
  });

  it.each([
    ['valid range', 1, 0],
    ['DC only', 2, 1],
    ['sparse (zero columns / rows)', 3, 2],
    ['absurd: full int16 x 16-bit quant (int32 wraps)', 4, 3],
    ['DC only, absurd: full int16 DC x 16-bit quant (the whole-block shortcut where int32 wraps)', 5, 4],
  ])('random blocks, %s', (_name, seed, kind) => {
    const r = rng(seed);
    const n = 61; // blocks per row: not a multiple of anything
    const coefs = new Int16Array(n * 64);
    const q = new Int32Array(64);
    for (let i = 0; i < 64; i++) q[i] = kind >= 3 ? Math.floor(r() * 65536) : 1 + Math.floor(r() * 255);
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < 64; i++) {
        let v = 0;
        if (kind === 0) v = Math.round((r() - 0.5) * (i === 0 ? 4096 : 2048 / (1 + i)));
        else if (kind === 1) v = i === 0 ? Math.round((r() - 0.5) * 4096) : 0;
        else if (kind === 2) v = r() < 0.15 ? Math.round((r() - 0.5) * 400) : 0;
        else if (kind === 3) v = Math.floor(r() * 65536) - 32768;
        else v = i === 0 ? Math.floor(r() * 65536) - 32768 : 0;
        coefs[b * 64 + i] = v;
      }
    }
    const stride = n * 8 + 5;
    const want = new Uint8Array(stride * 8);
    for (let b = 0; b < n; b++) idctIslow(coefs, b * 64, q, want, b * 8, stride);
    const k = createWasmIdct([stride * 8], n)!;
    k.blockRow(coefs, n, n, 0, q, 0, stride);
    const got = k.plane(0);
    const bad: string[] = [];
    for (let i = 0; i < want.length && bad.length < 5; i++) {
      if (i % stride < n * 8 && got[i] !== want[i])
        bad.push(`block ${Math.floor((i % stride) / 8)} row ${Math.floor(i / stride)} col ${i % 8}: ts ${want[i]} wasm ${got[i]}`);
    }
    expect(bad).toEqual([]);
  });

  it('4:2:0 upsampling + colour: random planes, widths around the 8-column (16-pixel) step', () => {
    const r = rng(9);
    const bad: string[] = [];
    for (const w of [5, 6, 7, 8, 9, 10, 11, 12, 13, 16, 17, 18, 19, 20, 21, 31, 32, 33, 34, 35, 36, 37, 38, 49, 50, 51, 52, 53, 64, 101]) {
      for (const h of [1, 2, 3, 7]) {
        const dw = Math.ceil(w / 2);
        const dh = Math.ceil(h / 2);
        const yStride = w + 3;
        const cStride = dw + 2; // planes are wider than the image, as in the decoder
        const k = createWasmIdct([yStride * h, cStride * dh, cStride * dh], 1, w)!;
        const [Y, cb, cr] = [k.plane(0), k.plane(1), k.plane(2)];
        for (const p of [Y, cb, cr]) for (let i = 0; i < p.length; i++) p[i] = r() < 0.1 ? (r() < 0.5 ? 0 : 255) : Math.floor(r() * 256);
        const want = new Uint8Array(w * h * 3);
        const got = new Uint8Array(w * h * 3);
        for (let y = 0; y < h; y++) yccH2v2Row(Y, y * yStride, cb, cr, cStride, dw, dh, y, w, want, y * w * 3);
        k.yccH2v2(w, h, yStride, cStride, dw, dh, got);
        const i = want.findIndex((v, j) => got[j] !== v);
        if (i >= 0)
          bad.push(`${w}x${h}: pixel ${Math.floor(i / 3) % w},${Math.floor(i / 3 / w)} channel ${i % 3}: ts ${want[i]} wasm ${got[i]}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it.each(['ycc', 'rgb', 'gray'] as const)(
    'full-size planes -> RGB (%s): random planes, widths around the 8- and 16-pixel steps',
    (space) => {
      const r = rng(space === 'ycc' ? 11 : space === 'rgb' ? 12 : 13);
      const bad: string[] = [];
      for (const w of [1, 2, 7, 8, 9, 15, 16, 17, 23, 24, 25, 31, 32, 33, 47, 48, 49, 100, 130]) {
        for (const h of [1, 3]) {
          const n = space === 'gray' ? 1 : 3;
          const strides = Array.from({ length: n }, (_, i) => w + 1 + 4 * i); // planes wider than the image, each its own stride
          const k = createWasmIdct(
            strides.map((s) => s * h),
            1,
            w,
          )!;
          const planes = strides.map((_, i) => k.plane(i));
          for (const p of planes) for (let i = 0; i < p.length; i++) p[i] = r() < 0.1 ? (r() < 0.5 ? 0 : 255) : Math.floor(r() * 256);
          const want = new Uint8Array(w * h * 3);
          const got = new Uint8Array(w * h * 3);
          for (let y = 0; y < h; y++) {
            const row = (i: number) => planes[i].subarray(y * strides[i]);
            if (space === 'gray') grayRow(row(0), w, want, y * w * 3);
            else if (space === 'rgb') rgbRow(row(0), row(1), row(2), w, want, y * w * 3);
            else yccToRgbRow(planes[0], planes[1], planes[2], w, want, y * w * 3, y * strides[0], y * strides[1], y * strides[2]);
          }
          k.fullsize(space, w, h, strides, got);
          const i = want.findIndex((v, j) => got[j] !== v);
          if (i >= 0)
            bad.push(`${w}x${h}: pixel ${Math.floor(i / 3) % w},${Math.floor(i / 3 / w)} channel ${i % 3}: ts ${want[i]} wasm ${got[i]}`);
        }
      }
      expect(bad).toEqual([]);
    },
  );

  it('YCbCr -> RGB, every (Y, Cb, Cr) triple: the 16-bit constants split for i16 lanes change no value', () => {
    // 256^3 pixels as 256 rows of 65536 (Cb, Cr) pairs, one row per Y
    const n = 65536;
    const k = createWasmIdct([n, n, n], 1, n)!;
    const [Y, cb, cr] = [k.plane(0), k.plane(1), k.plane(2)];
    for (let i = 0; i < n; i++) {
      cb[i] = i >> 8;
      cr[i] = i & 255;
    }
    const want = new Uint8Array(n * 3);
    const got = new Uint8Array(n * 3);
    const bad: string[] = [];
    for (let y = 0; y < 256 && bad.length < 5; y++) {
      Y.fill(y);
      yccToRgbRow(Y, cb, cr, n, want, 0);
      k.fullsize('ycc', n, 1, [n, n, n], got);
      const i = want.findIndex((v, j) => got[j] !== v);
      if (i >= 0) bad.push(`Y ${y} Cb ${cb[Math.floor(i / 3)]} Cr ${cr[Math.floor(i / 3)]} channel ${i % 3}: ts ${want[i]} wasm ${got[i]}`);
    }
    expect(bad).toEqual([]);
  });

  it.each([
    ['4:2:0 photo', 'docs/img/example-1280x720.jpg', 21],
    ['4:4:4', 'reference/fixtures/image/jpeg/baseline444_q95.jpg', 22],
    ['gray', 'reference/fixtures/image/jpeg/gray_q90.jpg', 23],
  ])('sequential Huffman decoding (wasm huff_seq = decodeBlockFast): %s headers, random entropy data', (_n, file, seed) => {
    // random bits hit every branch the goldens rarely do: codes of 10..16 bits, bad codes (17
    // bits -> symbol 0), ZRL, overshooting runs, stuffed 0xFF 0x00 pairs; both paths must agree
    const src = new Uint8Array(readFileSync(join(ROOT, file)));
    let p = 2;
    while (src[p + 1] !== 0xda) p += 2 + ((src[p + 2] << 8) | src[p + 3]);
    const head = src.subarray(0, p + 2 + ((src[p + 2] << 8) | src[p + 3]));
    const r = rng(seed);
    const data: number[] = [];
    for (let i = 0; i < 300_000; i++) {
      const b = r() < 0.02 ? 0xff : Math.floor(r() * 256);
      data.push(b);
      if (b === 0xff) data.push(0);
    }
    const bytes = new Uint8Array([...head, ...data, 0xff, 0xd9]);
    const hash = (idct: 'ts' | 'wasm') =>
      createHash('sha256')
        .update(decodeJpegExact(bytes, file, idct).data)
        .digest('hex');
    expect(hash('wasm')).toBe(hash('ts'));
  });

  it('sequential Huffman decoding past the entropy bytes copied into the instance (128 a block): the rest in decodeBlockFast, same bytes', () => {
    // a 256x256 gray baseline JPEG whose every block is 63 coefficients of size 15 behind a 2-bit
    // code (~134 bytes a block, past the copy's 128): DHT DC {0: '0'}, AC {0x0F: '00', EOB: '01'}
    const r = rng(31);
    const bits: number[] = [];
    for (let b = 0; b < 32 * 32; b++) {
      bits.push(0); // DC difference 0
      for (let k = 1; k < 64; k++) {
        bits.push(0, 0);
        for (let i = 0; i < 15; i++) bits.push(r() < 0.5 ? 1 : 0);
      }
    }
    while (bits.length % 8) bits.push(1);
    const data: number[] = [];
    for (let i = 0; i < bits.length; i += 8) {
      const v = bits.slice(i, i + 8).reduce((a, x) => (a << 1) | x, 0);
      data.push(v);
      if (v === 0xff) data.push(0);
    }
    const seg = (m: number, body: number[]) => [0xff, m, (body.length + 2) >> 8, (body.length + 2) & 255, ...body];
    const counts = (l: number, n: number) => Array.from({ length: 16 }, (_, i) => (i === l - 1 ? n : 0));
    const bytes = new Uint8Array([
      0xff,
      0xd8,
      ...seg(0xdb, [0, ...new Array(64).fill(1)]),
      ...seg(0xc0, [8, 1, 0, 1, 0, 1, 1, 0x11, 0]),
      ...seg(0xc4, [0x00, ...counts(1, 1), 0x00]),
      ...seg(0xc4, [0x10, ...counts(2, 2), 0x0f, 0x00]),
      ...seg(0xda, [1, 1, 0x00, 0, 63, 0]),
      ...data,
      0xff,
      0xd9,
    ]);
    expect(data.length).toBeGreaterThan(32 * 32 * 128 + 1024 + 4096); // the copy ends well before the data
    const hash = (idct: 'ts' | 'wasm') =>
      createHash('sha256')
        .update(decodeJpegExact(bytes, 'dense', idct).data)
        .digest('hex');
    expect(hash('wasm')).toBe(hash('ts'));
  });

  it.each([
    ['4:2:0 q90', 'reference/fixtures/image/jpeg-exact/pil_320x240_420_q90_prog.jpg', 41],
    ['4:4:4 q95 optimized', 'reference/fixtures/image/jpeg-exact/pil_320x240_444_q95_prog_opt.jpg', 42],
  ])(
    'progressive AC refinement (wasm huff_ac_refine = decodeAcRefineFast): Pillow %s, last scan replaced by random data',
    (_n, file, seed) => {
      // the last scan of Pillow's progression is the luma AC refinement (Ah 1, Al 0): random
      // data there takes new coefficients, correction bits, EOB runs of every length, long and
      // bad codes, on top of real coefficients from the earlier scans; both paths must agree
      const src = new Uint8Array(readFileSync(join(ROOT, file)));
      let p = 2;
      let lastSos = -1;
      while (p < src.length - 4) {
        if (src[p] === 0xff && src[p + 1] === 0xda) lastSos = p;
        if (src[p] === 0xff && src[p + 1] !== 0 && src[p + 1] !== 0xff && (src[p + 1] < 0xd0 || src[p + 1] > 0xd9))
          p += 2 + ((src[p + 2] << 8) | src[p + 3]);
        else p++;
      }
      expect(src[lastSos + 5 + 2 * src[lastSos + 4]]).toBe(1); // Ss = 1: an AC scan
      const head = src.subarray(0, lastSos + 2 + ((src[lastSos + 2] << 8) | src[lastSos + 3]));
      const r = rng(seed);
      const data: number[] = [];
      for (let i = 0; i < 100_000; i++) {
        const b = r() < 0.02 ? 0xff : Math.floor(r() * 256);
        data.push(b);
        if (b === 0xff) data.push(0);
      }
      const bytes = new Uint8Array([...head, ...data, 0xff, 0xd9]);
      const hash = (idct: 'ts' | 'wasm') =>
        createHash('sha256')
          .update(decodeJpegExact(bytes, file, idct).data)
          .digest('hex');
      expect(hash('wasm')).toBe(hash('ts'));
    },
  );

  interface Entry {
    file: string;
    sha256?: string;
    error?: string;
  }
  const doc = JSON.parse(readFileSync(join(ROOT, 'reference/fixtures/image/jpeg-exact/golden.json'), 'utf8')) as { files: Entry[] };
  it.each(doc.files.filter((e) => !e.error).map((e) => [e.file.split('/').pop(), e] as const))(
    "both paths give Pillow's bytes: %s",
    (_n, e) => {
      const bytes = new Uint8Array(readFileSync(join(ROOT, e.file)));
      for (const idct of ['ts', 'wasm'] as const) {
        const img = decodeJpegExact(bytes, e.file, idct);
        expect(createHash('sha256').update(img.data).digest('hex'), idct).toBe(e.sha256);
      }
    },
  );
});
