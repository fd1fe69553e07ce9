// Rotary position embedding (RoPE) as Hugging Face transformers 4.57 computes it:
// modeling_rope_utils.py `_compute_default_rope_parameters` / `_compute_llama3_parameters`,
// `LlamaRotaryEmbedding.forward` and `apply_rotary_pos_emb` with `rotate_half`.
// Shapes: T positions · Dh head dim (even) · nHeads heads.
//
// Numerics — torch computes the inverse frequencies in float32 step by step; we reproduce
// every step with one Math.fround per torch op (a single f64 op followed by an f32 rounding is
// the correctly rounded f32 result for + - * / sqrt). `pow` is the exception: torch's f32 pow
// and ours (f64 Math.pow then round) can differ by 1 ulp in rare cases; the test compares
// against inverse frequencies captured from torch for the real configs.

import type { Llama3RopeScaling, RopeScaling } from '../config/ovis-config.js';
import { ShapeError } from '../errors.js';
import type { Tensor } from '../tensor.js';

const f = Math.fround;

// rope_scaling is config.json's (config/ovis-config.ts): null, 'default' or 'llama3'.
export type { Llama3RopeScaling, RopeScaling };

/**
 * Inverse frequencies [Dh/2], float32, exactly torch's dtype steps:
 *   default: inv_freq = 1 / theta ** (arange(0, Dh, 2).float() / Dh)      (each op in f32)
 *   llama3:  wavelen = 2π / inv_freq; low/high bands (original_max / low|high_freq_factor):
 *            wavelen > low_wavelen  -> inv_freq / factor
 *            wavelen < high_wavelen -> inv_freq
 *            otherwise smooth = (original_max / wavelen - low) / (high - low),
 *                      (1 - smooth) · inv / factor + smooth · inv
 *   torch evaluates `scalar / tensor` as `tensor.reciprocal() * scalar` (two f32 roundings).
 */
export function ropeInvFreq(headDim: number, theta: number, scaling?: RopeScaling): Float32Array {
  if (!(headDim > 0 && headDim % 2 === 0)) throw new ShapeError(`rope: head_dim must be even and > 0, got ${headDim}`);
  const half = headDim / 2;
  const inv = new Float32Array(half);
  const base = f(theta); // the python float exponent base is cast to the f32 tensor dtype
  for (let i = 0; i < half; i++) {
    const e = f((2 * i) / headDim); // arange(int64).float() / dim, in f32
    const p = f(Math.pow(base, e)); // base ** e, f32 pow
    inv[i] = f(1 / p); // 1.0 / tensor
  }
  if (!scaling || scaling.rope_type === 'default') return inv;
  if (scaling.rope_type !== 'llama3') {
    throw new ShapeError(
      `rope: rope_type '${(scaling as { rope_type: string }).rope_type}' is not supported`,
      "supported: 'default', 'llama3'",
    );
  }
  const { factor, low_freq_factor: low, high_freq_factor: high, original_max_position_embeddings: oldCtx } = scaling;
  const lowWavelen = oldCtx / low; // python floats, compared against an f32 tensor
  const highWavelen = oldCtx / high;
  const twoPi = f(2 * Math.PI);
  for (let i = 0; i < half; i++) {
    const x = inv[i];
    const wavelen = f(f(1 / x) * twoPi); // 2π / inv_freq == inv_freq.reciprocal() * 2π
    let llama = wavelen > f(lowWavelen) ? f(x / f(factor)) : x;
    const smooth = f(f(f(f(1 / wavelen) * f(oldCtx)) - f(low)) / f(high - low));
    const smoothed = f(f(f(f(1 - smooth) * llama) / f(factor)) + f(smooth * llama));
    const medium = !(wavelen < f(highWavelen)) && !(wavelen > f(lowWavelen));
    if (medium) llama = smoothed;
    inv[i] = llama;
  }
  return inv;
}

/**
 * cos/sin tables [T, Dh] for absolute positions (HF `LlamaRotaryEmbedding.forward`):
 * freqs = pos.float() * inv_freq (an f32 product; K=1 matmul), emb = cat(freqs, freqs),
 * cos = emb.cos(), sin = emb.sin() (attention_scaling is 1.0 for default and llama3).
 */
export function ropeCosSin(
  positions: ArrayLike<number>,
  headDim: number,
  theta: number,
  scaling?: RopeScaling,
): { cos: Float32Array; sin: Float32Array } {
  const inv = ropeInvFreq(headDim, theta, scaling);
  return ropeTables(positions, inv);
}

/** cos/sin [T, Dh] from precomputed inverse frequencies [Dh/2]. */
export function ropeTables(positions: ArrayLike<number>, inv: Float32Array): { cos: Float32Array; sin: Float32Array } {
  const half = inv.length;
  const D = 2 * half;
  const T = positions.length;
  const cos = new Float32Array(T * D);
  const sin = new Float32Array(T * D); // [T, Dh]
  for (let t = 0; t < T; t++) {
    const p = f(positions[t]);
    for (let i = 0; i < half; i++) {
      const fr = f(p * inv[i]);
      const c = Math.cos(fr);
      const s = Math.sin(fr);
      cos[t * D + i] = c;
      cos[t * D + half + i] = c;
      sin[t * D + i] = s;
      sin[t * D + half + i] = s;
    }
  }
  return { cos, sin };
}

/**
 * In-place rotate-half RoPE (HF `apply_rotary_pos_emb`): for each head, with x = [x1 | x2]
 * (halves of Dh), out = x·cos + rotate_half(x)·sin, rotate_half(x) = [-x2 | x1]:
 *   out1 = x1·cos - x2·sin,  out2 = x2·cos + x1·sin.
 * torch rounds each product to f32 before the add; we do the same.
 * x [T, nHeads·Dh]; cos/sin [T, Dh].
 */
export function ropeInPlace(x: Tensor, nHeads: number, headDim: number, cos: Float32Array, sin: Float32Array): void {
  const W = nHeads * headDim;
  const T = W === 0 ? 0 : x.data.length / W;
  if (x.shape[x.shape.length - 1] !== W || !Number.isInteger(T)) {
    throw new ShapeError(`rope: x [${x.shape}] is not [T, ${nHeads}·${headDim}]`);
  }
  if (cos.length < T * headDim || sin.length < T * headDim) {
    throw new ShapeError(`rope: cos/sin have ${cos.length}/${sin.length} values, need ${T}·${headDim}`);
  }
  const d = x.data;
  const half = headDim / 2;
  for (let t = 0; t < T; t++) {
    const co = t * headDim;
    for (let h = 0; h < nHeads; h++) {
      const o = t * W + h * headDim;
      for (let i = 0; i < half; i++) {
        const x1 = d[o + i];
        const x2 = d[o + half + i];
        d[o + i] = f(x1 * cos[co + i]) - f(x2 * sin[co + i]);
        d[o + half + i] = f(x2 * cos[co + half + i]) + f(x1 * sin[co + half + i]);
      }
    }
  }
}
