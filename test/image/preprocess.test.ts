// pixel_values parity with Ovis1.6 + HF SiglipImageProcessor + Pillow, bit for bit (cases and
// checks in preprocess-cases.ts): project fixture images, JPEG cases, small/medium seeded images.
import { describe, expect, it } from 'vitest';
import { check, golden, name } from './preprocess-cases.js';

const LARGE = 1_000_000; // pixels; larger seeded images run in preprocess-large.test.ts (parallel file)
describe('preprocessImage == Ovis1.6 preprocess_image (Pillow + HF), bit for bit', () => {
  const files = golden.preprocess.filter((c) => c.source.kind === 'file');
  const synths = golden.preprocess.filter((c) => c.source.kind === 'synth' && c.source.width * c.source.height < LARGE);
  it('covers every project fixture image and max_partition 1..9', () => {
    const names = new Set(files.map((c) => (c.source as { file: string }).file));
    expect(names.size).toBeGreaterThanOrEqual(8);
    expect(new Set(files.map((c) => c.max_partition))).toEqual(new Set([1, 2, 3, 4, 5, 6, 7, 8, 9]));
  });
  it.each(files.map((c) => [name(c), c] as const))('%s', (_n, c) => check(c));
  it.each(synths.map((c) => [name(c), c] as const))('%s', (_n, c) => check(c));
});
