// Typed config.json of an Ovis1.6 checkpoint — mirrors Ovis `configuration_ovis.py` (OvisConfig),
// `visual_tokenizer/base_visual_tokenizer.py` + `siglip_visual_tokenizer.py` (AIDC-AI/Ovis @831b595),
// and transformers 4.57's LlamaConfig / Gemma2Config / Qwen2Config / SiglipVisionConfig.
//
// Key names are config.json's own. A missing key gets the default of the HF class that would
// parse it (each default below is named `HF <Class> default`). Keys that change the numerics are
// either carried into the typed config (and used by the model) or rejected with the reason.
//
// Layout of config.json:
//   { model_type: "ovis", hidden_size, multimodal_max_length, conversation_formatter_class,
//     llm_config: { model_type: "llama" | "gemma2" | "qwen2", ... },
//     visual_tokenizer_config: { model_type: "siglip_visual_tokenizer", vocab_size, hidden_stride,
//       tokenize_function, drop_cls_token, depths,
//       backbone_config: { model_type: "siglip_vision_model", hidden_size, ... } } }

import { jsonKind, jsonPreview } from '../io/json.js';
import { Fields, Problems, REQUIRED } from './fields.js';
import { CONFIG_LIMITS as L } from './limits.js';

// ------------------------------------------------------------------------------------------
// Types

export type LayerType = 'full_attention' | 'sliding_attention';

/** HF `rope_scaling` for the `llama3` rope type (Llama 3.1/3.2 frequency scaling). */
export interface Llama3RopeScaling {
  rope_type: 'llama3';
  factor: number;
  low_freq_factor: number;
  high_freq_factor: number;
  original_max_position_embeddings: number;
}

/** rope_scaling: `null` / `{rope_type: 'default'}` = plain RoPE (Gemma2), or Llama 3.x scaling. */
export type RopeScaling = null | { rope_type: 'default' } | Llama3RopeScaling;

/** Keys common to the three decoders (HF names). */
interface LlmCommon {
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  max_position_embeddings: number;
  rms_norm_eps: number;
  rope_theta: number;
  rope_scaling: RopeScaling;
  tie_word_embeddings: boolean;
  bos_token_id: number | null;
  /** Normalised to a list (HF accepts an int or a list). */
  eos_token_id: number[];
  pad_token_id: number | null;
  /** The dtype the weights were saved in, as written in config.json ("bfloat16"), if any. */
  torch_dtype: string | null;
}

/** transformers LlamaConfig (configuration_llama.py). */
export interface LlamaConfig extends LlmCommon {
  model_type: 'llama';
  hidden_act: 'silu';
  /** Bias on q/k/v/o_proj. */
  attention_bias: boolean;
  /** Bias on gate/up/down_proj. */
  mlp_bias: boolean;
}

/** transformers Gemma2Config (configuration_gemma2.py). */
export interface Gemma2Config extends LlmCommon {
  model_type: 'gemma2';
  hidden_activation: 'gelu_pytorch_tanh';
  attention_bias: boolean;
  /** Attention scale is query_pre_attn_scalar^-0.5 (not head_dim^-0.5). */
  query_pre_attn_scalar: number;
  attn_logit_softcapping: number | null;
  final_logit_softcapping: number | null;
  sliding_window: number | null;
  /** One per layer; HF default: even layer index -> sliding_attention. */
  layer_types: LayerType[];
}

/** transformers Qwen2Config (configuration_qwen2.py). q/k/v_proj always have a bias, o_proj none. */
export interface Qwen2Config extends LlmCommon {
  model_type: 'qwen2';
  hidden_act: 'silu';
  use_sliding_window: boolean;
  /** HF sets sliding_window to null unless use_sliding_window. */
  sliding_window: number | null;
  max_window_layers: number;
  layer_types: LayerType[];
}

export type LlmConfig = LlamaConfig | Gemma2Config | Qwen2Config;

/** transformers SiglipVisionConfig (configuration_siglip.py). */
export interface SiglipVisionConfig {
  model_type: 'siglip_vision_model';
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_channels: number;
  image_size: number;
  patch_size: number;
  hidden_act: 'gelu_pytorch_tanh';
  layer_norm_eps: number;
  /** SigLIP's attention-pooling head exists (HF: absent key -> true). Ovis never uses its output. */
  vision_use_head: boolean;
}

