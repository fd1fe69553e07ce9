// Llama 3.2 decoder (and Qwen2, the same block with q/k/v biases) — mirrors transformers 4.57
// models/llama/modeling_llama.py (LlamaAttention, LlamaMLP, LlamaDecoderLayer, LlamaModel,
// LlamaForCausalLM) and models/qwen2/modeling_qwen2.py. One function per HF module:
//   selfAttention  LlamaAttention      o_proj(attn(rope(q_proj(x)), rope(k_proj(x)), v_proj(x)))
//   mlp            LlamaMLP            down_proj(silu(gate_proj(x)) * up_proj(x))       (SwiGLU)
//   decoderLayer   LlamaDecoderLayer   h = x + self_attn(input_layernorm(x))
//                                      y = h + mlp(post_attention_layernorm(h))
//   LlamaForCausalLM                   embed -> layers -> norm -> lm_head (decoder.ts drives it)
// Shapes: T new tokens · P0 cached tokens · Tk attended keys · H hidden · Nq/Nkv heads ·
//         Dh head dim · F mlp (intermediate) dim · V vocab · k logit rows.
//
// RMSNorm: weight * (x / sqrt(mean(x²) + eps)) in f32 (offset 0). Attention: causal, GQA,
// scale Dh^-0.5. RoPE: rotate-half, theta = rope_theta, `llama3` frequency scaling per
// rope_scaling. lm_head is tied to embed_tokens unless tie_word_embeddings is false.

import type { AttentionOptions, Backend } from '../backend/backend.js';
import type { LlamaConfig, Qwen2Config } from '../config/ovis-config.js';
import { ConfigError } from '../errors.js';
import type { Tensor, Weight } from '../tensor.js';
import type { CausalLM } from './causal-lm.js';
import {
  type AttentionWeights,
  DecoderForCausalLM,
  type DecoderSteps,
  type DecoderWeights,
  type LayerStep,
  type LlmLoadOptions,
  linear,
  linears,
  type MlpWeights,
  WeightLoader,
} from './decoder.js';
import type { TensorSource } from './weights.js';

type Config = LlamaConfig | Qwen2Config;

/** `llm.model.layers.{i}.` — LlamaDecoderLayer's submodules by their HF names. */
export interface LlamaLayerWeights {
  input_layernorm: Weight; //          [H]
  self_attn: AttentionWeights; //      q/k/v/o_proj, see decoder.ts
  post_attention_layernorm: Weight; // [H]
  mlp: MlpWeights; //                  gate/up/down_proj
}

export type LlamaWeights = DecoderWeights<LlamaLayerWeights>;

/** LlamaAttention: x [T, H] (already input_layernorm'd) -> [T, H]. Appends this chunk's
 *  rotated keys and values to the cache and attends causally over all of them. */
export function selfAttention(b: Backend, c: Config, A: AttentionWeights, x: Tensor, s: LayerStep): Tensor {
  // q [T, Nq*Dh], k and v [T, Nkv*Dh]
  const [q, k, v] = linears(b, x, [A.q_proj, A.k_proj, A.v_proj]);
  b.ropeInPlace(q, c.num_attention_heads, c.head_dim, s.cos, s.sin); // apply_rotary_pos_emb
  b.ropeInPlace(k, c.num_key_value_heads, c.head_dim, s.cos, s.sin);
  const kv = s.cache.update(s.layer, k, v); //              [Tk, Nkv*Dh], Tk = P0+T (or window)
  // softmax(q·kᵀ·Dh^-0.5 + causal mask)·v
  const opts: AttentionOptions = {
    nHeads: c.num_attention_heads,
    nKvHeads: c.num_key_value_heads,
    headDim: c.head_dim,
    scale: c.head_dim ** -0.5,
    causal: true,
    qPos0: s.P0,
    kPos0: kv.kPos0,
    window: s.window,
  };
  const a = b.attention(q, kv.k, kv.v, opts); //            [T, Nq*Dh]
  return linear(b, a, A.o_proj); //                         [T, H]
}

