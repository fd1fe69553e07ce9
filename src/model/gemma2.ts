// Gemma2 decoder — mirrors transformers 4.57 models/gemma2/modeling_gemma2.py (Gemma2Model,
// Gemma2DecoderLayer, Gemma2Attention, Gemma2MLP, Gemma2RMSNorm, Gemma2ForCausalLM).
// Shapes: T new tokens · P0 cached tokens · H hidden · Nq/Nkv heads · Dh head dim ·
//         F mlp (intermediate) dim · V vocab · k logit rows · W sliding window.
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

import type { Backend } from '../backend/backend.js';
import type { Gemma2Config } from '../config/ovis-config.js';
import { KVCache } from '../generate/kv-cache.js';
import { ropeCosSin } from '../ops/rope.js';
import type { Tensor, Weight } from '../tensor.js';
import { noTap } from '../trace/tap.js';
import {
  checkEmbeds, gatherRows, loadOptional, loadWeight, positionsFrom, resolveRows,
  type CausalLM, type ForwardOptions, type ForwardResult, type TensorSource,
} from './causal-lm.js';

/** One decoder layer's weights, HF names under `llm.model.layers.{i}.`; Linear weights (out, in). */
export interface Gemma2LayerWeights {
  input_layernorm: Weight; //            [H]
  q_proj: Weight; //                     (Nq*Dh, H)
  k_proj: Weight; //                     (Nkv*Dh, H)
  v_proj: Weight; //                     (Nkv*Dh, H)
  o_proj: Weight; //                     (H, Nq*Dh)
  q_bias?: Weight; //                    [Nq*Dh]   attention_bias only
  k_bias?: Weight; //                    [Nkv*Dh]
  v_bias?: Weight; //                    [Nkv*Dh]
  o_bias?: Weight; //                    [H]
  post_attention_layernorm: Weight; //   [H]
  pre_feedforward_layernorm: Weight; //  [H]
  gate_proj: Weight; //                  (F, H)
  up_proj: Weight; //                    (F, H)
  down_proj: Weight; //                  (H, F)
  post_feedforward_layernorm: Weight; // [H]
}

export interface Gemma2Weights {
  embed_tokens: Weight; // (V, H)  llm.model.embed_tokens.weight
  layers: Gemma2LayerWeights[];
  norm: Weight; //         [H]     llm.model.norm.weight
  lm_head: Weight; //      (V, H)  tied to embed_tokens in the release
}

/** HF: `torch.tensor(hidden_size ** 0.5, dtype=hidden_states.dtype)` — f32 compute here. */
export function gemma2Normalizer(hiddenSize: number): number {
  return Math.fround(Math.sqrt(hiddenSize));
}

export class Gemma2ForCausalLM implements CausalLM {
  readonly hiddenSize: number;
  readonly vocabSize: number;
  readonly numLayers: number;
  /** Per layer: the sliding window W, or undefined for full attention. */
  readonly windows: (number | undefined)[];

  constructor(readonly config: Gemma2Config, readonly backend: Backend, readonly weights: Gemma2Weights) {
    this.hiddenSize = config.hidden_size;
    this.vocabSize = config.vocab_size;
    this.numLayers = config.num_hidden_layers;
    this.windows = config.layer_types.map((t) =>
      t === 'sliding_attention' && config.sliding_window !== null ? config.sliding_window : undefined);
  }

