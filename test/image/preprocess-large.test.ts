// pixel_values parity, large seeded images (1280x720 .. 4000x3000): see preprocess-cases.ts.
import { describe, it } from 'vitest';
import { check, golden, name } from './preprocess-cases.js';

const LARGE = 1_000_000;
describe('preprocessImage == Ovis1.6 preprocess_image, large unseen images', () => {
  const synths = golden.preprocess.filter((c) => c.source.kind === 'synth' && c.source.width * c.source.height >= LARGE);
  it.each(synths.map((c) => [name(c), c] as const))('%s', (_n, c) => check(c));
});
