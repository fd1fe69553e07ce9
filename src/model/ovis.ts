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
import type { Checkpoint } from '../checkpoint/checkpoint.js';
import type { GenerationConfig } from '../config/generation-config.js';
import { type Gemma2Config, type LlmConfig, type OvisConfig, visualTokensPerCrop } from '../config/ovis-config.js';
import { IMAGE_ATOM_ID, IMAGE_INDICATOR_IDS, IMAGE_TOKEN_ID } from '../constants.js';
import { InputError, ShapeError } from '../errors.js';
import { throttled } from '../progress.js';
import type { QuantBits } from '../quant/gptq.js';
import type { Tensor } from '../tensor.js';
import { fmtShape, storedBytes } from '../tensor.js';
import { noTap, type Tap } from '../trace/tap.js';
import type { CausalLM } from './causal-lm.js';
import { type LlmLoadOptions, LM_HEAD_GROUP_SIZE } from './decoder.js';
import { Gemma2ForCausalLM } from './gemma2.js';
import { LlamaForCausalLM } from './llama.js';
import { encodeImages, indicatorEmbeds, loadVision, type OvisVision } from './vision.js';
import type { TensorSource } from './weights.js';

/** Load the LLM half of a checkpoint (`llm.*` tensors) for any supported model_type. */
export async function loadLlm(
  config: LlmConfig,
  src: TensorSource,
  backend: Backend,
  prefix = 'llm.',
  opts: LlmLoadOptions = {},
): Promise<CausalLM> {
  switch (config.model_type) {
    case 'llama':
    case 'qwen2':
      return LlamaForCausalLM.load(config, src, backend, prefix, opts);
    case 'gemma2':
      return Gemma2ForCausalLM.load(config as Gemma2Config, src, backend, prefix, opts);
  }
}

/**
 * The merged sequence length T of `inputIds` (each atom becomes `perCrop` visual tokens), or an
 * InputError when it exceeds multimodal_max_length. Known from the ids alone, so OvisModel.embed
 * checks it BEFORE the vision tower runs (60 images would otherwise be encoded, minutes of work,
 * only to be refused by the merge).
 */
export function checkMergedLength(inputIds: readonly number[], perCrop: number, maxLength: number): number {
  let atoms = 0;
  for (const id of inputIds) if (id === IMAGE_ATOM_ID) atoms++;
  const T = inputIds.length - atoms + atoms * perCrop;
  if (T > maxLength) {
    throw new InputError(
      `the merged prompt is ${T} positions long (${inputIds.length - atoms} text/indicator tokens + ${atoms} crops x ${perCrop} visual tokens), ` +
        `more than multimodal_max_length ${maxLength}`,
      'use fewer or smaller images, a lower max_partition (fewer crops per image), or a shorter prompt',
    );
  }
  return T;
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
    throw new ShapeError(
      `mergeMultimodal: indicator embeddings have shape ${fmtShape(indicatorEmbeds.shape)}, expected [5, ${H}] (hidden_size ${H})`,
    );
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
      throw new InputError(
        `mergeMultimodal: position ${i} holds the <image> marker (${IMAGE_TOKEN_ID}), not expanded placeholders`,
        'expand each <image> into indicator/atom placeholders (image preprocessing) before merging',
      );
    } else if (id < 0 && !(IMAGE_INDICATOR_IDS as readonly number[]).includes(id)) {
      throw new InputError(
        `mergeMultimodal: unknown placeholder id ${id} at position ${i}`,
        `expected ${IMAGE_ATOM_ID} (atom) or ${IMAGE_INDICATOR_IDS.join(', ')} (indicators)`,
      );
    }
    safeIds[i] = id < 0 ? 0 : id;
  }
  if (atoms !== n) {
    throw new InputError(
      `mergeMultimodal: the ids hold ${atoms} image atom(s) but ${n} crop embedding block(s) were given`,
      'each atom stands for one crop, in order: the placeholders and the pixel values must come from the same preprocessing',
    );
  }

  const T = checkMergedLength(inputIds, perCrop, maxLength);

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

export interface OvisLoadOptions {
  /** Progress lines ("loading vision tower (27 layers)", ...) — the CLI prints them to stderr. */
  onProgress?: (message: string) => void;
  /** Skip the vision tower, visual head and VTE (text-only use, e.g. LLM parity). Default false. */
  textOnly?: boolean;
  /** lm_head quantized at load to 8 or 4 bits (decoder.ts LlmLoadOptions; `--quant-lm-head`). */
  quantLmHead?: QuantBits;
}

export class OvisModel {
  private constructor(
    readonly config: OvisConfig,
    readonly generationConfig: GenerationConfig | undefined,
    readonly backend: Backend,
    readonly llm: CausalLM,
    readonly vision: OvisVision | undefined,
  ) {}

  /** Load every component of an opened checkpoint (after checking all tensors at once). */
  static async load(ckpt: Checkpoint, backend: Backend, opts: OvisLoadOptions = {}): Promise<OvisModel> {
    ckpt.assertRunnable(); // lists every missing / mis-shaped tensor before reading any weight
    return OvisModel.fromSource(ckpt.config, ckpt.generationConfig, ckpt, backend, opts);
  }

