// Patch embedding (Conv2d P×P stride P, 'valid', bias) vs a direct float64 convolution.
import { describe, expect, it } from 'vitest';
import { TsBackend } from '../../src/backend/ts.js';
import { patchEmbed, unfoldPatches } from '../../src/ops/patch-embed.js';
import type { HostWeight } from '../../src/tensor.js';
import { check, makeWeight, randF32, rng, U } from './helpers.js';

describe('patchEmbed', () => {
  const be = new TsBackend();
  for (const [n, C, S, P, D] of [
    [1, 3, 28, 14, 5],
    [2, 3, 30, 14, 4],
    [1, 1, 5, 2, 3],
    [1, 3, 384, 14, 3],
  ]) {
    it(`n=${n} C=${C} S=${S} P=${P} D=${D}: conv by definition, (gy, gx) row-major patches`, () => {
      const r = rng(S * 7 + D);
      const px = randF32(r, n * C * S * S);
      const W = makeWeight(be, 'patch_embedding.weight', 'BF16', [D, C, P, P], randF32(r, D * C * P * P, 0.2));
      const B = makeWeight(be, 'patch_embedding.bias', 'BF16', [D], randF32(r, D));
      const y = patchEmbed({ shape: [n, C, S, S], data: px }, W.w as HostWeight, B.w as HostWeight, P);
      const g = Math.floor(S / P);
      expect(y.shape).toEqual([n, g * g, D]);
      const want = new Float64Array(n * g * g * D);
      const abs = new Float64Array(n * g * g * D);
      for (let b = 0; b < n; b++)
        for (let oy = 0; oy < g; oy++)
          for (let ox = 0; ox < g; ox++)
            for (let o = 0; o < D; o++) {
              let s = B.values[o];
              let a = Math.abs(B.values[o]);
              for (let c = 0; c < C; c++)
                for (let ky = 0; ky < P; ky++)
                  for (let kx = 0; kx < P; kx++) {
                    const p = px[((b * C + c) * S + oy * P + ky) * S + ox * P + kx] * W.values[((o * C + c) * P + ky) * P + kx];
                    s += p;
                    a += Math.abs(p);
                  }
              const i = ((b * g + oy) * g + ox) * D + o;
              want[i] = s;
              abs[i] = a;
            }
      const res = check(y.data, want, (i) => 2 * U * Math.abs(want[i]) + (C * P * P + 2) * 2 ** -52 * abs[i]);
      expect(res.failures, JSON.stringify(res.worst)).toBe(0);
    });
  }
  it('unfold drops the border that does not fill a patch (valid padding)', () => {
    const px = Float32Array.from({ length: 5 * 5 }, (_, i) => i);
    const u = unfoldPatches({ shape: [1, 1, 5, 5], data: px }, 2);
    expect(u.shape).toEqual([4, 4]);
    expect(Array.from(u.data)).toEqual([0, 1, 5, 6, 2, 3, 7, 8, 10, 11, 15, 16, 12, 13, 17, 18]);
    expect(() => unfoldPatches({ shape: [1, 3, 4, 5], data: new Float32Array(60) }, 2)).toThrow(/not \[n, C, S, S\]/);
  });
});