/** Ovis BaseVisualTokenizerConfig / SiglipVisualTokenizerConfig. */
export interface VisualTokenizerConfig {
  model_type: 'siglip_visual_tokenizer';
  /** V: visual vocabulary incl. the 5 indicator rows (head outputs V-5). */
  vocab_size: number;
  tokenize_function: 'softmax';
  tau: number;
  /** Always false after parsing: SiglipVisualTokenizerConfig resets it (SigLIP has no CLS token). */
  drop_cls_token: boolean;
  /** null, or [num_hidden_layers] (a training-time override already reflected in backbone_config). */
  depths: number[] | null;
  hidden_stride: number;
  backbone_config: SiglipVisionConfig;
}

export type ConversationFormatterClass = 'Llama3ConversationFormatter' | 'GemmaConversationFormatter' | 'QwenConversationFormatter';

export interface OvisConfig {
  model_type: 'ovis';
  llm_config: LlmConfig;
  visual_tokenizer_config: VisualTokenizerConfig;
  /** Must equal llm_config.hidden_size (Ovis asserts it). */
  hidden_size: number;
  multimodal_max_length: number;
  conversation_formatter_class: ConversationFormatterClass;
  llm_attn_implementation: string | null;
  disable_tie_weight: boolean;
  torch_dtype: string | null;
}

// ------------------------------------------------------------------------------------------
// Parsing

const UNSUPPORTED_ROPE: Record<string, string> = {
  linear: 'linear RoPE scaling is not implemented',
  dynamic: 'dynamic NTK RoPE scaling is not implemented',
  yarn: 'YaRN RoPE scaling is not implemented',
  longrope: 'LongRoPE scaling is not implemented',
};

function parseRopeScaling(f: Fields): RopeScaling {
  const v = f.raw('rope_scaling');
  if (v === undefined || v === null) return null;
  const r = f.obj('rope_scaling');
  if (!r) return null;
  // HF BC: a legacy "type" key is copied to "rope_type".
  const typeKey = r.has('rope_type') ? 'rope_type' : 'type';
  const t = r.oneOf(typeKey, ['default', 'llama3'] as const, REQUIRED, UNSUPPORTED_ROPE);
  if (t === 'default') return { rope_type: 'default' };
  // HF _validate_llama3_parameters: all four keys required, high > low.
  const s = {
    rope_type: 'llama3' as const,
    factor: r.num('factor', REQUIRED, { min: 1 }),
    low_freq_factor: r.num('low_freq_factor', REQUIRED, { positive: true }),
    high_freq_factor: r.num('high_freq_factor', REQUIRED, { positive: true }),
    original_max_position_embeddings: r.int('original_max_position_embeddings', REQUIRED, 1),
  };
  if (s.high_freq_factor <= s.low_freq_factor) {
    r.p.add(r.at('high_freq_factor'), `must be greater than low_freq_factor (${s.low_freq_factor}), got ${s.high_freq_factor}`);
  }
  return s;
}

function parseLayerTypes(f: Fields, n: number, dflt: (i: number) => LayerType): LayerType[] {
  const raw = f.raw('layer_types');
  if (Array.isArray(raw) && raw.length > L.layers) {
    // before walking it entry by entry
    f.p.add(f.at('layer_types'), `has ${raw.length} entries; at most ${L.layers} layers are supported`);
    return [];
  }
  const lt = f.strArrayOrNull('layer_types', ['full_attention', 'sliding_attention'] as const);
  if (lt === null) return Array.from({ length: n }, (_, i) => dflt(i));
  if (Number.isFinite(n) && lt.length !== n) f.p.add(f.at('layer_types'), `has ${lt.length} entries, num_hidden_layers is ${n}`);
  return lt;
}

function checkHeads(f: Fields, c: { hidden_size: number; num_attention_heads: number; num_key_value_heads: number }): void {
  if (c.num_attention_heads > 0 && c.num_key_value_heads > 0 && c.num_attention_heads % c.num_key_value_heads !== 0) {
    f.p.add(
      f.at('num_key_value_heads'),
      `num_attention_heads (${c.num_attention_heads}) must be a multiple of num_key_value_heads (${c.num_key_value_heads}) for grouped-query attention`,
    );
  }
}

