// nn.Linear on a GPTQ-quantized weight (src/quant/gptq.ts), the readable definition the `ts`
// backend runs: y = x · Wᵀ + b with W[n, k] = scale[g, n] · (q[k, n] − zero[g, n]).
// Shapes: M rows · K in_features · N out_features.
//
// Numerics: like ops/linear.ts — each weight row is dequantized exactly to f32 (an fp16 scale times
// an integer of <= 9 bits), products and sums in float64 with k ascending in the ORIGINAL input
// order, the bias added, one rounding to f32. The WASM kernels (kernels/quant.ts) sum in f32 in the
// permuted order; both are held to the f32-compute reference on the dequantized weights.

import { ShapeError } from '../errors.js';
import { type QuantLinearData, qAt } from '../quant/gptq.js';
import type { Tensor } from '../tensor.js';

export function linearQuant(x: Tensor, d: QuantLinearData): Tensor {
  const { K, N, groupSize: gs } = d;
  const kx = x.shape.length ? x.shape[x.shape.length - 1] : -1;
  if (kx !== K) throw new ShapeError(`linearQuant: input [${x.shape}] has last dim ${kx}, ${d.name} needs ${K}`);
  const M = x.data.length / K;
  const y = new Float32Array(M * N); //   [M, N]
  const w = new Float32Array(K); //       row n of W (N, K), original input order
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < K; i++) {
      const g = (i / gs) | 0;
      w[d.perm ? d.perm[i] : i] = d.scales[g * N + n] * (qAt(d, i, n) - d.zeros[g * N + n]); // exact in f32
    }
    const b = d.bias ? d.bias[n] : 0;
    for (let m = 0; m < M; m++) {
      let acc = 0;
      const row = m * K;
      for (let k = 0; k < K; k++) acc += x.data[row + k] * w[k];
      y[m * N + n] = acc + b;
    }
  }
  return { shape: [...x.shape.slice(0, -1), N], data: y };
}
