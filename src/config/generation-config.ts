// generation_config.json and preprocessor_config.json of an Ovis1.6 checkpoint.
// generation_config mirrors transformers' GenerationConfig (defaults named after it);
// preprocessor_config is SiglipImageProcessor's (Ovis1.6 ships the so400m processor config).

import { jsonPreview } from '../io/json.js';
import { Fields, Problems } from './fields.js';
import type { LlmConfig } from './ovis-config.js';

export interface GenerationConfig {
  bos_token_id: number | null;
  /** Normalised to a list: HF accepts an int or a list (Llama 3.2: [128001, 128008, 128009]). */
  eos_token_id: number[];
  pad_token_id: number | null;
  /** HF GenerationConfig default false. (The Llama release sets true; Ovis's runner overrides to greedy.) */
  do_sample: boolean;
  temperature: number; // HF default 1.0
  top_p: number; // HF default 1.0
  top_k: number; // HF default 50
  repetition_penalty: number; // HF default 1.0
  max_new_tokens: number | null; // HF default None
  max_length: number; // HF default 20
  /** Where the values came from: the file, or the llm_config fallback. */
  source: string;
}

/**
 * Parse generation_config.json. `eos_token_id` may be a number or a list (normalised to a list).
 * `fallback` (from llm_config) fills ids the file does not give, as HF's
 * GenerationConfig.from_model_config does.
 */
export function parseGenerationConfig(
  json: unknown,
  file: string,
  fallback?: Pick<LlmConfig, 'bos_token_id' | 'eos_token_id' | 'pad_token_id'>,
): GenerationConfig {
  const p = new Problems(file);
  const f = Fields.root(p, json);
  if (!f) {
    p.throwIfAny();
    throw new Error('unreachable');
  }
  const g: GenerationConfig = {
    bos_token_id: f.idOrNull('bos_token_id', fallback?.bos_token_id ?? null),
    eos_token_id: f.ids('eos_token_id', fallback?.eos_token_id ?? []),
    pad_token_id: f.idOrNull('pad_token_id', fallback?.pad_token_id ?? null),
    do_sample: f.bool('do_sample', false),
    temperature: f.num('temperature', 1.0, { min: 0 }),
    top_p: f.num('top_p', 1.0, { min: 0 }),
    top_k: f.int('top_k', 50, 0),
    repetition_penalty: f.num('repetition_penalty', 1.0, { positive: true }),
    max_new_tokens: f.intOrNull('max_new_tokens', null, 1),
    max_length: f.int('max_length', 20, 1),
    source: file,
  };
  if (g.top_p > 1) p.add('top_p', `expected a number in [0, 1], got ${g.top_p}`);
  p.throwIfAny();
  return g;
}

/** A GenerationConfig derived from llm_config when the directory has no generation_config.json. */
export function generationConfigFromLlm(llm: LlmConfig): GenerationConfig {
  return {
    bos_token_id: llm.bos_token_id,
    eos_token_id: llm.eos_token_id.slice(),
    pad_token_id: llm.pad_token_id,
    do_sample: false,
    temperature: 1.0,
    top_p: 1.0,
    top_k: 50,
    repetition_penalty: 1.0,
    max_new_tokens: null,
    max_length: 20,
    source: 'config.json llm_config (no generation_config.json)',
  };
}

/** SiglipImageProcessor settings (preprocessor_config.json). */
export interface PreprocessorConfig {
  image_processor_type: string;
  do_resize: boolean; // HF default true
  /** Target size; Ovis reads size.height/size.width and needs them equal (the crop side). */
  size: { height: number; width: number }; // HF default {height: 224, width: 224}
  /** PIL resample filter id; 3 = BICUBIC (HF default). */
  resample: number;
  do_rescale: boolean; // HF default true
  rescale_factor: number; // HF default 1/255
  do_normalize: boolean; // HF default true
  image_mean: [number, number, number]; // HF default IMAGENET_STANDARD_MEAN [0.5, 0.5, 0.5]
  image_std: [number, number, number]; // HF default IMAGENET_STANDARD_STD [0.5, 0.5, 0.5]
  do_convert_rgb: boolean | null; // HF default None
}

