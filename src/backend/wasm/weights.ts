// Weight placement: weights copied once, as stored (bf16 stays bf16), into the backend's
// weight memories (memory.ts). A wasm32 memory addresses at most 4 GiB and the checkpoints
// are 8-20 GB, so a weight goes to the current weight memory while that memory's weights stay
// within `weightBytesPerMemory` (default 3 GiB, leaving <= 1 GiB of scratch for the ops that
// run there); otherwise a new memory is started and attached to the workers. An op that uses
// a weight runs in the memory holding it. docs/kernels.md "Weight store beyond 4 GiB".

import { f16ToF32 } from '../../dtype.js';
import { BackendError, InputError, ShapeError } from '../../errors.js';
import { panelScales, type QuantBits, type QuantLinearData, type QuantWeight, toPanels } from '../../quant/gptq.js';
import { fmtShape, numel, type Weight, type WeightDType } from '../../tensor.js';
import type { KernelMemory, Memories } from './memory.js';

const GIB = 2 ** 30;
/** Default weight bytes per memory before a new memory is started. */
export const DEFAULT_WEIGHT_BYTES_PER_MEMORY = 3 * GIB;

/** A weight held by the wasm backend: which memory, where, and how it is stored there. */
export class WasmWeight implements Weight {
  constructor(
    readonly name: string,
    /** The checkpoint's dtype. */
    readonly dtype: WeightDType,
    readonly shape: readonly number[],
    readonly mem: number,
    readonly ptr: number,
    /** How the values sit in memory: BF16 as raw bits, F32 as is (F16 is widened to F32 at load:
     *  no Ovis release ships f16, and f16 -> f32 is exact). */
    readonly stored: 'F32' | 'BF16',
    readonly numel: number,
    /** The backend instance that loaded it (a weight is only valid in its own store). */
    readonly owner: number,
  ) {}
}

/** A GPTQ Linear held by the wasm backend (kernels/quant.ts layout): one block in one memory with
 *  the 8-column panels of qweight, then the f32 scales and zeros in panel lines (panelScales) and
 *  the f32 bias [N];
 *  the act-order permutation of the inputs stays on the host (x is permuted before the copy). */
export class WasmQuantWeight implements QuantWeight {
  readonly kind = 'gptq' as const;
  constructor(
    readonly name: string,
    readonly bits: QuantBits,
    readonly shape: readonly [number, number],
    readonly groupSize: number,
    readonly mem: number,
    readonly qp: number,
    /** Scales and zeros, panelScales' layout. */
    readonly sz: number,
    /** 0 without a bias. */
    readonly bias: number,
    readonly perm: Int32Array | null,
    readonly owner: number,
  ) {}
  get hasBias(): boolean {
    return this.bias !== 0;
  }
}

export class WeightStore {
  /** The memory new weights go to (KV-arena memories never hold weights). */
  private weightMem = 0;

  constructor(
    private readonly mems: Memories,
    private readonly owner: number,
    private readonly weightCap: number,
  ) {}

  load(name: string, dtype: WeightDType, shape: readonly number[], data: Float32Array | Uint16Array): WasmWeight {
    const n = numel(shape);
    if (data.length !== n) throw new ShapeError(`loadWeight ${name}: shape ${fmtShape(shape)} needs ${n} values, got ${data.length}`);
    const isF32 = dtype === 'F32';
    if (isF32 !== data instanceof Float32Array) {
      throw new InputError(
        `loadWeight ${name}: dtype ${dtype} expects ${isF32 ? 'Float32Array' : 'Uint16Array (raw bits)'}, got ${data.constructor.name}`,
      );
    }
    const stored = dtype === 'BF16' ? 'BF16' : 'F32';
    const bytes = n * (stored === 'BF16' ? 2 : 4);
    const { mem, ptr } = this.place(name, bytes);
    if (dtype === 'BF16') mem.u16(ptr, n).set(data as Uint16Array);
    else if (dtype === 'F32') mem.f32(ptr, n).set(data as Float32Array);
    else {
      const dst = mem.f32(ptr, n);
      const src = data as Uint16Array;
      for (let i = 0; i < n; i++) dst[i] = f16ToF32(src[i]);
    }
    return new WasmWeight(name, dtype, [...shape], mem.index, ptr, stored, n, this.owner);
  }

