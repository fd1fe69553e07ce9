// Ovis visual tokenizer head — mirrors AIDC-AI/Ovis @831b595
// ovis/model/visual_tokenizer/base_visual_tokenizer.py (BaseVisualTokenizer.encode, .head,
// .tokenize with tokenize_function 'softmax', .forward).
// Shapes: n crops · g = 27 patches per side · D ViT hidden · s hidden_stride (2) ·
//         m = ceil(g / s) (14) · V visual vocab (65536; the last 5 rows are indicators).
//
//   features = merge(hidden_states[-1])                   [n, m², s²·D]   tap vt.features
//   head_linear = features · head.0.weightᵀ (no bias)     [n, m², V-5]    tap vt.head_linear
//   logits = LayerNorm(head_linear; head.1, eps 1e-5)     [n, m², V-5]    tap vt.logits
//   tokens = [softmax(logits) | 0 0 0 0 0]                [n, m², V]      tap vt.tokens

import type { Backend } from '../backend/backend.js';
import type { VisualTokenizerConfig } from '../config/ovis-config.js';
import { IMAGE_INDICATOR_IDS } from '../constants.js';
import { ConfigError, ShapeError } from '../errors.js';
import { fmtShape, type Tensor, type Weight } from '../tensor.js';
import { noTap, type Tap } from '../trace/tap.js';
import { loadWeight, type TensorSource } from './weights.js';

/** Indicator rows reserved at the end of the visual vocabulary (I0..I4). */
export const NUM_INDICATORS = IMAGE_INDICATOR_IDS.length;
/** `torch.nn.LayerNorm(head_dim)` is built without eps: PyTorch's default 1e-5 (not config's). */
export const HEAD_LAYER_NORM_EPS = 1e-5;

/** `visual_tokenizer.head` = Sequential(Linear(s²·D, V-5, bias=False), LayerNorm(V-5)): index
 *  k of the tuple is HF's `head.k` (`head[1].bias` <-> `visual_tokenizer.head.1.bias`). */
export interface VisualHeadWeights {
  head: [
    { weight: Weight }, //               head.0.weight [V-5, s²·D], no bias
    { weight: Weight; bias: Weight }, // head.1.weight, head.1.bias [V-5]
  ];
}

export interface VisualHead {
  config: VisualTokenizerConfig;
  weights: VisualHeadWeights;
}

export async function loadVisualHead(
  config: VisualTokenizerConfig,
  src: TensorSource,
  be: Backend,
  prefix = 'visual_tokenizer.',
): Promise<VisualHead> {
  if (config.tokenize_function !== 'softmax') {
    throw new ConfigError('config.json', [
      `visual_tokenizer_config.tokenize_function: expected "softmax" (inference), got ${JSON.stringify(config.tokenize_function)}`,
    ]);
  }
  const V = config.vocab_size;
  const s = config.hidden_stride;
  const D = config.backbone_config.hidden_size;
  const what = 'visual_tokenizer_config.vocab_size - 5';
  return {
    config,
    weights: {
      head: [
        {
          weight: await loadWeight(
            src,
            be,
            prefix + 'head.0.weight',
            [V - NUM_INDICATORS, s * s * D],
            `${what} and hidden_stride² · backbone_config.hidden_size`,
          ),
        },
        {
          weight: await loadWeight(src, be, prefix + 'head.1.weight', [V - NUM_INDICATORS], what),
          bias: await loadWeight(src, be, prefix + 'head.1.bias', [V - NUM_INDICATORS], what),
        },
      ],
    },
  };
}

/**
 * hidden_stride merge (BaseVisualTokenizer.encode): [n, g·g, D] -> [n, m·m, s·s·D].
 * reshape to [n, g, g, D], zero-pad bottom/right to [n, m·s, m·s, D], reshape
 * [n, m, s, m, s, D], permute (0, 1, 3, 2, 4, 5) -> [n, m, m, s, s, D], flatten: token
 * (R, C) in row-major order holds its s×s block in (row, col) order:
 * [x(sR, sC) | x(sR, sC+1) | x(sR+1, sC) | x(sR+1, sC+1)] for s = 2. Exact (a copy).
 */
export function hiddenStrideMerge(x: Tensor, s: number): Tensor {
  if (x.shape.length !== 3) throw new ShapeError(`hidden_stride merge: features ${fmtShape(x.shape)} are not [n, L, D]`);
  const [n, L, D] = x.shape;
  const g = Math.round(Math.sqrt(L));
  if (g * g !== L) throw new ShapeError(`hidden_stride merge: ${L} patches is not a perfect square`, 'Ovis asserts sqrt_l ** 2 == l');
  const m = Math.ceil(g / s); // (g + pad) / s with pad = (s - g % s) % s
  const out = new Float32Array(n * m * m * s * s * D); // [n, m², s²·D], padding stays 0
  const src = x.data;
  for (let b = 0; b < n; b++) {
    for (let R = 0; R < m; R++) {
      for (let Cc = 0; Cc < m; Cc++) {
        const tokenBase = ((b * m + R) * m + Cc) * s * s * D;
        for (let dr = 0; dr < s; dr++) {
          for (let dc = 0; dc < s; dc++) {
            const row = R * s + dr;
            const col = Cc * s + dc;
            if (row >= g || col >= g) continue; // zero padding
            const from = ((b * g + row) * g + col) * D;
            out.set(src.subarray(from, from + D), tokenBase + (dr * s + dc) * D);
          }
        }
      }
    }
  }
  return { shape: [n, m * m, s * s * D], data: out };
}

/** Append `k` zero columns to the last dim: [R, C] -> [R, C + k] (the indicator slots). */
export function appendZeroColumns(x: Tensor, k: number): Tensor {
  const C = x.shape[x.shape.length - 1];
  const R = C === 0 ? 0 : x.data.length / C;
  const out = new Float32Array(R * (C + k)); // [R, C + k]
  for (let r = 0; r < R; r++) out.set(x.data.subarray(r * C, (r + 1) * C), r * (C + k));
  return { shape: [...x.shape.slice(0, -1), C + k], data: out };
}

/**
 * Visual tokenizer on the tower's output: hidden_states[-1] [n, g², D] -> tokens [n, m², V]
 * (probabilities over the visual vocabulary; the 5 indicator columns are 0).
 */
export function visualTokenize(be: Backend, head: VisualHead, hidden: Tensor, tap: Tap = noTap): Tensor {
  const s = head.config.hidden_stride;
  const V = head.config.vocab_size;
  const features = tap('vt.features', hiddenStrideMerge(hidden, s)); //            [n, m², s²·D]
  const [n, T, F] = features.shape;
  const x2 = { shape: [n * T, F], data: features.data }; //                         [n·m², s²·D]
  const [linear, norm] = head.weights.head;
  const lin = be.linear(x2, linear.weight); //                                     [n·m², V-5]
  const headLinear = tap('vt.head_linear', { shape: [n, T, V - NUM_INDICATORS], data: lin.data });
  const ln = be.layerNorm({ shape: [n * T, V - NUM_INDICATORS], data: headLinear.data }, norm.weight, norm.bias, HEAD_LAYER_NORM_EPS); //                                [n·m², V-5]
  const logits = tap('vt.logits', { shape: [n, T, V - NUM_INDICATORS], data: ln.data });
  const probs = be.softmax({ shape: [n * T, V - NUM_INDICATORS], data: logits.data }); // [n·m², V-5]
  const tokens = appendZeroColumns(probs, NUM_INDICATORS); //                       [n·m², V]
  return tap('vt.tokens', { shape: [n, T, V], data: tokens.data }); //              [n, m², V]
}
