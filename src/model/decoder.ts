// What the decoder-only LLMs (llama.ts: Llama 3.2 / Qwen2, gemma2.ts: Gemma2) share, written once:
// weights looked up by their HF key under `llm.model.` (nn.Linear, RMSNorm weight, the
// `self_attn` and `mlp` submodules, embed_tokens / norm / lm_head), the KV cache, and the
// *ForCausalLM.forward driver (RoPE tables, taps, logits rows, cache commit, progress).
// The math of each HF module (Attention, MLP, DecoderLayer) stays in its model's file.
// Shapes: T new tokens · P0 cached tokens · H hidden · Nq/Nkv heads · Dh head dim ·
//         F mlp (intermediate) dim · V vocab · k logit rows.
//
// *ForCausalLM.forward, for both models (transformers 4.57 LlamaModel.forward + LlamaForCausalLM
// .forward; Gemma2 the same):
//   x = embed(inputs_embeds)                       [T, H]   tap inputs_embeds (before embed)
//   cos, sin = rotary_emb(positions P0..P0+T-1)    [T, Dh]
//   for each layer i: x = decoderLayer_i(x)        [T, H]   tap llm.layers.{i}
//   hidden = norm(x)                               [T, H]   tap llm.norm
//   logits = lm_head(hidden[rows])                 [k, V]   tap logits

import type { Backend } from '../backend/backend.js';
import type { LlmConfig } from '../config/ovis-config.js';
import { BackendError, CheckpointError, InputError } from '../errors.js';
import { ropeCosSin } from '../ops/rope.js';
import { isQuantizedModule, isQuantWeight, prepareGptqLinear, type QuantBits, type QuantWeight } from '../quant/gptq.js';
import { rowsOf, rtnQuantLinear } from '../quant/rtn.js';
import type { Tensor, Weight } from '../tensor.js';
import { noTap } from '../trace/tap.js';
import { checkEmbeds, type ForwardOptions, type ForwardResult, gatherRows, positionsFrom, resolveRows } from './causal-lm.js';
import { KVCache } from './kv-cache.js';
import { loadOptional, loadWeight, type TensorSource } from './weights.js';

// ------------------------------------------------------------------------------------------
// Weights, by HF module path

/** One nn.Linear: weight (out, in) as HF stores it, optional bias [out]; or a GPTQ-quantized
 *  Linear (src/quant/gptq.ts), whose bias the backend keeps with it. */
export type Linear = { weight: Weight; bias?: Weight } | { weight: QuantWeight; bias?: undefined };

/** `layers.{i}.self_attn` (LlamaAttention / Qwen2Attention / Gemma2Attention). */
export interface AttentionWeights {
  q_proj: Linear; // (Nq*Dh, H)   bias [Nq*Dh]: Qwen2 always; Llama/Gemma2 if attention_bias
  k_proj: Linear; // (Nkv*Dh, H)  bias [Nkv*Dh]
  v_proj: Linear; // (Nkv*Dh, H)  bias [Nkv*Dh]
  o_proj: Linear; // (H, Nq*Dh)   bias [H]: Llama/Gemma2 if attention_bias, Qwen2 never
}

/** `layers.{i}.mlp` (LlamaMLP / Qwen2MLP / Gemma2MLP): down(act(gate(x)) * up(x)). */
export interface MlpWeights {
  gate_proj: Linear; // (F, H)  bias [F]: Llama mlp_bias only
  up_proj: Linear; //   (F, H)  bias [F]
  down_proj: Linear; // (H, F)  bias [H]
}

/** The whole `llm.` module tree; `L` is the model's decoder layer. */
export interface DecoderWeights<L> {
  embed_tokens: Weight; // (V, H)  llm.model.embed_tokens.weight
  layers: L[]; //                  llm.model.layers.{i}.
  norm: Weight; //         [H]     llm.model.norm.weight
  lm_head: Linear; //      (V, H)  llm.lm_head.weight, or embed_tokens when tied; quantized with quantLmHead
}

/** How the LLM half is loaded beyond what the checkpoint says. */
export interface LlmLoadOptions {
  /**
   * Quantize lm_head in memory at load, round to nearest, symmetric, groups of 128 inputs
   * (`--quant-lm-head`; docs/quantization.md): it is the largest single GEMV of a decode step
   * (V x H: 128256 x 3072 in the 3B) and no released GPTQ checkpoint quantizes it. Changes the
   * logits (measured there); a tied embed_tokens stays float for the input embeddings.
   */
  quantLmHead?: QuantBits;
}

/** Group size of --quant-lm-head (or K when the hidden size is smaller, as in the tiny models). */
export const LM_HEAD_GROUP_SIZE = 128;

