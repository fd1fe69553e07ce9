// Llama 3.2 decoder (and Qwen2, the same block with q/k/v biases) — mirrors transformers 4.57
// models/llama/modeling_llama.py (LlamaModel, LlamaDecoderLayer, LlamaAttention, LlamaMLP,
// LlamaForCausalLM) and models/qwen2/modeling_qwen2.py.
// Shapes: T new tokens · P0 cached tokens · H hidden · Nq/Nkv heads · Dh head dim ·
//         F mlp (intermediate) dim · V vocab · k logit rows.
//
// One decoder layer, as the equations:
//   h = x + o_proj(attn(rope(q_proj(rms(x))), rope(k_proj(rms(x))), v_proj(rms(x))))
//   y = h + down_proj(silu(gate_proj(rms(h))) * up_proj(rms(h)))
// RMSNorm: weight * (x / sqrt(mean(x²) + eps)) in f32 (offset 0). Attention: causal, GQA,
// scale Dh^-0.5. RoPE: rotate-half, theta = rope_theta, `llama3` frequency scaling per
// rope_scaling. lm_head is tied to embed_tokens unless tie_word_embeddings is false.

import type { Backend } from '../backend/backend.js';
import type { LlamaConfig, Qwen2Config } from '../config/ovis-config.js';
import { ConfigError } from '../errors.js';
import { KVCache } from '../generate/kv-cache.js';
import { ropeCosSin } from '../ops/rope.js';
import type { Tensor, Weight } from '../tensor.js';
import { noTap } from '../trace/tap.js';
import {
  checkEmbeds, gatherRows, loadOptional, loadWeight, positionsFrom, resolveRows,
  type CausalLM, type ForwardOptions, type ForwardResult, type TensorSource,
} from './causal-lm.js';

/** One decoder layer's weights, HF names under `llm.model.layers.{i}.`; Linear weights (out, in). */
export interface LlamaLayerWeights {
  input_layernorm: Weight; //          [H]
  q_proj: Weight; //                   (Nq*Dh, H)
  k_proj: Weight; //                   (Nkv*Dh, H)
  v_proj: Weight; //                   (Nkv*Dh, H)
  o_proj: Weight; //                   (H, Nq*Dh)
  q_bias?: Weight; //                  [Nq*Dh]   Qwen2 always; Llama if attention_bias
  k_bias?: Weight; //                  [Nkv*Dh]
  v_bias?: Weight; //                  [Nkv*Dh]
  o_bias?: Weight; //                  [H]       Llama attention_bias only
  post_attention_layernorm: Weight; // [H]
  gate_proj: Weight; //                (F, H)
  up_proj: Weight; //                  (F, H)
  down_proj: Weight; //                (H, F)
  gate_bias?: Weight; //               [F]       Llama mlp_bias
  up_bias?: Weight; //                 [F]
  down_bias?: Weight; //               [H]
}

export interface LlamaWeights {
  embed_tokens: Weight; // (V, H)   llm.model.embed_tokens.weight
  layers: LlamaLayerWeights[];
  norm: Weight; //         [H]      llm.model.norm.weight
  lm_head: Weight; //      (V, H)   llm.lm_head.weight, or embed_tokens when tied
}

/** Per-layer sliding window (Qwen2 with use_sliding_window); Llama never slides. */
function layerWindows(c: LlamaConfig | Qwen2Config): (number | undefined)[] {
  return Array.from({ length: c.num_hidden_layers }, (_, i) =>
    c.model_type === 'qwen2' && c.layer_types[i] === 'sliding_attention' && c.sliding_window !== null ? c.sliding_window : undefined);
}

export class LlamaForCausalLM implements CausalLM {
  readonly hiddenSize: number;
  readonly vocabSize: number;
  readonly numLayers: number;
  private readonly windows: (number | undefined)[];

  constructor(readonly config: LlamaConfig | Qwen2Config, readonly backend: Backend, readonly weights: LlamaWeights) {
    this.hiddenSize = config.hidden_size;
    this.vocabSize = config.vocab_size;
    this.numLayers = config.num_hidden_layers;
    this.windows = layerWindows(config);
  }

