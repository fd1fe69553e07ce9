// Presets for `ovis synth`: the JSON files of an Ovis1.6 checkpoint directory, as the release
// writes them (config.json nesting of AIDC-AI/Ovis1.6-*; llm_config values of
// meta-llama/Llama-3.2-3B-Instruct and google/gemma-2-9b-it; SigLIP so400m-patch14-384).
// `tiny-*` presets keep the real vocabularies, special-token ids and the real 384/14 image
// geometry (so real tokenizers and the real image pipeline work) with tiny widths and depths.
// `micro-*` presets also shrink the vocabularies: the smallest complete checkpoints, for I/O tests.

export interface PresetFiles {
  'config.json': Record<string, unknown>;
  'generation_config.json': Record<string, unknown>;
  'preprocessor_config.json': Record<string, unknown>;
  'tokenizer_config.json': Record<string, unknown>;
}

export interface Preset {
  name: string;
  description: string;
  files(): PresetFiles;
}

const SO400M = {
  _name_or_path: 'google/siglip-so400m-patch14-384',
  model_type: 'siglip_vision_model',
  hidden_act: 'gelu_pytorch_tanh',
  hidden_size: 1152,
  image_size: 384,
  intermediate_size: 4304,
  layer_norm_eps: 1e-6,
  num_attention_heads: 16,
  num_channels: 3,
  num_hidden_layers: 27,
  patch_size: 14,
  torch_dtype: 'bfloat16',
};

function visualTokenizer(backbone: Record<string, unknown>, vocab = 65536): Record<string, unknown> {
  return {
    model_type: 'siglip_visual_tokenizer',
    backbone_config: backbone,
    backbone_kwargs: {},
    depths: null,
    drop_cls_token: false,
    hidden_stride: 2,
    tau: 1.0,
    tokenize_function: 'softmax',
    use_indicators: false,
    vocab_size: vocab,
    torch_dtype: 'bfloat16',
  };
}

function preprocessor(side: number): Record<string, unknown> {
  return {
    do_normalize: true,
    do_rescale: true,
    do_resize: true,
    image_mean: [0.5, 0.5, 0.5],
    image_processor_type: 'SiglipImageProcessor',
    image_std: [0.5, 0.5, 0.5],
    processor_class: 'SiglipProcessor',
    resample: 3,
    rescale_factor: 0.00392156862745098,
    size: { height: side, width: side },
  };
}

function ovis(llm: Record<string, unknown>, vt: Record<string, unknown>, formatter: string): Record<string, unknown> {
  return {
    architectures: ['Ovis'],
    model_type: 'ovis',
    conversation_formatter_class: formatter,
    disable_tie_weight: false,
    hidden_size: llm.hidden_size,
    llm_attn_implementation: null,
    llm_config: llm,
    multimodal_max_length: 8192,
    torch_dtype: 'bfloat16',
    transformers_version: '4.44.2',
    use_cache: true,
    visual_tokenizer_config: vt,
  };
}

function llama32_3b(): Record<string, unknown> {
  return {
    _name_or_path: 'meta-llama/Llama-3.2-3B-Instruct',
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: 128000,
    eos_token_id: [128001, 128008, 128009],
    head_dim: 128,
    hidden_act: 'silu',
    hidden_size: 3072,
    initializer_range: 0.02,
    intermediate_size: 8192,
    max_position_embeddings: 131072,
    mlp_bias: false,
    num_attention_heads: 24,
    num_hidden_layers: 28,
    num_key_value_heads: 8,
    pretraining_tp: 1,
    rms_norm_eps: 1e-5,
    rope_scaling: {
      factor: 32.0,
      high_freq_factor: 4.0,
      low_freq_factor: 1.0,
      original_max_position_embeddings: 8192,
      rope_type: 'llama3',
    },
    rope_theta: 500000.0,
    tie_word_embeddings: true,
    torch_dtype: 'bfloat16',
    use_cache: true,
    vocab_size: 128256,
  };
}

function gemma2_9b(): Record<string, unknown> {
  return {
    _name_or_path: 'google/gemma-2-9b-it',
    architectures: ['Gemma2ForCausalLM'],
    model_type: 'gemma2',
    attention_bias: false,
    attention_dropout: 0.0,
    attn_logit_softcapping: 50.0,
    bos_token_id: 2,
    cache_implementation: 'hybrid',
    eos_token_id: [1, 107],
    final_logit_softcapping: 30.0,
    head_dim: 256,
    hidden_act: 'gelu_pytorch_tanh',
    hidden_activation: 'gelu_pytorch_tanh',
    hidden_size: 3584,
    initializer_range: 0.02,
    intermediate_size: 14336,
    max_position_embeddings: 8192,
    num_attention_heads: 16,
    num_hidden_layers: 42,
    num_key_value_heads: 8,
    pad_token_id: 0,
    query_pre_attn_scalar: 256,
    rms_norm_eps: 1e-6,
    rope_theta: 10000.0,
    sliding_window: 4096,
    sliding_window_size: 4096,
    torch_dtype: 'bfloat16',
    use_cache: true,
    vocab_size: 256000,
  };
}