export function parsePreprocessorConfig(json: unknown, file: string): PreprocessorConfig {
  const p = new Problems(file);
  const f = Fields.root(p, json);
  if (!f) {
    p.throwIfAny();
    throw new Error('unreachable');
  }
  const triple = (key: string, def: [number, number, number]): [number, number, number] => {
    const v = f.raw(key);
    if (v === undefined) return def;
    if (typeof v === 'number' && Number.isFinite(v)) return [v, v, v];
    if (Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number' && Number.isFinite(x)))
      return v as [number, number, number];
    p.add(f.at(key), `expected a number or 3 numbers, got ${jsonPreview(v)}`);
    return def;
  };
  const type = f.str('image_processor_type', 'SiglipImageProcessor');
  if (type !== 'SiglipImageProcessor') {
    p.add('image_processor_type', `expected "SiglipImageProcessor" (Ovis1.6 uses SigLIP's processor), got ${JSON.stringify(type)}`);
  }
  let size = { height: 224, width: 224 };
  const sf = f.obj('size', false);
  if (sf) size = { height: sf.int('height', 224, 1), width: sf.int('width', 224, 1) };
  if (size.height !== size.width) p.add('size', `Ovis needs a square crop side, got height ${size.height} width ${size.width}`);
  const c: PreprocessorConfig = {
    image_processor_type: type,
    do_resize: f.bool('do_resize', true),
    size,
    resample: f.int('resample', 3, 0),
    do_rescale: f.bool('do_rescale', true),
    rescale_factor: f.num('rescale_factor', 1 / 255, { positive: true }),
    do_normalize: f.bool('do_normalize', true),
    image_mean: triple('image_mean', [0.5, 0.5, 0.5]),
    image_std: triple('image_std', [0.5, 0.5, 0.5]),
    do_convert_rgb: f.has('do_convert_rgb') && f.raw('do_convert_rgb') !== null ? f.bool('do_convert_rgb', false) : null,
  };
  // Ovis BaseVisualTokenizer asserts do_resize, do_rescale, do_normalize and no center crop.
  for (const k of ['do_resize', 'do_rescale', 'do_normalize'] as const) {
    if (!c[k]) p.add(k, 'must be true (Ovis asserts it)');
  }
  if (f.raw('do_center_crop') === true) p.add('do_center_crop', 'must be false (Ovis asserts it)');
  if (c.resample !== 3) p.add('resample', `only 3 (PIL BICUBIC) is implemented, got ${c.resample}`);
  if (c.image_std.some((s) => s === 0)) p.add('image_std', 'must not contain 0');
  // The pixel normalisation (image/preprocess.ts NORMALIZE_LUT) is SigLIP's: x * (1/255), then
  // (x - 0.5) / 0.5. These keys would change it; a value we would not apply is refused, not ignored.
  const SIGLIP = { rescale_factor: 1 / 255, mean: 0.5, std: 0.5 };
  if (c.rescale_factor !== SIGLIP.rescale_factor)
    p.add('rescale_factor', `only SigLIP's 1/255 (${SIGLIP.rescale_factor}) is implemented, got ${c.rescale_factor}`);
  if (c.image_mean.some((m) => m !== SIGLIP.mean))
    p.add('image_mean', `only SigLIP's [0.5, 0.5, 0.5] is implemented, got [${c.image_mean.join(', ')}]`);
  if (c.image_std.some((s) => s !== SIGLIP.std))
    p.add('image_std', `only SigLIP's [0.5, 0.5, 0.5] is implemented, got [${c.image_std.join(', ')}]`);
  p.throwIfAny();
  return c;
}
