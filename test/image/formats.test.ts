// BMP / GIF / WebP decoding against Pillow 11.3's `Image.open(f).convert('RGB')`
// (reference/make_image_formats.py -> reference/fixtures/image-formats/golden.json).
// BMP and GIF must be byte-identical, and every file Pillow refuses must give a typed
// ImageError. WebP goes through libwebp (wasm): its difference from Pillow's libwebp is
// measured per file, printed, and bounded by WEBP_TOLERANCE. Then hostile inputs.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FixtureError, ImageError } from '../../src/errors.js';
import { decodeImage } from '../../src/image/index.js';
import { ROOT } from './golden.js';

const FORMAT_VERSION = 1;
const DIR = join(ROOT, 'reference/fixtures/image-formats');

interface Case {
  file: string;
  file_sha256: string;
  mode?: string;
  width?: number;
  height?: number;
  rgb_sha256?: string;
  rgb_b64?: string;
  samples?: number[][];
  error?: string;
}
const golden = (() => {
  const g = JSON.parse(readFileSync(join(DIR, 'golden.json'), 'utf8')) as {
    format_version: number;
    provenance: Record<string, string>;
    cases: Case[];
  };
  if (g.format_version !== FORMAT_VERSION) {
    throw new FixtureError(
      `image-formats/golden.json: format_version ${g.format_version}, tests expect ${FORMAT_VERSION}`,
      'regenerate: reference/.venv/bin/python reference/make_image_formats.py',
    );
  }
  return g;
})();
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function read(c: Case): Uint8Array {
  const bytes = new Uint8Array(readFileSync(join(DIR, c.file)));
  if (sha256(bytes) !== c.file_sha256) {
    throw new FixtureError(
      `${c.file}: bytes differ from golden.json`,
      'regenerate: reference/.venv/bin/python reference/make_image_formats.py',
    );
  }
  return bytes;
}

function imageError(f: () => unknown): ImageError {
  try {
    f();
  } catch (e) {
    if (!(e instanceof ImageError)) throw e;
    return e;
  }
  throw new Error('expected an ImageError, nothing was thrown');
}

/** First differing pixel, for a readable failure (never the whole array). */
function firstDiff(got: Uint8Array, want: Uint8Array, w: number): string {
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i]) {
      const p = Math.floor(i / 3);
      return `first difference at pixel (${p % w}, ${Math.floor(p / w)}): got ${Array.from(got.subarray(p * 3, p * 3 + 3))}, Pillow ${Array.from(want.subarray(p * 3, p * 3 + 3))}`;
    }
  }
  return 'identical';
}

function checkExact(c: Case): void {
  const img = decodeImage(read(c), { label: c.file });
  expect([img.width, img.height]).toEqual([c.width, c.height]);
  for (const [x, y, r, g, b] of c.samples!) {
    const o = (y * img.width + x) * 3;
    expect([x, y, ...img.data.subarray(o, o + 3)]).toEqual([x, y, r, g, b]);
  }
  if (c.rgb_b64) {
    const want = new Uint8Array(Buffer.from(c.rgb_b64, 'base64'));
    if (sha256(img.data) !== c.rgb_sha256) expect(firstDiff(img.data, want, img.width)).toBe('identical');
  }
  expect(sha256(img.data)).toBe(c.rgb_sha256);
}

for (const fmt of ['bmp', 'gif'] as const) {
  const cs = golden.cases.filter((c) => c.file.startsWith(fmt + '/'));
  describe(`${fmt.toUpperCase()} -> RGB equals Pillow ${golden.provenance.pillow} convert('RGB') (exact)`, () => {
    it.each(cs.filter((c) => !c.error).map((c) => [c.file.split('/')[1], c] as const))('%s', (_n, c) => checkExact(c));
    it.each(cs.filter((c) => c.error).map((c) => [c.file.split('/')[1], c] as const))(
      '%s: Pillow refuses, we throw ImageError',
      (_n, c) => {
        const e = imageError(() => decodeImage(read(c), { label: c.file }));
        expect(e.message).toContain(c.file);
      },
    );
  });
}

// ---- WebP: measured against Pillow's libwebp ------------------------------------------------

/** Max |Δ| per sample (0..255) and the minimum share of exactly equal samples, per WebP file.
 *  Set from the measurement printed below: both sides run libwebp's own decoder (Pillow 11.3
 *  bundles libwebp 1.5.0; @cwasm/webp 0.1.5 is libwebp built with wasi-sdk), whose lossy and
 *  lossless paths are specified bit-exact, and every fixture decodes identically. A future
 *  difference must be explained before this is widened. */
const WEBP_TOLERANCE = { maxAbs: 0, exactShare: 1 };

