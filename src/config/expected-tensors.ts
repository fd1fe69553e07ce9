// Every tensor an Ovis1.6 checkpoint holds, by its Hugging Face name, with its shape — derived
// from the config the way the PyTorch modules would allocate them:
//   llm.*                               LlamaForCausalLM / Gemma2ForCausalLM / Qwen2ForCausalLM
//   visual_tokenizer.backbone.*         SiglipVisionModel (so400m)
//   visual_tokenizer.head.{0,1}.*       Ovis BaseVisualTokenizer.head: Linear(s*s*D -> V-5, no bias), LayerNorm(V-5)
//   vte.weight                          Ovis VisualEmbedding(V, H)
// Shapes are (out, in) as torch stores them. Legend: H LLM hidden · F LLM mlp · Nq/Nkv heads ·
// Dh head dim · L vocab · D ViT hidden · Fv ViT mlp · P patch · S image side · V visual vocab · s hidden_stride.
//
// Stored but unused by Ovis (`ignored`: tolerated when present, never required): SigLIP's
// `post_layernorm` (Ovis takes hidden_states[-1], before it) and the attention-pooling `head.*`.

import type { DType } from '../dtype.js';
import type { TensorInfo } from '../io/safetensors.js';
import { fmtShape } from '../tensor.js';
import type { OvisConfig } from './ovis-config.js';

export type Component = 'vision' | 'visual_head' | 'vte' | 'llm';
export const COMPONENTS: readonly Component[] = ['vision', 'visual_head', 'vte', 'llm'];

/** How `ovis synth` initialises a tensor (keeps a random model finite). */
export type Init = 'normal' | 'ones' | 'zeros';

export interface ExpectedTensor {
  name: string;
  shape: number[];
  component: Component;
  /** Present in the release, not used by Ovis: tolerated, not required. */
  ignored?: true;
  init: Init;
}

/** Dtypes a weight may be stored in (the model widens them in kernels). */
export const WEIGHT_DTYPES: readonly DType[] = ['BF16', 'F32', 'F16'];

export const VISION_PREFIX = 'visual_tokenizer.backbone.vision_model.';

