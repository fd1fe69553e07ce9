// Shared by preprocess*.test.ts — pixel_values parity with Ovis1.6 + HF SiglipImageProcessor + Pillow (reference/image_golden.py
// runs Ovis's own preprocess_image): for every project fixture image, every JPEG case (from
// Pillow's decoded pixels) and seeded images never seen before, max_partition 1..9:
// identical grid, placeholders, crop count and pixel_values bytes (max |diff| = 0).
import { expect } from 'vitest';
import { decodeImage, preprocessImage, type RgbImage } from '../../src/image/index.js';
import { loadGolden, type PreprocessCase, readFixtureChecked, sha256 } from './golden.js';
import { synth } from './synth.js';

export const golden = loadGolden();
const decodedOf = new Map(golden.decode.filter((d) => d.pillow_decoded).map((d) => [d.file, d.pillow_decoded!]));

// One decode per source, shared by its 9 max_partition cases.
const cache = new Map<string, RgbImage>();
function source(c: PreprocessCase): RgbImage {
  const key = JSON.stringify(c.source);
  let img = cache.get(key);
  if (!img) {
    if (c.source.kind === 'synth') img = synth(c.source.seed, c.source.width, c.source.height);
    else {
      // JPEGs: Pillow's own decoded pixels (stored losslessly as PNG) — decoding is measured
      // separately (jpeg.test.ts); everything after it must be exact.
      const file = decodedOf.get(c.source.file) ?? c.source.file;
      img = decodeImage(readFixtureChecked(golden, file), { label: file });
    }
    if (cache.size > 2) cache.clear();
    cache.set(key, img);
  }
  return img;
}

export const name = (c: PreprocessCase) =>
  (c.source.kind === 'file' ? c.source.file.split('/').pop() : `synth${c.source.seed} ${c.source.width}x${c.source.height}`) +
  ` max_partition=${c.max_partition}`;

export function check(c: PreprocessCase) {
  const img = source(c);
  if (c.error) {
    // The reference itself fails (a side resized to 0 px, or HF's channels-first guess on a
    // 1-px-tall crop): we must refuse too, with a typed error.
    expect(() => preprocessImage(img, { maxPartition: c.max_partition })).toThrow(/0 px|1 px tall/);
    return;
  }
  const p = preprocessImage(img, { maxPartition: c.max_partition });
  expect({ grid: p.grid, n: p.n, placeholders: p.placeholders }).toEqual({ grid: c.grid, n: c.n, placeholders: c.placeholders });
  expect(p.pixelValues.length).toBe(c.n! * 3 * 384 * 384);
  expect(sha256(p.pixelValues)).toBe(c.sha256);
}
