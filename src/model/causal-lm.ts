// The one interface both decoders (Llama 3.2 / Qwen2 in llama.ts, Gemma2 in gemma2.ts) offer to
// Ovis and to the decode loop, plus the helpers every model file uses: loading one weight by its
// HF name (the vision tower and VTE too) and the logits-row bookkeeping. What only the decoders
// share (their weight tree, cache and forward driver) is in decoder.ts.
// Shapes: T tokens in the chunk · H hidden · V vocab · k logit rows asked for.
//
// A forward consumes a chunk of T new positions given as embeddings (Ovis never feeds token ids
// to the LLM: the merged multimodal sequence is `inputs_embeds`), appends their keys/values to a
// KV cache, and returns the final-norm hidden states and the logits of the rows asked for.
// Prefill = the whole prompt (T = prompt length); decode = one token (T = 1).

import type { GptqConfig } from '../quant/gptq.js';
import { CheckpointError, InputError } from '../errors.js';
import type { Backend } from '../backend/backend.js';
import type { DType } from '../dtype.js';
import type { LlmConfig } from '../config/ovis-config.js';
import { KVCache } from './kv-cache.js';
import { fmtShape, type HostTensor, type Tensor, type Weight, type WeightDType } from '../tensor.js';
import type { Tap } from '../trace/tap.js';

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
// Loading weights by their HF names

/** What the model needs from a checkpoint (io/checkpoint.ts `Checkpoint` satisfies it; tests
 *  build one in memory). */
export interface TensorSource {
  readonly tensors: ReadonlyMap<string, { readonly dtype: DType; readonly shape: readonly number[] }>;
  read(name: string): Promise<HostTensor>;
  /** Raw bytes of one tensor into `dst` (exactly its byte length); lets a backend with
   *  loadWeightFrom take the bytes straight into its memory. */
  readInto?(name: string, dst: Uint8Array): Promise<void>;
  /** GPTQ quantization of the LLM's Linears (io/checkpoint.ts reads it); absent or null: float. */
  readonly quantization?: GptqConfig | null;
}

/** Raw stored values as the backend takes them: F32 values, or BF16/F16 raw bits. */
function storedData(name: string, t: HostTensor): { dtype: WeightDType; data: Float32Array | Uint16Array } {
  const d = t.data;
  if (t.dtype === 'F32') {
    if (d instanceof Float32Array) return { dtype: 'F32', data: d };
    return { dtype: 'F32', data: new Float32Array(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength)) };
  }
  if (t.dtype === 'BF16' || t.dtype === 'F16') {
    if (d instanceof Uint16Array) return { dtype: t.dtype, data: d };
    return { dtype: t.dtype, data: new Uint16Array(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength)) };
  }
  throw new CheckpointError(`tensor ${name}: dtype ${t.dtype} is not a float weight type (expected BF16, F16 or F32)`,
    'the checkpoint is not an Ovis1.6 model, or it is quantised (not supported)');
}

/**
 * Load one weight by its HF name, checking presence and shape before reading any bytes.
 * `what` says which config keys the expected shape comes from, for the error message.
 */
export async function loadWeight(src: TensorSource, backend: Backend, name: string, shape: readonly number[], what: string): Promise<Weight> {
  const info = src.tensors.get(name);
  if (!info) {
    throw new CheckpointError(`missing tensor ${name} (expected shape ${fmtShape(shape)} from ${what})`,
      'the shards do not match config.json — is the checkpoint complete (all shards downloaded)?');
  }
  if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
    throw new CheckpointError(`tensor ${name} has shape ${fmtShape(info.shape)}, expected ${fmtShape(shape)} from ${what}`,
      'config.json and the shards come from different checkpoints?');
  }
  if ((info.dtype === 'BF16' || info.dtype === 'F32') && src.readInto && backend.loadWeightFrom) {
    return backend.loadWeightFrom(name, info.dtype, shape, (dst) => src.readInto!(name, dst));
  }
  const t = await src.read(name);
  const { dtype, data } = storedData(name, t);
  return backend.loadWeight(name, dtype, shape, data);
}

/** Like loadWeight, but returns undefined when `present` is false and complains if the tensor
 *  exists anyway (a bias the config says is absent would otherwise be silently ignored). */
export async function loadOptional(src: TensorSource, backend: Backend, present: boolean, name: string, shape: readonly number[], what: string): Promise<Weight | undefined> {
  if (present) return loadWeight(src, backend, name, shape, what);
  if (src.tensors.has(name)) {
    throw new CheckpointError(`tensor ${name} is present but ${what} says it should not exist`,
      'config.json and the shards come from different checkpoints?');
  }
  return undefined;
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
