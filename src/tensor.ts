// The minimal tensor types of ovis-ts.
//  - Tensor: an activation — row-major f32 values with a shape. All compute is f32.
//  - Weight: a parameter as the checkpoint stores it (HF name, HF layout, stored dtype).
//    Weights are never widened to an f32 copy: kernels widen bf16 in registers.

import { DTYPE_BYTES, type DType } from './dtype.js';
import { ShapeError } from './errors.js';

export interface Tensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** Dtypes a weight may be stored in (what Ovis checkpoints use). */
export type WeightDType = 'F32' | 'BF16' | 'F16';

/** A parameter by its HF name, e.g. `llm.model.layers.3.self_attn.q_proj.weight` (out, in). */
export interface Weight {
  readonly name: string;
  readonly dtype: WeightDType;
  readonly shape: readonly number[];
}

/** A weight whose raw stored values live in the JS heap (the `ts` backend's weights). */
export interface HostWeight extends Weight {
  /** F32 -> Float32Array; BF16/F16 -> Uint16Array of raw bits. */
  readonly data: Float32Array | Uint16Array;
}

/** Any tensor read from a safetensors file, as stored. */
export interface HostTensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: ArrayBufferView;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Bytes of all the tensors of a header map as stored (safetensors dtype sizes). */
export function storedBytes(tensors: Iterable<{ readonly dtype: DType; readonly shape: readonly number[] }>): number {
  let bytes = 0;
  for (const t of tensors) bytes += numel(t.shape) * DTYPE_BYTES[t.dtype];
  return bytes;
}

export function tensor(shape: readonly number[], data?: Float32Array): Tensor {
  const n = numel(shape);
  if (data && data.length !== n) {
    throw new ShapeError(`tensor: shape [${shape}] needs ${n} values, got ${data.length}`);
  }
  return { shape: [...shape], data: data ?? new Float32Array(n) };
}

export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}