/** nn.Linear forward: x [T, in] -> [T, out] (a quantized one through the backend's linearQuant). */
export function linear(b: Backend, x: Tensor, l: Linear): Tensor {
  if (isQuantWeight(l.weight)) return b.linearQuant!(x, l.weight);
  return b.linear(x, l.weight, l.bias);
}

/** Several nn.Linear forwards of the same x (q/k/v, gate/up): quantized ones through the
 *  backend's linearQuantMany when it has one (one job; the same values as `linear` each). */
export function linears(b: Backend, x: Tensor, ls: readonly Linear[]): Tensor[] {
  const ws = ls.map((l) => l.weight);
  if (b.linearQuantMany && ws.every(isQuantWeight)) return b.linearQuantMany(x, ws);
  return ls.map((l) => linear(b, x, l));
}

// ------------------------------------------------------------------------------------------
// Loading by HF key

/** Which biases a checkpoint carries, and the config key that says so (for error messages). */
export interface BiasSpec {
  present: boolean;
  what: string;
}

/** Loads one checkpoint's tensors by HF key onto a backend, checking shapes against the config. */
export class WeightLoader {
  constructor(
    readonly src: TensorSource,
    readonly backend: Backend,
    readonly c: LlmConfig,
    readonly opts: LlmLoadOptions = {},
  ) {}

  /** A required tensor; `what` names the config keys its expected shape comes from. */
  weight(key: string, shape: number[], what: string): Promise<Weight> {
    return loadWeight(this.src, this.backend, key, shape, what);
  }

  /** An RMSNorm weight `${key}.weight` [H]. */
  norm(key: string): Promise<Weight> {
    return this.weight(`${key}.weight`, [this.c.hidden_size], `hidden_size ${this.c.hidden_size}`);
  }

  /** An nn.Linear `${key}.weight` (out, in) and, when bias.present, `${key}.bias` [out]
   *  (a bias the config says is absent is refused, never silently ignored). */
  async linear(key: string, out: number, inn: number, what: [string, string], bias: BiasSpec): Promise<Linear> {
    const q = this.src.quantization;
    // GPTQ quantizes the decoder layers' Linears (named as inside an Ovis checkpoint, `llm.` prefix)
    if (q && isQuantizedModule(key.startsWith('llm.') ? key : `llm.${key}`)) return this.quantLinear(key, out, inn, bias);
    const weight = await this.weight(`${key}.weight`, [out, inn], `${what[0]}, ${what[1]}`);
    const b = await loadOptional(this.src, this.backend, bias.present, `${key}.bias`, [out], bias.what);
    return b ? { weight, bias: b } : { weight };
  }

  /** A GPTQ Linear: qweight/qzeros/scales/g_idx (+ bias) validated and packed for the backend. */
  private async quantLinear(key: string, out: number, inn: number, bias: BiasSpec): Promise<Linear> {
    const q = this.src.quantization!;
    const b = this.backend;
    if (!b.loadQuantLinear || !b.linearQuant) {
      throw new BackendError(
        `${key}: the ${b.name} backend cannot run GPTQ-quantized Linears`,
        'use a backend with loadQuantLinear (ts or wasm)',
      );
    }
    const read = async (n: string) => (this.src.tensors.has(`${key}.${n}`) ? this.src.read(`${key}.${n}`) : undefined);
    const d = prepareGptqLinear(
      key,
      out,
      inn,
      q,
      {
        qweight: await read('qweight'),
        qzeros: await read('qzeros'),
        scales: await read('scales'),
        g_idx: await read('g_idx'),
        bias: bias.present ? await read('bias') : this.src.tensors.has(`${key}.bias`) ? await read('bias') : undefined,
      },
      q.source,
      bias.present,
    );
    return { weight: b.loadQuantLinear(d) };
  }

  /** `${p}` = `...layers.{i}.self_attn.`: q/k/v biases per `qkv`, o_proj bias per `o`. */
  async selfAttention(p: string, qkv: BiasSpec, o: BiasSpec): Promise<AttentionWeights> {
    const c = this.c;
    const hs = `hidden_size ${c.hidden_size}`;
    const qs = `num_attention_heads ${c.num_attention_heads} x head_dim ${c.head_dim}`;
    const ks = `num_key_value_heads ${c.num_key_value_heads} x head_dim ${c.head_dim}`;
    const qDim = c.num_attention_heads * c.head_dim;
    const kvDim = c.num_key_value_heads * c.head_dim;
    const H = c.hidden_size;
    return {
      q_proj: await this.linear(`${p}q_proj`, qDim, H, [qs, hs], qkv),
      k_proj: await this.linear(`${p}k_proj`, kvDim, H, [ks, hs], qkv),
      v_proj: await this.linear(`${p}v_proj`, kvDim, H, [ks, hs], qkv),
      o_proj: await this.linear(`${p}o_proj`, H, qDim, [hs, qs], o),
    };
  }

