// JPEG decoding vs Pillow 11.3 (libjpeg-turbo), bit for bit: every file in
// reference/fixtures/image/jpeg-exact/golden.json (made by reference/make_jpeg_goldens.py) must
// decode to Pillow's RGB exactly (sha256 of the whole image + sample pixels, max abs diff 0), or
// fail with an ImageError where Pillow raised. Regenerate: reference/.venv/bin/python reference/make_jpeg_goldens.py
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ImageError } from '../../src/errors.js';
import { decodeImage } from '../../src/image/index.js';
import { ROOT } from './golden.js';

interface Entry {
  file: string;
  mode?: string;
  size?: [number, number];
  sha256?: string;
  samples?: Array<[number, number, number[]]>;
  error?: string;
}
const doc = JSON.parse(readFileSync(join(ROOT, 'reference/fixtures/image/jpeg-exact/golden.json'), 'utf8')) as {
  format_version: number;
  files: Entry[];
};

describe('JPEG decoder is bit-exact with Pillow (libjpeg-turbo)', () => {
  it('golden format version', () => expect(doc.format_version, 'regenerate with reference/make_jpeg_goldens.py').toBe(1));
  it.each(doc.files.map((e) => [e.file.split('/').pop(), e] as const))('%s', (_n, e) => {
    const bytes = new Uint8Array(readFileSync(join(ROOT, e.file)));
    if (e.error) {
      expect(() => decodeImage(bytes, { label: e.file }), `Pillow raised ${e.error}`).toThrow(ImageError);
      return;
    }
    const img = decodeImage(bytes, { label: e.file });
    expect([img.width, img.height]).toEqual(e.size);
    const bad = e.samples!.filter(([x, y, rgb]) => [0, 1, 2].some((c) => img.data[(y * img.width + x) * 3 + c] !== rgb[c]));
    expect(
      bad.map(
        ([x, y, rgb]) =>
          `(${x},${y}) Pillow ${rgb} ours ${Array.from(img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3))}`,
      ),
    ).toEqual([]);
    expect(createHash('sha256').update(img.data).digest('hex')).toBe(e.sha256);
  });
});
