// One function per HF module (src/model/llama.ts, gemma2.ts), on small random weights:
//  - the forward IS embed -> decoderLayer_i -> norm -> lm_head: recomputing the stages with the
//    exported `decoderLayer` reproduces every `llm.layers.{i}` tap bit for bit;
//  - `mlp` equals SwiGLU / GeGLU computed here in f64 from the stored weights;
//  - `selfAttention` equals q/k/v projections, RoPE, scale, softcap, causal (+ sliding) mask,
//    softmax, GQA, o_proj computed here in f64 — with Gemma2's query_pre_attn_scalar and
//    attn_logit_softcapping set so that a wrong scale or a missing softcap shows;
//  - loading refuses an MLP bias Gemma2MLP does not have.
import { describe, expect, it } from 'vitest';
import { TsBackend } from '../../src/backend/ts.js';
import type { Gemma2Config, LlamaConfig, Qwen2Config } from '../../src/config/ovis-config.js';
import { positionsFrom } from '../../src/model/causal-lm.js';
import type { AttentionWeights, DecoderForCausalLM, LayerStep, Linear, MlpWeights } from '../../src/model/decoder.js';
import * as gemma2 from '../../src/model/gemma2.js';
import * as llama from '../../src/model/llama.js';
import { loadLlm } from '../../src/model/ovis.js';
import { geluTanhScalar, siluScalar } from '../../src/ops/activation.js';
import { ropeCosSin } from '../../src/ops/rope.js';
import type { Tensor } from '../../src/tensor.js';
import { microConfig, randomEmbeds, randomLlm, relErr } from './helpers.js';

const backend = new TsBackend();

type AnyLayer = llama.LlamaLayerWeights | gemma2.Gemma2LayerWeights;
type Lm = DecoderForCausalLM<LlamaConfig | Qwen2Config | Gemma2Config, AnyLayer>;

async function model(flavour: 'llama' | 'gemma2', over: Record<string, unknown> = {}): Promise<Lm> {
  const cfg = microConfig(flavour, over);
  return (await loadLlm(cfg.llm_config, randomLlm(cfg, 21), backend)) as unknown as Lm;
}

/** The model file's module functions, bound to the model's backend and config. */
function modules(lm: Lm) {
  const b = lm.backend;
  const c = lm.config;
  if (c.model_type === 'gemma2') {
    return {
      decoderLayer: (L: AnyLayer, x: Tensor, s: LayerStep) => gemma2.decoderLayer(b, c, L as gemma2.Gemma2LayerWeights, x, s),
      selfAttention: (A: AttentionWeights, x: Tensor, s: LayerStep) => gemma2.selfAttention(b, c, A, x, s),
      mlp: (M: MlpWeights, x: Tensor) => gemma2.mlp(b, M, x),
    };
  }
  return {
    decoderLayer: (L: AnyLayer, x: Tensor, s: LayerStep) => llama.decoderLayer(b, c, L as llama.LlamaLayerWeights, x, s),
    selfAttention: (A: AttentionWeights, x: Tensor, s: LayerStep) => llama.selfAttention(b, c, A, x, s),
    mlp: (M: MlpWeights, x: Tensor) => llama.mlp(b, M, x),
  };
}

/** A LayerStep for layer i of a chunk of T tokens at positions 0..T-1 on a fresh cache. */
function step(lm: Lm, layer: number, T: number): LayerStep {
  const c = lm.config;
  const cache = lm.newCache();
  for (let j = 0; j < layer; j++) {
    // earlier layers must have appended first (cache invariant)
    const kv = { shape: [T, c.num_key_value_heads * c.head_dim], data: new Float32Array(T * c.num_key_value_heads * c.head_dim) };
    cache.update(j, kv, kv);
  }
  const { cos, sin } = ropeCosSin(positionsFrom(0, T), c.head_dim, c.rope_theta, c.rope_scaling);
  return { layer, cache, P0: 0, cos, sin, window: lm.windows[layer], tap: (_, y) => y };
}

/** f64 reference nn.Linear: x [T, in] -> [T, out]. */
function linearRef(x: Float64Array, T: number, l: Linear): Float64Array {
  const [O, I] = l.weight.shape;
  const w = backend.readWeight(l.weight);
  const b = l.bias ? backend.readWeight(l.bias) : undefined;
  const y = new Float64Array(T * O);
  for (let t = 0; t < T; t++) {
    for (let o = 0; o < O; o++) {
      let s = b ? b[o] : 0;
      for (let i = 0; i < I; i++) s += x[t * I + i] * w[o * I + i];
      y[t * O + o] = s;
    }
  }
  return y;
}

