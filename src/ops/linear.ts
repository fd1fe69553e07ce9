// Matrix products: nn.Linear (x·Wᵀ + b), plain a·W (Ovis VTE "softmax lookup") and the
// embedding lookup. Mirrors torch.nn.functional.linear / torch.matmul / nn.Embedding.
// Shapes: M rows of activations · K inner dim · N outputs.
//
// Numerics (all three): weights are widened to f32 exactly (row by row, never a whole-matrix
// copy); products and sums are done in JS numbers, i.e. float64, and rounded to f32 once at
// the end. HF computes in f32 with MKL/oneDNN's blocked summation order, whose error is
// <= K·2^-24·Σ|aᵢbᵢ| (usually far less); ours is <= 2^-24·|y| + K·2^-53·Σ|aᵢbᵢ| — strictly
// more accurate, so |ours - HF| is bounded by HF's own error. Summation order: k ascending.

import { ShapeError } from '../errors.js';
import { type HostWeight, numel, type Tensor } from '../tensor.js';
import { widenAll, widenRange, widenRow } from './weights.js';

/** Rows of x processed together against one weight row (reuses each widened row). */
const M_TILE = 32;

function lastDim(op: string, x: Tensor, k: number, wname: string): number {
  const kx = x.shape.length ? x.shape[x.shape.length - 1] : -1;
  if (kx !== k) {
    throw new ShapeError(`${op}: input [${x.shape}] has last dim ${kx}, weight ${wname} needs ${k}`);
  }
  return numel(x.shape.slice(0, -1)); // rows M (also right when K = 0)
}

/**
 * nn.Linear: y = x · Wᵀ + b.
 * x [..., K] · w (N, K) as HF stores it · b [N] -> y [..., N].
 * Loop: for each tile of M_TILE input rows, for each output n, widen W row n once and take
 * four dot products at a time (float64 accumulators, k ascending), add the bias, round to f32.
 */
export function linear(x: Tensor, w: HostWeight, b?: HostWeight): Tensor {
  if (w.shape.length !== 2) throw new ShapeError(`linear: weight ${w.name} must be 2-D (out, in), got [${w.shape}]`);
  const [N, K] = w.shape;
  const M = lastDim('linear', x, K, w.name);
  if (b && numel(b.shape) !== N)
    throw new ShapeError(`linear: bias ${b.name} has ${numel(b.shape)} values, weight ${w.name} has ${N} outputs`);
  const bias = b ? widenAll(b) : undefined;
  const xd = x.data;
  const y = new Float32Array(M * N); // [M, N]
  const scratch = new Float32Array(K);
  for (let m0 = 0; m0 < M; m0 += M_TILE) {
    const m1 = Math.min(M, m0 + M_TILE);
    for (let n = 0; n < N; n++) {
      const wr = widenRow(w, n, K, scratch); // W[n, :] as f32
      const bn = bias ? bias[n] : 0;
      let m = m0;
      for (; m + 4 <= m1; m += 4) {
        const o0 = m * K;
        const o1 = o0 + K;
        const o2 = o1 + K;
        const o3 = o2 + K;
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        for (let k = 0; k < K; k++) {
          const wk = wr[k];
          s0 += xd[o0 + k] * wk;
          s1 += xd[o1 + k] * wk;
          s2 += xd[o2 + k] * wk;
          s3 += xd[o3 + k] * wk;
        }
        y[m * N + n] = s0 + bn;
        y[(m + 1) * N + n] = s1 + bn;
        y[(m + 2) * N + n] = s2 + bn;
        y[(m + 3) * N + n] = s3 + bn;
      }
      for (; m < m1; m++) {
        const o = m * K;
        let s = 0;
        for (let k = 0; k < K; k++) s += xd[o + k] * wr[k];
        y[m * N + n] = s + bn;
      }
    }
  }
  return { shape: [...x.shape.slice(0, -1), N], data: y };
}

/** Columns of W handled per pass of matmul (keeps the f64 accumulator tile in cache). */
const N_TILE = 512;
const MM_M_TILE = 16;

