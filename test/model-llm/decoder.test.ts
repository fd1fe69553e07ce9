// Decoder behaviour on small random weights (no fixtures needed):
//  - a KV-cached forward (prefill + one-token decodes, or uneven chunks) equals one full forward;
//  - Gemma2 sliding layers: rows inside the window are unaffected, a 1-layer all-sliding model's
//    output at position p equals running only the last W tokens (RoPE is relative), and the
//    cache's eviction does not change results;
//  - loading reports missing / mis-shaped / unexpected tensors by name.
import { describe, expect, it } from 'vitest';
import { TsBackend } from '../../src/backend/ts.js';
import { CheckpointError, InputError } from '../../src/errors.js';
import type { CausalLM } from '../../src/model/causal-lm.js';
import { loadLlm } from '../../src/model/ovis.js';
import type { Tensor } from '../../src/tensor.js';
import { microConfig, randomEmbeds, randomLlm, relErr } from './helpers.js';

const backend = new TsBackend();

async function model(flavour: 'llama' | 'gemma2', over: Record<string, unknown> = {}, dtype: 'F32' | 'BF16' = 'F32'): Promise<CausalLM> {
  const cfg = microConfig(flavour, over);
  return loadLlm(cfg.llm_config, randomLlm(cfg, 11, dtype), backend);
}

function rowsOf(x: Tensor, a: number, b: number): Tensor {
  const H = x.shape[1];
  return { shape: [b - a, H], data: x.data.slice(a * H, b * H) };
}

/** Logits [T, V] from one full forward. */
function fullLogits(lm: CausalLM, x: Tensor): Float32Array {
  return lm.forward(x, lm.newCache(), { logitsRows: 'all' }).logits.data;
}

/** Logits [T, V] from feeding x in chunks of the given sizes through one cache. */
function chunkedLogits(lm: CausalLM, x: Tensor, sizes: number[]): Float32Array {
  const cache = lm.newCache(4);
  const out: number[] = [];
  let p = 0;
  for (const n of sizes) {
    const r = lm.forward(rowsOf(x, p, p + n), cache, { logitsRows: 'all' });
    expect(r.logits.shape).toEqual([n, lm.vocabSize]);
    out.push(...r.logits.data);
    p += n;
  }
  expect(cache.length).toBe(x.shape[0]);
  return Float32Array.from(out);
}

const cases: [string, 'llama' | 'gemma2', Record<string, unknown>][] = [
  ['llama (GQA 4/2, llama3 rope)', 'llama', {}],
  ['llama untied lm_head + attention/mlp bias', 'llama', { tie_word_embeddings: false, attention_bias: true, mlp_bias: true }],
  ['qwen2 (q/k/v bias)', 'llama', { model_type: 'qwen2', rope_scaling: null }],
  ['gemma2, window 3 on even layers', 'gemma2', { sliding_window: 3 }],
];

describe.each(cases)('KV cache == full recompute: %s', (_n, flavour, over) => {
  it('prefill + one-token decodes, and uneven chunks', async () => {
    const lm = await model(flavour, over);
    const x = randomEmbeds(9, lm.hiddenSize, 5);
    const full = fullLogits(lm, x);
    expect(full.every(Number.isFinite)).toBe(true);
    expect(relErr(chunkedLogits(lm, x, [4, 1, 1, 1, 1, 1]), full)).toBeLessThan(1e-5);
    expect(relErr(chunkedLogits(lm, x, [2, 3, 4]), full)).toBeLessThan(1e-5);
    expect(relErr(chunkedLogits(lm, x, [1, 1, 1, 1, 1, 1, 1, 1, 1]), full)).toBeLessThan(1e-5);
  });
});

describe('Gemma2 sliding window', () => {
  it('changes only rows whose window is full (q >= W)', async () => {
    const W = 3;
    const slide = await model('gemma2', { sliding_window: W });
    const wide = await model('gemma2', { sliding_window: 1000 });
    const x = randomEmbeds(8, slide.hiddenSize, 6);
    const a = fullLogits(slide, x);
    const b = fullLogits(wide, x);
    const V = slide.vocabSize;
    // Rows 0..W-1 see every key either way: identical computations.
    expect(Array.from(a.subarray(0, W * V))).toEqual(Array.from(b.subarray(0, W * V)));
    expect(relErr(a.subarray(W * V), b.subarray(W * V))).toBeGreaterThan(1e-3);
  });
  it('1 all-sliding layer: output at p equals running only the last W tokens', async () => {
    const W = 3;
    const lm = await model('gemma2', { sliding_window: W, num_hidden_layers: 1, layer_types: ['sliding_attention'] });
    const x = randomEmbeds(7, lm.hiddenSize, 7);
    const V = lm.vocabSize;
    const full = fullLogits(lm, x);
    for (const p of [W - 1, 4, 6]) {
      const alone = lm.forward(rowsOf(x, p - W + 1, p + 1), lm.newCache(), { logitsRows: 'last' }).logits.data;
      // RoPE makes q·k depend on relative position only (up to f32 rounding of cos/sin at other angles).
      expect(relErr(alone, full.subarray(p * V, (p + 1) * V))).toBeLessThan(2e-4);
    }
    // ...while a full-attention layer does see further back.
    const fullAttn = await model('gemma2', { sliding_window: W, num_hidden_layers: 1, layer_types: ['full_attention'] });
    const f2 = fullLogits(fullAttn, x);
    const alone2 = fullAttn.forward(rowsOf(x, 4, 7), fullAttn.newCache(), { logitsRows: 'last' }).logits.data;
    expect(relErr(alone2, f2.subarray(6 * V, 7 * V))).toBeGreaterThan(1e-3);
  });
  it('final logits are softcapped to |l| < final_logit_softcapping', async () => {
    const lm = await model('gemma2', { final_logit_softcapping: 0.5 });
    const l = fullLogits(lm, randomEmbeds(3, lm.hiddenSize, 8));
    expect(Math.max(...Array.from(l, Math.abs))).toBeLessThanOrEqual(0.5);
    expect(Math.max(...Array.from(l, Math.abs))).toBeGreaterThan(0.3);
  });
});