/** The keys shared by Llama/Gemma2/Qwen2 with each class's HF defaults. */
interface CommonDefaults {
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  max_position_embeddings: number;
  rms_norm_eps: number;
  tie_word_embeddings: boolean;
  bos: number | null;
  eos: number[];
  pad: number | null;
}

function parseCommon(f: Fields, d: CommonDefaults): Omit<LlmCommon, 'num_key_value_heads' | 'head_dim'> {
  return {
    vocab_size: f.int('vocab_size', d.vocab_size, 1, L.vocab),
    hidden_size: f.int('hidden_size', d.hidden_size, 1, L.hidden),
    intermediate_size: f.int('intermediate_size', d.intermediate_size, 1, L.intermediate),
    num_hidden_layers: f.int('num_hidden_layers', d.num_hidden_layers, 1, L.layers),
    num_attention_heads: f.int('num_attention_heads', d.num_attention_heads, 1, L.heads),
    max_position_embeddings: f.int('max_position_embeddings', d.max_position_embeddings, 1, L.positions),
    rms_norm_eps: f.num('rms_norm_eps', d.rms_norm_eps, { positive: true }),
    rope_theta: f.num('rope_theta', 10000.0, { positive: true }), // HF default 10000.0 (all three)
    rope_scaling: parseRopeScaling(f),
    tie_word_embeddings: f.bool('tie_word_embeddings', d.tie_word_embeddings),
    bos_token_id: f.idOrNull('bos_token_id', d.bos),
    eos_token_id: f.ids('eos_token_id', d.eos),
    pad_token_id: f.idOrNull('pad_token_id', d.pad),
    torch_dtype: f.strOrNull('torch_dtype', f.has('dtype') ? f.strOrNull('dtype', null) : null),
  };
}

function parseLlama(f: Fields): LlamaConfig {
  // HF LlamaConfig defaults (Llama-2-7B): vocab 32000, hidden 4096, intermediate 11008, 32 layers,
  // 32 heads, max_position_embeddings 2048, rms_norm_eps 1e-6, tie false, bos 1, eos 2, pad null.
  const c = parseCommon(f, {
    vocab_size: 32000,
    hidden_size: 4096,
    intermediate_size: 11008,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    max_position_embeddings: 2048,
    rms_norm_eps: 1e-6,
    tie_word_embeddings: false,
    bos: 1,
    eos: [2],
    pad: null,
  });
  const cfg: LlamaConfig = {
    model_type: 'llama',
    ...c,
    // HF LlamaConfig: num_key_value_heads defaults to num_attention_heads (MHA); head_dim to hidden/heads.
    num_key_value_heads: f.intOrNull('num_key_value_heads', null, 1, L.heads) ?? c.num_attention_heads,
    head_dim: f.intOrNull('head_dim', null, 1, L.headDim) ?? Math.floor(c.hidden_size / c.num_attention_heads),
    hidden_act: f.oneOf('hidden_act', ['silu'] as const, 'silu', {
      gelu: 'only SwiGLU (silu) Llama MLPs are implemented',
      gelu_pytorch_tanh: 'only SwiGLU (silu) Llama MLPs are implemented',
    }),
    attention_bias: f.bool('attention_bias', false), // HF default false
    mlp_bias: f.bool('mlp_bias', false), // HF default false
  };
  // pretraining_tp > 1 only re-slices the same matmuls in old transformers; the math is unchanged.
  checkHeads(f, cfg);
  return cfg;
}

