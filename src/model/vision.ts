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
import type { TensorSource } from './causal-lm.js';
import { loadSiglip, siglipForward, type SiglipVisionTower } from './siglip.js';
import { loadVisualHead, visualTokenize, type VisualHead } from './visual-tokenizer.js';
import { loadVte, vteEmbed, vteIndicators, type Vte } from './vte.js';

export interface OvisVision {
  tower: SiglipVisionTower;
  head: VisualHead;
  vte: Vte;
}

/** Load the SigLIP tower, the visual head and the VTE (shapes checked against config.json). */
export async function loadVision(config: OvisConfig, src: TensorSource, be: Backend): Promise<OvisVision> {
  const vt = config.visual_tokenizer_config;
  const tower = await loadSiglip(vt.backbone_config, src, be);
  const head = await loadVisualHead(vt, src, be);
  const vte = await loadVte(config, src, be);
  return { tower, head, vte };
}

/** pixel_values [n, 3, S, S] -> visual embeddings [n, T, H]. Taps every vision stage. */
export function encodeImages(be: Backend, vision: OvisVision, pixelValues: Tensor, tap: Tap = noTap): Tensor {
  const hidden = siglipForward(be, vision.tower, pixelValues, tap); // [n, 729, D]
  const tokens = visualTokenize(be, vision.head, hidden, tap); //     [n, T, V]
  return vteEmbed(be, vision.vte, tokens, tap); //                    [n, T, H]
}

/** Indicator embeddings [5, H] (I0..I4). */
export function indicatorEmbeds(be: Backend, vision: OvisVision, tap: Tap = noTap): Tensor {
  return vteIndicators(be, vision.vte, tap);
}
