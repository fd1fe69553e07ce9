// Round-to-nearest quantization of one nn.Linear weight into GPTQ's storage (`ovis quantize`,
// `ovis synth --quant`). The scheme is reference/make_gptq.py's `rtn`, and the tiny fixtures hold
// this file to it bit for bit (test/quant/quantize.test.ts):
//   per group g of gs inputs and output n:  lo = min(0, min w), hi = max(0, max w)
//   sym:  hi = max(−lo, hi), lo = −hi, zero = 2^(b−1)
//   lo == hi (an all-zero group): lo, hi = −1, 1
//   scale = fp16(f32(f32(hi − lo) / maxq))  (round to nearest even; 0 -> 2^-24, the smallest fp16)
//   asym: zero = clamp(round(f32(−lo / scale)), 1, maxq)   (>= 1: GPTQ stores zero − 1)
//   q = clamp(round(f32(w / scale)) + zero, 0, maxq)      round: half to even, like torch.round
// Every division is an f32 division (an f64 division of two f32 values rounded once to f32 is the
// correctly rounded f32 quotient). No act order: g_idx = k // gs.
// Shapes: W (N, K) as nn.Linear stores it · b bits · gs group size (K for −1) · G = ceil(K / gs).

import { f16ToF32, widenBf16, widenF16 } from '../dtype.js';
import { InputError } from '../errors.js';
import type { HostTensor } from '../tensor.js';
import { groupCount, groupSize, prepareGptqLinear, type QuantBits, type QuantLinearData } from './gptq.js';

