// Elementwise activations and logit soft-capping. Shapes: any -> the same shape.
// Numerics: each value is computed in float64 (Math.tanh/exp) and rounded to f32 once;
// torch's f32 kernels (Sleef, ~1 ulp) can differ from ours by an ulp or two.

import { ShapeError } from '../errors.js';
import type { Tensor } from '../tensor.js';

/** √(2/π), the constant of the tanh approximation (torch: M_SQRT2 * M_2_SQRTPI * 0.5). */
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** gelu_pytorch_tanh (SigLIP `hidden_act`, Gemma2 `hidden_activation`):
 *  0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) — torch `gelu(x, approximate='tanh')`. */
export function geluTanhScalar(x: number): number {
  return 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
}

/** silu(x) = x·σ(x) = x / (1 + e^-x) (Llama `hidden_act: silu`). */
export function siluScalar(x: number): number {
  return x / (1 + Math.exp(-x));
}

export function geluTanh(x: Tensor): Tensor {
  const d = x.data;
  const y = new Float32Array(d.length);
  for (let i = 0; i < d.length; i++) y[i] = geluTanhScalar(d[i]);
  return { shape: [...x.shape], data: y };
}

export function silu(x: Tensor): Tensor {
  const d = x.data;
  const y = new Float32Array(d.length);
  for (let i = 0; i < d.length; i++) y[i] = siluScalar(d[i]);
  return { shape: [...x.shape], data: y };
}

/**
 * Gated MLP activation: act(gate) · up, elementwise — SwiGLU (Llama `act_fn(gate_proj(x)) *
 * up_proj(x)`, act = silu) or GeGLU (Gemma2, act = gelu_pytorch_tanh).
 * torch rounds act(gate) to f32 before the product; we do the same (Math.fround).
 */
export function gatedAct(gate: Tensor, up: Tensor, act: 'silu' | 'gelu_tanh'): Tensor {
  if (gate.data.length !== up.data.length) {
    throw new ShapeError(`gatedAct: gate [${gate.shape}] and up [${up.shape}] differ`);
  }
  const f = act === 'silu' ? siluScalar : geluTanhScalar;
  const g = gate.data;
  const u = up.data;
  const y = new Float32Array(g.length);
  for (let i = 0; i < g.length; i++) y[i] = Math.fround(f(g[i])) * u[i];
  return { shape: [...gate.shape], data: y };
}

/** Logit soft-capping c·tanh(x/c) (Gemma2 `final_logit_softcapping` = 30; the attention
 *  variant, `attn_logit_softcapping` = 50, is applied inside attention). */
export function softcap(x: Tensor, c: number): Tensor {
  if (!(c > 0)) throw new ShapeError(`softcap: cap must be > 0, got ${c}`);
  const d = x.data;
  const y = new Float32Array(d.length);
  for (let i = 0; i < d.length; i++) y[i] = c * Math.tanh(d[i] / c);
  return { shape: [...x.shape], data: y };
}
