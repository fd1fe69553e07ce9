// Ovis1.6 — the whole model: visual tokenizer (SigLIP backbone + head) -> VTE -> merge -> LLM.
// Mirrors AIDC-AI/Ovis @831b595 ovis/model/modeling_ovis.py (Ovis.merge_multimodal, Ovis.generate).
// Shapes: n crops (all images) · 196 visual tokens per crop · H LLM hidden · L text ids ·
//         T merged length · V visual vocab (5 indicator rows at the end).
//
// merge_multimodal, inference path, batch 1:
//   1. text_embed = embed_tokens(ids with every id < 0 replaced by 0)              [L, H]
//   2. rows whose id is an indicator -301..-305 get indicator embedding 0..4        (vte rows V-5..V-1)
//   3. each IMAGE_ATOM (-300), in order, is replaced by its crop's 196 embeddings   [T, H]
//      (the k-th atom takes crop k: atoms and crops are matched by order, not by image)
// HF then truncates to multimodal_max_length silently; we refuse instead (InputError), since a
// truncated prompt loses the question that follows the images.

import type { Backend } from '../backend/backend.js';
import type { Gemma2Config, LlmConfig, OvisConfig } from '../config/ovis-config.js';
import type { GenerationConfig } from '../config/generation-config.js';
import { IMAGE_ATOM_ID, IMAGE_INDICATOR_IDS, IMAGE_TOKEN_ID } from '../constants.js';
import { InputError, ShapeError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { fmtShape } from '../tensor.js';
import { Gemma2ForCausalLM } from './gemma2.js';
import { LlamaForCausalLM } from './llama.js';
import type { CausalLM, TensorSource } from './causal-lm.js';

/** Load the LLM half of a checkpoint (`llm.*` tensors) for any supported model_type. */
export async function loadLlm(config: LlmConfig, src: TensorSource, backend: Backend, prefix = 'llm.'): Promise<CausalLM> {
  switch (config.model_type) {
    case 'llama':
    case 'qwen2':
      return LlamaForCausalLM.load(config, src, backend, prefix);
    case 'gemma2':
      return Gemma2ForCausalLM.load(config as Gemma2Config, src, backend, prefix);
  }
}

/**
 * Ovis `merge_multimodal` for one sequence.
 * @param llm            the decoder whose `embed_tokens` embeds the text ids
 * @param inputIds       text ids with placeholders: IMAGE_ATOM_ID (-300), indicators -301..-305
 * @param visualEmbeds   [n, 196, H] (`vte.embeds`), one block per crop, crop order; undefined if no image
 * @param indicatorEmbeds [5, H] (`vte.indicators`): rows V-5..V-1 of vte.weight
 * @param maxLength      multimodal_max_length (context guard)
 * @returns inputs_embeds [T, H]
 */
export function mergeMultimodal(
  llm: CausalLM,
  inputIds: readonly number[],
  visualEmbeds: Tensor | undefined,
  indicatorEmbeds: Tensor,
  maxLength = Infinity,
): Tensor {
  const H = llm.hiddenSize;
  const L = inputIds.length;
  if (L === 0) throw new InputError('mergeMultimodal: the prompt has no tokens', 'an empty prompt cannot be continued');
  if (indicatorEmbeds.shape.length !== 2 || indicatorEmbeds.shape[0] !== IMAGE_INDICATOR_IDS.length || indicatorEmbeds.shape[1] !== H) {
    throw new ShapeError(`mergeMultimodal: indicator embeddings have shape ${fmtShape(indicatorEmbeds.shape)}, expected [5, ${H}] (hidden_size ${H})`);
  }
  const n = visualEmbeds ? visualEmbeds.shape[0] : 0;
  const perCrop = visualEmbeds ? visualEmbeds.shape[1] : 0;
  if (visualEmbeds && (visualEmbeds.shape.length !== 3 || visualEmbeds.shape[2] !== H)) {
    throw new ShapeError(`mergeMultimodal: visual embeddings have shape ${fmtShape(visualEmbeds.shape)}, expected [n, 196, ${H}]`);
  }

  // Placeholders: ids < 0 must be atoms or indicators; IMAGE_TOKEN_ID must have been expanded.
  let atoms = 0;
  const safeIds = new Int32Array(L); // ids < 0 looked up as 0, as Ovis does (masked_fill(ids < 0, 0))
  for (let i = 0; i < L; i++) {
    const id = inputIds[i];
    if (!Number.isInteger(id) || id >= llm.vocabSize) {
      throw new InputError(`mergeMultimodal: input id ${id} at position ${i} is outside the vocabulary [0, ${llm.vocabSize})`);
    }
    if (id === IMAGE_ATOM_ID) atoms++;
    else if (id === IMAGE_TOKEN_ID) {
      throw new InputError(`mergeMultimodal: position ${i} holds the <image> marker (${IMAGE_TOKEN_ID}), not expanded placeholders`,
        'expand each <image> into indicator/atom placeholders (image preprocessing) before merging');
    } else if (id < 0 && !(IMAGE_INDICATOR_IDS as readonly number[]).includes(id)) {
      throw new InputError(`mergeMultimodal: unknown placeholder id ${id} at position ${i}`,
        `expected ${IMAGE_ATOM_ID} (atom) or ${IMAGE_INDICATOR_IDS.join(', ')} (indicators)`);
    }
    safeIds[i] = id < 0 ? 0 : id;
  }
  if (atoms !== n) {
    throw new InputError(`mergeMultimodal: the ids hold ${atoms} image atom(s) but ${n} crop embedding block(s) were given`,
      'each atom stands for one crop, in order: the placeholders and the pixel values must come from the same preprocessing');
  }

  const T = L - atoms + atoms * perCrop;
  if (T > maxLength) {
    throw new InputError(
      `the merged prompt is ${T} positions long (${L - atoms} text/indicator tokens + ${atoms} crops x ${perCrop} visual tokens), ` +
      `more than multimodal_max_length ${maxLength}`,
      'use fewer or smaller images, a lower max_partition (fewer crops per image), or a shorter prompt');
  }

  const text = llm.embedTokens(safeIds); // [L, H]
  const out = new Float32Array(T * H); // [T, H]
  let row = 0;
  let crop = 0;
  for (let i = 0; i < L; i++) {
    const id = inputIds[i];
    if (id === IMAGE_ATOM_ID) {
      // the crop's 196 rows, in order
      out.set(visualEmbeds!.data.subarray(crop * perCrop * H, (crop + 1) * perCrop * H), row * H);
      row += perCrop;
      crop++;
      continue;
    }
    const ind = (IMAGE_INDICATOR_IDS as readonly number[]).indexOf(id);
    const srcRow = ind >= 0 ? indicatorEmbeds.data.subarray(ind * H, (ind + 1) * H) : text.data.subarray(i * H, (i + 1) * H);
    out.set(srcRow, row * H);
    row++;
  }
  return { shape: [T, H], data: out };
}

export interface OvisParts {
  config: OvisConfig;
  generationConfig?: GenerationConfig;
  llm: CausalLM;
}