  /** Reserve the weight's bytes and let `fill` write them in place (a file read straight into
   *  wasm memory). */
  async loadFrom(
    name: string,
    dtype: 'BF16' | 'F32',
    shape: readonly number[],
    fill: (dst: Uint8Array) => Promise<void>,
  ): Promise<WasmWeight> {
    if (dtype !== 'BF16' && dtype !== 'F32')
      throw new InputError(`loadWeightFrom ${name}: dtype must be BF16 or F32 (kept as stored), got ${dtype as string}`);
    const n = numel(shape);
    const bytes = n * (dtype === 'BF16' ? 2 : 4);
    const { mem, ptr } = this.place(name, bytes);
    try {
      await fill(new Uint8Array(mem.memory.buffer, ptr, bytes));
    } catch (e) {
      if (mem.weightTop === ptr + bytes) mem.weightTop = ptr; // give the space back when it is the last weight
      throw e;
    }
    return new WasmWeight(name, dtype, [...shape], mem.index, ptr, dtype, n, this.owner);
  }

  /** A quantized Linear: panels, scale/zero lines (and bias) copied once into one weight block. */
  loadQuant(d: QuantLinearData): WasmQuantWeight {
    const { K, N } = d;
    const words = Math.ceil(N / 8) * ((K * d.bits) / 32) * 8; // toPanels' layout
    const G = d.scales.length / N;
    const a16 = (n: number) => Math.ceil(n / 16) * 16;
    const lines = Math.ceil(N / 8) * G * 16; // panelScales' floats
    const oS = a16(words * 4);
    const oB = oS + a16(lines * 4);
    const bytes = oB + (d.bias ? a16(N * 4) : 0);
    const { mem, ptr } = this.place(d.name, bytes);
    toPanels(d.qweight, K, N, d.bits, new Int32Array(mem.memory.buffer, ptr, words)); // straight into wasm memory
    panelScales(d.scales, d.zeros, G, N, mem.f32(ptr + oS, lines));
    if (d.bias) mem.f32(ptr + oB, N).set(d.bias);
    return new WasmQuantWeight(d.name, d.bits, [N, K], d.groupSize, mem.index, ptr, ptr + oS, d.bias ? ptr + oB : 0, d.perm, this.owner);
  }

  /** `q` as this store's quantized weight, or a BackendError naming the op. */
  ownQuant(q: QuantWeight, op: string): WasmQuantWeight {
    if (!(q instanceof WasmQuantWeight) || q.owner !== this.owner) {
      throw new BackendError(
        `${op}: quantized weight '${q.name}' was not loaded by this wasm backend`,
        'load it with backend.loadQuantLinear() of the backend that runs the model',
      );
    }
    return q;
  }

  /** `w` as this store's weight, or a BackendError naming the op. */
  own(w: Weight, op: string): WasmWeight {
    if (!(w instanceof WasmWeight) || w.owner !== this.owner) {
      throw new BackendError(
        `${op}: weight '${w.name}' was not loaded by this wasm backend`,
        'load weights with backend.loadWeight() of the backend that runs the model',
      );
    }
    return w;
  }

  /** Widened f32 copy of a weight. */
  read(W: WasmWeight): Float32Array {
    const mem = this.mems.get(W.mem);
    if (W.stored === 'F32') return mem.f32(W.ptr, W.numel).slice();
    const out = new Float32Array(W.numel);
    const o = new Uint32Array(out.buffer);
    const src = mem.u16(W.ptr, W.numel);
    for (let i = 0; i < W.numel; i++) o[i] = src[i] << 16;
    return out;
  }

  /** Reserve `bytes` for a weight in the current memory, or start a new memory when it would
   *  pass weightBytesPerMemory. */
  private place(name: string, bytes: number): { mem: KernelMemory; ptr: number } {
    if (bytes > this.weightCap && bytes > 3.5 * GIB) {
      throw new BackendError(`loadWeight ${name}: ${(bytes / GIB).toFixed(2)} GiB does not fit one wasm32 memory (4 GiB)`);
    }
    let mem = this.mems.get(this.weightMem);
    if (mem.weightTop > 65536 && mem.weightTop + bytes > this.weightCap + 65536) {
      mem = this.mems.add('weights');
      this.weightMem = mem.index;
    }
    return { mem, ptr: mem.allocWeight(bytes) };
  }
}
