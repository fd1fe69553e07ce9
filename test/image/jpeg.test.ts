// JPEG decoding vs Pillow (libjpeg-turbo) on the project fixtures, against the decoded/*.pillow.png
// copies: with our decoder (src/image/jpeg/) every sample is exact; the table docs/image.md §4
// records is printed. The wider bit-exact suite is jpeg-exact.test.ts.
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/image/index.js';
import { loadGolden, readFixture } from './golden.js';

const golden = loadGolden();
const jpegs = golden.decode.filter((d) => d.pillow_decoded && d.mode !== 'CMYK');

// Bit-exact: no tolerance (jpeg-js, the previous decoder, was off by up to ~100 levels at 4:2:0 chroma edges).
const bounds = (_file: string) => ({ max: 0 });

describe('ovis-ts vs Pillow (libjpeg-turbo) decoded pixels', () => {
  const rows: string[] = [];
  it.each(jpegs.map((d) => [d.file.split('/').pop(), d] as const))('%s', (_n, d) => {
    const ours = decodeImage(readFixture(d.file), { label: d.file });
    const pil = decodeImage(readFixture(d.pillow_decoded!), { label: d.pillow_decoded });
    expect([ours.width, ours.height]).toEqual([pil.width, pil.height]);
    const max = [0, 0, 0];
    const sum = [0, 0, 0];
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
    rows.push(
      `| ${d.file.split('/').pop()} | ${pil.width}x${pil.height} | ${max.join(' / ')} | ${mean.map((m) => m.toFixed(3)).join(' / ')} | ${((100 * exact) / pil.data.length).toFixed(1)}% |`,
    );
    for (let c = 0; c < 3; c++) {
      expect(mean[c]).toBe(0);
      expect(max[c]).toBeLessThanOrEqual(bounds(d.file).max);
    }
  });
  it('prints the table', () => {
    console.log(
      ['| file | size | max abs diff R / G / B | mean abs diff R / G / B | exact samples |', '|---|---|---|---|---|', ...rows].join('\n'),
    );
    expect(rows.length).toBe(jpegs.length);
  });
});
