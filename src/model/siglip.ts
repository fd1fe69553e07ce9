// SigLIP vision tower (so400m-patch14-384) as Ovis1.6 uses it — mirrors transformers 4.57
// models/siglip/modeling_siglip.py (SiglipVisionEmbeddings, SiglipEncoderLayer,
// SiglipAttention, SiglipMLP). Ovis takes `hidden_states[-1]`: the LAST encoder layer's output,
// BEFORE `post_layernorm` (which, like the attention-pooling `head.*`, is stored but unused).
// Shapes: n crops · C=3 channels · S image side (384) · P patch (14) · g = S // P (27) ·
//         N = g² patches (729) · D hidden (1152) · Nh heads (16) · Dh = D / Nh (72) · Fv mlp (4304).
//
//   x = embeddings(pixels)                  patch_embedding(pixels) + position_embedding
//                                                              [n, N, D]   tap vit.embeddings
//   for each layer i (encoderLayer):
//     x = x + selfAttention(layer_norm1(x))   out_proj(attn(q, k, v)), bidirectional, Dh^-0.5
//                                                                       tap vit.layers.{i}.self_attn
//     x = x + mlp(layer_norm2(x))             fc2(gelu_tanh(fc1(·)))   tap vit.layers.{i}.mlp
//                                                                       tap vit.layers.{i} (x)
// Weights by HF name under `visual_tokenizer.backbone.vision_model.`.

import type { Backend } from '../backend/backend.js';
import type { SiglipVisionConfig } from '../config/ovis-config.js';
import { CheckpointError, ShapeError } from '../errors.js';
import { fmtShape, type Tensor, type Weight } from '../tensor.js';
import { noTap, type Tap } from '../trace/tap.js';
import { loadWeight, type TensorSource } from './weights.js';

export const SIGLIP_PREFIX = 'visual_tokenizer.backbone.vision_model.';

/** One nn.Linear: weight (out, in), bias [out]. */
export interface LinearWeights {
  weight: Weight;
  bias: Weight;
}
/** One nn.LayerNorm: weight [D], bias [D]. */
export interface NormWeights {
  weight: Weight;
  bias: Weight;
}

/** SiglipAttention: `encoder.layers.{i}.self_attn.*`. */
export interface SiglipAttentionWeights {
  q_proj: LinearWeights; //     (D, D)
  k_proj: LinearWeights; //     (D, D)
  v_proj: LinearWeights; //     (D, D)
  out_proj: LinearWeights; //   (D, D)
}

/** SiglipMLP: `encoder.layers.{i}.mlp.*`. */
export interface SiglipMlpWeights {
  fc1: LinearWeights; //        (Fv, D)
  fc2: LinearWeights; //        (D, Fv)
}

/** SiglipEncoderLayer: `encoder.layers.{i}.*`. */
export interface SiglipLayerWeights {
  layer_norm1: NormWeights; //  [D]
  self_attn: SiglipAttentionWeights;
  layer_norm2: NormWeights; //  [D]
  mlp: SiglipMlpWeights;
}

/** SiglipVisionTransformer minus what Ovis does not run (post_layernorm, head). */
export interface SiglipWeights {
  embeddings: {
    /** Conv2d weight (D, 3, P, P) held as the Linear (D, 3·P·P) it is on unfolded patches. */
    patch_embedding: LinearWeights;
    position_embedding: { weight: Weight }; // [N, D]
  };
  encoder: { layers: SiglipLayerWeights[] };
}

export interface SiglipVisionTower {
  config: SiglipVisionConfig;
  weights: SiglipWeights;
}

