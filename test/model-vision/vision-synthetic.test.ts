// The vision half (SigLIP tower, hidden_stride merge, visual head, VTE) on small random
// weights against an independent float64 implementation written here from the HF / Ovis
// definitions (torch-style reshape/pad/permute emulated with explicit strides), plus the
// loader's shape checks. The real-model parity tests (reference dumps) are in parity.test.ts.

import { describe, expect, it } from 'vitest';
import { TsBackend } from '../../src/backend/ts.js';
import type { OvisConfig, SiglipVisionConfig, VisualTokenizerConfig } from '../../src/config/ovis-config.js';
import type { DType } from '../../src/dtype.js';
import { CheckpointError } from '../../src/errors.js';
import { loadSiglip } from '../../src/model/siglip.js';
import { encodeImages, indicatorEmbeds, loadVision } from '../../src/model/vision.js';
import { hiddenStrideMerge, loadVisualHead } from '../../src/model/visual-tokenizer.js';
import type { TensorSource } from '../../src/model/weights.js';
import type { HostTensor } from '../../src/tensor.js';
import { compare } from '../../src/trace/metrics.js';
import { StageRecorder } from '../../src/trace/recorder.js';
import { makeTap } from '../../src/trace/tap.js';
import { randF32, rng, toBf16 } from '../ops/helpers.js';

// ---- a tiny Ovis vision config: S=42, P=14 -> g=3 (odd: exercises the zero padding), m=2
const VC = {
  model_type: 'siglip_vision_model',
  hidden_size: 8,
  intermediate_size: 12,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  num_channels: 3,
  image_size: 42,
  patch_size: 14,
  hidden_act: 'gelu_pytorch_tanh',
  layer_norm_eps: 1e-6,
  vision_use_head: false,
} as SiglipVisionConfig;
const VT = {
  model_type: 'siglip_visual_tokenizer',
  vocab_size: 13,
  tokenize_function: 'softmax',
  tau: 1,
  drop_cls_token: false,
  depths: null,
  hidden_stride: 2,
  backbone_config: VC,
} as VisualTokenizerConfig;
const H = 6;
const CFG = { visual_tokenizer_config: VT, hidden_size: H } as OvisConfig;
const VP = 'visual_tokenizer.backbone.vision_model.';

/** Every tensor the vision half needs, BF16, random (norm weights around 1). */
function makeSource(seed: number, override: Record<string, number[]> = {}): { src: TensorSource; f64: Map<string, Float64Array> } {
  const r = rng(seed);
  const D = VC.hidden_size;
  const F = VC.intermediate_size;
  const P = VC.patch_size;
  const g = 3;
  const V = VT.vocab_size;
  const shapes: Record<string, number[]> = {
    [VP + 'embeddings.patch_embedding.weight']: [D, 3, P, P],
    [VP + 'embeddings.patch_embedding.bias']: [D],
    [VP + 'embeddings.position_embedding.weight']: [g * g, D],
    'visual_tokenizer.head.0.weight': [V - 5, 4 * D],
    'visual_tokenizer.head.1.weight': [V - 5],
    'visual_tokenizer.head.1.bias': [V - 5],
    'vte.weight': [V, H],
  };
  for (let i = 0; i < VC.num_hidden_layers; i++) {
    const p = `${VP}encoder.layers.${i}.`;
    for (const n of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
      shapes[`${p}self_attn.${n}.weight`] = [D, D];
      shapes[`${p}self_attn.${n}.bias`] = [D];
    }
    for (const n of ['layer_norm1', 'layer_norm2']) {
      shapes[`${p}${n}.weight`] = [D];
      shapes[`${p}${n}.bias`] = [D];
    }
    shapes[`${p}mlp.fc1.weight`] = [F, D];
    shapes[`${p}mlp.fc1.bias`] = [F];
    shapes[`${p}mlp.fc2.weight`] = [D, F];
    shapes[`${p}mlp.fc2.bias`] = [D];
  }
  // Stored but unused by Ovis: must be tolerated (never read).
  shapes[VP + 'post_layernorm.weight'] = [D];
  shapes[VP + 'post_layernorm.bias'] = [D];
  const f64 = new Map<string, Float64Array>();
  const stored = new Map<string, HostTensor>();
  const tensors = new Map<string, { dtype: DType; shape: number[] }>();
  for (const [name, shape0] of Object.entries(shapes)) {
    const shape = override[name] ?? shape0;
    const n = shape.reduce((a, b) => a * b, 1);
    const isNormW = /(layer_norm\d|head\.1)\.weight$/.test(name);
    const amp = name.includes('patch_embedding.weight') ? 0.1 : 0.5;
    const v = randF32(r, n, amp).map((x) => (isNormW ? 1 + x : x));
    const { bits, values } = toBf16(v);
    f64.set(name, values);
    stored.set(name, { dtype: 'BF16', shape, data: bits });
    tensors.set(name, { dtype: 'BF16', shape });
  }
  const src: TensorSource = {
    tensors,
    read: async (name) => {
      if (name.includes('post_layernorm')) throw new Error(`post_layernorm must not be read (${name})`);
      return stored.get(name)!;
    },
  };
  return { src, f64 };
}

