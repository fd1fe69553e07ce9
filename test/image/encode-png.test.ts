// encodeRgbPng (what `ovis preprocess --png` writes) read back by an independent decoder (pngjs)
// and by ours: the same bytes, at widths around the row layout and with random samples.

import { deflateSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { encodeRgbPng } from '../../src/image/encode-png.js';
import { decodeImage } from '../../src/image/index.js';
import { rng } from '../ops/helpers.js';

describe('encodeRgbPng', () => {
  for (const [w, h] of [
    [1, 1],
    [3, 2],
    [17, 5],
    [384, 384],
  ]) {
    it(`${w}x${h}: pngjs and decodeImage read back the same RGB`, () => {
      const r = rng(w * 1000 + h);
      const rgb = Uint8Array.from({ length: w * h * 3 }, () => Math.floor(r() * 256) & 255);
      const file = encodeRgbPng(w, h, rgb, deflateSync);
      const back = PNG.sync.read(Buffer.from(file));
      expect([back.width, back.height]).toEqual([w, h]);
      const viaPngjs = new Uint8Array(w * h * 3);
      for (let i = 0; i < w * h; i++) for (let c = 0; c < 3; c++) viaPngjs[i * 3 + c] = back.data[i * 4 + c];
      expect(Buffer.from(viaPngjs).equals(Buffer.from(rgb))).toBe(true);
      const ours = decodeImage(file);
      expect(Buffer.from(ours.data).equals(Buffer.from(rgb))).toBe(true);
    });
  }

  it('refuses a buffer that is not width x height RGB', () => {
    expect(() => encodeRgbPng(2, 2, new Uint8Array(11), deflateSync)).toThrow(/11 bytes is not 2x2 RGB/);
    expect(() => encodeRgbPng(0, 2, new Uint8Array(0), deflateSync)).toThrow(RangeError);
  });
});
