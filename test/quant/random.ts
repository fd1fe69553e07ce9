// A random GPTQ Linear for the kernel and backend tests: q uniform in [0, 2^b), zeros in
// [1, 2^b], fp16-representable scales (11-bit mantissa), an optional act-order permutation and
// an optional bias (drawn last, so the other tensors do not depend on it).
import type { QuantLinearData } from '../../src/quant/gptq.js';
import { randF32, rng } from '../ops/helpers.js';

export function randomQuant(seed: number, bits: 4 | 8, K: number, N: number, gs: number, act: boolean, bias = false): QuantLinearData {
  const r = rng(seed);
  const per = 32 / bits;
  const G = Math.ceil(K / gs);
  const qweight = new Int32Array((K / per) * N); // [K / per, N]
  for (let i = 0; i < qweight.length; i++) qweight[i] = (r() * 2 ** 32) | 0;
  const scales = new Float32Array(G * N); // [G, N]
  const zeros = new Float32Array(G * N); // [G, N]
  for (let i = 0; i < G * N; i++) {
    scales[i] = Math.fround((1 + Math.floor(r() * 1024) / 1024) * 2 ** (-8 - Math.floor(r() * 4)));
    zeros[i] = 1 + Math.floor(r() * 2 ** bits);
  }
  let perm: Int32Array | null = null;
  if (act) {
    perm = Int32Array.from({ length: K }, (_, i) => i);
    for (let i = K - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [perm[i], perm[j]] = [perm[j], perm[i]];
    }
  }
  return { name: `q${seed}`, bits, K, N, groupSize: gs, qweight, scales, zeros, perm, bias: bias ? randF32(r, N, 0.1) : null };
}
