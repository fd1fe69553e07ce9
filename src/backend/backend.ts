// The one interface the model calls for every hot operator. Two implementations:
//   `ts`   — src/backend/ts.ts, a thin wrapper over the readable operators in src/ops/
//            (the definitions; what a reader follows line by line);
//   `wasm` — src/backend/wasm.ts, AssemblyScript SIMD kernels (kernels/) with a worker pool
//            and a weight store that spans several WebAssembly memories.
// Tests hold the two equal and hold both to the reference fixtures. Model code never
// branches on which backend is live.
//
// Conventions: activations are row-major f32 `Tensor`s; weights are `Weight` handles in HF
// layout and stored dtype (Linear weights are (out, in)). All methods are synchronous and
// return new tensors unless the name says `InPlace`.

import type { AttentionOptions } from '../ops/attention.js';
import type { QuantLinearData, QuantWeight } from '../quant/gptq.js';
import type { Tensor, Weight, WeightDType } from '../tensor.js';

// The attention options are defined with the operator that gives them meaning (src/ops/attention.ts).
export type { AttentionOptions };

/** Backend-side memory for KV-cache rows (see Backend.kvArena). */
export interface KVArena {
  /** A Float32Array of `floats` values in backend memory (contents unspecified). */
  alloc(floats: number): Float32Array;
  /** Give back an array obtained from alloc (once). */
  free(a: Float32Array): void;
}

/** The opt-in integer-dot path for quantized Linears (docs/quantization.md): 'int16' rounds x per
 *  row to int16; 'int8' rounds x to int8 per block of 32 inputs (llama.cpp's q8_0 scheme), which
 *  the relaxed-SIMD build runs on int4 weights with i8 dot products. Decode and prefill alike.
 *  `true` means 'int16'. */
export type QuantDot = boolean | 'int16' | 'int8';

export interface Backend {
  readonly name: 'ts' | 'wasm';

  /** Take a weight as stored (raw bf16/f16 bits as Uint16Array, or f32) and keep it in backend
   *  memory. The backend may copy `data` once; the caller drops its reference afterwards. */
  loadWeight(name: string, dtype: WeightDType, shape: readonly number[], data: Float32Array | Uint16Array): Weight;
  /** Optional loader fast path for weights kept as stored (BF16 or F32): the backend reserves
   *  the weight's bytes in its own memory and `fill` writes them there (a file read straight
   *  into wasm memory: no host copy, no second first-touch of the bytes). Same result as
   *  loadWeight with the same bytes. */
  loadWeightFrom?(name: string, dtype: 'BF16' | 'F32', shape: readonly number[], fill: (dst: Uint8Array) => Promise<void>): Promise<Weight>;
  /** Widened f32 copy of a (small) weight: norms, biases, position embeddings. */
  readWeight(w: Weight): Float32Array;
  /** Release every weight (end of a model's life). */
  dispose(): void;

  /** y = x · Wᵀ (+ b). x [M, K], w (N, K) as nn.Linear stores it, b [N] -> [M, N]. */
  linear(x: Tensor, w: Weight, b?: Weight): Tensor;
  /** Keep a GPTQ-quantized Linear (int4/int8, src/quant/gptq.ts) in backend memory, still packed.
   *  Optional while a backend lacks it: the model then refuses quantized checkpoints on it. */
  loadQuantLinear?(d: QuantLinearData): QuantWeight;
  /** y = x · Wᵀ (+ its bias) for a quantized W (N, K): x [M, K] -> [M, N]. */
  linearQuant?(x: Tensor, w: QuantWeight): Tensor;
  /** linearQuant of several Linears of the same x (q/k/v, gate/up): the same results as one call
   *  each, which a backend may run as one job. Optional: without it, one linearQuant each. */
  linearQuantMany?(x: Tensor, ws: readonly QuantWeight[]): Tensor[];
  /** y = a · W. a [M, K], w (K, N) stored row-major (e.g. vte.weight [V, H]) -> [M, N]. */
  matmul(a: Tensor, w: Weight): Tensor;
  /** SigLIP patch embedding, Conv2d(C, D, P, stride P, 'valid') + bias as unfold + linear:
   *  pixels [n, C, S, S], w the conv weight viewed as (D, C·P·P), b [D] -> [n·g·g, D], g = S / P
   *  (floor). Equals linear(unfoldPatches(pixels, P), w, b) bit for bit. */
  patchEmbed(pixels: Tensor, w: Weight, b: Weight, patch: number): Tensor;
  /** Rows of `table` (V, H) for each id -> [n, H]. Ids must be in [0, V). */
  embedding(ids: Int32Array, table: Weight): Tensor;

  /** LayerNorm over the last dim: (x - mean) / sqrt(var + eps) * w + b (biased variance, f32). */
  layerNorm(x: Tensor, w: Weight, b: Weight, eps: number): Tensor;
  /** RMSNorm over the last dim in f32: x / sqrt(mean(x²) + eps) * (w + offset);
   *  offset 0 for Llama, 1 for Gemma2 ((1 + weight)). */
  rmsNorm(x: Tensor, w: Weight, eps: number, offset: 0 | 1): Tensor;

  /** gelu with tanh approximation (`gelu_pytorch_tanh`), elementwise. */
  geluTanh(x: Tensor): Tensor;
  /** act(gate) * up elementwise: SwiGLU ('silu', Llama) or GeGLU ('gelu_tanh', Gemma2). */
  gatedAct(gate: Tensor, up: Tensor, act: 'silu' | 'gelu_tanh'): Tensor;
  /** a + b elementwise (same shape) -> new tensor. */
  add(a: Tensor, b: Tensor): Tensor;
  /** x * s elementwise -> new tensor. */
  scale(x: Tensor, s: number): Tensor;

  /** Softmax over the last dim, max-subtracted, in f32. */
  softmax(x: Tensor): Tensor;
  /** c * tanh(x / c), elementwise (Gemma2 final logit softcap). */
  softcap(x: Tensor, c: number): Tensor;

  /** Rotate-half rotary embedding, in place. x [T, nHeads * headDim]; cos/sin [T, headDim]
   *  (HF layout: the half-dim frequencies repeated twice). */
  ropeInPlace(x: Tensor, nHeads: number, headDim: number, cos: Float32Array, sin: Float32Array): void;

  /** Optional: memory for KV caches that `attention` reads in place (wasm: no copy of the
   *  whole cache into kernel memory at every decode step). Caches without it use plain arrays. */
  kvArena?(): KVArena;

  /** Scaled dot-product attention. q [Tq, Nq*Dh], k/v [Tk, Nkv*Dh] -> [Tq, Nq*Dh]. */
  attention(q: Tensor, k: Tensor, v: Tensor, o: AttentionOptions): Tensor;
}
