// Pillow BICUBIC parity: our resize vs Pillow 11.3's bytes (hashes from reference/image_golden.py),
// over downscales, upscales, mixed, 1-px outputs and identity; plus the filter's own math.
import { describe, expect, it } from 'vitest';
import { bicubicCoeffs, bicubicFilter, resizeBicubic, resizeRegionBicubic } from '../../src/image/index.js';
import { loadGolden, readFixture, sha256 } from './golden.js';
import { synth } from './synth.js';

const golden = loadGolden();

describe('synth formula', () => {
  it.each(golden.synth_check)('synth($seed, $width x $height) bytes equal the Python generator', (c) => {
    expect(sha256(synth(c.seed, c.width, c.height).data)).toBe(c.sha256);
  });
});

describe('Pillow BICUBIC', () => {
  it('the cubic kernel (a = -0.5) has its textbook values', () => {
    // Keys' cubic: 1 at 0, 0 at the integers, 0.5625 at 0.5, -0.0625 at 1.5, 0 beyond 2 (+ 0 folds -0).
    expect([0, 1, 2, 0.5, 1.5, -0.5, 2.5].map((x) => bicubicFilter(x) + 0)).toEqual([1, 0, 0, 0.5625, -0.0625, 0.5625, 0]);
  });

  it('fixed-point weights of every output sample sum to 2^22 within rounding', () => {
    for (const [inS, outS] of [
      [4000, 384],
      [7, 9],
      [385, 384],
      [1, 384],
      [1000, 3],
    ]) {
      const c = bicubicCoeffs(inS, 0, inS, outS);
      for (let i = 0; i < outS; i++) {
        let s = 0;
        for (let t = 0; t < c.count[i]; t++) s += c.k[i * c.ksize + t];
        expect(Math.abs(s - (1 << 22))).toBeLessThanOrEqual(c.count[i]);
      }
    }
  });

  it.each(golden.resize)('synth$seed $width x $height -> $out_width x $out_height equals Pillow', (c) => {
    const out = resizeBicubic(synth(c.seed, c.width, c.height), c.out_width, c.out_height);
    if (c.raw) {
      const want = readFixture(c.raw);
      let worst = 0;
      let at = -1;
      for (let i = 0; i < want.length; i++) {
        const d = Math.abs(out.data[i] - want[i]);
        if (d > worst) {
          worst = d;
          at = i;
        }
      }
      expect(at === -1 ? 'equal' : `byte ${at}: ours ${out.data[at]} Pillow ${want[at]} (max |diff| ${worst})`).toBe('equal');
    }
    expect(sha256(out.data)).toBe(c.sha256);
  });

  it('resizing a region equals resizing the cropped copy', () => {
    const img = synth(77, 50, 40);
    const crop = { width: 21, height: 13, data: new Uint8Array(21 * 13 * 3) };
    for (let y = 0; y < 13; y++) crop.data.set(img.data.subarray(((y + 9) * 50 + 17) * 3, ((y + 9) * 50 + 38) * 3), y * 21 * 3);
    for (const [w, h] of [
      [7, 5],
      [21, 30],
      [40, 13],
      [21, 13],
    ]) {
      expect(resizeRegionBicubic(img, { left: 17, top: 9, width: 21, height: 13 }, w, h).data).toEqual(resizeBicubic(crop, w, h).data);
    }
  });

  it('rejects a 0-px output like Pillow', () => {
    expect(() => resizeBicubic(synth(1, 4, 4), 0, 3)).toThrow(/must be integers >= 1/);
  });
});
