// Gemma2 decoder — mirrors transformers 4.57 models/gemma2/modeling_gemma2.py (Gemma2Attention,
// Gemma2MLP, Gemma2DecoderLayer, Gemma2RMSNorm, Gemma2Model, Gemma2ForCausalLM). One function per
// HF module:
//   selfAttention  Gemma2Attention     o_proj(attn(...)), scale query_pre_attn_scalar^-0.5,
//                                      logits softcapped, sliding window on sliding layers
//   mlp            Gemma2MLP           down_proj(gelu_tanh(gate_proj(x)) * up_proj(x))  (GeGLU)
//   decoderLayer   Gemma2DecoderLayer  h = x + post_attention_layernorm(self_attn(input_layernorm(x)))
//                                      y = h + post_feedforward_layernorm(mlp(pre_feedforward_layernorm(h)))
//   Gemma2ForCausalLM                  embed * sqrt(H) -> layers -> norm -> lm_head -> softcap
//                                      (decoder.ts drives it)
// Shapes: T new tokens · P0 cached tokens · Tk attended keys · H hidden · Nq/Nkv heads ·
//         Dh head dim · F mlp (intermediate) dim · V vocab · k logit rows · W sliding window.
//
// What differs from Llama, each a parity trap:
//   - inputs_embeds * sqrt(H), where HF builds the normalizer as a tensor of the model's dtype:
//     f32 -> fround(sqrt(H)) (59.866 for H=3584); in bf16 it would be 59.75. ALL embeddings are
//     scaled, the visual ones too (Ovis feeds inputs_embeds, so HF scales them in Gemma2Model).
//   - RMSNorm multiplies by (1 + weight) (offset 1), in f32.
//   - four norms per layer: input_layernorm -> attn -> post_attention_layernorm -> +residual;
//     pre_feedforward_layernorm -> mlp -> post_feedforward_layernorm -> +residual.
//   - GeGLU MLP: down(gelu_tanh(gate(x)) * up(x)) (hidden_activation gelu_pytorch_tanh).
//   - attention scale query_pre_attn_scalar^-0.5 (not head_dim^-0.5); logits softcapped
//     c * tanh(s / c) with c = attn_logit_softcapping BEFORE the mask; layers whose
//     layer_types[i] is 'sliding_attention' (4.57 default: even i) see only keys with
//     q - k < sliding_window.
//   - final logits softcapped with final_logit_softcapping.

import type { AttentionOptions, Backend } from '../backend/backend.js';
import type { Gemma2Config } from '../config/ovis-config.js';
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

/** `llm.model.layers.{i}.` — Gemma2DecoderLayer's submodules by their HF names. */
export interface Gemma2LayerWeights {
  input_layernorm: Weight; //            [H]
  self_attn: AttentionWeights; //        q/k/v/o_proj (biases only if attention_bias), see decoder.ts
  post_attention_layernorm: Weight; //   [H]
  pre_feedforward_layernorm: Weight; //  [H]
  mlp: MlpWeights; //                    gate/up/down_proj, no biases
  post_feedforward_layernorm: Weight; // [H]
}

export type Gemma2Weights = DecoderWeights<Gemma2LayerWeights>;

/** HF: `torch.tensor(hidden_size ** 0.5, dtype=hidden_states.dtype)` — f32 compute here. */
export function gemma2Normalizer(hiddenSize: number): number {
  return Math.fround(Math.sqrt(hiddenSize));
}

/** Gemma2Attention: x [T, H] (already input_layernorm'd) -> [T, H]. Appends this chunk's
 *  rotated keys and values to the cache (a sliding layer keeps only the last W-1 before it). */
export function selfAttention(b: Backend, c: Gemma2Config, A: AttentionWeights, x: Tensor, s: LayerStep): Tensor {
  // q [T, Nq*Dh], k and v [T, Nkv*Dh]
  const [q, k, v] = linears(b, x, [A.q_proj, A.k_proj, A.v_proj]);
  b.ropeInPlace(q, c.num_attention_heads, c.head_dim, s.cos, s.sin); // apply_rotary_pos_emb
  b.ropeInPlace(k, c.num_key_value_heads, c.head_dim, s.cos, s.sin);
  const kv = s.cache.update(s.layer, k, v); //              [Tk, Nkv*Dh]; Tk <= W-1+T on sliding layers
  // softmax(softcap(q·kᵀ·query_pre_attn_scalar^-0.5) + causal/sliding mask)·v
  const opts: AttentionOptions = {
    nHeads: c.num_attention_heads,
    nKvHeads: c.num_key_value_heads,
    headDim: c.head_dim,
    scale: c.query_pre_attn_scalar ** -0.5,
    softcap: c.attn_logit_softcapping ?? undefined, // config null = no softcap
    causal: true,
    qPos0: s.P0,
    kPos0: kv.kPos0,
    window: s.window,
  };
  const a = b.attention(q, kv.k, kv.v, opts); //            [T, Nq*Dh]
  return linear(b, a, A.o_proj); //                         [T, H]
}