describe('forward options and taps', () => {
  it('logits only for the rows asked for; taps see every stage once', async () => {
    const lm = await model('llama');
    const x = randomEmbeds(5, lm.hiddenSize, 9);
    const full = fullLogits(lm, x);
    const V = lm.vocabSize;
    const seen: string[] = [];
    const r = lm.forward(x, lm.newCache(), {
      logitsRows: [4, 1],
      tap: (n, t) => {
        seen.push(`${n}[${t.shape}]`);
        return t;
      },
    });
    expect(r.rows).toEqual([4, 1]);
    expect(Array.from(r.logits.data.subarray(0, V))).toEqual(Array.from(full.subarray(4 * V, 5 * V)));
    expect(Array.from(r.logits.data.subarray(V))).toEqual(Array.from(full.subarray(V, 2 * V)));
    const H = lm.hiddenSize;
    expect(seen).toEqual([
      `inputs_embeds[5,${H}]`,
      `llm.layers.0.self_attn[5,${H}]`,
      `llm.layers.0.mlp[5,${H}]`,
      `llm.layers.0[5,${H}]`,
      `llm.layers.1.self_attn[5,${H}]`,
      `llm.layers.1.mlp[5,${H}]`,
      `llm.layers.1[5,${H}]`,
      `llm.norm[5,${H}]`,
      `logits[2,${V}]`,
    ]);
    expect(lm.forward(x, lm.newCache()).logits.shape).toEqual([1, V]); // default: last row
    expect(() => lm.forward(x, lm.newCache(), { logitsRows: [5] })).toThrow(InputError);
    expect(() => lm.forward({ shape: [2, H + 1], data: new Float32Array(2 * H + 2) }, lm.newCache())).toThrow(/inputs_embeds/);
  });
  it('a tap may substitute a stage (isolated parity)', async () => {
    const lm = await model('gemma2');
    const x = randomEmbeds(4, lm.hiddenSize, 10);
    const y = randomEmbeds(4, lm.hiddenSize, 11);
    const sub = lm.forward(x, lm.newCache(), { tap: (n, t) => (n === 'inputs_embeds' ? y : t) }).logits.data;
    expect(Array.from(sub)).toEqual(Array.from(lm.forward(y, lm.newCache()).logits.data));
  });
  it('BF16 weights load and run (widened in the operators)', async () => {
    const lm = await model('gemma2', {}, 'BF16');
    expect(fullLogits(lm, randomEmbeds(3, lm.hiddenSize, 3)).every(Number.isFinite)).toBe(true);
  });
});

describe('loading errors name the tensor, expected and found', () => {
  it('mis-shaped tensor', async () => {
    const cfg = microConfig('llama');
    const src = randomLlm(cfg, 1, 'F32', (s) =>
      s.set('llm.model.layers.1.mlp.up_proj.weight', 'F32', [128, 63], new Float32Array(128 * 63)),
    );
    await expect(loadLlm(cfg.llm_config, src, backend)).rejects.toThrow(
      /llm\.model\.layers\.1\.mlp\.up_proj\.weight has shape \[128,63\], expected \[128,64\]/,
    );
  });
  it('missing tensor', async () => {
    const cfg = microConfig('gemma2');
    const src = randomLlm(cfg, 1, 'F32', (s) => {
      s.tensors.delete('llm.model.layers.2.pre_feedforward_layernorm.weight');
    });
    await expect(loadLlm(cfg.llm_config, src, backend)).rejects.toThrow(CheckpointError);
    await expect(loadLlm(cfg.llm_config, src, backend)).rejects.toThrow(
      /missing tensor llm\.model\.layers\.2\.pre_feedforward_layernorm\.weight/,
    );
  });
  it('a bias the config says does not exist', async () => {
    const cfg = microConfig('llama');
    const src = randomLlm(cfg, 1, 'F32', (s) => s.set('llm.model.layers.0.self_attn.q_proj.bias', 'F32', [64], new Float32Array(64)));
    await expect(loadLlm(cfg.llm_config, src, backend)).rejects.toThrow(/q_proj\.bias is present but attention_bias/);
  });
});