  /** `${p}` = `...layers.{i}.mlp.`: gate/up (F, H), down (H, F). */
  async mlp(p: string, bias: BiasSpec): Promise<MlpWeights> {
    const H = this.c.hidden_size;
    const F = this.c.intermediate_size;
    const hs = `hidden_size ${H}`;
    const fs = `intermediate_size ${F}`;
    return {
      gate_proj: await this.linear(`${p}gate_proj`, F, H, [fs, hs], bias),
      up_proj: await this.linear(`${p}up_proj`, F, H, [fs, hs], bias),
      down_proj: await this.linear(`${p}down_proj`, H, F, [hs, fs], bias),
    };
  }

  /**
   * The whole tree under `prefix` (`llm.` in an Ovis checkpoint, '' for a bare one):
   * embed_tokens, every `model.layers.{i}.` through `layer`, the final norm, and lm_head —
   * tied to embed_tokens (HF tie_weights; Llama 3.2 / Gemma2 ship no lm_head tensor) unless
   * tie_word_embeddings is false, when the checkpoint must carry its own.
   */
  async decoder<L>(prefix: string, layer: (key: string, i: number) => Promise<L>): Promise<DecoderWeights<L>> {
    const c = this.c;
    const m = `${prefix}model.`;
    const vh = `vocab_size ${c.vocab_size}, hidden_size ${c.hidden_size}`;
    const embed_tokens = await this.weight(`${m}embed_tokens.weight`, [c.vocab_size, c.hidden_size], vh);
    const layers: L[] = [];
    for (let i = 0; i < c.num_hidden_layers; i++) layers.push(await layer(`${m}layers.${i}.`, i));
    const norm = await this.norm(`${m}norm`);
    const head = c.tie_word_embeddings ? `${m}embed_tokens.weight` : `${prefix}lm_head.weight`;
    if (this.opts.quantLmHead) return { embed_tokens, layers, norm, lm_head: await this.quantizedHead(prefix, head) };
    const lm_head = c.tie_word_embeddings
      ? embed_tokens
      : await this.weight(head, [c.vocab_size, c.hidden_size], `${vh} (tie_word_embeddings false)`);
    return { embed_tokens, layers, norm, lm_head: { weight: lm_head } };
  }

  /** lm_head quantized from its float tensor `key` (embed_tokens when tied): see LlmLoadOptions. */
  private async quantizedHead(prefix: string, key: string): Promise<Linear> {
    const b = this.backend;
    const c = this.c;
    const bits = this.opts.quantLmHead!;
    if (!b.loadQuantLinear || !b.linearQuant) {
      throw new BackendError(`--quant-lm-head: the ${b.name} backend cannot run quantized Linears`, 'use the wasm or ts backend');
    }
    const per = 32 / bits;
    if (c.vocab_size % per || c.hidden_size % per) {
      throw new InputError(
        `--quant-lm-head int${bits}: lm_head (vocab_size ${c.vocab_size}, hidden_size ${c.hidden_size}) cannot be packed at ${bits} bits`,
        `GPTQ packing needs both to be multiples of ${per}${bits === 4 && c.vocab_size % 4 === 0 && c.hidden_size % 4 === 0 ? '; int8 can pack it' : ''}; leave lm_head float (no --quant-lm-head)`,
      );
    }
    const info = this.src.tensors.get(key);
    const want = [c.vocab_size, c.hidden_size];
    if (!info || info.shape.length !== 2 || info.shape[0] !== want[0] || info.shape[1] !== want[1]) {
      throw new CheckpointError(
        `tensor ${key}: ${info ? `shape [${info.shape}]` : 'missing'}, expected [${want}] (vocab_size, hidden_size)`,
        'the shards do not match config.json',
      );
    }
    // a block of rows at a time when the source can (not the whole 0.8 GB of the 3B's embedding at once)
    const src = this.src;
    const read = src.readRows ? (n0: number, rows: number) => src.readRows!(key, n0, rows) : rowsOf(await src.read(key));
    const gs = Math.min(LM_HEAD_GROUP_SIZE, c.hidden_size);
    return { weight: b.loadQuantLinear(await rtnQuantLinear(`${prefix}lm_head`, want[0], want[1], read, bits, gs)) };
  }
}

// ------------------------------------------------------------------------------------------
// The forward driver

/** What one decoder layer needs besides its weights and input: HF's position_embeddings,
 *  past_key_value, cache_position (P0) and its layer's mask (the sliding window). */
export interface LayerStep {
  layer: number; //              index i, the cache slot
  cache: KVCache;
  P0: number; //                 absolute position of the chunk's first token
  cos: Float32Array; //          [T, Dh]  f32 RoPE tables, HF inv_freq semantics
  sin: Float32Array; //          [T, Dh]
  window: number | undefined; // sliding window W of this layer, undefined = full causal
  /** Tap a submodule's output: `llm.layers.{i}.self_attn` / `.mlp` (identity outside trace mode). */
  tap: (module: 'self_attn' | 'mlp', y: Tensor) => Tensor;
}

