// Elementwise arithmetic on f32 tensors (residual adds, scalings). Each result is one f32
// rounding of the exact value, exactly what torch's f32 add/mul produce.

import { ShapeError } from '../errors.js';
import type { Tensor } from '../tensor.js';

/** a + b, same shape -> new tensor (the residual connection). */
export function add(a: Tensor, b: Tensor): Tensor {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new ShapeError(`add: shapes [${a.shape}] and [${b.shape}] differ`);
  }
  const x = a.data;
  const z = b.data;
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = x[i] + z[i];
  return { shape: [...a.shape], data: y };
}

/** x · s -> new tensor. `s` is used as given (pass Math.fround(s) to mimic an f32 scalar;
 *  Gemma2's normaliser sqrt(H) is a model-dtype tensor — 59.866 f32, 59.75 bf16 — the
 *  caller picks which). */
export function scale(x: Tensor, s: number): Tensor {
  const d = x.data;
  const y = new Float32Array(d.length);
  for (let i = 0; i < d.length; i++) y[i] = d[i] * s;
  return { shape: [...x.shape], data: y };
}
