// Bad input never crashes, hangs or allocates without bound: typed ImageError with the reason.
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ImageError } from '../../src/errors.js';
import { decodeImage, preprocessImage } from '../../src/image/index.js';
import { readFixture } from './golden.js';
import { png } from './png-bytes.js';

function imageError(f: () => unknown): ImageError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ImageError);
    return e as ImageError;
  }
  throw new Error('expected an ImageError, nothing was thrown');
}

describe('decode guards', () => {
  it('rejects a PNG header claiming 100000x100000 before allocating anything', () => {
    // 10^10 pixels: decoding would need 30 GB. The IDAT is a tiny valid stream; the guard must
    // fire from IHDR alone, fast, with no large allocation (heap growth stays small).
    const bomb = png(100000, 100000, deflateSync(new Uint8Array(100)));
    const before = process.memoryUsage().arrayBuffers;
    const t = performance.now();
    const e = imageError(() => decodeImage(bomb, { label: 'bomb.png' }));
    expect(performance.now() - t).toBeLessThan(200);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 << 20);
    expect(e.message).toMatch(/bomb\.png: 100000x100000 = 10000000000 pixels exceeds the limit of 89478485/);
  });
  it('maxPixels is configurable', () => {
    const ok = png(4, 4, deflateSync(new Uint8Array(4 * 13)));
    expect(decodeImage(ok, { maxPixels: 16 }).width).toBe(4);
    expect(imageError(() => decodeImage(ok, { maxPixels: 15 })).message).toMatch(/16 pixels exceeds the limit of 15/);
  });
  it('rejects a JPEG frame header claiming 65535x65535 before decoding', () => {
    const jpg = readFixture('reference/fixtures/image/jpeg/baseline420_q85.jpg').slice();
    // patch the SOF0 height/width
    for (let i = 2; i < jpg.length - 9; i++) {
      if (jpg[i] === 0xff && jpg[i + 1] === 0xc0) {
        jpg.set([0xff, 0xff, 0xff, 0xff], i + 5);
        break;
      }
    }
    expect(imageError(() => decodeImage(jpg)).message).toMatch(/65535x65535 = 4294836225 pixels exceeds/);
  });
  it('rejects 0-size images', () => {
    expect(imageError(() => decodeImage(png(0, 5, deflateSync(new Uint8Array(0))))).message).toMatch(/0x5: an image needs at least 1x1/);
    const jpg = readFixture('reference/fixtures/image/jpeg/gray_q90.jpg').slice();
    for (let i = 2; i < jpg.length - 9; i++) {
      if (jpg[i] === 0xff && jpg[i + 1] === 0xc0) {
        jpg.set([0, 0], i + 7);
        break;
      }
    }
    expect(imageError(() => decodeImage(jpg)).message).toMatch(/x0|0x/);
  });
  it('empty file, random bytes, and unsupported formats say what is supported', () => {
    expect(imageError(() => decodeImage(new Uint8Array(0), { label: 'e.png' })).message).toMatch(/e\.png: the file is empty/);
    let s = 12345;
    const junk = Uint8Array.from({ length: 4096 }, () => (s = (s * 1103515245 + 12345) >>> 0) >>> 24);
    expect(imageError(() => decodeImage(junk)).message).toMatch(/not a recognised image.*\nHint: supported formats: PNG, JPEG/s);
    // formats that decode now (formats.test.ts) still refuse a header with no image in it
    const gif = new TextEncoder().encode('GIF89a\x01\x00\x01\x00\x00\x00\x00;');
    expect(imageError(() => decodeImage(gif)).message).toMatch(/GIF has no image/);
    const bmp = new TextEncoder().encode('BM\x00\x00\x00\x00');
    expect(imageError(() => decodeImage(bmp)).message).toMatch(/BMP/);
    const tiff = new TextEncoder().encode('II*\x00\x08\x00\x00\x00');
    expect(imageError(() => decodeImage(tiff)).message).toMatch(/TIFF images are not supported.*\nHint: supported formats: .*convert/s);
  });
  it('truncated PNGs: every cut point gives an ImageError', () => {
    const full = readFixture('reference/fixtures/image/png/rgb8.png');
    const inter = readFixture('reference/fixtures/image/png/rgb8_interlaced.png');
    for (const f of [full, inter]) {
      for (let cut = 1; cut < f.length; cut += Math.max(1, Math.floor(f.length / 97))) {
        const e = imageError(() => decodeImage(f.subarray(0, cut)));
        expect(e.message).toMatch(/truncated|not a recognised|incomplete|corrupt/);
      }
    }
  });
  it('a PNG whose IDAT inflates short or long, or has a bad CRC, is refused', () => {
    expect(imageError(() => decodeImage(png(8, 8, deflateSync(new Uint8Array(10))))).message).toMatch(/truncated: 10 of 200 bytes/);
    // a valid zlib stream cut in half (chunks and CRCs valid): refused on both layouts, not half-zero rows
    const rows = deflateSync(Uint8Array.from({ length: 64 * (1 + 64 * 3) }, (_, i) => (i * 7919) % 251));
    for (const interlace of [0, 1]) {
      expect(
        imageError(() => decodeImage(png(64, 64, rows.subarray(0, rows.length >> 1), { interlace }))).message,
        `interlace ${interlace}`,
      ).toMatch(/does not inflate|truncated/);
    }
    // data for a larger image (over-long) is refused too
    expect(imageError(() => decodeImage(png(8, 8, deflateSync(new Uint8Array(400))))).message).toMatch(/does not inflate to the 200 bytes/);
    // interlaced zip bomb: a few KB inflating to 64 MB for a 4x4 image -> bounded inflate refuses
    expect(imageError(() => decodeImage(png(4, 4, deflateSync(new Uint8Array(64 << 20)), { interlace: 1 }))).message).toMatch(
      /does not inflate to the \d+ bytes/,
    );
    const bad = readFixture('reference/fixtures/image/png/gray8.png').slice();
    bad[bad.length - 20] ^= 0xff;
    expect(imageError(() => decodeImage(bad)).message).toMatch(/CRC|corrupt/);
  });
  it('truncated JPEGs (baseline and progressive) give an ImageError', () => {
    for (const name of ['baseline420_q85', 'progressive420_q85']) {
      const f = readFixture(`reference/fixtures/image/jpeg/${name}.jpg`);
      for (let cut = 2; cut < f.length - 2; cut += Math.max(1, Math.floor(f.length / 61))) {
        const e = imageError(() => decodeImage(f.subarray(0, cut)));
        expect(e.message).toMatch(/truncated|incomplete|corrupt|not a JPEG|not a recognised/);
      }
    }
  });
  it('CMYK JPEG is refused with a hint', () => {
    const e = imageError(() => decodeImage(readFixture('reference/fixtures/image/jpeg/cmyk.jpg'), { label: 'cmyk.jpg' }));
    expect(e.message).toMatch(/cmyk\.jpg: CMYK\/YCCK JPEG \(4 components\) is not supported\nHint:/);
  });
  it('preprocessImage validates its options and RgbImage input', () => {
    const img = { width: 4, height: 4, data: new Uint8Array(48) };
    expect(() => preprocessImage(img, { maxPartition: 0 })).toThrow(/maxPartition = 0/);
    expect(() => preprocessImage({ width: 4, height: 4, data: new Uint8Array(47) })).toThrow(/47 bytes, expected 4\*4\*3 = 48/);
    expect(() => preprocessImage({ width: 0, height: 4, data: new Uint8Array(0) })).toThrow(/positive integer size/);
  });
});

describe('preprocess options are bounded', () => {
  const img = { width: 8, height: 8, data: new Uint8Array(8 * 8 * 3) };
  it('maxPartition beyond 64 (or not an integer) is an InputError, not an O(N^2) hang', () => {
    for (const m of [65, 100_000, 1e9, 0, -1, 2.5, NaN]) {
      expect(() => preprocessImage(img, { maxPartition: m }), String(m)).toThrow(/maxPartition = .*: expected an integer in \[1, 64\]/);
    }
    expect(preprocessImage(img, { maxPartition: 64 }).n).toBe(1); // the bound itself is accepted
  });
  it('imageSize beyond 8192 is an InputError, not a RangeError from a huge allocation', () => {
    for (const s of [100_000, 8193, 0, NaN]) {
      expect(() => preprocessImage(img, { imageSize: s }), String(s)).toThrow(/imageSize = .*: expected an integer in \[1, 8192\]/);
    }
  });
});