const LLAMA_GEN = {
  bos_token_id: 128000,
  do_sample: true,
  eos_token_id: [128001, 128008, 128009],
  temperature: 0.6,
  top_p: 0.9,
  transformers_version: '4.44.2',
};
const GEMMA_GEN = {
  bos_token_id: 2,
  cache_implementation: 'hybrid',
  eos_token_id: [1, 107],
  pad_token_id: 0,
  transformers_version: '4.44.2',
};
const LLAMA_TOK = {
  tokenizer_class: 'PreTrainedTokenizerFast',
  bos_token: '<|begin_of_text|>',
  eos_token: '<|eot_id|>',
  model_max_length: 131072,
  clean_up_tokenization_spaces: true,
};
const GEMMA_TOK = {
  tokenizer_class: 'GemmaTokenizer',
  bos_token: '<bos>',
  eos_token: '<eos>',
  pad_token: '<pad>',
  unk_token: '<unk>',
  add_bos_token: true,
  add_eos_token: false,
};

/** A tiny SigLIP with the real 384/14 geometry (27x27 patches -> 196 visual tokens). */
const TINY_SIGLIP = {
  ...SO400M,
  _name_or_path: 'tiny',
  hidden_size: 32,
  intermediate_size: 48,
  num_attention_heads: 4,
  num_hidden_layers: 2,
};

function tiny(llm: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  return { ...llm, _name_or_path: 'tiny', ...over };
}

export const PRESETS: Record<string, Preset> = {
  'ovis1.6-llama3.2-3b': {
    name: 'ovis1.6-llama3.2-3b',
    description: 'AIDC-AI/Ovis1.6-Llama3.2-3B shapes (4.14 B params, ~8.3 GB bf16, 2 shards)',
    files: () => ({
      'config.json': ovis(llama32_3b(), visualTokenizer(SO400M), 'Llama3ConversationFormatter'),
      'generation_config.json': LLAMA_GEN,
      'preprocessor_config.json': preprocessor(384),
      'tokenizer_config.json': LLAMA_TOK,
    }),
  },
  'ovis1.6-gemma2-9b': {
    name: 'ovis1.6-gemma2-9b',
    description: 'AIDC-AI/Ovis1.6-Gemma2-9B shapes (10.2 B params, ~20.4 GB bf16, 5 shards)',
    files: () => ({
      'config.json': ovis(gemma2_9b(), visualTokenizer(SO400M), 'GemmaConversationFormatter'),
      'generation_config.json': GEMMA_GEN,
      'preprocessor_config.json': preprocessor(384),
      'tokenizer_config.json': GEMMA_TOK,
    }),
  },
  'tiny-llama': {
    name: 'tiny-llama',
    description: 'Llama3.2 layout, real vocab (128256) and ids, hidden 64, 2 layers; tiny SigLIP at 384/14 (~17 MB bf16)',
    files: () => ({
      'config.json': ovis(
        tiny(llama32_3b(), {
          hidden_size: 64,
          intermediate_size: 128,
          num_hidden_layers: 2,
          num_attention_heads: 4,
          num_key_value_heads: 2,
          head_dim: 16,
        }),
        visualTokenizer(TINY_SIGLIP, 256),
        'Llama3ConversationFormatter',
      ),
      'generation_config.json': LLAMA_GEN,
      'preprocessor_config.json': preprocessor(384),
      'tokenizer_config.json': LLAMA_TOK,
    }),
  },
  'tiny-gemma2': {
    name: 'tiny-gemma2',
    description:
      'Gemma2 layout, real vocab (256000) and ids, hidden 64, 4 layers (sliding/full), window 16; tiny SigLIP at 384/14 (~33 MB bf16)',
    files: () => ({
      'config.json': ovis(
        tiny(gemma2_9b(), {
          hidden_size: 64,
          intermediate_size: 128,
          num_hidden_layers: 4,
          num_attention_heads: 4,
          num_key_value_heads: 2,
          head_dim: 16,
          query_pre_attn_scalar: 16,
          sliding_window: 16,
          sliding_window_size: 16,
        }),
        visualTokenizer(TINY_SIGLIP, 256),
        'GemmaConversationFormatter',
      ),
      'generation_config.json': GEMMA_GEN,
      'preprocessor_config.json': preprocessor(384),
      'tokenizer_config.json': GEMMA_TOK,
    }),
  },
  'micro-llama': {
    name: 'micro-llama',
    description: 'tiny-llama with a 512-token vocab (ids not usable with the real tokenizer); ~1 MB',
    files: () => {
      const f = PRESETS['tiny-llama'].files();
      const llm = { ...(f['config.json'].llm_config as Record<string, unknown>), vocab_size: 512, bos_token_id: 1, eos_token_id: [2] };
      return {
        ...f,
        'config.json': { ...f['config.json'], llm_config: llm },
        'generation_config.json': { bos_token_id: 1, eos_token_id: [2] },
      };
    },
  },
  'micro-gemma2': {
    name: 'micro-gemma2',
    description: 'tiny-gemma2 with a 512-token vocab (ids not usable with the real tokenizer); ~1 MB',
    files: () => {
      const f = PRESETS['tiny-gemma2'].files();
      const llm = { ...(f['config.json'].llm_config as Record<string, unknown>), vocab_size: 512 };
      return { ...f, 'config.json': { ...f['config.json'], llm_config: llm } };
    },
  },
};

export function presetNames(): string[] {
  return Object.keys(PRESETS);
}