describe('WebP -> RGB vs Pillow (libwebp in wasm; measured)', () => {
  const cs = golden.cases.filter((c) => c.file.startsWith('webp/'));
  const rows: string[] = [];
  it.each(cs.filter((c) => !c.error).map((c) => [c.file.split('/')[1], c] as const))('%s', (_n, c) => {
    const img = decodeImage(read(c), { label: c.file });
    expect([img.width, img.height]).toEqual([c.width, c.height]);
    let maxAbs = 0;
    let exact = 0;
    let n = 0;
    const cmp = (got: number, want: number) => {
      const d = Math.abs(got - want);
      if (d > maxAbs) maxAbs = d;
      if (!d) exact++;
      n++;
    };
    if (c.rgb_b64) {
      const want = Buffer.from(c.rgb_b64, 'base64');
      for (let i = 0; i < want.length; i++) cmp(img.data[i], want[i]);
    } else {
      for (const [x, y, r, g, b] of c.samples!) {
        const o = (y * img.width + x) * 3;
        cmp(img.data[o], r);
        cmp(img.data[o + 1], g);
        cmp(img.data[o + 2], b);
      }
      if (sha256(img.data) === c.rgb_sha256)
        exact = n; // whole image identical
      else exact = Math.min(exact, n - 1);
    }
    rows.push(
      `${c.file.padEnd(42)} ${c.mode?.padEnd(5)} ${`${c.width}x${c.height}`.padEnd(8)} max|Δ| ${maxAbs}  exact ${((100 * exact) / n).toFixed(2)}%  sha256 ${sha256(img.data) === c.rgb_sha256 ? 'equal' : 'differs'}`,
    );
    expect(maxAbs).toBeLessThanOrEqual(WEBP_TOLERANCE.maxAbs);
    expect(exact / n).toBeGreaterThanOrEqual(WEBP_TOLERANCE.exactShare);
  });
  it.each(cs.filter((c) => c.error).map((c) => [c.file.split('/')[1], c] as const))('%s: Pillow refuses, we throw ImageError', (_n, c) => {
    imageError(() => decodeImage(read(c), { label: c.file }));
  });
  it('prints the measurement', () => {
    console.log(`WebP vs Pillow ${golden.provenance.pillow} (libwebp ${golden.provenance.libwebp}):\n  ${rows.join('\n  ')}`);
  });
});

// ---- hostile inputs -------------------------------------------------------------------------

const le16 = (v: number) => [v & 255, (v >> 8) & 255];
const le32 = (v: number) => [v & 255, (v >>> 8) & 255, (v >>> 16) & 255, (v >>> 24) & 255];
function bmpHeader(w: number, h: number, bits: number, comp = 0, extra: number[] = []): Uint8Array {
  const dib = [
    ...le32(40),
    ...le32(w),
    ...le32(h),
    ...le16(1),
    ...le16(bits),
    ...le32(comp),
    ...le32(0),
    ...le32(0),
    ...le32(0),
    ...le32(0),
    ...le32(0),
  ];
  const pal = bits <= 8 ? Array.from({ length: 4 << bits }, (_, i) => (i * 37) & 255) : [];
  const off = 14 + dib.length + pal.length;
  return Uint8Array.from([0x42, 0x4d, ...le32(off + extra.length), 0, 0, 0, 0, ...le32(off), ...dib, ...pal, ...extra]);
}
function gifBytes(w: number, h: number, lzw: number[], minCode = 2): Uint8Array {
  return Uint8Array.from([
    ...new TextEncoder().encode('GIF89a'),
    ...le16(w),
    ...le16(h),
    0x80,
    0,
    0,
    0,
    0,
    0,
    255,
    255,
    255,
    0x2c,
    0,
    0,
    0,
    0,
    ...le16(w),
    ...le16(h),
    0,
    minCode,
    lzw.length,
    ...lzw,
    0,
    0x3b,
  ]);
}
function webpVp8l(w: number, h: number): Uint8Array {
  const v = ((w - 1) & 0x3fff) | (((h - 1) & 0x3fff) << 14);
  const data = [0x2f, ...le32(v), 0, 0, 0];
  return Uint8Array.from([
    ...new TextEncoder().encode('RIFF'),
    ...le32(4 + 8 + data.length),
    ...new TextEncoder().encode('WEBPVP8L'),
    ...le32(data.length),
    ...data,
  ]);
}
/** An animated WebP: a w x h canvas, ANIM, and one ANMF holding a 1x1 VP8L frame. */
function webpVp8x(w: number, h: number): Uint8Array {
  const enc = (t: string) => [...new TextEncoder().encode(t)];
  const chunk = (t: string, d: number[]) => [...enc(t), ...le32(d.length), ...d, ...(d.length & 1 ? [0] : [])];
  const vp8l = [0x2f, 0, 0, 0, 0, 0, 0, 0];
  const body = [
    ...enc('WEBP'),
    ...chunk('VP8X', [0x02, 0, 0, 0, ...le32(w - 1).slice(0, 3), ...le32(h - 1).slice(0, 3)]),
    ...chunk('ANIM', [0, 0, 0, 0, 0, 0]),
    ...chunk('ANMF', [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...chunk('VP8L', vp8l)]),
  ];
  return Uint8Array.from([...enc('RIFF'), ...le32(body.length), ...body]);
}

/** Refused from the header alone: fast, and no big allocation. */
function expectGuard(bytes: Uint8Array, size: string): void {
  const before = process.memoryUsage().arrayBuffers;
  const t = performance.now();
  const e = imageError(() => decodeImage(bytes, { label: 'bomb' }));
  expect(performance.now() - t).toBeLessThan(200);
  expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 << 20);
  expect(e.message).toMatch(new RegExp(`bomb: ${size} = \\d+ pixels exceeds the limit`));
}