/** f32 value -> fp16 bits, round to nearest even (torch's .to(float16)); overflow -> ±inf. */
const F32_SCRATCH = new Float32Array(1);
const U32_SCRATCH = new Uint32Array(F32_SCRATCH.buffer);
export function f32ToF16(x: number): number {
  F32_SCRATCH[0] = x;
  const u = U32_SCRATCH[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  const man = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (man ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    // subnormal half: value = m · 2^-24
    if (e < -10) return sign; // below half of the smallest subnormal -> 0 (ties handled below)
    const m = man | 0x800000; // 24-bit significand
    const shift = 14 - e; // 24-bit significand -> 10-bit at 2^-24
    const q = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    const r = rem > half || (rem === half && q & 1) ? q + 1 : q;
    return sign | r;
  }
  const q = man >>> 13;
  const rem = man & 0x1fff;
  let h = (e << 10) | q;
  if (rem > 0x1000 || (rem === 0x1000 && q & 1)) h++; // carries into the exponent correctly
  return sign | h;
}

/** Python / torch round(): half to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export interface GptqTensors {
  qweight: Int32Array; // [K·b/32, N]
  qzeros: Int32Array; //  [G, N·b/32]  zero − 1
  scales: Uint16Array; // [G, N] fp16 bits
  g_idx: Int32Array; //   [K]
}

/** Incremental quantizer of one Linear: feed row blocks of W (output rows n0..), then take the tensors. */
export class RtnQuantizer {
  readonly G: number;
  readonly gs: number;
  readonly t: GptqTensors;
  private readonly maxq: number;

  constructor(
    readonly N: number,
    readonly K: number,
    readonly bits: QuantBits,
    groupSizeOpt: number,
    readonly sym: boolean,
    readonly name = 'weight',
  ) {
    const per = 32 / bits;
    this.gs = groupSize(K, groupSizeOpt);
    this.G = groupCount(K, groupSizeOpt);
    if (K % per || N % per || this.gs % per) {
      throw new InputError(
        `${name}: (${N}, ${K}) with group size ${this.gs} cannot be packed at ${bits} bits`,
        `in/out features and the group size must be multiples of ${per}`,
      );
    }
    this.maxq = (1 << bits) - 1;
    this.t = {
      qweight: new Int32Array((K / per) * N),
      qzeros: new Int32Array(this.G * (N / per)),
      scales: new Uint16Array(this.G * N),
      g_idx: Int32Array.from({ length: K }, (_, k) => Math.floor(k / this.gs)),
    };
  }

  /** Quantize rows n0 .. n0 + rows − 1 of W; `w` holds them row-major ((rows, K) f32 values). */
  addRows(n0: number, w: Float32Array): void {
    const { N, K, bits, gs, G, maxq, sym } = this;
    const f = Math.fround;
    const per = 32 / bits;
    const rows = w.length / K;
    // One column of qweight is assembled here a word at a time, then stored with stride N: the
    // words of 16-32 neighbouring rows share cache lines (a read-modify-write per input at stride
    // N·4 bytes ran at 30 M weights/s on the lm_head; this at ~5x that).
    const words = new Int32Array(K / per);
    for (let r = 0; r < rows; r++) {
      const n = n0 + r;
      const row = r * K;
      for (let g = 0; g < G; g++) {
        const k0 = g * gs;
        const k1 = Math.min(K, k0 + gs);
        let lo = 0;
        let hi = 0;
        for (let k = k0; k < k1; k++) {
          const v = w[row + k];
          lo = Math.min(lo, v); // not `if (v < lo)`: on real weights that branch is a coin flip
          hi = Math.max(hi, v);
        }
        if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new InputError(`${this.name}: row ${n} has a non-finite value`);
        if (sym) {
          hi = Math.max(-lo, hi);
          lo = -hi;
        }
        if (lo === hi) {
          lo = -1;
          hi = 1;
        }
        let sh = f32ToF16(f(f(hi - lo) / maxq));
        if ((sh & 0x7fff) === 0) sh = 1; // 2^-24
        if ((sh & 0x7c00) === 0x7c00)
          throw new InputError(`${this.name}: group ${g} of row ${n} needs a scale beyond fp16 (|w| up to ${Math.max(-lo, hi)})`);
        const s = f16ToF32(sh);
        const z = sym ? 1 << (bits - 1) : Math.min(maxq, Math.max(1, roundHalfEven(f(-lo / s))));
        this.t.scales[g * N + n] = sh;
        this.t.qzeros[g * (N / per) + ((n / per) | 0)] |= ((z - 1) & maxq) << (bits * (n % per));
        packGroup(w, row + k0, k1 - k0, s, z, bits, maxq, words, k0 / per);
      }
      const qw = this.t.qweight;
      for (let i = 0, o = n; i < words.length; i++, o += N) qw[o] = words[i];
    }
  }
}

/**
 * q = clamp(round_half_even(f32(w / s)) + z, 0, maxq) for the `len` inputs of one group from w[at],
 * packed 32/b to a word (input j of a word in bits [b·j, b·j + b)) into words[w0..]. `len` is a
 * multiple of 32/b (the group size is, checked by RtnQuantizer). A function of its own: V8
 * optimizes the small loop well, inside addRows it ran at half the speed.
 */
function packGroup(
  w: Float32Array,
  at: number,
  len: number,
  s: number,
  z: number,
  bits: number,
  maxq: number,
  words: Int32Array,
  w0: number,
): void {
  const f = Math.fround;
  const per = 32 / bits;
  for (let i = 0, o = w0; i < len; i += per, o++) {
    let word = 0;
    for (let j = 0; j < per; j++) {
      const v = f(w[at + i + j] / s);
      // half up (v + 0.5 is exact in f64; floor is one instruction, Math.round a data-dependent
      // branch that random weights mispredict half the time), then half to even as torch.round
      let q = Math.floor(v + 0.5);
      if (q - v === 0.5 && q & 1) q -= 1; // (|v| >= 2^23 is an integer: never taken)
      q += z;
      word |= (q < 0 ? 0 : q > maxq ? maxq : q) << (bits * j);
    }
    words[o] = word;
  }
}

/** Rows of W widened to f32 per block while quantizing (bounds the f32 copy: 1024 x 3072 = 12 MB). */
const RTN_BLOCK_ROWS = 1024;

/** Rows n0 .. n0 + rows − 1 of a float weight, as stored (BF16 / F16 bits or F32). */
export type RowReader = (n0: number, rows: number) => Promise<HostTensor>;

/** A RowReader over a tensor already in memory. */
export function rowsOf(t: HostTensor): RowReader {
  const K = t.shape[1];
  return async (n0, rows) => {
    const d = t.data as Float32Array | Uint16Array;
    return { dtype: t.dtype, shape: [rows, K], data: d.subarray(n0 * K, (n0 + rows) * K) };
  };
}

/**
 * A float weight W (N, K), read a block of rows at a time, -> the kernels' QuantLinearData,
 * quantized here in memory with the quantizer above (symmetric, group `gs`, no act order):
 * `--quant-lm-head` (docs/quantization.md).
 */
export async function rtnQuantLinear(
  name: string,
  N: number,
  K: number,
  read: RowReader,
  bits: QuantBits,
  gs: number,
): Promise<QuantLinearData> {
  const rq = new RtnQuantizer(N, K, bits, gs, true, name);
  const f32 = new Float32Array(Math.min(N, RTN_BLOCK_ROWS) * K);
  for (let n0 = 0; n0 < N; n0 += RTN_BLOCK_ROWS) {
    const rows = Math.min(RTN_BLOCK_ROWS, N - n0);
    const t = await read(n0, rows);
    const out = f32.subarray(0, rows * K);
    const d = t.data;
    if (t.dtype === 'F32') out.set(d as Float32Array);
    else if (t.dtype === 'BF16') widenBf16(d as Uint16Array, out);
    else if (t.dtype === 'F16') widenF16(d as Uint16Array, out);
    else throw new InputError(`${name}: dtype ${t.dtype} is not a float weight (expected BF16, F16 or F32)`);
    rq.addRows(n0, out);
  }
  const tensor = (shape: number[], data: ArrayBufferView, dtype: 'I32' | 'F16'): HostTensor => ({ dtype, shape, data });
  const per = 32 / bits;
  const cfg = {
    quant_method: 'gptq',
    bits,
    group_size: rq.gs,
    sym: true,
    desc_act: false,
    checkpoint_format: 'gptq',
    source: name,
  } as const;
  return prepareGptqLinear(
    name,
    N,
    K,
    cfg,
    {
      qweight: tensor([K / per, N], rq.t.qweight, 'I32'),
      qzeros: tensor([rq.G, N / per], rq.t.qzeros, 'I32'),
      scales: tensor([rq.G, N], rq.t.scales, 'F16'),
      g_idx: tensor([K], rq.t.g_idx, 'I32'),
    },
    name,
    false,
  );
}