/** All tensors, in the order HF's state_dict lists them (llm, visual_tokenizer, vte). */
export function expectedTensors(cfg: OvisConfig): ExpectedTensor[] {
  const out: ExpectedTensor[] = [];
  const add = (component: Component, name: string, shape: number[], init: Init, ignored = false): void => {
    out.push(ignored ? { name, shape, component, init, ignored: true } : { name, shape, component, init });
  };

  // --- LLM ---------------------------------------------------------------------------------
  const l = cfg.llm_config;
  const H = l.hidden_size;
  const F = l.intermediate_size;
  const Dh = l.head_dim;
  const q = l.num_attention_heads * Dh;
  const kv = l.num_key_value_heads * Dh;
  // Gemma2 RMSNorm multiplies by (1 + weight): zeros are the identity. Llama/Qwen2 multiply by weight.
  const normInit: Init = l.model_type === 'gemma2' ? 'zeros' : 'ones';
  const attnBias = l.model_type === 'qwen2' ? 'qkv' : l.attention_bias ? 'qkvo' : '';
  add('llm', 'llm.model.embed_tokens.weight', [l.vocab_size, H], 'normal'); // [L, H]
  for (let i = 0; i < l.num_hidden_layers; i++) {
    const p = `llm.model.layers.${i}.`;
    add('llm', p + 'self_attn.q_proj.weight', [q, H], 'normal'); // (Nq*Dh, H)
    if (attnBias.includes('q')) add('llm', p + 'self_attn.q_proj.bias', [q], 'zeros');
    add('llm', p + 'self_attn.k_proj.weight', [kv, H], 'normal'); // (Nkv*Dh, H)
    if (attnBias.includes('k')) add('llm', p + 'self_attn.k_proj.bias', [kv], 'zeros');
    add('llm', p + 'self_attn.v_proj.weight', [kv, H], 'normal'); // (Nkv*Dh, H)
    if (attnBias.includes('v')) add('llm', p + 'self_attn.v_proj.bias', [kv], 'zeros');
    add('llm', p + 'self_attn.o_proj.weight', [H, q], 'normal'); // (H, Nq*Dh)
    if (attnBias.includes('o')) add('llm', p + 'self_attn.o_proj.bias', [H], 'zeros');
    const mlpBias = l.model_type === 'llama' && l.mlp_bias;
    add('llm', p + 'mlp.gate_proj.weight', [F, H], 'normal'); // (F, H)
    if (mlpBias) add('llm', p + 'mlp.gate_proj.bias', [F], 'zeros');
    add('llm', p + 'mlp.up_proj.weight', [F, H], 'normal'); // (F, H)
    if (mlpBias) add('llm', p + 'mlp.up_proj.bias', [F], 'zeros');
    add('llm', p + 'mlp.down_proj.weight', [H, F], 'normal'); // (H, F)
    if (mlpBias) add('llm', p + 'mlp.down_proj.bias', [H], 'zeros');
    add('llm', p + 'input_layernorm.weight', [H], normInit);
    add('llm', p + 'post_attention_layernorm.weight', [H], normInit);
    if (l.model_type === 'gemma2') {
      add('llm', p + 'pre_feedforward_layernorm.weight', [H], normInit);
      add('llm', p + 'post_feedforward_layernorm.weight', [H], normInit);
    }
  }
  add('llm', 'llm.model.norm.weight', [H], normInit);
  if (!l.tie_word_embeddings) add('llm', 'llm.lm_head.weight', [l.vocab_size, H], 'normal'); // [L, H]

  // --- Vision tower (SigLIP) ---------------------------------------------------------------
  const vt = cfg.visual_tokenizer_config;
  const v = vt.backbone_config;
  const D = v.hidden_size;
  const Fv = v.intermediate_size;
  const P = v.patch_size;
  const grid = Math.floor(v.image_size / P);
  const vp = VISION_PREFIX;
  add('vision', vp + 'embeddings.patch_embedding.weight', [D, v.num_channels, P, P], 'normal'); // Conv2d (D, 3, P, P)
  add('vision', vp + 'embeddings.patch_embedding.bias', [D], 'zeros');
  add('vision', vp + 'embeddings.position_embedding.weight', [grid * grid, D], 'normal'); // [(S/P)^2, D]
  for (let i = 0; i < v.num_hidden_layers; i++) {
    const p = `${vp}encoder.layers.${i}.`;
    // SiglipAttention registers k, v, q, out in this order.
    for (const proj of ['k_proj', 'v_proj', 'q_proj', 'out_proj']) {
      add('vision', `${p}self_attn.${proj}.weight`, [D, D], 'normal'); // (D, D)
      add('vision', `${p}self_attn.${proj}.bias`, [D], 'zeros');
    }
    add('vision', p + 'layer_norm1.weight', [D], 'ones');
    add('vision', p + 'layer_norm1.bias', [D], 'zeros');
    add('vision', p + 'mlp.fc1.weight', [Fv, D], 'normal'); // (Fv, D)
    add('vision', p + 'mlp.fc1.bias', [Fv], 'zeros');
    add('vision', p + 'mlp.fc2.weight', [D, Fv], 'normal'); // (D, Fv)
    add('vision', p + 'mlp.fc2.bias', [D], 'zeros');
    add('vision', p + 'layer_norm2.weight', [D], 'ones');
    add('vision', p + 'layer_norm2.bias', [D], 'zeros');
  }
  add('vision', vp + 'post_layernorm.weight', [D], 'ones', true);
  add('vision', vp + 'post_layernorm.bias', [D], 'zeros', true);
  if (v.vision_use_head) {
    // SiglipMultiheadAttentionPoolingHead (torch.nn.MultiheadAttention packs q,k,v in in_proj).
    add('vision', vp + 'head.probe', [1, 1, D], 'normal', true);
    add('vision', vp + 'head.attention.in_proj_weight', [3 * D, D], 'normal', true);
    add('vision', vp + 'head.attention.in_proj_bias', [3 * D], 'zeros', true);
    add('vision', vp + 'head.attention.out_proj.weight', [D, D], 'normal', true);
    add('vision', vp + 'head.attention.out_proj.bias', [D], 'zeros', true);
    add('vision', vp + 'head.layernorm.weight', [D], 'ones', true);
    add('vision', vp + 'head.layernorm.bias', [D], 'zeros', true);
    add('vision', vp + 'head.mlp.fc1.weight', [Fv, D], 'normal', true);
    add('vision', vp + 'head.mlp.fc1.bias', [Fv], 'zeros', true);
    add('vision', vp + 'head.mlp.fc2.weight', [D, Fv], 'normal', true);
    add('vision', vp + 'head.mlp.fc2.bias', [D], 'zeros', true);
  }

  // --- Visual head: Linear(s*s*D -> V-5, bias=False), LayerNorm(V-5) -----------------------
  const s = vt.hidden_stride;
  const V = vt.vocab_size;
  add('visual_head', 'visual_tokenizer.head.0.weight', [V - 5, s * s * D], 'normal'); // (V-5, s*s*D)
  add('visual_head', 'visual_tokenizer.head.1.weight', [V - 5], 'ones');
  add('visual_head', 'visual_tokenizer.head.1.bias', [V - 5], 'zeros');

  // --- Visual embedding table ----------------------------------------------------------------
  add('vte', 'vte.weight', [V, cfg.hidden_size], 'normal'); // [V, H]; rows V-5..V-1 = indicators
  return out;
}

