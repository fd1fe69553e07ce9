// Decoding parity with Pillow's Image.open(...).convert('RGB'): every PNG colour type / bit
// depth / interlace / tRNS / palette case and the project's fixture PNGs must give identical
// RGB bytes. (JPEG decoding is inexact by nature: see jpeg.test.ts.)
import { describe, expect, it } from 'vitest';
import { decodeImage, exifOrientation } from '../../src/image/index.js';
import { loadGolden, readFixture, readFixtureChecked, sha256 } from './golden.js';

const golden = loadGolden();
const pngs = golden.decode.filter((d) => d.file.endsWith('.png'));

describe('PNG -> RGB equals Pillow convert("RGB")', () => {
  it('covers gray 1/2/4/8/16, gray+alpha, RGB, RGBA 8/16, palette 1/2/4/8 +-tRNS, interlaced', () => {
    const modes = new Set(pngs.map((d) => d.mode));
    for (const m of ['1', 'L', 'I;16', 'RGB', 'RGBA', 'LA', 'P']) expect(modes).toContain(m);
    expect(pngs.filter((d) => d.file.includes('interlaced')).length).toBeGreaterThanOrEqual(8);
  });
  it.each(pngs.map((d) => [d.file.split('/').pop(), d] as const))('%s', (_n, d) => {
    const img = decodeImage(readFixtureChecked(golden, d.file), { label: d.file });
    expect([img.width, img.height]).toEqual([d.width, d.height]);
    expect(sha256(img.data)).toBe(d.rgb_sha256);
  });
});

describe('EXIF orientation (opt-in) equals ImageOps.exif_transpose', () => {
  it.each(golden.exif.map((e) => [e.file.split('/').pop(), e] as const))('%s', (_n, e) => {
    const bytes = readFixture(e.file);
    const plain = decodeImage(bytes, { label: e.file });
    const turned = decodeImage(bytes, { label: e.file, applyExifOrientation: true });
    expect([turned.width, turned.height]).toEqual(e.transposed_size);
    // PNG and JPEG alike (the JPEG decoder is bit-exact with Pillow's libjpeg-turbo): the exact
    // bytes, both ways
    expect(sha256(plain.data)).toBe(e.rgb_sha256);
    expect(sha256(turned.data)).toBe(e.transposed_sha256);
  });
  it('reads the tag from big- and little-endian TIFF headers', () => {
    const mm = Uint8Array.of(0x4d, 0x4d, 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0);
    const ii = Uint8Array.of(0x49, 0x49, 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0);
    expect([exifOrientation(mm), exifOrientation(ii), exifOrientation(undefined)]).toEqual([6, 8, undefined]);
  });
});