describe('hostile BMP / GIF / WebP: typed ImageError, no hang, no allocation before the guard', () => {
  it('huge header dimensions hit the pixel guard first', () => {
    expectGuard(bmpHeader(100000, 100000, 24), '100000x100000');
    expectGuard(bmpHeader(60000, -60000 >>> 0, 8, 1), '60000x60000'); // top-down RLE8
    expectGuard(bmpHeader(0x7fffffff, 0x7fffffff, 32), '2147483647x2147483647');
    expectGuard(gifBytes(65535, 65535, [0x44, 0x01]), '65535x65535');
    expectGuard(webpVp8l(16384, 16384), '16384x16384');
    expectGuard(webpVp8x(20000, 20000), '20000x20000');
    // libwebp's own limit (canvas area < 2^32) is checked from the header too
    expect(imageError(() => decodeImage(webpVp8x(1 << 24, 1 << 24))).message).toMatch(/canvas 16777216x16777216 is too large/);
    // a 4x4 screen whose 4x4 first frame sits at (60000, 60000) grows the image: guarded too
    const g = gifBytes(4, 4, [0x44, 0x01]);
    g.set([...le16(60000), ...le16(60000)], 13 + 6 + 1);
    expectGuard(g, '60004x60004');
  });
  it('maxPixels applies to every format', () => {
    const small = bmpHeader(50, 50, 24, 0, new Array(50 * 152).fill(7));
    expect(decodeImage(small).width).toBe(50);
    expect(imageError(() => decodeImage(small, { maxPixels: 2499 })).message).toMatch(/2500 pixels exceeds the limit of 2499/);
  });
  it('every cut point of a BMP / GIF / WebP file throws ImageError or decodes (never anything else)', () => {
    for (const f of [
      'bmp/rle8.bmp',
      'bmp/rle4.bmp',
      'bmp/p4_full.bmp',
      'bmp/rgb32_bitfields_bgra.bmp',
      'gif/pil_p_interlaced.gif',
      'gif/lzw_clear_every_5.gif',
      'webp/lossy_alpha.webp',
      'webp/animated_offset_lossless_alpha.webp',
    ]) {
      const c = golden.cases.find((x) => x.file === f)!;
      const bytes = read(c);
      for (let cut = 0; cut < bytes.length; cut += Math.max(1, Math.floor(bytes.length / 97))) {
        try {
          decodeImage(bytes.subarray(0, cut), { label: `${f}[:${cut}]` });
        } catch (e) {
          expect(e).toBeInstanceOf(ImageError);
        }
      }
    }
  });
  it('RLE runs and deltas past the end of the image are clipped, not written out of bounds', () => {
    // 4x2 RLE8: a 255-pixel run, a delta of 255 right / 255 up, absolute 200 bytes: all past the end
    const rle = [255, 1, 0, 2, 0, 0, 255, 255, 0, 200, ...new Array(200).fill(3), 0, 1];
    const img = decodeImage(bmpHeader(4, 2, 8, 1, rle), { label: 'rle' });
    expect([img.width, img.height, img.data.length]).toEqual([4, 2, 24]);
  });
  it('RLE data that stops early, and LZW garbage, are typed errors', () => {
    expect(imageError(() => decodeImage(bmpHeader(16, 16, 8, 1, [4, 1, 0, 1]))).message).toMatch(/RLE data ends after 4 of 256 pixels/);
    expect(imageError(() => decodeImage(bmpHeader(16, 16, 4, 2, [4, 1, 0, 0]))).message).toMatch(/RLE data ends/);
    expect(imageError(() => decodeImage(gifBytes(8, 8, [0xff, 0xff, 0xff, 0xff]))).message).toMatch(/LZW data is broken/);
    expect(imageError(() => decodeImage(gifBytes(8, 8, [0x44, 0x01]))).message).toMatch(/ends before the first frame is complete/);
    expect(imageError(() => decodeImage(gifBytes(8, 8, [0], 13))).message).toMatch(/minimum code size is 13/);
  });
  it('seeded random corruption: only ImageError, bounded time', () => {
    let s = 12345;
    const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 8) / (1 << 24);
    const t = performance.now();
    for (const f of [
      'bmp/rle8.bmp',
      'bmp/rle4.bmp',
      'gif/lzw_full_table_clear.gif',
      'gif/interlaced_h9.gif',
      'webp/lossless.webp',
      'webp/lossy_q80.webp',
    ]) {
      const c = golden.cases.find((x) => x.file === f)!;
      const orig = read(c);
      for (let k = 0; k < 60; k++) {
        const b = orig.slice();
        for (let j = 0; j < 1 + Math.floor(rnd() * 8); j++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
        try {
          decodeImage(b, { label: f, maxPixels: 1 << 22 });
        } catch (e) {
          expect(e).toBeInstanceOf(ImageError);
        }
      }
    }
    expect(performance.now() - t).toBeLessThan(20000);
  });
});
