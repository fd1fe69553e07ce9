// Seeded synthetic RGB images — the same formula as reference/image_golden.py `synth`, so the
// golden hashes computed by Python from these pixels can be checked without Python.
// uint32 arithmetic with wrap-around: Math.imul for products, >>> 0 to stay unsigned.
import type { RgbImage } from '../../src/image/index.js';

const M1 = 0x9e3779b1;
const M2 = 0x85ebca77;
const M3 = 0xc2b2ae3d;
const M4 = 0x27d4eb2f;

export function mix(seed: number, a: number, b: number, c: number): number {
  let h = (Math.imul(a, M1) >>> 0) + (Math.imul(b, M2) >>> 0) + (Math.imul(c, M3) >>> 0) + (Math.imul(seed, M4) >>> 0);
  h >>>= 0; // the sum mod 2^32 (exact in float64: < 2^34)
  h = (h ^ (h >>> 15)) >>> 0;
  h = Math.imul(h, 0x2c1b3c6d) >>> 0;
  h = (h ^ (h >>> 12)) >>> 0;
  h = Math.imul(h, 0x297a2d39) >>> 0;
  h = (h ^ (h >>> 15)) >>> 0;
  return h;
}

/** [h, w, 3]: 8x8 blocks, a quarter of them noise, the rest gradients plus a per-block tint. */
export function synth(seed: number, w: number, h: number): RgbImage {
  const data = new Uint8Array(w * h * 3);
  const dw = Math.max(w - 1, 1);
  const dh = Math.max(h - 1, 1);
  const dd = Math.max(w + h - 2, 1);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const block = mix(seed, x >>> 3, y >>> 3, 3);
      const o = (y * w + x) * 3;
      if ((block & 3) === 0) {
        for (let c = 0; c < 3; c++) data[o + c] = mix(seed, x, y, c) >>> 24;
      } else {
        const tint = (block >>> 8) & 63;
        data[o] = (Math.floor((x * 255) / dw) + tint) & 255;
        data[o + 1] = (Math.floor((y * 255) / dh) + tint) & 255;
        data[o + 2] = (Math.floor(((x + y) * 255) / dd) + tint) & 255;
      }
    }
  }
  return { width: w, height: h, data };
}