export interface TensorCheck {
  /** Required tensors not found. */
  missing: ExpectedTensor[];
  /** Tensors the architecture does not know (neither required nor ignored). */
  unexpected: TensorInfo[];
  /** Known tensors with the wrong shape. */
  misshaped: { name: string; expected: number[]; got: number[]; file: string }[];
  /** Known tensors stored in a dtype the model cannot use (not F32/BF16/F16). */
  wrongDtype: { name: string; dtype: DType; file: string }[];
  /** Names of ignored tensors that are present (tolerated; never read). */
  ignored: string[];
  /** True when the model can run: nothing missing, unexpected, mis-shaped or mis-typed. */
  ok: boolean;
}

export function checkTensors(cfg: OvisConfig, tensors: Map<string, TensorInfo>): TensorCheck {
  const exp = expectedTensors(cfg);
  const byName = new Map(exp.map((e) => [e.name, e]));
  const r: TensorCheck = { missing: [], unexpected: [], misshaped: [], wrongDtype: [], ignored: [], ok: false };
  for (const e of exp) {
    const t = tensors.get(e.name);
    if (!t) {
      if (!e.ignored) r.missing.push(e);
      continue;
    }
    if (e.ignored) r.ignored.push(e.name);
    if (t.shape.length !== e.shape.length || t.shape.some((d, i) => d !== e.shape[i])) {
      // An ignored tensor is never read, but a wrong shape still says the files disagree with config.
      r.misshaped.push({ name: e.name, expected: e.shape, got: t.shape, file: t.file });
    }
    if (!WEIGHT_DTYPES.includes(t.dtype)) r.wrongDtype.push({ name: e.name, dtype: t.dtype, file: t.file });
  }
  for (const [name, t] of tensors) if (!byName.has(name)) r.unexpected.push(t);
  r.ok = !r.missing.length && !r.unexpected.length && !r.misshaped.length && !r.wrongDtype.length;
  return r;
}

/** One-line-per-problem description of a TensorCheck (first `limit` of each kind). */
export function describeCheck(r: TensorCheck, limit = 10): string[] {
  const lines: string[] = [];
  const more = (n: number): string[] => (n > limit ? [`  ... and ${n - limit} more`] : []);
  if (r.missing.length) {
    lines.push(
      `missing (${r.missing.length}):`,
      ...r.missing.slice(0, limit).map((e) => `  ${e.name} ${fmtShape(e.shape)}`),
      ...more(r.missing.length),
    );
  }
  if (r.misshaped.length) {
    lines.push(
      `mis-shaped (${r.misshaped.length}):`,
      ...r.misshaped.slice(0, limit).map((m) => `  ${m.name}: expected ${fmtShape(m.expected)}, got ${fmtShape(m.got)} (${m.file})`),
      ...more(r.misshaped.length),
    );
  }
  if (r.wrongDtype.length) {
    lines.push(
      `wrong dtype (${r.wrongDtype.length}; expected ${WEIGHT_DTYPES.join('/')}):`,
      ...r.wrongDtype.slice(0, limit).map((m) => `  ${m.name}: ${m.dtype}`),
      ...more(r.wrongDtype.length),
    );
  }
  if (r.unexpected.length) {
    lines.push(
      `unexpected (${r.unexpected.length}):`,
      ...r.unexpected.slice(0, limit).map((t) => `  ${t.name} ${fmtShape(t.shape)} (${t.file})`),
      ...more(r.unexpected.length),
    );
  }
  return lines;
}

/** Which component a tensor name belongs to (by HF prefix), or 'other'. */
export function componentOf(name: string): Component | 'other' {
  if (name.startsWith('llm.')) return 'llm';
  if (name.startsWith('visual_tokenizer.backbone.')) return 'vision';
  if (name.startsWith('visual_tokenizer.head.')) return 'visual_head';
  if (name.startsWith('vte.')) return 'vte';
  return 'other';
}

export type ParamCounts = Record<Component | 'other' | 'total', number>;

/**
 * Parameter counts per component, from tensors found in a checkpoint (a Map of TensorInfo)
 * or from the expected list of a config. Ignored tensors (SigLIP's pooling head) count toward
 * `vision`, like the release's own parameter totals.
 */
export function countParameters(
  tensors: Map<string, { shape: readonly number[] }> | readonly { name: string; shape: readonly number[] }[],
): ParamCounts {
  const c: ParamCounts = { vision: 0, visual_head: 0, vte: 0, llm: 0, other: 0, total: 0 };
  const items: [string, readonly number[]][] =
    tensors instanceof Map ? [...tensors].map(([n, t]) => [n, t.shape]) : tensors.map((t) => [t.name, t.shape]);
  for (const [name, shape] of items) {
    let n = 1;
    for (const d of shape) n *= d;
    c[componentOf(name)] += n;
    c.total += n;
  }
  return c;
}