  /** Load from a checkpoint; `prefix` is where the HF Gemma2ForCausalLM lives (`llm.` in Ovis). */
  static async load(config: Gemma2Config, src: TensorSource, backend: Backend, prefix = 'llm.'): Promise<Gemma2ForCausalLM> {
    const c = config;
    const H = c.hidden_size, F = c.intermediate_size, V = c.vocab_size;
    const qDim = c.num_attention_heads * c.head_dim;
    const kvDim = c.num_key_value_heads * c.head_dim;
    const m = `${prefix}model.`;
    const hs = `hidden_size ${H}`;
    const w = (name: string, shape: number[], what: string) => loadWeight(src, backend, name, shape, what);
    const opt = (name: string, shape: number[]) => loadOptional(src, backend, c.attention_bias, name, shape, 'attention_bias');

    const embed_tokens = await w(`${m}embed_tokens.weight`, [V, H], `vocab_size ${V}, ${hs}`);
    const layers: Gemma2LayerWeights[] = [];
    for (let i = 0; i < c.num_hidden_layers; i++) {
      const L = `${m}layers.${i}.`;
      const qs = `num_attention_heads ${c.num_attention_heads} x head_dim ${c.head_dim}`;
      const ks = `num_key_value_heads ${c.num_key_value_heads} x head_dim ${c.head_dim}`;
      layers.push({
        input_layernorm: await w(`${L}input_layernorm.weight`, [H], hs),
        q_proj: await w(`${L}self_attn.q_proj.weight`, [qDim, H], `${qs}, ${hs}`),
        k_proj: await w(`${L}self_attn.k_proj.weight`, [kvDim, H], `${ks}, ${hs}`),
        v_proj: await w(`${L}self_attn.v_proj.weight`, [kvDim, H], `${ks}, ${hs}`),
        o_proj: await w(`${L}self_attn.o_proj.weight`, [H, qDim], `${hs}, ${qs}`),
        q_bias: await opt(`${L}self_attn.q_proj.bias`, [qDim]),
        k_bias: await opt(`${L}self_attn.k_proj.bias`, [kvDim]),
        v_bias: await opt(`${L}self_attn.v_proj.bias`, [kvDim]),
        o_bias: await opt(`${L}self_attn.o_proj.bias`, [H]),
        post_attention_layernorm: await w(`${L}post_attention_layernorm.weight`, [H], hs),
        pre_feedforward_layernorm: await w(`${L}pre_feedforward_layernorm.weight`, [H], hs),
        gate_proj: await w(`${L}mlp.gate_proj.weight`, [F, H], `intermediate_size ${F}, ${hs}`),
        up_proj: await w(`${L}mlp.up_proj.weight`, [F, H], `intermediate_size ${F}, ${hs}`),
        down_proj: await w(`${L}mlp.down_proj.weight`, [H, F], `${hs}, intermediate_size ${F}`),
        post_feedforward_layernorm: await w(`${L}post_feedforward_layernorm.weight`, [H], hs),
      });
    }
    const norm = await w(`${m}norm.weight`, [H], hs);
    const lm_head = c.tie_word_embeddings
      ? embed_tokens
      : await w(`${prefix}lm_head.weight`, [V, H], `vocab_size ${V}, ${hs} (tie_word_embeddings false)`);
    return new Gemma2ForCausalLM(c, backend, { embed_tokens, layers, norm, lm_head });
  }

  embedTokens(ids: Int32Array): Tensor {
    return this.backend.embedding(ids, this.weights.embed_tokens); // [n, H], unscaled
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
    const P0 = cache.length;
    const attn = {
      nHeads: c.num_attention_heads, nKvHeads: c.num_key_value_heads, headDim: c.head_dim,
      scale: c.query_pre_attn_scalar ** -0.5, causal: true, qPos0: P0,
      softcap: c.attn_logit_softcapping ?? undefined,
    };
    const { cos, sin } = ropeCosSin(positionsFrom(P0, T), c.head_dim, c.rope_theta, c.rope_scaling ?? undefined); // [T, Dh]

    // The `inputs_embeds` stage is the merged sequence as Ovis hands it over (unscaled).
    let x = b.scale(tap('inputs_embeds', inputsEmbeds), gemma2Normalizer(c.hidden_size)); // [T, H]
    for (let i = 0; i < this.numLayers; i++) {
      const L = W.layers[i];
      // --- attention block: pre-norm, attention, post-norm, residual
      const h = b.rmsNorm(x, L.input_layernorm, eps, 1); //            [T, H]
      const q = b.linear(h, L.q_proj, L.q_bias); //                    [T, Nq*Dh]
      const k = b.linear(h, L.k_proj, L.k_bias); //                    [T, Nkv*Dh]
      const v = b.linear(h, L.v_proj, L.v_bias); //                    [T, Nkv*Dh]
      b.ropeInPlace(q, c.num_attention_heads, c.head_dim, cos, sin);
      b.ropeInPlace(k, c.num_key_value_heads, c.head_dim, cos, sin);
      const kv = cache.update(i, k, v); //                             [Tk, Nkv*Dh]; Tk <= W-1+T on sliding layers
      const a = b.attention(q, kv.k, kv.v, { ...attn, kPos0: kv.kPos0, window: this.windows[i] }); // [T, Nq*Dh]
      const o = b.rmsNorm(b.linear(a, L.o_proj, L.o_bias), L.post_attention_layernorm, eps, 1); // [T, H]
      x = b.add(x, o); //                                               [T, H]
      // --- GeGLU MLP block: pre-norm, mlp, post-norm, residual
      const h2 = b.rmsNorm(x, L.pre_feedforward_layernorm, eps, 1); // [T, H]
      const g = b.gatedAct(b.linear(h2, L.gate_proj), b.linear(h2, L.up_proj), 'gelu_tanh'); // [T, F]
      const f = b.rmsNorm(b.linear(g, L.down_proj), L.post_feedforward_layernorm, eps, 1); // [T, H]
      x = tap('llm.layers.' + i, b.add(x, f)); //                       [T, H]
      opts.onLayer?.(i + 1, this.numLayers);
    }
    cache.commit(T);
    const hidden = tap('llm.norm', b.rmsNorm(x, W.norm, eps, 1)); // [T, H]
    let logits: Tensor = { shape: [0, this.vocabSize], data: new Float32Array(0) };
    if (rows.length) {
      logits = b.linear(gatherRows(hidden, rows), W.lm_head); // [k, V]
      if (c.final_logit_softcapping !== null) logits = b.softcap(logits, c.final_logit_softcapping);
      logits = tap('logits', logits);
    }
    return { hidden, logits, rows };
  }
}
