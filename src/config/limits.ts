// Upper bounds on the sizes a config.json may declare. A size read from a file is trusted only
// after it passed these: validation, `ovis inspect` and loading enumerate per-layer tensor lists
// and allocate per-head buffers from these numbers, so an absurd value (num_hidden_layers
// 100000000) must be refused before anything is built from it. Each bound is >= 8x the largest
// value of any released Ovis checkpoint or its base LLM (noted after it), so real and plausible
// future checkpoints pass; a number beyond them is a corrupt or hostile file.

export const CONFIG_LIMITS = {
  /** decoder / encoder layers (Gemma2-27B: 46, SigLIP-so400m: 27) */
  layers: 1024,
  /** hidden_size (Gemma2-27B: 4608) */
  hidden: 65536,
  /** intermediate_size (Gemma2-27B: 36864; SigLIP: 4304) */
  intermediate: 524288,
  /** attention heads, query or key/value (Gemma2-27B: 32) */
  heads: 1024,
  /** head_dim (256) */
  headDim: 4096,
  /** LLM vocab_size (Gemma2: 256000) */
  vocab: 1 << 22,
  /** visual tokenizer vocab_size (65536) */
  visualVocab: 1 << 20,
  /** positions: max_position_embeddings, multimodal_max_length, sliding_window (Llama 3.2: 131072) */
  positions: 1 << 24,
  /** SigLIP image_size in pixels (384) */
  imageSize: 8192,
  /** hidden_stride (2) */
  hiddenStride: 64,
} as const;