  /** Load from any tensor source (tests build one in memory). */
  static async fromSource(
    config: OvisConfig,
    generationConfig: GenerationConfig | undefined,
    src: TensorSource,
    backend: Backend,
    opts: OvisLoadOptions = {},
  ): Promise<OvisModel> {
    const say = opts.onProgress ?? (() => {});
    src = withReadProgress(src, say);
    const vision = opts.textOnly ? undefined : await loadVision(config, src, backend, say);
    const l = config.llm_config;
    say(`loading ${l.model_type} (${l.num_hidden_layers} layers, hidden ${l.hidden_size}, vocab ${l.vocab_size})`);
    if (opts.quantLmHead) say(`quantizing lm_head to int${opts.quantLmHead} (round to nearest, groups of ${LM_HEAD_GROUP_SIZE})`);
    const llm = await loadLlm(l, src, backend, 'llm.', { quantLmHead: opts.quantLmHead });
    return new OvisModel(config, generationConfig, backend, llm, vision);
  }

  private needVision(what: string): OvisVision {
    if (!this.vision) throw new InputError(`${what}: the model was loaded text-only`, 'load without textOnly to use images');
    return this.vision;
  }

  /** Side of a crop (image_size, 384) and visual tokens per crop (196). */
  get cropSize(): number {
    return this.config.visual_tokenizer_config.backbone_config.image_size;
  }
  get tokensPerCrop(): number {
    return visualTokensPerCrop(this.config.visual_tokenizer_config);
  }

  /** Crops -> visual embeddings: pixel_values [n, 3, S, S] as one flat array -> [n, 196, H];
   *  see vision.ts `encodeImages` (batched with a tap, one crop at a time without). */
  encodeImages(pixelValues: Float32Array, n: number, tap?: Tap, onCrop?: (done: number, crops: number) => void): Tensor {
    const v = this.needVision('encodeImages');
    const S = this.cropSize;
    const per = 3 * S * S;
    if (!Number.isInteger(n) || n < 1 || pixelValues.length !== n * per) {
      throw new ShapeError(`encodeImages: pixel_values has ${pixelValues.length} values, expected n x 3 x ${S} x ${S} = ${n} x ${per}`);
    }
    return encodeImages(this.backend, v, { shape: [n, 3, S, S], data: pixelValues }, tap, onCrop);
  }

  /** Indicator embeddings I0..I4 = vte rows V-5..V-1 -> [5, H] (`vte.indicators`). */
  indicatorEmbeds(tap: Tap = noTap): Tensor {
    return indicatorEmbeds(this.backend, this.needVision('indicatorEmbeds'), tap);
  }

  /** Ovis merge_multimodal with this model's embed_tokens and the multimodal_max_length guard. */
  mergeMultimodal(inputIds: readonly number[], visualEmbeds: Tensor | undefined, indicatorEmbeds: Tensor): Tensor {
    return mergeMultimodal(this.llm, inputIds, visualEmbeds, indicatorEmbeds, this.config.multimodal_max_length);
  }

  /**
   * Everything before the LLM: ids with placeholders (+ the crops of every image, in order)
   * -> inputs_embeds [T, H]. A text-only prompt (no atoms) needs no pixel values; indicator rows
   * still come from the VTE when present.
   */
  embed(
    inputIds: readonly number[],
    pixels?: { pixelValues: Float32Array; n: number },
    tap: Tap = noTap,
    onCrop?: (done: number, crops: number) => void,
  ): Tensor {
    const hasPlaceholders = inputIds.some((id) => id < 0);
    if (!hasPlaceholders && !pixels) {
      // Pure text: merge reduces to the embedding lookup. Ovis's merge_multimodal still computes
      // the indicator embeddings (vte rows V-5..V-1) for every request, so a trace records
      // `vte.indicators` for text-only prompts too; without a vision half, zeros stand in.
      const indicators = this.vision ? this.indicatorEmbeds(tap) : zeroIndicators(this.config.hidden_size);
      return this.mergeMultimodal(inputIds, undefined, indicators);
    }
    checkMergedLength(inputIds, this.tokensPerCrop, this.config.multimodal_max_length); // before any crop is encoded
    const visual = pixels ? this.encodeImages(pixels.pixelValues, pixels.n, tap === noTap ? undefined : tap, onCrop) : undefined;
    return this.mergeMultimodal(inputIds, visual, this.indicatorEmbeds(tap));
  }

  /** Ids that end a generation: generation_config.json's eos_token_id, else the LLM config's. */
  get eosTokenIds(): readonly number[] {
    return this.generationConfig?.eos_token_id ?? this.config.llm_config.eos_token_id;
  }

  dispose(): void {
    this.backend.dispose();
  }
}

/** [5, H] zeros: stands in for indicator rows when the sequence has no indicator ids. */
function zeroIndicators(H: number): Tensor {
  return { shape: [IMAGE_INDICATOR_IDS.length, H], data: new Float32Array(IMAGE_INDICATOR_IDS.length * H) };
}

/** A view of `src` that reports the bytes read so far, at most every 3 s: loading 8-20 GB of
 *  weights takes seconds to minutes, and the per-component messages alone go quiet for long. */
function withReadProgress(src: TensorSource, say: (msg: string) => void): TensorSource {
  const total = storedBytes(src.tensors.values());
  const t0 = performance.now();
  const tick = throttled(3000, say);
  let done = 0;
  const count = (name: string) => {
    const t = src.tensors.get(name);
    if (t) done += storedBytes([t]);
    tick(
      () =>
        `weights: ${(done / 1e9).toFixed(2)} of ${(total / 1e9).toFixed(2)} GB read (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
    );
  };
  return {
    tensors: src.tensors,
    quantization: src.quantization,
    read: async (name) => {
      const r = await src.read(name);
      count(name);
      return r;
    },
    readInto: src.readInto
      ? async (name, dst) => {
          await src.readInto!(name, dst);
          count(name);
        }
      : undefined,
    // forwarded (a block of rows is not counted: the tensor it belongs to is read once more)
    readRows: src.readRows ? (name, n0, rows) => src.readRows!(name, n0, rows) : undefined,
  };
}