/** The model-specific steps of *ForCausalLM.forward; everything else is `causalLmForward`. */
export interface DecoderSteps {
  /** inputs_embeds -> the first layer's input (Gemma2: * sqrt(H)). */
  embed(x: Tensor): Tensor;
  /** `model.layers.{i}` on x [T, H] -> [T, H]. */
  decoderLayer(x: Tensor, step: LayerStep): Tensor;
  /** `model.norm` [T, H] -> [T, H]. */
  norm(x: Tensor): Tensor;
  /** `lm_head` (and any final softcap) [k, H] -> [k, V]. */
  lmHead(h: Tensor): Tensor;
}

/** The shared core of LlamaForCausalLM / Gemma2ForCausalLM: config-derived sizes, the
 *  per-layer windows, embed_tokens and the KV cache. */
export abstract class DecoderForCausalLM<C extends LlmConfig, L> {
  readonly hiddenSize: number;
  readonly vocabSize: number;
  readonly numLayers: number;

  constructor(
    readonly config: C,
    readonly backend: Backend,
    readonly weights: DecoderWeights<L>,
    /** Per layer: the sliding window W, or undefined for full attention. */
    readonly windows: readonly (number | undefined)[],
  ) {
    this.hiddenSize = config.hidden_size;
    this.vocabSize = config.vocab_size;
    this.numLayers = config.num_hidden_layers;
  }

  /** Token ids -> rows of embed_tokens [n, H] (unscaled: Gemma2 scales inside forward). */
  embedTokens(ids: Int32Array): Tensor {
    return this.backend.embedding(ids, this.weights.embed_tokens); // [n, H]
  }

  /** A fresh cache: Nkv*Dh values per token and layer; sliding layers keep only their window. */
  newCache(reserveTokens?: number): KVCache {
    const c = this.config;
    return new KVCache({
      windows: this.windows,
      kvDim: c.num_key_value_heads * c.head_dim,
      reserveTokens,
      arena: this.backend.kvArena?.(),
    });
  }

  /** Run T new positions through the decoder: `causalLmForward` with this model's steps. */
  forward(inputsEmbeds: Tensor, cache: KVCache, opts: ForwardOptions = {}): ForwardResult {
    return causalLmForward(this, this.steps(), inputsEmbeds, cache, opts);
  }

  /** This model's embed / decoderLayer / norm / lmHead. */
  protected abstract steps(): DecoderSteps;
}

/**
 * *ForCausalLM.forward over a chunk of T new positions (see the header): taps `inputs_embeds`,
 * `llm.layers.{i}` (and, inside each layer, `llm.layers.{i}.self_attn` / `.mlp`), `llm.norm`,
 * `logits` (a tap may substitute its stage: isolated parity),
 * lm_head only on the rows asked for, the cache committed once every layer has appended.
 */
export function causalLmForward(
  m: { config: LlmConfig; hiddenSize: number; vocabSize: number; numLayers: number; windows: readonly (number | undefined)[] },
  s: DecoderSteps,
  inputsEmbeds: Tensor,
  cache: KVCache,
  opts: ForwardOptions,
): ForwardResult {
  const c = m.config;
  const tap = opts.tap ?? noTap;
  const T = checkEmbeds(inputsEmbeds, m.hiddenSize);
  const rows = resolveRows(opts.logitsRows, T);
  const P0 = cache.length; // absolute position of the chunk's first token
  // cos/sin [T, Dh] in f32, HF inv_freq semantics (incl. llama3 scaling).
  const { cos, sin } = ropeCosSin(positionsFrom(P0, T), c.head_dim, c.rope_theta, c.rope_scaling);

  // The `inputs_embeds` stage is the merged sequence as Ovis hands it over (before any scaling).
  let x = s.embed(tap('inputs_embeds', inputsEmbeds)); // [T, H]
  for (let i = 0; i < m.numLayers; i++) {
    const sub = (module: string, y: Tensor) => tap(`llm.layers.${i}.${module}`, y);
    x = tap('llm.layers.' + i, s.decoderLayer(x, { layer: i, cache, P0, cos, sin, window: m.windows[i], tap: sub })); // [T, H]
    opts.onLayer?.(i + 1, m.numLayers);
  }
  cache.commit(T);
  const hidden = tap('llm.norm', s.norm(x)); // [T, H]
  // lm_head only on the rows asked for: [k, H] x (V, H)ᵀ -> [k, V]
  const logits = rows.length ? tap('logits', s.lmHead(gatherRows(hidden, rows))) : { shape: [0, m.vocabSize], data: new Float32Array(0) };
  return { hidden, logits, rows };
}