// ---- independent float64 reference -------------------------------------------------------
type A = Float64Array;
const layerNorm = (x: A, R: number, C: number, w: A, b: A, eps: number): A => {
  const y = new Float64Array(R * C);
  for (let r = 0; r < R; r++) {
    const row = x.subarray(r * C, (r + 1) * C);
    const mean = row.reduce((a, v) => a + v, 0) / C;
    const varr = row.reduce((a, v) => a + (v - mean) ** 2, 0) / C;
    for (let c = 0; c < C; c++) y[r * C + c] = ((row[c] - mean) / Math.sqrt(varr + eps)) * w[c] + b[c];
  }
  return y;
};
const linearRef = (x: A, R: number, K: number, w: A, N: number, b?: A): A => {
  const y = new Float64Array(R * N);
  for (let r = 0; r < R; r++)
    for (let n = 0; n < N; n++) {
      let s = b ? b[n] : 0;
      for (let k = 0; k < K; k++) s += x[r * K + k] * w[n * K + k];
      y[r * N + n] = s;
    }
  return y;
};
const gelu = (x: number) => x / (1 + Math.exp(-2 * Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

/** torch-like: element of a contiguous tensor after permute, by strides. */
function permute(data: A, shape: number[], perm: number[]): { data: A; shape: number[] } {
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const ns = perm.map((p) => shape[p]);
  const nst = perm.map((p) => strides[p]);
  const out = new Float64Array(data.length);
  const idx = new Array(ns.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let off = 0;
    for (let d = 0; d < ns.length; d++) off += idx[d] * nst[d];
    out[o] = data[off];
    for (let d = ns.length - 1; d >= 0; d--) {
      if (++idx[d] < ns[d]) break;
      idx[d] = 0;
    }
  }
  return { data: out, shape: ns };
}

function referenceVision(px: Float32Array, n: number, f64: Map<string, Float64Array>): Map<string, { shape: number[]; data: A }> {
  const out = new Map<string, { shape: number[]; data: A }>();
  const D = VC.hidden_size;
  const P = VC.patch_size;
  const S = VC.image_size;
  const g = 3;
  const N = 9;
  const Nh = 2;
  const Dh = D / Nh;
  const F = VC.intermediate_size;
  const W = (k: string) => f64.get(VP + k)!;
  // Conv2d by definition + position embedding.
  let x = new Float64Array(n * N * D);
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < g; oy++)
      for (let ox = 0; ox < g; ox++)
        for (let o = 0; o < D; o++) {
          let s = W('embeddings.patch_embedding.bias')[o];
          for (let c = 0; c < 3; c++)
            for (let ky = 0; ky < P; ky++)
              for (let kx = 0; kx < P; kx++) {
                s +=
                  px[((b * 3 + c) * S + oy * P + ky) * S + ox * P + kx] *
                  W('embeddings.patch_embedding.weight')[((o * 3 + c) * P + ky) * P + kx];
              }
          x[(b * N + oy * g + ox) * D + o] = s + W('embeddings.position_embedding.weight')[(oy * g + ox) * D + o];
        }
  out.set('vit.embeddings', { shape: [n, N, D], data: x.slice() });
  for (let i = 0; i < VC.num_hidden_layers; i++) {
    const p = `encoder.layers.${i}.`;
    const h = layerNorm(x, n * N, D, W(p + 'layer_norm1.weight'), W(p + 'layer_norm1.bias'), 1e-6);
    const q = linearRef(h, n * N, D, W(p + 'self_attn.q_proj.weight'), D, W(p + 'self_attn.q_proj.bias'));
    const k = linearRef(h, n * N, D, W(p + 'self_attn.k_proj.weight'), D, W(p + 'self_attn.k_proj.bias'));
    const v = linearRef(h, n * N, D, W(p + 'self_attn.v_proj.weight'), D, W(p + 'self_attn.v_proj.bias'));
    const att = new Float64Array(n * N * D);
    for (let b = 0; b < n; b++)
      for (let hd = 0; hd < Nh; hd++)
        for (let a = 0; a < N; a++) {
          const sc: number[] = [];
          for (let c = 0; c < N; c++) {
            let s = 0;
            for (let d = 0; d < Dh; d++) s += q[(b * N + a) * D + hd * Dh + d] * k[(b * N + c) * D + hd * Dh + d];
            sc.push(s / Math.sqrt(Dh));
          }
          const mx = Math.max(...sc);
          const e = sc.map((s) => Math.exp(s - mx));
          const z = e.reduce((u, w) => u + w, 0);
          for (let d = 0; d < Dh; d++) {
            let s = 0;
            for (let c = 0; c < N; c++) s += (e[c] / z) * v[(b * N + c) * D + hd * Dh + d];
            att[(b * N + a) * D + hd * Dh + d] = s;
          }
        }
    const ao = linearRef(att, n * N, D, W(p + 'self_attn.out_proj.weight'), D, W(p + 'self_attn.out_proj.bias'));
    out.set(`vit.layers.${i}.self_attn`, { shape: [n, N, D], data: ao });
    x = x.map((u, j) => u + ao[j]);
    const h2 = layerNorm(x, n * N, D, W(p + 'layer_norm2.weight'), W(p + 'layer_norm2.bias'), 1e-6);
    const f1 = linearRef(h2, n * N, D, W(p + 'mlp.fc1.weight'), F, W(p + 'mlp.fc1.bias')).map(gelu);
    const f2 = linearRef(f1, n * N, F, W(p + 'mlp.fc2.weight'), D, W(p + 'mlp.fc2.bias'));
    out.set(`vit.layers.${i}.mlp`, { shape: [n, N, D], data: f2 });
    x = x.map((u, j) => u + f2[j]);
    out.set(`vit.layers.${i}`, { shape: [n, N, D], data: x.slice() });
  }
  // Merge exactly as Ovis writes it: reshape [n,3,3,D], pad to [n,4,4,D], reshape [n,2,2,2,2,D],
  // permute(0,1,3,2,4,5), flatten -> [n, 4, 4D].
  const padded = new Float64Array(n * 4 * 4 * D);
  for (let b = 0; b < n; b++)
    for (let yy = 0; yy < 3; yy++)
      for (let xx = 0; xx < 3; xx++)
        for (let d = 0; d < D; d++) {
          padded[((b * 4 + yy) * 4 + xx) * D + d] = x[((b * 3 + yy) * 3 + xx) * D + d];
        }
  const merged = permute(padded, [n, 2, 2, 2, 2, D], [0, 1, 3, 2, 4, 5]).data;
  out.set('vt.features', { shape: [n, 4, 4 * D], data: merged });
  const V = VT.vocab_size;
  const hl = linearRef(merged, n * 4, 4 * D, f64.get('visual_tokenizer.head.0.weight')!, V - 5);
  out.set('vt.head_linear', { shape: [n, 4, V - 5], data: hl });
  const lg = layerNorm(hl, n * 4, V - 5, f64.get('visual_tokenizer.head.1.weight')!, f64.get('visual_tokenizer.head.1.bias')!, 1e-5);
  out.set('vt.logits', { shape: [n, 4, V - 5], data: lg });
  const tok = new Float64Array(n * 4 * V);
  for (let r = 0; r < n * 4; r++) {
    const row = lg.subarray(r * (V - 5), (r + 1) * (V - 5));
    const mx = Math.max(...row);
    const z = row.reduce((a, u) => a + Math.exp(u - mx), 0);
    for (let c = 0; c < V - 5; c++) tok[r * V + c] = Math.exp(row[c] - mx) / z;
  }
  out.set('vt.tokens', { shape: [n, 4, V], data: tok });
  const vte = f64.get('vte.weight')!;
  const emb = new Float64Array(n * 4 * H);
  for (let r = 0; r < n * 4; r++)
    for (let c = 0; c < V; c++) for (let hh = 0; hh < H; hh++) emb[r * H + hh] += tok[r * V + c] * vte[c * H + hh];
  out.set('vte.embeds', { shape: [n, 4, H], data: emb });
  out.set('vte.indicators', { shape: [5, H], data: vte.slice((V - 5) * H) });
  return out;
}

describe('vision half on random weights vs float64 reference', () => {
  it('every stage within 1e-5 of the stage magnitude; indicators exact', async () => {
    const be = new TsBackend();
    const { src, f64 } = makeSource(5);
    const vision = await loadVision(CFG, src, be);
    const n = 2;
    const px = randF32(rng(9), n * 3 * 42 * 42);
    const rec = new StageRecorder();
    const tap = makeTap(rec);
    const embeds = encodeImages(be, vision, { shape: [n, 3, 42, 42], data: px }, tap);
    indicatorEmbeds(be, vision, tap);
    expect(embeds.shape).toEqual([n, 4, H]);
    const ref = referenceVision(px, n, f64);
    // the input is recorded first (the `pixel_values` stage), exactly as given
    expect([...rec.stages.keys()]).toEqual(['pixel_values', ...ref.keys()]);
    expect(rec.stages.get('pixel_values')!.data).toEqual(px);
    for (const [name, want] of ref) {
      const m = compare(name, rec.stages.get(name)!, want);
      expect(m.shapeMatch, name).toBe(true);
      const tol = name === 'vte.indicators' ? 0 : 1e-5 * m.maxMagnitude;
      expect(
        m.maxAbsErr,
        `${name}: max abs err ${m.maxAbsErr} @${m.maxAbsIndex} (got ${m.gotAtMax}, want ${m.wantAtMax})`,
      ).toBeLessThanOrEqual(tol);
    }
    // Probabilities: rows sum to 1 over V-5, indicator columns exactly 0.
    const tok = rec.stages.get('vt.tokens')!;
    for (let r = 0; r < n * 4; r++) {
      const row = tok.data.subarray(r * 13, (r + 1) * 13);
      expect(Array.from(row.subarray(8))).toEqual([0, 0, 0, 0, 0]);
      expect(Math.abs(row.subarray(0, 8).reduce((a, v) => a + v, 0) - 1)).toBeLessThan(1e-6);
    }
  });

  it('hidden_stride merge: 2x2 blocks in (row, col) order, zero padding bottom/right', () => {
    // g = 3, D = 1, value = patch index: padded 4x4 grid
    //   0 1 2 .      token (0,0) = [0 1 3 4]   token (0,1) = [2 . 5 .]
    //   3 4 5 .      token (1,0) = [6 7 . .]   token (1,1) = [8 . . .]
    //   6 7 8 .
    const x = { shape: [1, 9, 1], data: Float32Array.from({ length: 9 }, (_, i) => i + 1) }; // +1: tell padding from patch 0
    const y = hiddenStrideMerge(x, 2);
    expect(y.shape).toEqual([1, 4, 4]);
    expect(Array.from(y.data)).toEqual([1, 2, 4, 5, 3, 0, 6, 0, 7, 8, 0, 0, 9, 0, 0, 0]);
    // D = 2 keeps each patch's vector contiguous inside its slot.
    const x2 = { shape: [1, 4, 2], data: Float32Array.of(1, -1, 2, -2, 3, -3, 4, -4) };
    expect(Array.from(hiddenStrideMerge(x2, 2).data)).toEqual([1, -1, 2, -2, 3, -3, 4, -4]);
    expect(() => hiddenStrideMerge({ shape: [1, 8, 1], data: new Float32Array(8) }, 2)).toThrow(/perfect square/);
  });

  it('taps can substitute stages (isolated parity): the next stage starts from the substituted value', async () => {
    const be = new TsBackend();
    const { src } = makeSource(6);
    const vision = await loadVision(CFG, src, be);
    const px = { shape: [1, 3, 42, 42], data: randF32(rng(10), 3 * 42 * 42) };
    const zero = { shape: [1, 9, 8], data: new Float32Array(72) };
    const rec = new StageRecorder({ isolated: true, reference: { get: (n) => (n === 'vit.layers.1' ? zero : undefined) } });
    encodeImages(be, vision, px, makeTap(rec));
    expect(rec.substituted).toEqual(['vit.layers.1']);
    // features come from the substituted (all-zero) hidden states
    expect(rec.stages.get('vt.features')!.data.every((v) => v === 0)).toBe(true);
    expect(rec.stages.get('vit.layers.1')!.data.some((v) => v !== 0)).toBe(true); // our own value was recorded
  });
});

describe('vision weight loading', () => {
  it('a mis-shaped tensor is a CheckpointError naming it, with expected vs got and a hint', async () => {
    const be = new TsBackend();
    const bad = `${VP}encoder.layers.1.mlp.fc1.weight`;
    const { src } = makeSource(7, { [bad]: [11, 8] });
    const err = await loadSiglip(VC, src, be).catch((e) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect(String(err.message)).toContain(bad);
    expect(String(err.message)).toContain('[11,8]');
    expect(String(err.message)).toContain('[12,8]');
    expect(String(err.message)).toMatch(/intermediate_size/);
    expect(String(err.message)).toMatch(/Hint:/);
  });

  it('a wrong conv kernel shape and a missing head tensor are reported by name', async () => {
    const be = new TsBackend();
    const pe = `${VP}embeddings.patch_embedding.weight`;
    const { src } = makeSource(8, { [pe]: [8, 3, 16, 16] });
    await expect(loadSiglip(VC, src, be)).rejects.toThrow(/patch_embedding\.weight has shape \[8,3,16,16\], expected \[8,3,14,14\]/);
    const { src: s2 } = makeSource(8);
    (s2.tensors as Map<string, unknown>).delete('visual_tokenizer.head.1.bias');
    await expect(loadVisualHead(VT, s2, be)).rejects.toThrow(/missing tensor visual_tokenizer\.head\.1\.bias/);
  });

  it('pixel_values of the wrong size are rejected', async () => {
    const be = new TsBackend();
    const { src } = makeSource(9);
    const vision = await loadVision(CFG, src, be);
    expect(() => encodeImages(be, vision, { shape: [1, 3, 40, 40], data: new Float32Array(4800) })).toThrow(/expected \[n, 3, 42, 42\]/);
  });
});
