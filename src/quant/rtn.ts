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

import { f16ToF32 } from '../dtype.js';
import { InputError } from '../errors.js';
import { groupCount, groupSize, type QuantBits } from './gptq.js';

/** f32 value -> fp16 bits, round to nearest even (torch's .to(float16)); overflow -> ±inf. */
export function f32ToF16(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0];
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
    this.maxq = 2 ** bits - 1;
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
          if (v < lo) lo = v;
          if (v > hi) hi = v;
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
        const z = sym ? 2 ** (bits - 1) : Math.min(maxq, Math.max(1, roundHalfEven(f(-lo / s))));
        this.t.scales[g * N + n] = sh;
        this.t.qzeros[g * (N / per) + ((n / per) | 0)] |= ((z - 1) & maxq) << (bits * (n % per));
        for (let k = k0; k < k1; k++) {
          const q = Math.min(maxq, Math.max(0, roundHalfEven(f(w[row + k] / s)) + z));
          this.t.qweight[((k / per) | 0) * N + n] |= q << (bits * (k % per));
        }
      }
    }
  }
}