function parseGemma2(f: Fields): Gemma2Config {
  // HF Gemma2Config defaults (gemma-2-2b): vocab 256000, hidden 2304, intermediate 9216, 26 layers,
  // 8 heads, 4 kv heads, head_dim 256, max_position 8192, rms_norm_eps 1e-6, tie true, bos 2, eos 1, pad 0.
  const c = parseCommon(f, {
    vocab_size: 256000,
    hidden_size: 2304,
    intermediate_size: 9216,
    num_hidden_layers: 26,
    num_attention_heads: 8,
    max_position_embeddings: 8192,
    rms_norm_eps: 1e-6,
    tie_word_embeddings: true,
    bos: 2,
    eos: [1],
    pad: 0,
  });
  // Note: Gemma2's own config.json also carries `hidden_act`; transformers' Gemma2MLP ignores it
  // and uses `hidden_activation`, so do we.
  const cfg: Gemma2Config = {
    model_type: 'gemma2',
    ...c,
    num_key_value_heads: f.int('num_key_value_heads', 4, 1, L.heads), // HF default 4
    head_dim: f.int('head_dim', 256, 1, L.headDim), // HF default 256 (NOT hidden/heads)
    hidden_activation: f.oneOf('hidden_activation', ['gelu_pytorch_tanh'] as const, 'gelu_pytorch_tanh', {
      gelu: 'exact-erf GELU for Gemma2 is not implemented (the release uses gelu_pytorch_tanh)',
    }),
    attention_bias: f.bool('attention_bias', false), // HF default false
    query_pre_attn_scalar: f.num('query_pre_attn_scalar', 256, { positive: true }), // HF default 256
    attn_logit_softcapping: f.numOrNull('attn_logit_softcapping', 50.0, { positive: true }), // HF default 50.0
    final_logit_softcapping: f.numOrNull('final_logit_softcapping', 30.0, { positive: true }), // HF default 30.0
    sliding_window: f.intOrNull('sliding_window', 4096, 1, L.positions), // HF default 4096
    layer_types: [],
  };
  // HF default: "sliding_attention" if (i + 1) % 2 else "full_attention" -> even i slides.
  cfg.layer_types = parseLayerTypes(f, cfg.num_hidden_layers, (i) => ((i + 1) % 2 ? 'sliding_attention' : 'full_attention'));
  if (cfg.sliding_window === null && cfg.layer_types.includes('sliding_attention')) {
    f.p.add(f.at('sliding_window'), 'is null but layer_types has sliding_attention layers');
  }
  checkHeads(f, cfg);
  return cfg;
}

function parseQwen2(f: Fields): Qwen2Config {
  // HF Qwen2Config defaults: vocab 151936, hidden 4096, intermediate 22016, 32 layers, 32 heads,
  // max_position 32768, rms_norm_eps 1e-6, tie false, bos/eos/pad null (eos -> []).
  const c = parseCommon(f, {
    vocab_size: 151936,
    hidden_size: 4096,
    intermediate_size: 22016,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    max_position_embeddings: 32768,
    rms_norm_eps: 1e-6,
    tie_word_embeddings: false,
    bos: null,
    eos: [],
    pad: null,
  });
  const use_sliding_window = f.bool('use_sliding_window', false); // HF default false
  const sw = f.intOrNull('sliding_window', 4096, 1, L.positions); // HF default 4096, then nulled unless use_sliding_window
  const cfg: Qwen2Config = {
    model_type: 'qwen2',
    ...c,
    num_key_value_heads: f.intOrNull('num_key_value_heads', null, 1, L.heads) ?? c.num_attention_heads, // HF: = heads
    // Qwen2Attention: getattr(config, "head_dim", hidden // heads)
    head_dim: f.intOrNull('head_dim', null, 1, L.headDim) ?? Math.floor(c.hidden_size / c.num_attention_heads),
    hidden_act: f.oneOf('hidden_act', ['silu'] as const, 'silu'),
    use_sliding_window,
    sliding_window: use_sliding_window ? sw : null,
    max_window_layers: f.int('max_window_layers', 28, 0), // HF default 28
    layer_types: [],
  };
  // HF default: sliding for layers i >= max_window_layers when a window is set.
  cfg.layer_types = parseLayerTypes(f, cfg.num_hidden_layers, (i) =>
    cfg.sliding_window !== null && i >= cfg.max_window_layers ? 'sliding_attention' : 'full_attention',
  );
  checkHeads(f, cfg);
  return cfg;
}

function parseLlmConfig(f: Fields): LlmConfig | undefined {
  const mt = f.raw('model_type');
  switch (mt) {
    case 'llama':
      return parseLlama(f);
    case 'gemma2':
      return parseGemma2(f);
    case 'qwen2':
      return parseQwen2(f);
    default:
      f.p.add(
        f.at('model_type'),
        mt === undefined
          ? `missing (required; expected "llama", "gemma2" or "qwen2")`
          : `unknown LLM model_type ${jsonKind(mt)}; expected "llama", "gemma2" or "qwen2"`,
      );
      return undefined;
  }
}

