// The `ts` backend: every Backend method is the readable operator of src/ops/ (the
// definitions). Weights stay in their stored dtype in the JS heap (HostWeight: F32 values or
// BF16/F16 raw bits) and are widened row by row inside the operators.

import { BackendError, ShapeError } from '../errors.js';
import * as ops from '../ops/index.js';
import { type HostWeight, numel, type Tensor, type Weight, type WeightDType } from '../tensor.js';
import type { AttentionOptions, Backend } from './backend.js';

export class TsBackend implements Backend {
  readonly name = 'ts' as const;
  /** Keeps `data` by reference (no copy): the caller hands it over. */
  loadWeight(name: string, dtype: WeightDType, shape: readonly number[], data: Float32Array | Uint16Array): Weight {
    const wantArray = dtype === 'F32' ? 'Float32Array' : 'Uint16Array';
    if ((dtype === 'F32') !== data instanceof Float32Array) {
      throw new BackendError(`loadWeight ${name}: dtype ${dtype} needs a ${wantArray}, got ${data.constructor.name}`);
    }
    if (dtype !== 'F32' && dtype !== 'BF16' && dtype !== 'F16') {
      throw new BackendError(`loadWeight ${name}: unsupported dtype ${dtype as string}`, 'expected F32, BF16 or F16');
    }
    if (numel(shape) !== data.length) {
      throw new ShapeError(`loadWeight ${name}: shape [${shape}] needs ${numel(shape)} values, got ${data.length}`);
    }
    const w: HostWeight = { name, dtype, shape: [...shape], data };
    return w;
  }

  readWeight(w: Weight): Float32Array {
    return ops.widenAll(this.h(w));
  }

  dispose(): void {
    // Nothing to free: weights are plain JS objects the model holds; dropping the model's
    // references lets the GC reclaim them. (The wasm backend frees its memories here.)
  }

  linear(x: Tensor, w: Weight, b?: Weight): Tensor {
    return ops.linear(x, this.h(w), b ? this.h(b) : undefined);
  }
  patchEmbed(pixels: Tensor, w: Weight, b: Weight, patch: number): Tensor {
    return ops.linear(ops.unfoldPatches(pixels, patch), this.h(w), this.h(b));
  }
  matmul(a: Tensor, w: Weight): Tensor {
    return ops.matmul(a, this.h(w));
  }
  embedding(ids: Int32Array, table: Weight): Tensor {
    return ops.embedding(ids, this.h(table));
  }
  layerNorm(x: Tensor, w: Weight, b: Weight, eps: number): Tensor {
    return ops.layerNorm(x, this.h(w), this.h(b), eps);
  }
  rmsNorm(x: Tensor, w: Weight, eps: number, offset: 0 | 1): Tensor {
    return ops.rmsNorm(x, this.h(w), eps, offset);
  }
  geluTanh(x: Tensor): Tensor {
    return ops.geluTanh(x);
  }
  gatedAct(gate: Tensor, up: Tensor, act: 'silu' | 'gelu_tanh'): Tensor {
    return ops.gatedAct(gate, up, act);
  }
  add(a: Tensor, b: Tensor): Tensor {
    return ops.add(a, b);
  }
  scale(x: Tensor, s: number): Tensor {
    return ops.scale(x, s);
  }
  softmax(x: Tensor): Tensor {
    return ops.softmax(x);
  }
  softcap(x: Tensor, c: number): Tensor {
    return ops.softcap(x, c);
  }
  ropeInPlace(x: Tensor, nHeads: number, headDim: number, cos: Float32Array, sin: Float32Array): void {
    ops.ropeInPlace(x, nHeads, headDim, cos, sin);
  }
  attention(q: Tensor, k: Tensor, v: Tensor, o: AttentionOptions): Tensor {
    return ops.attention(q, k, v, o);
  }

  private h(w: Weight): HostWeight {
    return ops.host(w);
  }
}
