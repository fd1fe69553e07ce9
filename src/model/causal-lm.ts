// The one interface both decoders (Llama 3.2 / Qwen2 in llama.ts, Gemma2 in gemma2.ts) offer to
// Ovis and to the decode loop, plus the logits-row bookkeeping. Loading a weight by its HF name
// (every model file, the vision tower and VTE too) is in weights.ts; what only the decoders
// share (their weight tree, cache and forward driver) is in decoder.ts.
// Shapes: T tokens in the chunk · H hidden · V vocab · k logit rows asked for.
//
// A forward consumes a chunk of T new positions given as embeddings (Ovis never feeds token ids
// to the LLM: the merged multimodal sequence is `inputs_embeds`), appends their keys/values to a
// KV cache, and returns the final-norm hidden states and the logits of the rows asked for.
// Prefill = the whole prompt (T = prompt length); decode = one token (T = 1).

import type { Backend } from '../backend/backend.js';
import type { LlmConfig } from '../config/ovis-config.js';
import { InputError } from '../errors.js';
import { fmtShape, type Tensor } from '../tensor.js';
import type { Tap } from '../trace/tap.js';
import type { KVCache } from './kv-cache.js';

/** Which rows of the chunk get logits. Computing [T, V] logits (V = 128256) for a long prompt is
 *  wasteful, so the default is the last row only — all the decode loop needs. */
export type LogitsRows = 'last' | 'all' | 'none' | readonly number[];

export interface ForwardOptions {
  /** Default 'last'. Indices are rows of this chunk (0 <= i < T). */
  logitsRows?: LogitsRows;
  /** Stage taps: `inputs_embeds`, `llm.layers.{i}`, `llm.norm`, `logits`. Default: none. */
  tap?: Tap;
  /** Called after each decoder layer with (layers done, layers) — progress of a long prefill. */
  onLayer?: (done: number, layers: number) => void;
}

export interface ForwardResult {
  /** Final-norm hidden states (`llm.norm`) [T, H]. */
  hidden: Tensor;
  /** Logits for `rows`, one row each: [k, V] (final softcap applied for Gemma2). */
  logits: Tensor;
  /** The chunk rows the logits belong to, in order. */
  rows: number[];
}

export interface CausalLM {
  readonly config: LlmConfig;
  readonly backend: Backend;
  readonly hiddenSize: number;
  readonly vocabSize: number;
  readonly numLayers: number;
  /** Token ids -> embedding rows [n, H] of `llm.model.embed_tokens` — the raw table lookup
   *  (Gemma2's sqrt(H) scaling happens inside `forward`, on every input embedding). */
  embedTokens(ids: Int32Array): Tensor;
  /** A fresh cache shaped for this model (sliding layers keep only their window). */
  newCache(reserveTokens?: number): KVCache;
  /** Run T new positions through the decoder. inputsEmbeds [T, H]; positions continue the cache. */
  forward(inputsEmbeds: Tensor, cache: KVCache, opts?: ForwardOptions): ForwardResult;
}

// ------------------------------------------------------------------------------------------
// Forward helpers shared by the decoders

/** Resolve LogitsRows against a chunk of T rows (validated). */
export function resolveRows(rows: LogitsRows | undefined, T: number): number[] {
  const r = rows ?? 'last';
  if (r === 'none') return [];
  if (r === 'last') return T > 0 ? [T - 1] : [];
  if (r === 'all') return Array.from({ length: T }, (_, i) => i);
  for (const i of r) {
    if (!Number.isInteger(i) || i < 0 || i >= T) {
      throw new InputError(`logits row ${i} is out of range for a chunk of ${T} positions`);
    }
  }
  return [...r];
}

/** Copy rows of x [T, H] into a new [k, H] tensor (data movement, no math). */
export function gatherRows(x: Tensor, rows: readonly number[]): Tensor {
  const H = x.shape[1];
  const T = x.shape[0];
  if (rows.length === T && rows.every((r, i) => r === i)) return x;
  const out = new Float32Array(rows.length * H);
  rows.forEach((r, j) => out.set(x.data.subarray(r * H, (r + 1) * H), j * H));
  return { shape: [rows.length, H], data: out }; // [k, H]
}

/** Check that inputs_embeds is [T, H] with T >= 1. */
export function checkEmbeds(x: Tensor, H: number): number {
  if (x.shape.length !== 2 || x.shape[1] !== H || x.shape[0] < 1) {
    throw new InputError(`inputs_embeds has shape ${fmtShape(x.shape)}, expected [T, ${H}] with T >= 1 (hidden_size ${H})`);
  }
  return x.shape[0];
}

/** Positions p0..p0+T-1 as the Int32Array that rope cos/sin are computed for. */
export function positionsFrom(p0: number, T: number): Int32Array {
  const pos = new Int32Array(T);
  for (let i = 0; i < T; i++) pos[i] = p0 + i;
  return pos;
}
