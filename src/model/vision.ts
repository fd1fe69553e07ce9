// The vision half of Ovis1.6 in one place: pixels -> visual embeddings, plus the indicator
// embeddings — `visual_tokenizer` (SigLIP backbone + head) and `vte` of
// AIDC-AI/Ovis @831b595 ovis/model/modeling_ovis.py `merge_multimodal`.
// Shapes: n crops · S image side · T visual tokens per crop (196) · H LLM hidden.
//
//   hidden = siglip(pixel_values)          [n, 729, D]   (hidden_states[-1])
//   tokens = visual_tokenizer(hidden)      [n, T, V]
//   embeds = tokens · vte.weight           [n, T, H]
//   indicators = vte rows V-5..V-1         [5, H]

import type { Backend } from '../backend/backend.js';
import type { OvisConfig } from '../config/ovis-config.js';
import type { Tensor } from '../tensor.js';
import { noTap, type Tap } from '../trace/tap.js';
import { loadSiglip, type SiglipVisionTower, siglipForward } from './siglip.js';
import { loadVisualHead, type VisualHead, visualTokenize } from './visual-tokenizer.js';
import { loadVte, type Vte, vteEmbed, vteIndicators } from './vte.js';
import type { TensorSource } from './weights.js';

/** The vision half: SigLIP backbone + visual head + VTE. */
export interface OvisVision {
  tower: SiglipVisionTower;
  head: VisualHead;
  vte: Vte;
}

/** Load the SigLIP tower, the visual head and the VTE (shapes checked against config.json). */
export async function loadVision(
  config: OvisConfig,
  src: TensorSource,
  be: Backend,
  say: (message: string) => void = () => {},
): Promise<OvisVision> {
  const vt = config.visual_tokenizer_config;
  say(`loading vision tower (SigLIP, ${vt.backbone_config.num_hidden_layers} layers)`);
  const tower = await loadSiglip(vt.backbone_config, src, be);
  say(`loading visual head (${vt.hidden_stride ** 2 * vt.backbone_config.hidden_size} -> ${vt.vocab_size - 5})`);
  const head = await loadVisualHead(vt, src, be);
  say(`loading visual embedding table [${vt.vocab_size}, ${config.hidden_size}]`);
  const vte = await loadVte(config, src, be);
  return { tower, head, vte };
}

/**
 * Crops -> visual embeddings: pixel_values [n, 3, S, S] -> vte.embeds [n, T, H].
 * With a tap (trace mode) all crops run as one batch so every stage is recorded whole
 * (`pixel_values`, `vit.*`, `vt.*`, `vte.embeds`). Without, crops run one at a time: the
 * results are identical (crops never interact) and the peak memory is one crop's
 * [196, 65536] token matrix (51 MB) instead of n of them.
 */
export function encodeImages(
  be: Backend,
  vision: OvisVision,
  pixelValues: Tensor,
  tap?: Tap,
  onCrop?: (done: number, crops: number) => void,
): Tensor {
  const [n, , S] = pixelValues.shape;
  const crops = (pv: Tensor, t: Tap): Tensor => {
    const hidden = siglipForward(be, vision.tower, t('pixel_values', pv), t); // [k, 729, D]
    const tokens = visualTokenize(be, vision.head, hidden, t); //                  [k, T, V]
    return vteEmbed(be, vision.vte, tokens, t); //                                 [k, T, H]
  };
  if (tap) {
    const embeds = crops(pixelValues, tap);
    onCrop?.(n, n);
    return embeds;
  }
  const per = 3 * S * S;
  let out: Float32Array | undefined;
  let T = 0;
  let H = 0;
  for (let c = 0; c < n; c++) {
    const e = crops({ shape: [1, 3, S, S], data: pixelValues.data.subarray(c * per, (c + 1) * per) }, noTap);
    [, T, H] = e.shape;
    out ??= new Float32Array(n * T * H); // [n, T, H]
    out.set(e.data, c * T * H);
    onCrop?.(c + 1, n);
  }
  return { shape: [n, T, H], data: out! };
}

/** Indicator embeddings I0..I4 = vte rows V-5..V-1 -> [5, H] (`vte.indicators`). */
export function indicatorEmbeds(be: Backend, vision: OvisVision, tap: Tap = noTap): Tensor {
  return vteIndicators(be, vision.vte, tap);
}