/** Gemma2MLP (GeGLU): x [T, H] -> down_proj(gelu_tanh(gate_proj(x)) * up_proj(x)) [T, H]. */
export function mlp(b: Backend, M: MlpWeights, x: Tensor): Tensor {
  const [gate, up] = linears(b, x, [M.gate_proj, M.up_proj]); // [T, F] each
  const g = b.gatedAct(gate, up, 'gelu_tanh'); // [T, F]
  return linear(b, g, M.down_proj); //                                                     [T, H]
}

/** Gemma2DecoderLayer: four (1 + w) RMSNorms — pre and post around attention, pre and post
 *  around the MLP — each block added to the residual. */
export function decoderLayer(b: Backend, c: Gemma2Config, L: Gemma2LayerWeights, x: Tensor, s: LayerStep): Tensor {
  const eps = c.rms_norm_eps;
  const a = s.tap('self_attn', selfAttention(b, c, L.self_attn, b.rmsNorm(x, L.input_layernorm, eps, 1), s)); // [T, H]
  const h = b.add(x, b.rmsNorm(a, L.post_attention_layernorm, eps, 1)); //                 [T, H]
  const f = s.tap('mlp', mlp(b, L.mlp, b.rmsNorm(h, L.pre_feedforward_layernorm, eps, 1))); // [T, H]
  return b.add(h, b.rmsNorm(f, L.post_feedforward_layernorm, eps, 1)); //                  [T, H]
}

export class Gemma2ForCausalLM extends DecoderForCausalLM<Gemma2Config, Gemma2LayerWeights> implements CausalLM {
  constructor(config: Gemma2Config, backend: Backend, weights: Gemma2Weights) {
    super(
      config,
      backend,
      weights,
      config.layer_types.map((t) => (t === 'sliding_attention' && config.sliding_window !== null ? config.sliding_window : undefined)),
    );
  }

  /** Load from a checkpoint; `prefix` is where the HF Gemma2ForCausalLM lives (`llm.` in Ovis). */
  static async load(
    config: Gemma2Config,
    src: TensorSource,
    backend: Backend,
    prefix = 'llm.',
    opts: LlmLoadOptions = {},
  ): Promise<Gemma2ForCausalLM> {
    const c = config;
    const attnBias = { present: c.attention_bias, what: 'attention_bias' };
    const noMlpBias = { present: false, what: 'Gemma2MLP (bias=False)' };
    const ld = new WeightLoader(src, backend, c, opts);
    const weights = await ld.decoder(
      prefix,
      async (L): Promise<Gemma2LayerWeights> => ({
        input_layernorm: await ld.norm(`${L}input_layernorm`),
        self_attn: await ld.selfAttention(`${L}self_attn.`, attnBias, attnBias),
        post_attention_layernorm: await ld.norm(`${L}post_attention_layernorm`),
        pre_feedforward_layernorm: await ld.norm(`${L}pre_feedforward_layernorm`),
        mlp: await ld.mlp(`${L}mlp.`, noMlpBias),
        post_feedforward_layernorm: await ld.norm(`${L}post_feedforward_layernorm`),
      }),
    );
    return new Gemma2ForCausalLM(c, backend, weights);
  }

  protected steps(): DecoderSteps {
    const b = this.backend;
    const c = this.config;
    const W = this.weights;
    return {
      embed: (x) => b.scale(x, gemma2Normalizer(c.hidden_size)), //         Gemma2Model: inputs_embeds * sqrt(H)
      decoderLayer: (x, s) => decoderLayer(b, c, W.layers[s.layer], x, s), // [T, H]
      norm: (x) => b.rmsNorm(x, W.norm, c.rms_norm_eps, 1), //              [T, H]
      lmHead: (h) => {
        const logits = linear(b, h, W.lm_head); //                          [k, V], then c·tanh(l/c)
        return c.final_logit_softcapping !== null ? b.softcap(logits, c.final_logit_softcapping) : logits;
      },
    };
  }
}
