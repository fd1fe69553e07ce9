// Normalisations over the last dimension: LayerNorm (SigLIP, Ovis visual head) and RMSNorm
// (Llama, Gemma2). Shapes: x [..., C] -> [..., C]; weights [C].
//
// Numerics: statistics are accumulated in float64 (two passes: mean, then Σ(x-mean)²) and the
// output is formed in float64 and rounded to f32 once. torch's f32 CPU kernels accumulate the
// moments in f32 (a cascaded/Welford sum), so ours is strictly more accurate; for C = 65531
// (the Ovis head's LayerNorm) that is where the difference is largest, still ~1e-6 relative.

import { ShapeError } from '../errors.js';
import { type HostWeight, numel, type Tensor } from '../tensor.js';
import { widenAll } from './weights.js';

function rowsOf(op: string, x: Tensor, w: HostWeight): [number, number] {
  const C = x.shape.length ? x.shape[x.shape.length - 1] : -1;
  if (numel(w.shape) !== C) {
    throw new ShapeError(
      `${op}: weight ${w.name} has ${numel(w.shape)} values, input [${x.shape}] has last dim ${C}`,
      'config.json and the shards come from different checkpoints?',
    );
  }
  return [numel(x.shape.slice(0, -1)), C];
}

/**
 * nn.LayerNorm: y = (x - mean) / sqrt(var + eps) * w + b, var biased (divide by C), eps from
 * the config (`layer_norm_eps`, 1e-6 for SigLIP; nn.LayerNorm's default 1e-5 for the Ovis head).
 */
export function layerNorm(x: Tensor, w: HostWeight, b: HostWeight, eps: number): Tensor {
  const [R, C] = rowsOf('layerNorm', x, w);
  if (numel(b.shape) !== C) throw new ShapeError(`layerNorm: bias ${b.name} has ${numel(b.shape)} values, expected ${C}`);
  const g = widenAll(w);
  const beta = widenAll(b);
  const xd = x.data;
  const y = new Float32Array(xd.length); // [R, C]
  for (let r = 0; r < R; r++) {
    const o = r * C;
    let s = 0;
    for (let c = 0; c < C; c++) s += xd[o + c];
    const mean = s / C;
    let v = 0;
    for (let c = 0; c < C; c++) {
      const d = xd[o + c] - mean;
      v += d * d;
    }
    const rstd = 1 / Math.sqrt(v / C + eps);
    for (let c = 0; c < C; c++) y[o + c] = (xd[o + c] - mean) * rstd * g[c] + beta[c];
  }
  return { shape: [...x.shape], data: y };
}

/**
 * RMSNorm: y = x / sqrt(mean(x²) + eps) * (w + offset).
 *  - offset 0, LlamaRMSNorm: `hidden * rsqrt(var + eps)`, then `.to(input_dtype)`, then
 *    `weight * hidden`. With f32 activations the cast is a no-op (it only matters when the
 *    model runs in bf16, where the normalised value is rounded to bf16 before the multiply).
 *  - offset 1, Gemma2RMSNorm: computes in float, then `output * (1.0 + weight.float())`, then
 *    casts back. `1 + w` is an f32 addition in torch, so we round it to f32 too (it is not
 *    exact in f32 for tiny w), then multiply.
 */
export function rmsNorm(x: Tensor, w: HostWeight, eps: number, offset: 0 | 1): Tensor {
  const [R, C] = rowsOf('rmsNorm', x, w);
  const g = widenAll(w);
  // Gemma2: (1 + weight) is an f32 op in torch; g is a Float32Array, so the store rounds it.
  if (offset) for (let c = 0; c < C; c++) g[c] = 1 + g[c];
  const xd = x.data;
  const y = new Float32Array(xd.length); // [R, C]
  for (let r = 0; r < R; r++) {
    const o = r * C;
    let ss = 0;
    for (let c = 0; c < C; c++) ss += xd[o + c] * xd[o + c];
    const rinv = 1 / Math.sqrt(ss / C + eps);
    for (let c = 0; c < C; c++) y[o + c] = xd[o + c] * rinv * g[c];
  }
  return { shape: [...x.shape], data: y };
}
