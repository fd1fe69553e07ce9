// Scaled dot-product attention with the masks Ovis1.6's three towers need:
//  - SigLIP: bidirectional, scale head_dim^-0.5 (SiglipAttention, eager/sdpa);
//  - Llama 3.2: causal, GQA (repeat_kv), scale head_dim^-0.5;
//  - Gemma2: causal, GQA, scale query_pre_attn_scalar^-0.5, logit softcap 50 (tanh) applied
//    after scaling and before the mask, sliding window 4096 on even layers.
// Shapes: q [Tq, Nq·Dh], k/v [Tk, Nkv·Dh] -> o [Tq, Nq·Dh]; query head h reads kv head
// h / (Nq/Nkv) (HF `repeat_kv` repeats each kv head Nq/Nkv times, consecutively).
//
// Mask by absolute positions: query i sits at qPos = qPos0 + i, key j at kPos = kPos0 + j.
// A key is visible iff (!causal || kPos <= qPos) && (window undefined || qPos - kPos < window)
// (HF 4.57 sliding mask: kv_idx > q_idx - sliding_window).
// Numerics: scores, softmax (max-subtracted) and the weighted sum of values in float64, one
// f32 rounding per output. HF's softmax runs in f32 (`softmax(..., dtype=torch.float32)`), its
// matmuls in f32 — ours is strictly more accurate. Masked keys are skipped, which equals HF's
// additive -inf/min-value mask whenever a row has at least one visible key; a row with none
// is a caller error (HF would give NaN or a uniform average) and throws.
// Loop order: per kv head, K and V are copied transposed to [Dh, Tk] so the inner loops run
// over keys (long, contiguous); per query row, scores s_j accumulate over d (f64).

import { ShapeError } from '../errors.js';
import type { Tensor } from '../tensor.js';

export interface AttentionOptions {
  /** Query heads Nq and key/value heads Nkv (GQA: Nq % Nkv == 0, query head h uses kv head h / (Nq/Nkv)). */
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  /** Multiplier applied to q·k before softcap/mask/softmax (head_dim^-0.5 or query_pre_attn_scalar^-0.5). */
  scale: number;
  /** Causal mask by absolute position: query i (at position qPos0+i) sees key j (at kPos0+j) iff kpos <= qpos. */
  causal: boolean;
  /** Absolute position of the first query row (decode: number of cached tokens). Default 0. */
  qPos0?: number;
  /** Absolute position of the first key row (non-zero when a sliding cache dropped old keys). Default 0. */
  kPos0?: number;
  /** Sliding window W (Gemma2 even layers): key visible iff qpos - kpos < W. Undefined = no window. */
  window?: number;
  /** Gemma2 attention logit softcap c: s = c * tanh(s / c), applied after scaling, before masking. */
  softcap?: number;
}

/** Whether key position kPos is visible from query position qPos under the options' mask. */
export function visible(o: AttentionOptions, qPos: number, kPos: number): boolean {
  if (o.causal && kPos > qPos) return false;
  if (o.window !== undefined && qPos - kPos >= o.window) return false;
  return true;
}

/** Visible key indices [j0, j1) for the query at qPos, keys at kPos0 + j, j < Tk:
 *  causal: kPos <= qPos; window W: kPos > qPos - W. */
export function visibleRange(o: AttentionOptions, qPos: number, kPos0: number, Tk: number): [number, number] {
  let j0 = 0;
  let j1 = Tk;
  if (o.causal) j1 = Math.min(j1, qPos - kPos0 + 1);
  if (o.window !== undefined) j0 = Math.max(j0, qPos - o.window + 1 - kPos0);
  return [Math.max(0, j0), Math.max(0, Math.min(Tk, j1))];
}