const f32 = (x: Float64Array, shape: number[]): Tensor => ({ shape, data: Float32Array.from(x) });

const cases: [string, 'llama' | 'gemma2', Record<string, unknown>][] = [
  ['llama (GQA 4/2, llama3 rope)', 'llama', {}],
  ['llama with attention_bias + mlp_bias', 'llama', { attention_bias: true, mlp_bias: true, tie_word_embeddings: false }],
  ['qwen2 (q/k/v bias)', 'llama', { model_type: 'qwen2', rope_scaling: null }],
  ['gemma2 (scalar 7, softcap 0.8, window 3)', 'gemma2', { query_pre_attn_scalar: 7, attn_logit_softcapping: 0.8, sliding_window: 3 }],
  ['gemma2 with attention_bias, no attention softcap', 'gemma2', { attention_bias: true, attn_logit_softcapping: null }],
];

describe.each(cases)('HF modules: %s', (_name, flavour, over) => {
  it('forward = embed -> decoderLayer_i -> norm -> lm_head, bit for bit', async () => {
    const lm = await model(flavour, over);
    const b = lm.backend;
    const c = lm.config;
    const T = 6;
    const x0 = randomEmbeds(T, lm.hiddenSize, 3);
    const taps = new Map<string, Tensor>();
    const r = lm.forward(x0, lm.newCache(), {
      logitsRows: 'all',
      tap: (n, t) => {
        taps.set(n, { shape: [...t.shape], data: t.data.slice() });
        return t;
      },
    });
    const M = modules(lm);
    const cache = lm.newCache();
    const { cos, sin } = ropeCosSin(positionsFrom(0, T), c.head_dim, c.rope_theta, c.rope_scaling);
    let x = c.model_type === 'gemma2' ? b.scale(x0, gemma2.gemma2Normalizer(c.hidden_size)) : x0;
    for (let i = 0; i < lm.numLayers; i++) {
      const subs = new Map<string, Tensor>();
      const tap = (m: string, y: Tensor) => {
        subs.set(`llm.layers.${i}.${m}`, y);
        return y;
      };
      x = M.decoderLayer(lm.weights.layers[i], x, { layer: i, cache, P0: 0, cos, sin, window: lm.windows[i], tap });
      expect(Array.from(x.data), `llm.layers.${i}`).toEqual(Array.from(taps.get(`llm.layers.${i}`)!.data));
      // the submodule taps: what selfAttention and mlp returned inside this layer, before the residual add
      for (const name of [`llm.layers.${i}.self_attn`, `llm.layers.${i}.mlp`]) {
        expect(Array.from(subs.get(name)!.data), name).toEqual(Array.from(taps.get(name)!.data));
      }
    }
    const hidden = b.rmsNorm(x, lm.weights.norm, c.rms_norm_eps, c.model_type === 'gemma2' ? 1 : 0);
    expect(Array.from(hidden.data)).toEqual(Array.from(r.hidden.data));
  });

  it('mlp = down_proj(act(gate_proj(x)) * up_proj(x)), f64 reference', async () => {
    const lm = await model(flavour, over);
    const T = 3;
    const H = lm.hiddenSize;
    const F = lm.config.intermediate_size;
    const x = randomEmbeds(T, H, 4);
    const L = lm.weights.layers[1];
    const act = lm.config.model_type === 'gemma2' ? geluTanhScalar : siluScalar;
    const xd = Float64Array.from(x.data);
    const g = linearRef(xd, T, L.mlp.gate_proj);
    const u = linearRef(xd, T, L.mlp.up_proj);
    const gu = g.map((gi, i) => act(gi) * u[i]); // [T, F]
    const want = linearRef(gu, T, L.mlp.down_proj); // [T, H]
    expect(gu.length).toBe(T * F);
    const got = modules(lm).mlp(L.mlp, x);
    expect(got.shape).toEqual([T, H]);
    expect(relErr(got.data, Float32Array.from(want))).toBeLessThan(1e-5);
  });

  it('selfAttention = o_proj(softmax(softcap(rope(q)·rope(k)ᵀ·scale) + mask)·v), f64 reference', async () => {
    const lm = await model(flavour, over);
    const c = lm.config;
    const T = 6;
    const H = lm.hiddenSize;
    const Nq = c.num_attention_heads;
    const Nkv = c.num_key_value_heads;
    const Dh = c.head_dim;
    const layer = 0; // gemma2: layer 0 slides (window 3 in the first case)
    const s = step(lm, layer, T);
    const A = lm.weights.layers[layer].self_attn;
    const x = randomEmbeds(T, H, 5);
    const xd = Float64Array.from(x.data);
    // projections in f64, RoPE by the reference op on f32 copies (rope has its own tests)
    const q = f32(linearRef(xd, T, A.q_proj), [T, Nq * Dh]);
    const k = f32(linearRef(xd, T, A.k_proj), [T, Nkv * Dh]);
    const v = linearRef(xd, T, A.v_proj);
    lm.backend.ropeInPlace(q, Nq, Dh, s.cos, s.sin);
    lm.backend.ropeInPlace(k, Nkv, Dh, s.cos, s.sin);
    const gem = c.model_type === 'gemma2' ? (c as Gemma2Config) : undefined;
    const scale = gem ? gem.query_pre_attn_scalar ** -0.5 : Dh ** -0.5;
    const cap = gem?.attn_logit_softcapping ?? undefined;
    const a = new Float64Array(T * Nq * Dh);
    for (let h = 0; h < Nq; h++) {
      const kh = Math.floor(h / (Nq / Nkv)); // repeat_kv: query head h reads kv head h / n_rep
      for (let i = 0; i < T; i++) {
        const sc: number[] = [];
        for (let j = 0; j < T; j++) {
          let d = 0;
          for (let e = 0; e < Dh; e++) d += q.data[i * Nq * Dh + h * Dh + e] * k.data[j * Nkv * Dh + kh * Dh + e];
          d *= scale;
          if (cap !== undefined) d = cap * Math.tanh(d / cap); // softcap BEFORE the mask
          const seen = j <= i && (s.window === undefined || i - j < s.window);
          sc.push(seen ? d : -Infinity);
        }
        const m = Math.max(...sc);
        const p = sc.map((z) => Math.exp(z - m));
        const Z = p.reduce((u, w) => u + w, 0);
        for (let e = 0; e < Dh; e++) {
          let o = 0;
          for (let j = 0; j < T; j++) o += (p[j] / Z) * v[j * Nkv * Dh + kh * Dh + e];
          a[i * Nq * Dh + h * Dh + e] = o;
        }
      }
    }
    const want = linearRef(a, T, A.o_proj); // [T, H]
    const got = modules(lm).selfAttention(A, x, s);
    expect(got.shape).toEqual([T, H]);
    expect(s.cache.rows(layer)).toBe(s.window === undefined ? T : Math.min(T, s.window - 1 + T));
    expect(relErr(got.data, Float32Array.from(want))).toBeLessThan(1e-5);
    if (gem && cap !== undefined) expect(s.window, 'the gemma2 case must exercise a sliding layer').toBe(3);
  });
});

describe('loading by HF key', () => {
  it('gemma2 refuses an mlp bias (Gemma2MLP has bias=False)', async () => {
    const cfg = microConfig('gemma2');
    const src = randomLlm(cfg, 1, 'F32', (s) => s.set('llm.model.layers.1.mlp.down_proj.bias', 'F32', [64], new Float32Array(64)));
    await expect(loadLlm(cfg.llm_config, src, backend)).rejects.toThrow(/layers\.1\.mlp\.down_proj\.bias is present but Gemma2MLP/);
  });
  it('weights sit under their HF module path (self_attn.*, mlp.*)', async () => {
    const lm = await model('llama', { attention_bias: true });
    const L = lm.weights.layers[1];
    expect(L.self_attn.q_proj.weight.name).toBe('llm.model.layers.1.self_attn.q_proj.weight');
    expect(L.self_attn.o_proj.bias?.name).toBe('llm.model.layers.1.self_attn.o_proj.bias');
    expect(L.mlp.down_proj.weight.name).toBe('llm.model.layers.1.mlp.down_proj.weight');
    expect(L.mlp.down_proj.bias).toBeUndefined();
    expect(lm.weights.lm_head.weight).toBe(lm.weights.embed_tokens); // tied
  });
});