  /**
   * Load the decoder from a checkpoint. `prefix` is where the HF LlamaForCausalLM lives
   * (`llm.` inside an Ovis checkpoint, '' for a bare Llama checkpoint).
   */
  static async load(config: LlamaConfig | Qwen2Config, src: TensorSource, backend: Backend, prefix = 'llm.'): Promise<LlamaForCausalLM> {
    const c = config;
    if (c.model_type === 'qwen2' && c.use_sliding_window && c.layer_types.some((t) => t === 'sliding_attention')) {
      // Qwen2 with a window is untested against HF here; refuse rather than guess.
      throw new ConfigError('config.json', ['llm_config.use_sliding_window: true is not supported for qwen2 by ovis-ts'],
        'Ovis1.6 Qwen2 checkpoints use full attention (use_sliding_window false)');
    }
    const H = c.hidden_size, F = c.intermediate_size, V = c.vocab_size;
    const qDim = c.num_attention_heads * c.head_dim;
    const kvDim = c.num_key_value_heads * c.head_dim;
    const m = `${prefix}model.`;
    const attnBias = c.model_type === 'qwen2' ? true : c.attention_bias;
    const oBias = c.model_type === 'qwen2' ? false : c.attention_bias;
    const mlpBias = c.model_type === 'llama' ? c.mlp_bias : false;
    const hs = `hidden_size ${H}`;
    const w = (name: string, shape: number[], what: string) => loadWeight(src, backend, name, shape, what);
    const opt = (present: boolean, name: string, shape: number[], what: string) => loadOptional(src, backend, present, name, shape, what);

    const embed_tokens = await w(`${m}embed_tokens.weight`, [V, H], `vocab_size ${V}, ${hs}`);
    const layers: LlamaLayerWeights[] = [];
    for (let i = 0; i < c.num_hidden_layers; i++) {
      const L = `${m}layers.${i}.`;
      const qs = `num_attention_heads ${c.num_attention_heads} x head_dim ${c.head_dim}`;
      const ks = `num_key_value_heads ${c.num_key_value_heads} x head_dim ${c.head_dim}`;
      const bs = c.model_type === 'qwen2' ? 'Qwen2 (q/k/v always biased)' : 'attention_bias';
      layers.push({
        input_layernorm: await w(`${L}input_layernorm.weight`, [H], hs),
        q_proj: await w(`${L}self_attn.q_proj.weight`, [qDim, H], `${qs}, ${hs}`),
        k_proj: await w(`${L}self_attn.k_proj.weight`, [kvDim, H], `${ks}, ${hs}`),
        v_proj: await w(`${L}self_attn.v_proj.weight`, [kvDim, H], `${ks}, ${hs}`),
        o_proj: await w(`${L}self_attn.o_proj.weight`, [H, qDim], `${hs}, ${qs}`),
        q_bias: await opt(attnBias, `${L}self_attn.q_proj.bias`, [qDim], bs),
        k_bias: await opt(attnBias, `${L}self_attn.k_proj.bias`, [kvDim], bs),
        v_bias: await opt(attnBias, `${L}self_attn.v_proj.bias`, [kvDim], bs),
        o_bias: await opt(oBias, `${L}self_attn.o_proj.bias`, [H], bs),
        post_attention_layernorm: await w(`${L}post_attention_layernorm.weight`, [H], hs),
        gate_proj: await w(`${L}mlp.gate_proj.weight`, [F, H], `intermediate_size ${F}, ${hs}`),
        up_proj: await w(`${L}mlp.up_proj.weight`, [F, H], `intermediate_size ${F}, ${hs}`),
        down_proj: await w(`${L}mlp.down_proj.weight`, [H, F], `${hs}, intermediate_size ${F}`),
        gate_bias: await opt(mlpBias, `${L}mlp.gate_proj.bias`, [F], 'mlp_bias'),
        up_bias: await opt(mlpBias, `${L}mlp.up_proj.bias`, [F], 'mlp_bias'),
        down_bias: await opt(mlpBias, `${L}mlp.down_proj.bias`, [H], 'mlp_bias'),
      });
    }
    const norm = await w(`${m}norm.weight`, [H], hs);
    // Tied: HF ties lm_head.weight to embed_tokens.weight (Llama 3.2 ships no lm_head tensor).
    // Untied: the checkpoint must carry its own `lm_head.weight`.
    const lm_head = c.tie_word_embeddings
      ? embed_tokens
      : await w(`${prefix}lm_head.weight`, [V, H], `vocab_size ${V}, ${hs} (tie_word_embeddings false)`);
    return new LlamaForCausalLM(c, backend, { embed_tokens, layers, norm, lm_head });
  }