/** Load the tower's weights (checked against the config) onto a backend. */
export async function loadSiglip(
  config: SiglipVisionConfig,
  src: TensorSource,
  be: Backend,
  prefix = SIGLIP_PREFIX,
): Promise<SiglipVisionTower> {
  const { hidden_size: D, intermediate_size: Fv, patch_size: P, num_channels: C, image_size: S } = config;
  if (D % config.num_attention_heads !== 0) {
    throw new CheckpointError(
      `SigLIP: hidden_size ${D} is not divisible by num_attention_heads ${config.num_attention_heads}`,
      'visual_tokenizer_config.backbone_config in config.json is inconsistent',
    );
  }
  const g = Math.floor(S / P);
  const cfg = 'visual_tokenizer_config.backbone_config';
  const w = (name: string, shape: number[], what: string) => loadWeight(src, be, prefix + name, shape, `${cfg}.${what}`);
  const lin = async (name: string, out: number, inp: number, what: string): Promise<LinearWeights> => ({
    weight: await w(name + '.weight', [out, inp], what),
    bias: await w(name + '.bias', [out], what),
  });
  const norm = async (name: string): Promise<NormWeights> => ({
    weight: await w(name + '.weight', [D], 'hidden_size'),
    bias: await w(name + '.bias', [D], 'hidden_size'),
  });
  const patch_embedding: LinearWeights = {
    weight: await loadWeight(
      src,
      be,
      prefix + 'embeddings.patch_embedding.weight',
      [D, C, P, P],
      `${cfg}.hidden_size/num_channels/patch_size`,
      [D, C * P * P],
    ),
    bias: await w('embeddings.patch_embedding.bias', [D], 'hidden_size'),
  };
  const position_embedding = await w('embeddings.position_embedding.weight', [g * g, D], '(image_size // patch_size)² and hidden_size');
  const layers: SiglipLayerWeights[] = [];
  for (let i = 0; i < config.num_hidden_layers; i++) {
    const p = `encoder.layers.${i}.`;
    layers.push({
      layer_norm1: await norm(p + 'layer_norm1'),
      self_attn: {
        q_proj: await lin(p + 'self_attn.q_proj', D, D, 'hidden_size'),
        k_proj: await lin(p + 'self_attn.k_proj', D, D, 'hidden_size'),
        v_proj: await lin(p + 'self_attn.v_proj', D, D, 'hidden_size'),
        out_proj: await lin(p + 'self_attn.out_proj', D, D, 'hidden_size'),
      },
      layer_norm2: await norm(p + 'layer_norm2'),
      mlp: {
        fc1: await lin(p + 'mlp.fc1', Fv, D, 'intermediate_size/hidden_size'),
        fc2: await lin(p + 'mlp.fc2', D, Fv, 'hidden_size/intermediate_size'),
      },
    });
  }
  return { config, weights: { embeddings: { patch_embedding, position_embedding: { weight: position_embedding } }, encoder: { layers } } };
}

/** Rows [r0, r1) of a 2-D activation as a view (no copy). */
function rows(x: Tensor, r0: number, r1: number): Tensor {
  const W = x.shape[x.shape.length - 1];
  return { shape: [r1 - r0, W], data: x.data.subarray(r0 * W, r1 * W) };
}

/** Same data, another shape (no copy). */
function view(x: Tensor, shape: number[]): Tensor {
  return { shape, data: x.data };
}

/**
 * SiglipAttention on h [n·N, D]: each crop attends to its own N patches only, bidirectionally,
 * scale Dh^-0.5 (SiglipAttention.scale, is_causal=False) -> [n·N, D] (after out_proj).
 */
export function selfAttention(be: Backend, cfg: SiglipVisionConfig, A: SiglipAttentionWeights, h: Tensor, n: number, N: number): Tensor {
  const D = cfg.hidden_size;
  const Nh = cfg.num_attention_heads;
  const Dh = D / Nh;
  const q = be.linear(h, A.q_proj.weight, A.q_proj.bias); //                     [n·N, Nh·Dh]
  const k = be.linear(h, A.k_proj.weight, A.k_proj.bias); //                     [n·N, Nh·Dh]
  const v = be.linear(h, A.v_proj.weight, A.v_proj.bias); //                     [n·N, Nh·Dh]
  const o = new Float32Array(n * N * D); //                                      [n·N, Nh·Dh]
  for (let c = 0; c < n; c++) {
    const oc = be.attention(rows(q, c * N, (c + 1) * N), rows(k, c * N, (c + 1) * N), rows(v, c * N, (c + 1) * N), {
      nHeads: Nh,
      nKvHeads: Nh,
      headDim: Dh,
      scale: Dh ** -0.5,
      causal: false,
    }); //                                                                       [N, Nh·Dh]
    o.set(oc.data, c * N * D);
  }
  return be.linear({ shape: [n * N, D], data: o }, A.out_proj.weight, A.out_proj.bias); // [n·N, D]
}