export function attention(q: Tensor, k: Tensor, v: Tensor, o: AttentionOptions): Tensor {
  const { nHeads: Nq, nKvHeads: Nkv, headDim: Dh, scale } = o;
  if (!(Nq > 0 && Nkv > 0 && Nq % Nkv === 0)) {
    throw new ShapeError(`attention: nHeads ${Nq} must be a positive multiple of nKvHeads ${Nkv}`);
  }
  const Wq = Nq * Dh;
  const Wk = Nkv * Dh;
  const Tq = q.data.length / Wq;
  const Tk = k.data.length / Wk;
  if (q.shape[q.shape.length - 1] !== Wq || !Number.isInteger(Tq))
    throw new ShapeError(`attention: q [${q.shape}] is not [Tq, ${Nq}·${Dh}]`);
  if (k.shape[k.shape.length - 1] !== Wk || !Number.isInteger(Tk))
    throw new ShapeError(`attention: k [${k.shape}] is not [Tk, ${Nkv}·${Dh}]`);
  if (v.data.length !== k.data.length) throw new ShapeError(`attention: v [${v.shape}] differs from k [${k.shape}]`);
  const qPos0 = o.qPos0 ?? 0;
  const kPos0 = o.kPos0 ?? 0;
  const cap = o.softcap;
  const group = Nq / Nkv; // query heads per kv head (repeat_kv's n_rep)
  const qd = q.data;
  const kd = k.data;
  const vd = v.data;
  const out = new Float32Array(Tq * Wq); // [Tq, Nq·Dh]
  const p = new Float64Array(Tk); // scores, then exp(score - max), of one query row
  // Per kv head, K and V transposed to [Dh, Tk] (an exact copy) so that the inner loops run
  // over keys — long and contiguous — instead of over the short head dimension.
  const kt = new Float32Array(Dh * Tk);
  const vt = new Float32Array(Dh * Tk); // [Dh, Tk]
  const ranges = new Int32Array(2 * Tq);
  for (let i = 0; i < Tq; i++) {
    // The visible keys of a query row are one contiguous range [j0, j1).
    const [j0, j1] = visibleRange(o, qPos0 + i, kPos0, Tk);
    if (j0 >= j1) {
      throw new ShapeError(
        `attention: query ${i} (position ${qPos0 + i}) sees no key (keys at ${kPos0}..${kPos0 + Tk - 1})`,
        'check qPos0/kPos0 and the window against the KV cache',
      );
    }
    ranges[2 * i] = j0;
    ranges[2 * i + 1] = j1;
  }
  for (let kvh = 0; kvh < Nkv; kvh++) {
    for (let j = 0; j < Tk; j++) {
      const src = j * Wk + kvh * Dh;
      for (let d = 0; d < Dh; d++) {
        kt[d * Tk + j] = kd[src + d];
        vt[d * Tk + j] = vd[src + d];
      }
    }
    for (let h = kvh * group; h < (kvh + 1) * group; h++) {
      // the query heads reading this kv head
      for (let i = 0; i < Tq; i++) {
        const j0 = ranges[2 * i];
        const j1 = ranges[2 * i + 1];
        const qo = i * Wq + h * Dh;
        // s_j = scale · q·k_j (f64), then the Gemma2 softcap, then max-subtracted softmax.
        p.fill(0, j0, j1);
        for (let d = 0; d < Dh; d++) {
          const qv = qd[qo + d];
          const ko = d * Tk;
          for (let j = j0; j < j1; j++) p[j] += qv * kt[ko + j];
        }
        let mx = -Infinity;
        for (let j = j0; j < j1; j++) {
          let sc = p[j] * scale;
          if (cap !== undefined) sc = cap * Math.tanh(sc / cap);
          p[j] = sc;
          if (sc > mx || Number.isNaN(sc)) mx = sc; // a NaN score poisons the row, as in torch
        }
        let sum = 0;
        for (let j = j0; j < j1; j++) {
          const e = Math.exp(p[j] - mx);
          p[j] = e;
          sum += e;
        }
        // o = Σ_j p_j · v_j / Σ_j p_j
        for (let d = 0; d < Dh; d++) {
          const vo = d * Tk;
          let acc = 0;
          for (let j = j0; j < j1; j++) acc += p[j] * vt[vo + j];
          out[qo + d] = acc / sum;
        }
      }
    }
  }
  return { shape: [Tq, Wq], data: out };
}
