// Loading one weight by its Hugging Face name (`llm.model.layers.3.self_attn.q_proj.weight`),
// for every model file: presence and shape are checked against what config.json implies before
// any byte is read, and the bytes go straight into the backend's memory when it can take them.

import type { Backend } from '../backend/backend.js';
import type { DType } from '../dtype.js';
import { CheckpointError } from '../errors.js';
import type { GptqConfig } from '../quant/gptq.js';
import { fmtShape, type HostTensor, type Weight, type WeightDType } from '../tensor.js';

/** What the model needs from a checkpoint (checkpoint/checkpoint.ts `Checkpoint` satisfies it; tests
 *  build one in memory). */
export interface TensorSource {
  readonly tensors: ReadonlyMap<string, { readonly dtype: DType; readonly shape: readonly number[] }>;
  read(name: string): Promise<HostTensor>;
  /** Raw bytes of one tensor into `dst` (exactly its byte length); lets a backend with
   *  loadWeightFrom take the bytes straight into its memory. */
  readInto?(name: string, dst: Uint8Array): Promise<void>;
  /** Rows n0 .. n0 + rows − 1 (first dimension) of one tensor, as stored. */
  readRows?(name: string, n0: number, rows: number): Promise<HostTensor>;
  /** GPTQ quantization of the LLM's Linears (checkpoint/checkpoint.ts reads it); absent or null: float. */
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
  throw new CheckpointError(
    `tensor ${name}: dtype ${t.dtype} is not a float weight type (expected BF16, F16 or F32)`,
    'the checkpoint is not an Ovis1.6 model, or it is quantised (not supported)',
  );
}

/**
 * Load one weight by its HF name, checking presence and shape before reading any bytes.
 * `what` says which config keys the expected shape comes from, for the error message. `as`
 * hands the same bytes to the backend under another shape (SigLIP's Conv2d kernel
 * (D, C, P, P) is the Linear (D, C·P·P) it is on unfolded patches).
 */
export async function loadWeight(
  src: TensorSource,
  backend: Backend,
  name: string,
  shape: readonly number[],
  what: string,
  as: readonly number[] = shape,
): Promise<Weight> {
  const info = src.tensors.get(name);
  if (!info) {
    throw new CheckpointError(
      `missing tensor ${name} (expected shape ${fmtShape(shape)} from ${what})`,
      'the shards do not match config.json — is the checkpoint complete (all shards downloaded)?',
    );
  }
  if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
    throw new CheckpointError(
      `tensor ${name} has shape ${fmtShape(info.shape)}, expected ${fmtShape(shape)} from ${what}`,
      'config.json and the shards come from different checkpoints?',
    );
  }
  if ((info.dtype === 'BF16' || info.dtype === 'F32') && src.readInto && backend.loadWeightFrom) {
    return backend.loadWeightFrom(name, info.dtype, as, (dst) => src.readInto!(name, dst));
  }
  const t = await src.read(name);
  const { dtype, data } = storedData(name, t);
  return backend.loadWeight(name, dtype, as, data);
}

/** Like loadWeight, but returns undefined when `present` is false and complains if the tensor
 *  exists anyway (a bias the config says is absent would otherwise be silently ignored). */
export async function loadOptional(
  src: TensorSource,
  backend: Backend,
  present: boolean,
  name: string,
  shape: readonly number[],
  what: string,
): Promise<Weight | undefined> {
  if (present) return loadWeight(src, backend, name, shape, what);
  if (src.tensors.has(name)) {
    throw new CheckpointError(
      `tensor ${name} is present but ${what} says it should not exist`,
      'config.json and the shards come from different checkpoints?',
    );
  }
  return undefined;
}