/** SiglipMLP on h [n·N, D]: fc2(gelu_tanh(fc1(h))) -> [n·N, D]. */
export function mlp(be: Backend, M: SiglipMlpWeights, h: Tensor): Tensor {
  const f = be.geluTanh(be.linear(h, M.fc1.weight, M.fc1.bias)); //              [n·N, Fv]
  return be.linear(f, M.fc2.weight, M.fc2.bias); //                               [n·N, D]
}

/** A submodule's output to its tap (`vit.layers.{i}.self_attn` / `.mlp`); identity by default. */
export type SubTap = (module: 'self_attn' | 'mlp', y: Tensor) => Tensor;

/** SiglipEncoderLayer (pre-LN) on x [n·N, D] -> [n·N, D]. */
export function encoderLayer(
  be: Backend,
  cfg: SiglipVisionConfig,
  L: SiglipLayerWeights,
  x: Tensor,
  n: number,
  N: number,
  tap: SubTap = (_, y) => y,
): Tensor {
  const eps = cfg.layer_norm_eps;
  const h = be.layerNorm(x, L.layer_norm1.weight, L.layer_norm1.bias, eps); //   [n·N, D]
  x = be.add(x, tap('self_attn', selfAttention(be, cfg, L.self_attn, h, n, N))); // [n·N, D]
  const h2 = be.layerNorm(x, L.layer_norm2.weight, L.layer_norm2.bias, eps); //  [n·N, D]
  return be.add(x, tap('mlp', mlp(be, L.mlp, h2))); //                            [n·N, D]
}

/**
 * SiglipVisionEmbeddings: Conv2d(C, D, P, stride P) = unfold + Linear on pixel_values
 * [n, C, S, S], plus position_embedding -> [n·N, D].
 */
export function embeddings(be: Backend, cfg: SiglipVisionConfig, E: SiglipWeights['embeddings'], pixelValues: Tensor): Tensor {
  const { hidden_size: D, patch_size: P, image_size: S } = cfg;
  const n = pixelValues.shape[0];
  const g = Math.floor(S / P);
  const N = g * g;
  const pe = be.patchEmbed(pixelValues, E.patch_embedding.weight, E.patch_embedding.bias, P); // [n·N, D]
  const pos = be.readWeight(E.position_embedding.weight); //                        [N, D]
  const posTiled = new Float32Array(n * N * D); //                                  [n·N, D]
  for (let c = 0; c < n; c++) posTiled.set(pos, c * N * D);
  return be.add(pe, { shape: [n * N, D], data: posTiled }); //                      [n·N, D]
}

/**
 * The tower on preprocessed crops: pixel_values [n, 3, S, S] -> hidden_states[-1] [n, N, D]
 * (the last encoder layer's output, before post_layernorm). Taps vit.embeddings, vit.layers.{i}
 * and inside each layer vit.layers.{i}.self_attn / .mlp (the submodule outputs, before the residual add).
 */
export function siglipForward(be: Backend, tower: SiglipVisionTower, pixelValues: Tensor, tap: Tap = noTap): Tensor {
  const cfg = tower.config;
  const W = tower.weights;
  const { hidden_size: D, patch_size: P, num_channels: C, image_size: S } = cfg;
  const ps = pixelValues.shape;
  if (ps.length !== 4 || ps[1] !== C || ps[2] !== S || ps[3] !== S) {
    throw new ShapeError(
      `SigLIP: pixel_values ${fmtShape(ps)}, expected [n, ${C}, ${S}, ${S}] (num_channels, image_size from config.json)`,
    );
  }
  const n = ps[0];
  const g = Math.floor(S / P);
  const N = g * g;
  let x = embeddings(be, cfg, W.embeddings, pixelValues); //                        [n·N, D]
  x = view(tap('vit.embeddings', view(x, [n, N, D])), [n * N, D]);
  for (let i = 0; i < W.encoder.layers.length; i++) {
    const sub: SubTap = (module, y) => view(tap(`vit.layers.${i}.${module}`, view(y, [n, N, D])), [n * N, D]);
    x = encoderLayer(be, cfg, W.encoder.layers[i], x, n, N, sub); //                [n·N, D]
    x = view(tap(`vit.layers.${i}`, view(x, [n, N, D])), [n * N, D]);
  }
  return view(x, [n, N, D]);
}
