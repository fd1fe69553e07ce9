// Softmax over the last dimension. Shapes: x [..., C] -> [..., C].
// Formula: yᵢ = exp(xᵢ - max x) / Σⱼ exp(xⱼ - max x) (max-subtracted, so no overflow).
// HF: `softmax(..., dtype=torch.float32)` in attention; Ovis `tokenize` = softmax over V-5.
// Numerics: exp and the sum in float64, one f32 rounding per output. A row of all -Inf gives
// NaN (as torch); a +Inf makes that row NaN too (as torch: Inf - Inf).

import type { Tensor } from '../tensor.js';
import { numel } from '../tensor.js';

export function softmaxRow(x: Float32Array | Float64Array, off: number, C: number, y: Float32Array | Float64Array): void {
  let mx = -Infinity;
  for (let c = 0; c < C; c++) {
    const v = x[off + c];
    if (v > mx || Number.isNaN(v)) mx = v;
  }
  let s = 0;
  for (let c = 0; c < C; c++) s += Math.exp(x[off + c] - mx);
  const inv = 1 / s;
  for (let c = 0; c < C; c++) y[off + c] = Math.exp(x[off + c] - mx) * inv;
}

export function softmax(x: Tensor): Tensor {
  const C = x.shape.length ? x.shape[x.shape.length - 1] : 1;
  const R = numel(x.shape.slice(0, -1));
  const y = new Float32Array(x.data.length); // [..., C]
  for (let r = 0; r < R; r++) softmaxRow(x.data, r * C, C, y);
  return { shape: [...x.shape], data: y };
}
