// JPEG decoding: jpeg-js vs Pillow (libjpeg-turbo). Not bit-exact by nature (IDCT, chroma
// upsampling and colour-conversion rounding differ): we measure and bound the difference per
// channel, and print the table that docs/image.md records. (JPEG-origin pixel_values are exact
// given Pillow's decoded pixels: preprocess.test.ts uses decoded/*.pillow.png.)
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/image/index.js';
import { loadGolden, readFixture } from './golden.js';

const golden = loadGolden();
const jpegs = golden.decode.filter((d) => d.pillow_decoded && d.mode !== 'CMYK');

// Bounds set from the measured table (see docs/image.md) with headroom; a jpeg-js upgrade or a
// colour-transform bug (e.g. RGB read as YCbCr) blows through them. Without chroma subsampling
// (4:4:4, gray) only IDCT / colour rounding differ: a few levels. With 4:2:0 / 4:2:2, jpeg-js
// replicates chroma samples where libjpeg-turbo interpolates them ("fancy upsampling"), which
// costs up to ~100 levels on a sharp saturated edge (the red disc in the synthetic cases).
const bounds = (file: string) => (/444|gray/.test(file) ? { mean: 1.0, max: 3 } : { mean: 4.0, max: 128 });

describe('jpeg-js vs Pillow (libjpeg-turbo) decoded pixels', () => {
  const rows: string[] = [];
  it.each(jpegs.map((d) => [d.file.split('/').pop(), d] as const))('%s', (_n, d) => {
    const ours = decodeImage(readFixture(d.file), { label: d.file });
    const pil = decodeImage(readFixture(d.pillow_decoded!), { label: d.pillow_decoded });
    expect([ours.width, ours.height]).toEqual([pil.width, pil.height]);
    const max = [0, 0, 0], sum = [0, 0, 0];
    let exact = 0;
    for (let i = 0; i < pil.data.length; i++) {
      const diff = Math.abs(ours.data[i] - pil.data[i]);
      const c = i % 3;
      if (diff > max[c]) max[c] = diff;
      sum[c] += diff;
      if (diff === 0) exact++;
    }
    const n = pil.width * pil.height;
    const mean = sum.map((s) => s / n);
    rows.push(`| ${d.file.split('/').pop()} | ${pil.width}x${pil.height} | ${max.join(' / ')} | ${mean.map((m) => m.toFixed(3)).join(' / ')} | ${((100 * exact) / pil.data.length).toFixed(1)}% |`);
    for (let c = 0; c < 3; c++) {
      expect(mean[c]).toBeLessThan(bounds(d.file).mean);
      expect(max[c]).toBeLessThanOrEqual(bounds(d.file).max);
    }
  });
  it('prints the table', () => {
    console.log(['| file | size | max abs diff R / G / B | mean abs diff R / G / B | exact samples |', '|---|---|---|---|---|', ...rows].join('\n'));
    expect(rows.length).toBe(jpegs.length);
  });
});