  embedTokens(ids: Int32Array): Tensor {
    return this.backend.embedding(ids, this.weights.embed_tokens); // [n, H]
  }

  newCache(reserveTokens?: number): KVCache {
    return new KVCache({ windows: this.windows, kvDim: this.config.num_key_value_heads * this.config.head_dim, reserveTokens, arena: this.backend.kvArena?.() });
  }

  forward(inputsEmbeds: Tensor, cache: KVCache, opts: ForwardOptions = {}): ForwardResult {
    const b = this.backend;
    const c = this.config;
    const W = this.weights;
    const tap = opts.tap ?? noTap;
    const T = checkEmbeds(inputsEmbeds, this.hiddenSize);
    const rows = resolveRows(opts.logitsRows, T);
    const eps = c.rms_norm_eps;
    const P0 = cache.length; // absolute position of the chunk's first token
    const attn = {
      nHeads: c.num_attention_heads, nKvHeads: c.num_key_value_heads, headDim: c.head_dim,
      scale: c.head_dim ** -0.5, causal: true, qPos0: P0,
    };
    // cos/sin [T, Dh] in f32, HF inv_freq semantics (incl. llama3 scaling).
    const { cos, sin } = ropeCosSin(positionsFrom(P0, T), c.head_dim, c.rope_theta, c.rope_scaling ?? undefined);

    let x = tap('inputs_embeds', inputsEmbeds); // [T, H]
    for (let i = 0; i < this.numLayers; i++) {
      const L = W.layers[i];
      // --- self-attention block
      const h = b.rmsNorm(x, L.input_layernorm, eps, 0); //          [T, H]
      const q = b.linear(h, L.q_proj, L.q_bias); //                  [T, Nq*Dh]
      const k = b.linear(h, L.k_proj, L.k_bias); //                  [T, Nkv*Dh]
      const v = b.linear(h, L.v_proj, L.v_bias); //                  [T, Nkv*Dh]
      b.ropeInPlace(q, c.num_attention_heads, c.head_dim, cos, sin);
      b.ropeInPlace(k, c.num_key_value_heads, c.head_dim, cos, sin);
      const kv = cache.update(i, k, v); //                           [P0+T (or window), Nkv*Dh]
      const a = b.attention(q, kv.k, kv.v, { ...attn, kPos0: kv.kPos0, window: this.windows[i] }); // [T, Nq*Dh]
      x = b.add(x, b.linear(a, L.o_proj, L.o_bias)); //               [T, H]
      // --- SwiGLU MLP block
      const h2 = b.rmsNorm(x, L.post_attention_layernorm, eps, 0); // [T, H]
      const g = b.gatedAct(b.linear(h2, L.gate_proj, L.gate_bias), b.linear(h2, L.up_proj, L.up_bias), 'silu'); // [T, F]
      x = b.add(x, b.linear(g, L.down_proj, L.down_bias)); //         [T, H]
      x = tap('llm.layers.' + i, x);
      opts.onLayer?.(i + 1, this.numLayers);
    }
    cache.commit(T);
    const hidden = tap('llm.norm', b.rmsNorm(x, W.norm, eps, 0)); // [T, H]
    // lm_head only on the rows asked for: [k, H] x (V, H)ᵀ -> [k, V]
    const logits = rows.length
      ? tap('logits', b.linear(gatherRows(hidden, rows), W.lm_head))
      : { shape: [0, this.vocabSize], data: new Float32Array(0) };
    return { hidden, logits, rows };
  }
}