/** LlamaMLP (SwiGLU): x [T, H] -> down_proj(silu(gate_proj(x)) * up_proj(x)) [T, H]. */
export function mlp(b: Backend, M: MlpWeights, x: Tensor): Tensor {
  const [gate, up] = linears(b, x, [M.gate_proj, M.up_proj]); // [T, F] each
  const g = b.gatedAct(gate, up, 'silu'); // [T, F]
  return linear(b, g, M.down_proj); //                                                [T, H]
}

/** LlamaDecoderLayer: pre-norm attention and pre-norm MLP, each added to the residual. */
export function decoderLayer(b: Backend, c: Config, L: LlamaLayerWeights, x: Tensor, s: LayerStep): Tensor {
  const eps = c.rms_norm_eps;
  const h = b.add(x, s.tap('self_attn', selfAttention(b, c, L.self_attn, b.rmsNorm(x, L.input_layernorm, eps, 0), s))); // [T, H]
  return b.add(h, s.tap('mlp', mlp(b, L.mlp, b.rmsNorm(h, L.post_attention_layernorm, eps, 0)))); //              [T, H]
}

/** Per-layer sliding window (Qwen2 with use_sliding_window); Llama never slides. */
function layerWindows(c: Config): (number | undefined)[] {
  return Array.from({ length: c.num_hidden_layers }, (_, i) =>
    c.model_type === 'qwen2' && c.layer_types[i] === 'sliding_attention' && c.sliding_window !== null ? c.sliding_window : undefined,
  );
}

export class LlamaForCausalLM extends DecoderForCausalLM<Config, LlamaLayerWeights> implements CausalLM {
  constructor(config: Config, backend: Backend, weights: LlamaWeights) {
    super(config, backend, weights, layerWindows(config));
  }

  /**
   * Load the decoder from a checkpoint. `prefix` is where the HF LlamaForCausalLM lives
   * (`llm.` inside an Ovis checkpoint, '' for a bare Llama checkpoint).
   */
  static async load(
    config: Config,
    src: TensorSource,
    backend: Backend,
    prefix = 'llm.',
    opts: LlmLoadOptions = {},
  ): Promise<LlamaForCausalLM> {
    const c = config;
    if (c.model_type === 'qwen2' && c.use_sliding_window && c.layer_types.some((t) => t === 'sliding_attention')) {
      // Qwen2 with a window is untested against HF here; refuse rather than guess.
      throw new ConfigError(
        'config.json',
        ['llm_config.use_sliding_window: true is not supported for qwen2 by ovis-ts'],
        'Ovis1.6 Qwen2 checkpoints use full attention (use_sliding_window false)',
      );
    }
    // Qwen2: q/k/v always biased, o_proj never; Llama: attention_bias on all four, mlp_bias on the MLP.
    const qwen2 = c.model_type === 'qwen2';
    const what = qwen2 ? 'Qwen2 (q/k/v always biased)' : 'attention_bias';
    const qkvBias = { present: qwen2 ? true : c.attention_bias, what };
    const oBias = { present: qwen2 ? false : c.attention_bias, what };
    const mlpBias = { present: c.model_type === 'llama' ? c.mlp_bias : false, what: 'mlp_bias' };
    const ld = new WeightLoader(src, backend, c, opts);
    const weights = await ld.decoder(
      prefix,
      async (L): Promise<LlamaLayerWeights> => ({
        input_layernorm: await ld.norm(`${L}input_layernorm`),
        self_attn: await ld.selfAttention(`${L}self_attn.`, qkvBias, oBias),
        post_attention_layernorm: await ld.norm(`${L}post_attention_layernorm`),
        mlp: await ld.mlp(`${L}mlp.`, mlpBias),
      }),
    );
    return new LlamaForCausalLM(c, backend, weights);
  }

  protected steps(): DecoderSteps {
    const b = this.backend;
    const c = this.config;
    const W = this.weights;
    return {
      embed: (x) => x, //                                                  LlamaModel takes inputs_embeds as they are
      decoderLayer: (x, s) => decoderLayer(b, c, W.layers[s.layer], x, s), // [T, H]
      norm: (x) => b.rmsNorm(x, W.norm, c.rms_norm_eps, 0), //              [T, H]
      lmHead: (h) => linear(b, h, W.lm_head), //                             [k, V]
    };
  }
}
