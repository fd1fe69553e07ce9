// SigLIP patch embedding: nn.Conv2d(3, D, kernel=P, stride=P, padding='valid', bias) as
// unfold + matmul. Shapes: pixels [n, C, S, S] -> patches [n·g·g, C·P·P] with g = S // P
// (384 // 14 = 27: 'valid' drops the last 384 - 27·14 = 6 rows/cols), patch rows in (gy, gx)
// row-major order (`patch_embeds.flatten(2).transpose(1, 2)`), each patch vector in the
// Conv2d weight's (c, ky, kx) order, so that W (D, C, P, P) seen as (D, C·P·P) is a Linear.
// Numerics: unfold is an exact copy; the product is `linear` (float64 accumulation).

import { ShapeError } from '../errors.js';
import type { HostWeight, Tensor } from '../tensor.js';
import { linear } from './linear.js';

/** Unfold non-overlapping P×P patches: [n, C, S, S] -> [n·g·g, C·P·P]. */
export function unfoldPatches(pixels: Tensor, patch: number): Tensor {
  if (pixels.shape.length !== 4 || pixels.shape[2] !== pixels.shape[3]) {
    throw new ShapeError(`patchEmbed: pixel_values [${pixels.shape}] is not [n, C, S, S]`);
  }
  const [n, C, S] = pixels.shape;
  const g = Math.floor(S / patch);
  const L = C * patch * patch;
  const src = pixels.data;
  const out = new Float32Array(n * g * g * L); // [n·g·g, C·P·P]
  let o = 0;
  for (let b = 0; b < n; b++) {
    for (let gy = 0; gy < g; gy++) {
      for (let gx = 0; gx < g; gx++) {
        for (let c = 0; c < C; c++) {
          for (let ky = 0; ky < patch; ky++) {
            const row = ((b * C + c) * S + gy * patch + ky) * S + gx * patch;
            for (let kx = 0; kx < patch; kx++) out[o++] = src[row + kx];
          }
        }
      }
    }
  }
  return { shape: [n * g * g, L], data: out };
}

/**
 * Conv2d(C, D, P, stride P) + bias on [n, C, S, S] -> [n, g·g, D].
 * `w` is the conv weight viewed as (D, C·P·P) (same bytes as HF's (D, C, P, P)).
 */
export function patchEmbed(pixels: Tensor, w: HostWeight, b: HostWeight, patch: number): Tensor {
  const cols = unfoldPatches(pixels, patch);
  const y = linear(cols, w.shape.length === 2 ? w : { ...w, shape: [w.shape[0], cols.shape[1]] }, b);
  const n = pixels.shape[0];
  const gg = n === 0 ? 0 : cols.shape[0] / n;
  return { shape: [n, gg, y.shape[1]], data: y.data };
}