function parseSiglip(f: Fields): SiglipVisionConfig | undefined {
  const mt = f.raw('model_type');
  if (mt !== 'siglip_vision_model') {
    f.p.add(
      f.at('model_type'),
      mt === undefined
        ? 'missing (required; expected "siglip_vision_model")'
        : `unknown backbone model_type ${jsonKind(mt)}; expected "siglip_vision_model" (Ovis1.6 uses SigLIP so400m)`,
    );
    return undefined;
  }
  // HF SiglipVisionConfig defaults (siglip-base-patch16-224): hidden 768, intermediate 3072,
  // 12 layers, 12 heads, 3 channels, image 224, patch 16, gelu_pytorch_tanh, layer_norm_eps 1e-6.
  const c: SiglipVisionConfig = {
    model_type: 'siglip_vision_model',
    hidden_size: f.int('hidden_size', 768, 1, L.hidden),
    intermediate_size: f.int('intermediate_size', 3072, 1, L.intermediate),
    num_hidden_layers: f.int('num_hidden_layers', 12, 1, L.layers),
    num_attention_heads: f.int('num_attention_heads', 12, 1, L.heads),
    num_channels: f.int('num_channels', 3, 1),
    image_size: f.int('image_size', 224, 1, L.imageSize),
    patch_size: f.int('patch_size', 16, 1, L.imageSize),
    hidden_act: f.oneOf('hidden_act', ['gelu_pytorch_tanh'] as const, 'gelu_pytorch_tanh', {
      gelu: 'exact-erf GELU in SigLIP is not implemented (so400m uses gelu_pytorch_tanh)',
    }),
    layer_norm_eps: f.num('layer_norm_eps', 1e-6, { positive: true }),
    // SiglipVisionTransformer: use_head = True if the attribute is absent.
    vision_use_head: f.bool('vision_use_head', true),
  };
  if (c.hidden_size % c.num_attention_heads !== 0) {
    f.p.add(f.at('hidden_size'), `${c.hidden_size} is not divisible by num_attention_heads ${c.num_attention_heads}`);
  }
  if (c.num_channels !== 3 && Number.isFinite(c.num_channels)) {
    f.p.add(f.at('num_channels'), `expected 3 (RGB), got ${c.num_channels}`);
  }
  if (c.patch_size > c.image_size) f.p.add(f.at('patch_size'), `(${c.patch_size}) is larger than image_size (${c.image_size})`);
  return c;
}

function parseVisualTokenizer(f: Fields): VisualTokenizerConfig | undefined {
  const mt = f.raw('model_type');
  if (mt !== 'siglip_visual_tokenizer') {
    f.p.add(
      f.at('model_type'),
      mt === undefined
        ? 'missing (required; expected "siglip_visual_tokenizer")'
        : `unknown visual tokenizer model_type ${jsonKind(mt)}; expected "siglip_visual_tokenizer" (Ovis1.6); clip/aimv2 tokenizers are not supported`,
    );
  }
  const bb = f.obj('backbone_config');
  const backbone = bb ? parseSiglip(bb) : undefined;
  // depths: Ovis accepts "a|b" strings too. SiglipVisualTokenizerConfig asserts len == 1 and uses it
  // only to build a fresh backbone for training (num_hidden_layers override); loading uses
  // backbone_config. We accept it when it agrees with backbone_config, and reject otherwise.
  let depths: number[] | null = null;
  const rd = f.raw('depths');
  if (typeof rd === 'string') depths = rd.split('|').map((x) => Number(x));
  else if (Array.isArray(rd)) depths = rd as number[];
  else if (rd !== undefined && rd !== null) f.p.add(f.at('depths'), `expected null, a list of integers or "a|b", got ${jsonKind(rd)}`);
  if (depths) {
    if (!depths.every((d) => Number.isSafeInteger(d) && d > 0))
      f.p.add(f.at('depths'), `expected positive integers, got ${jsonPreview(rd)}`);
    else if (depths.length !== 1)
      f.p.add(f.at('depths'), `Ovis's SiglipVisualTokenizerConfig requires exactly one depth, got ${depths.length}`);
    else if (backbone && depths[0] !== backbone.num_hidden_layers) {
      f.p.add(
        f.at('depths'),
        `[${depths[0]}] disagrees with backbone_config.num_hidden_layers (${backbone.num_hidden_layers}); ovis-ts does not support truncating the vision tower`,
      );
    }
  }
  const vocab_size = f.int('vocab_size', 16384, 6, L.visualVocab); // Ovis BaseVisualTokenizerConfig default 16384
  // Ovis default "softmax"; the other two are training-time options
  const tokenize_function = f.oneOf('tokenize_function', ['softmax'] as const, 'softmax', {
    gumbel_argmax: 'gumbel_argmax samples Gumbel noise (a training-time option); ovis-ts implements the softmax tokenizer only',
    st_argmax: 'st_argmax (straight-through one-hot) is a training-time option; ovis-ts implements the softmax tokenizer only',
  });
  const tau = f.num('tau', 1.0, { positive: true }); // Ovis default 1.0 (used by gumbel only)
  // Ovis default false; SiglipVisualTokenizerConfig resets true to false (SigLIP has no CLS token),
  // so a true value loads exactly like false in Ovis — we do the same.
  f.bool('drop_cls_token', false);
  const hidden_stride = f.int('hidden_stride', 1, 1, L.hiddenStride); // Ovis default 1
  if (!backbone) return undefined;
  return {
    model_type: 'siglip_visual_tokenizer',
    vocab_size,
    tokenize_function,
    tau,
    drop_cls_token: false,
    depths,
    hidden_stride,
    backbone_config: backbone,
  };
}

