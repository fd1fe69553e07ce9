// Ovis visual embedding table (VTE) — mirrors AIDC-AI/Ovis @831b595 ovis/model/modeling_ovis.py
// `VisualEmbedding`: float tokens -> `torch.matmul(visual_tokens, self.weight)` (a
// probability-weighted sum of table rows: the "softmax lookup"); integer ids -> nn.Embedding.
// `merge_multimodal` takes the indicator embeddings as rows V-5..V-1 (HF maps -301 -> row V-5,
// ..., -305 -> row V-1; vLLM reverses them — we follow HF).
// Shapes: n crops · T visual tokens per crop (196) · V visual vocab (65536) · H LLM hidden.

import type { Backend } from '../backend/backend.js';
import type { OvisConfig } from '../config/ovis-config.js';
import { ShapeError } from '../errors.js';
import { fmtShape, type Tensor, type Weight } from '../tensor.js';
import { noTap, type Tap } from '../trace/tap.js';
import { NUM_INDICATORS } from './visual-tokenizer.js';
import { loadWeight, type TensorSource } from './weights.js';

export interface Vte {
  weight: Weight; // vte.weight [V, H]
  V: number;
  H: number;
}

export async function loadVte(config: OvisConfig, src: TensorSource, be: Backend, name = 'vte.weight'): Promise<Vte> {
  const V = config.visual_tokenizer_config.vocab_size;
  const H = config.hidden_size;
  const weight = await loadWeight(src, be, name, [V, H], 'visual_tokenizer_config.vocab_size and hidden_size');
  return { weight, V, H };
}

/** tokens [n, T, V] -> embeds [n, T, H] = tokens · vte.weight. Tap vte.embeds. */
export function vteEmbed(be: Backend, vte: Vte, tokens: Tensor, tap: Tap = noTap): Tensor {
  const s = tokens.shape;
  if (s.length !== 3 || s[2] !== vte.V) throw new ShapeError(`vte: tokens ${fmtShape(s)} are not [n, T, ${vte.V}] (visual vocab_size)`);
  const [n, T] = s;
  const e = be.matmul({ shape: [n * T, vte.V], data: tokens.data }, vte.weight); // [n·T, H]
  return tap('vte.embeds', { shape: [n, T, vte.H], data: e.data }); //             [n, T, H]
}

/** Indicator embeddings I0..I4 = rows V-5..V-1 -> [5, H]. Tap vte.indicators. */
export function vteIndicators(be: Backend, vte: Vte, tap: Tap = noTap): Tensor {
  const ids = Int32Array.from({ length: NUM_INDICATORS }, (_, i) => vte.V - NUM_INDICATORS + i); // [V-5 .. V-1]
  return tap('vte.indicators', be.embedding(ids, vte.weight)); //                 [5, H]
}