/**
 * y = a · W with W stored (K, N) row-major — Ovis `VisualEmbedding.forward` for float tokens
 * (`torch.matmul(visual_tokens, self.weight)`, weight [V, H]).
 * a [..., K] · w (K, N) -> y [..., N].
 * Loop: tiles of MM_M_TILE rows × N_TILE columns; for k ascending (four at a time) widen
 * W[k, tile] and add a[m,k]·W[k,:] into a float64 accumulator tile; round to f32 at the end.
 */
export function matmul(a: Tensor, w: HostWeight): Tensor {
  if (w.shape.length !== 2) throw new ShapeError(`matmul: weight ${w.name} must be 2-D (in, out), got [${w.shape}]`);
  const [K, N] = w.shape;
  const M = lastDim('matmul', a, K, w.name);
  const ad = a.data;
  const y = new Float32Array(M * N); // [M, N]
  const acc = new Float64Array(MM_M_TILE * N_TILE);
  const s0 = new Float32Array(N_TILE);
  const s1 = new Float32Array(N_TILE);
  const s2 = new Float32Array(N_TILE);
  const s3 = new Float32Array(N_TILE);
  for (let n0 = 0; n0 < N; n0 += N_TILE) {
    const nt = Math.min(N_TILE, N - n0);
    for (let m0 = 0; m0 < M; m0 += MM_M_TILE) {
      const mt = Math.min(MM_M_TILE, M - m0);
      acc.fill(0);
      let k = 0;
      for (; k + 4 <= K; k += 4) {
        // Four rows of W per pass: one read-modify-write of the accumulator per 4 products.
        const w0 = widenRange(w, k * N + n0, nt, s0);
        const w1 = widenRange(w, (k + 1) * N + n0, nt, s1);
        const w2 = widenRange(w, (k + 2) * N + n0, nt, s2);
        const w3 = widenRange(w, (k + 3) * N + n0, nt, s3);
        for (let i = 0; i < mt; i++) {
          const ao = (m0 + i) * K + k;
          const a0 = ad[ao];
          const a1 = ad[ao + 1];
          const a2 = ad[ao + 2];
          const a3 = ad[ao + 3];
          const o = i * N_TILE;
          for (let j = 0; j < nt; j++) acc[o + j] += a0 * w0[j] + a1 * w1[j] + a2 * w2[j] + a3 * w3[j];
        }
      }
      for (; k < K; k++) {
        const wr = widenRange(w, k * N + n0, nt, s0); // W[k, n0:n0+nt]
        for (let i = 0; i < mt; i++) {
          const av = ad[(m0 + i) * K + k];
          const o = i * N_TILE;
          for (let j = 0; j < nt; j++) acc[o + j] += av * wr[j];
        }
      }
      for (let i = 0; i < mt; i++) {
        const yo = (m0 + i) * N + n0;
        const o = i * N_TILE;
        for (let j = 0; j < nt; j++) y[yo + j] = acc[o + j];
      }
    }
  }
  return { shape: [...a.shape.slice(0, -1), N], data: y };
}

/**
 * nn.Embedding: row `ids[i]` of table (V, H) -> [n, H]. Exact (a widening copy).
 * Ids outside [0, V) are an error (HF would raise an index error too; Ovis maps its negative
 * placeholder ids to 0 before the lookup — that is the caller's job).
 */
export function embedding(ids: Int32Array, table: HostWeight): Tensor {
  if (table.shape.length !== 2) throw new ShapeError(`embedding: table ${table.name} must be 2-D (V, H), got [${table.shape}]`);
  const [V, H] = table.shape;
  const y = new Float32Array(ids.length * H); // [n, H]
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!(id >= 0 && id < V)) {
      throw new ShapeError(
        `embedding: id ${id} at position ${i} is outside [0, ${V}) of ${table.name}`,
        'negative Ovis placeholder ids must be replaced before the lookup',
      );
    }
    const row = widenRow(table, id, H, y.subarray(i * H, (i + 1) * H));
    if (row.buffer !== y.buffer || row.byteOffset !== y.byteOffset + i * H * 4) y.set(row, i * H);
  }
  return { shape: [ids.length, H], data: y };
}