const FORMATTERS = ['Llama3ConversationFormatter', 'GemmaConversationFormatter', 'QwenConversationFormatter'] as const;

/**
 * Parse and validate an Ovis config.json. Throws ConfigError listing every problem with its
 * JSON path (e.g. `llm_config.rope_scaling.factor: expected a number >= 1, got string "32"`).
 */
export function parseOvisConfig(json: unknown, file: string): OvisConfig {
  const p = new Problems(file);
  const f = Fields.root(p, json);
  if (!f) {
    p.throwIfAny();
    throw new Error('unreachable');
  }
  const mt = f.raw('model_type');
  if (mt !== 'ovis') {
    p.add('model_type', mt === undefined ? 'missing (required; expected "ovis")' : `expected "ovis", got ${jsonKind(mt)}`);
  }
  const lf = f.obj('llm_config');
  const llm = lf ? parseLlmConfig(lf) : undefined;
  const vf = f.obj('visual_tokenizer_config');
  const vt = vf ? parseVisualTokenizer(vf) : undefined;
  // Ovis: hidden_size defaults to None and is asserted equal to llm_config.hidden_size.
  const hidden_size = f.int('hidden_size', REQUIRED, 1, L.hidden);
  if (llm && Number.isFinite(hidden_size) && Number.isFinite(llm.hidden_size) && hidden_size !== llm.hidden_size) {
    p.add('hidden_size', `${hidden_size} differs from llm_config.hidden_size ${llm.hidden_size} (Ovis asserts they are equal)`);
  }
  const cfg = {
    model_type: 'ovis' as const,
    hidden_size,
    multimodal_max_length: f.int('multimodal_max_length', 8192, 1, L.positions), // Ovis default 8192
    conversation_formatter_class: f.oneOf('conversation_formatter_class', FORMATTERS, REQUIRED),
    llm_attn_implementation: f.strOrNull('llm_attn_implementation', null), // Ovis default None
    disable_tie_weight: f.bool('disable_tie_weight', false), // Ovis default False
    torch_dtype: f.strOrNull('torch_dtype', null),
  };
  if (cfg.disable_tie_weight && llm?.tie_word_embeddings) {
    p.add(
      'disable_tie_weight',
      'true together with llm_config.tie_word_embeddings true is not supported (which lm_head wins depends on load order in HF)',
    );
  }
  p.throwIfAny('compare with the config.json of AIDC-AI/Ovis1.6-Llama3.2-3B or Ovis1.6-Gemma2-9B');
  return { ...cfg, llm_config: llm!, visual_tokenizer_config: vt! };
}

// ------------------------------------------------------------------------------------------
// Derived sizes used across the codebase

/** Number of SigLIP patches per crop: (image_size // patch_size)^2 — 27*27 = 729 for so400m/384. */
export function numPatches(v: SiglipVisionConfig): number {
  const g = Math.floor(v.image_size / v.patch_size);
  return g * g;
}

/** Visual tokens per crop after the hidden_stride merge: ceil(27/2)^2 = 196. */
export function visualTokensPerCrop(vt: VisualTokenizerConfig): number {
  const g = Math.floor(vt.backbone_config.image_size / vt.backbone_config.patch_size);
  const m = Math.ceil(g / vt.hidden_stride);
  return m * m;
}
