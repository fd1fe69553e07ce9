// kernels/quant.ts (int4 / int8 GEMV and dequantize-then-GEMM) against its twin
// linearQuantF32 (src/quant/gptq.ts: the sequential f32 sum of the Numerics note), bit for bit,
// over sizes around the lanes (4), the 8-column pass, the words (8 / 4 inputs), the groups, the
// QNB column block and gemm's tiles, with act order; GEMV and GEMM must also give the same bits as
// each other and for any split of the columns (what the backend's threads do: splits at multiples of 8, the panel width). The twin itself is
// held to torch's dequantized weights in gptq.test.ts, and to an f64 product here.
import { describe, expect, it } from 'vitest';
import { EMBEDDED_KERNELS } from '../../src/backend/wasm/generated/kernels-wasm.js';
import {
  DOT_KB,
  DOT8_KB,
  dequantize,
  dot8BlockCount,
  linearQuantDotI8,
  linearQuantDotI16,
  linearQuantF32,
  linearQuantGemvF32,
  panelScales,
  type QuantLinearData,
  quantBlocksI8,
  quantRowI16,
  toPanels,
} from '../../src/quant/gptq.js';
import { randF32, rng } from '../ops/helpers.js';
import { randomQuant } from './random.js';

interface QuantExports {
  gemv_q(
    bits: number,
    K: number,
    N: number,
    gs: number,
    x: number,
    xs: number,
    qp: number,
    sz: number,
    y: number,
    ab: number,
    n0: number,
    n1: number,
  ): void;
  group_sums(bits: number, K: number, gs: number, x: number, xs: number, xq: number): void;
  gemm_q(
    bits: number,
    M: number,
    K: number,
    N: number,
    gs: number,
    x: number,
    qw: number,
    sz: number,
    c: number,
    n0: number,
    n1: number,
    scratch: number,
    kc: number,
    mc: number,
    nc: number,
  ): void;
  gemm_q_scratch_bytes(K: number, kc: number, mc: number, nc: number): number;
  quant_rows_i16(M: number, K: number, x: number, xq: number, ldq: number, ax: number): void;
  gemm_q_dot(
    bits: number,
    M: number,
    K: number,
    N: number,
    gs: number,
    xq: number,
    ldq: number,
    ax: number,
    qw: number,
    sz: number,
    c: number,
    n0: number,
    n1: number,
    scratch: number,
  ): void;
  gemm_q_dot_scratch_bytes(): number;
  dot_block_sums(K: number, gs: number, xq: number, bsum: number): void;
  dot_pair_order(bits: number, K: number, xq: number, xr: number): void;
  gemv_q_dot(
    bits: number,
    K: number,
    N: number,
    gs: number,
    xr: number,
    ax: number,
    bsum: number,
    qw: number,
    sz: number,
    y: number,
    n0: number,
    n1: number,
  ): void;
  quant_blocks_i8(bits: number, K: number, gs: number, x: number, xr16: number, xr8: number, axb: number, xg: number): void;
  quant_rows_i8(
    bits: number,
    M: number,
    Mp: number,
    K: number,
    gs: number,
    B: number,
    G: number,
    x: number,
    xr16: number,
    xr8: number,
    axb: number,
    xg: number,
  ): void;
  gemm_q_dot8(
    bits: number,
    M: number,
    K: number,
    N: number,
    gs: number,
    B: number,
    G: number,
    xr16: number,
    xr8: number,
    axb: number,
    xg: number,
    qw: number,
    sz: number,
    c: number,
    n0: number,
    n1: number,
  ): void;
  gemv_q_dot8(
    bits: number,
    K: number,
    N: number,
    gs: number,
    xr16: number,
    xr8: number,
    axb: number,
    xg: number,
    qw: number,
    sz: number,
    y: number,
    n0: number,
    n1: number,
  ): void;
}

function instantiate(variant: 'simd' | 'relaxed' = 'simd'): { e: QuantExports; mem: WebAssembly.Memory } {
  const entry = EMBEDDED_KERNELS.find((k) => k.variant === variant && (k.group as string) === 'quant');
  if (!entry) throw new Error('quant kernels not embedded: run npm run build:kernels');
  const bytes = Uint8Array.from(atob(entry.base64), (c) => c.charCodeAt(0));
  const mem = new WebAssembly.Memory({ initial: 64, maximum: 65536, shared: true });
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory: mem } });
  return { e: inst.exports as unknown as QuantExports, mem };
}

function run(
  e: QuantExports,
  mem: WebAssembly.Memory,
  d: QuantLinearData,
  x: Float32Array,
  M: number,
  how: 'gemv' | 'gemm' | 'dot' | 'gemvdot' | 'gemvdot8' | 'gemmdot8',
  splits: number[],
): Float32Array {
  const { K, N } = d;
  const xp = new Float32Array(M * K);
  for (let m = 0; m < M; m++) for (let i = 0; i < K; i++) xp[m * K + i] = x[m * K + (d.perm ? d.perm[i] : i)];
  const align = (n: number) => Math.ceil(n / 64) * 64;
  let p = 1024;
  const at = (bytes: number) => {
    const a = p;
    p = align(p + bytes);
    return a;
  };
  const qp = toPanels(d.qweight, K, N, d.bits);
  const px = at(xp.byteLength);
  const pq = at(qp.byteLength);
  const sz = panelScales(d.scales, d.zeros, Math.ceil(K / d.groupSize), N);
  const ps = at(sz.byteLength);
  const py = at(M * N * 4);
  const pxs = at(M * Math.ceil(K / d.groupSize) * 4);
  const pab = at(N * 4);
  const pxq = at(K * 4);
  const [kc, mc, nc] = [256, 128, 1024];
  const psc = at(Math.max(e.gemm_q_scratch_bytes(K, kc, mc, nc), e.gemm_q_dot_scratch_bytes()));
  const ldq = K + (K & 1);
  const pxi = at(M * ldq * 2);
  const pax = at(M * 4);
  const pbs = at((K + 128) * 4);
  const pxr = at(ldq * 2);
  const pr8 = at(K);
  const pab8 = at((Math.ceil(K / DOT8_KB) + Math.ceil(K / d.groupSize)) * 4);
  // gemm_q_dot8's row-major operands, rows padded to a multiple of 4
  const G8 = Math.ceil(K / d.groupSize);
  const B8 = dot8BlockCount(K, d.groupSize);
  const Mp = Math.ceil(M / 4) * 4;
  const pm16 = at(Mp * K * 2);
  const pm8 = at(Mp * K);
  const pmab = at(Mp * B8 * 4);
  const pmxg = at(Mp * G8 * 4);
  const need = Math.ceil(p / 65536) - mem.buffer.byteLength / 65536;
  if (need > 0) mem.grow(need);
  const buf = mem.buffer;
  new Float32Array(buf, px, xp.length).set(xp);
  new Int32Array(buf, pq, qp.length).set(qp);
  new Float32Array(buf, ps, sz.length).set(sz);
  new Float32Array(buf, py, M * N).fill(NaN);
  const bounds = [0, ...splits, N];
  for (let t = 0; t + 1 < bounds.length; t++) {
    const [n0, n1] = [bounds[t], bounds[t + 1]];
    if (how === 'gemmdot8') {
      e.quant_rows_i8(d.bits, M, Mp, K, d.groupSize, B8, G8, px, pm16, pm8, pmab, pmxg);
      e.gemm_q_dot8(d.bits, M, K, N, d.groupSize, B8, G8, pm16, pm8, pmab, pmxg, pq, ps, py, n0, n1);
    } else if (how === 'gemvdot8') {
      for (let m = 0; m < M; m++) {
        e.quant_blocks_i8(d.bits, K, d.groupSize, px + m * K * 4, pxr, pr8, pab8, pxs);
        e.gemv_q_dot8(d.bits, K, N, d.groupSize, pxr, pr8, pab8, pxs, pq, ps, py + m * N * 4, n0, n1);
      }
    } else if (how === 'gemvdot') {
      e.quant_rows_i16(M, K, px, pxi, ldq, pax);
      for (let m = 0; m < M; m++) {
        e.dot_block_sums(K, d.groupSize, pxi + m * ldq * 2, pbs);
        e.dot_pair_order(d.bits, K, pxi + m * ldq * 2, pxr);
        e.gemv_q_dot(d.bits, K, N, d.groupSize, pxr, pax + m * 4, pbs, pq, ps, py + m * N * 4, n0, n1);
      }
    } else if (how === 'dot') {
      e.quant_rows_i16(M, K, px, pxi, ldq, pax);
      e.gemm_q_dot(d.bits, M, K, N, d.groupSize, pxi, ldq, pax, pq, ps, py, n0, n1, psc);
    } else if (how === 'gemm') e.gemm_q(d.bits, M, K, N, d.groupSize, px, pq, ps, py, n0, n1, psc, kc, mc, nc);
    else {
      for (let m = 0; m < M; m++) {
        const xs = pxs + m * Math.ceil(K / d.groupSize) * 4;
        e.group_sums(d.bits, K, d.groupSize, px + m * K * 4, xs, pxq);
        e.gemv_q(d.bits, K, N, d.groupSize, pxq, xs, pq, ps, py + m * N * 4, pab, n0, n1);
      }
    }
  }
  return new Float32Array(buf, py, M * N).slice();
}

function expectBits(got: Float32Array, want: Float32Array, what: string): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < got.length; i++) {
    if (!Object.is(got[i], want[i])) expect.fail(`${what}: first difference at ${i}: got ${got[i]}, want ${want[i]}`);
  }
}

describe('kernels/quant.ts vs the twin, bit for bit', () => {
  const { e, mem } = instantiate();
  // [bits, K, N, gs, act]
  const shapes: [4 | 8, number, number, number, boolean][] = [
    [4, 8, 4, 8, false],
    [4, 8, 8, 8, false],
    [4, 16, 12, 8, false],
    [4, 24, 20, 8, true],
    [4, 64, 36, 16, false],
    [4, 128, 68, 32, true],
    [4, 256, 132, 128, false],
    [4, 200, 8, 200, false],
    [4, 136, 16, 64, false],
    [4, 4096, 16, 4096, false],
    [4, 2176, 24, 128, true],
    [8, 2060, 12, 2060, false],
    [8, 4, 4, 4, false],
    [8, 12, 12, 4, true],
    [8, 64, 36, 16, false],
    [8, 132, 68, 132, false],
    [8, 256, 40, 128, true],
  ];
  for (const [bits, K, N, gs, act] of shapes) {
    for (const M of [1, 2, 3, 4, 5, 9]) {
      it(`int${bits} K=${K} N=${N} gs=${gs}${act ? ' act-order' : ''} M=${M}`, () => {
        const d = randomQuant(K * 131 + N * 7 + bits + (act ? 1 : 0), bits, K, N, gs, act);
        const x = randF32(rng(M * 1000 + K), M * K, 2);
        const want = linearQuantF32(x, M, d);
        const wantV = linearQuantGemvF32(x, M, d);
        expectBits(run(e, mem, d, x, M, 'gemv', []), wantV, 'gemv');
        expectBits(run(e, mem, d, x, M, 'gemm', []), want, 'gemm');
        if (N > 8) {
          const s = [8 * Math.floor(N / 24)];
          expectBits(run(e, mem, d, x, M, 'gemv', s), wantV, 'gemv split');
          expectBits(run(e, mem, d, x, M, 'gemm', s), want, 'gemm split');
        }
      });
    }
  }

  it('real sizes: down_proj int4 g128 (K 8192, N 3072) GEMV, q_proj int8 (K 3072, N 3072) GEMV, a 17-row GEMM over QNB blocks', () => {
    const d4 = randomQuant(1, 4, 8192, 3072, 128, false);
    const x = randF32(rng(2), 8192, 1);
    expectBits(run(e, mem, d4, x, 1, 'gemv', [1024, 2048]), linearQuantGemvF32(x, 1, d4), 'down_proj gemv');
    const d8 = randomQuant(3, 8, 3072, 3072, 128, true);
    const x8 = randF32(rng(4), 3072, 1);
    expectBits(run(e, mem, d8, x8, 1, 'gemv', [1536]), linearQuantGemvF32(x8, 1, d8), 'q_proj int8 gemv');
    const dg = randomQuant(5, 4, 1152, 200, 128, false);
    const xg = randF32(rng(6), 17 * 1152, 1);
    expectBits(run(e, mem, dg, xg, 17, 'gemm', [72]), linearQuantF32(xg, 17, dg), 'gemm 17x1152x200');
  });

  it('both twins are x · dequantize(W)ᵀ within their f32 bounds (f64 reference)', () => {
    for (const bits of [4, 8] as const) {
      const d = randomQuant(7 + bits, bits, 256, 64, 32, true);
      const M = 3;
      const K = 256;
      const N = 64;
      const gs = 32;
      const G = K / gs;
      const x = randF32(rng(8), M * K, 1);
      const W = dequantize(d);
      const y = linearQuantF32(x, M, d);
      const yv = linearQuantGemvF32(x, M, d);
      for (let m = 0; m < M; m++)
        for (let n = 0; n < N; n++) {
          let s = 0;
          let a = 0;
          let bv = 0;
          for (let k = 0; k < K; k++) {
            s += x[m * K + k] * W[n * K + k];
            a += Math.abs(x[m * K + k] * W[n * K + k]);
          }
          // GEMV bound: per group (gs + 3)·u·Σ|x|·max(q, z)·s, plus the G adds of the groups
          for (let g = 0; g < G; g++) {
            let sx = 0;
            for (let i = g * gs; i < (g + 1) * gs; i++) sx += Math.abs(x[m * K + (d.perm ? d.perm[i] : i)]);
            bv += (gs + 3) * 2 ** -24 * sx * 2 ** bits * d.scales[g * N + n];
          }
          expect(Math.abs(y[m * N + n] - s)).toBeLessThanOrEqual((K + 2) * 2 ** -24 * a);
          expect(Math.abs(yv[m * N + n] - s)).toBeLessThanOrEqual(bv + (G + 1) * 2 ** -24 * a);
        }
    }
  });

  // the opt-in integer-dot GEMM and GEMV: their own twin, bit for bit (blocks of DOT_KB inside groups,
  // edge tiles in rows and columns, the padded half panel, groups of 4 to K, act order)
  const dotShapes: [4 | 8, number, number, number, boolean][] = [
    [8, 4, 4, 4, false],
    [8, 12, 12, 4, true],
    [4, 16, 12, 8, false],
    [4, 64, 36, 16, true],
    [8, 132, 68, 132, false],
    [8, 256, 40, 128, true],
    [4, 384, 20, 384, false],
    [8, 520, 524, 8, false],
    [4, 1024, 8, 256, false],
  ];
  for (const [bits, K, N, gs, act] of dotShapes) {
    it(`gemm_q_dot int${bits} K=${K} N=${N} gs=${gs}${act ? ' act-order' : ''}`, () => {
      const d = randomQuant(K * 37 + N + bits, bits, K, N, gs, act);
      for (const M of [1, 4, 7, 131]) {
        const x = randF32(rng(M * 7 + K), M * K, 2);
        const want = linearQuantDotI16(x, M, d);
        expectBits(run(e, mem, d, x, M, 'dot', []), want, `dot M=${M}`);
        if (N > 8) expectBits(run(e, mem, d, x, M, 'dot', [8 * Math.floor(N / 24)]), want, `dot M=${M} split`);
        if (M <= 7) {
          // the GEMV forms Σ xq·q − zero·Σ xq: the same integers, so the same bits
          expectBits(run(e, mem, d, x, M, 'gemvdot', []), want, `gemv dot M=${M}`);
          if (N > 8) expectBits(run(e, mem, d, x, M, 'gemvdot', [8 * Math.floor(N / 24)]), want, `gemv dot M=${M} split`);
        }
      }
    });
  }

  // the int8-activation GEMV (quantDot 'int8'): its twin's bits in the default build (int16 dots on
  // int8 values) and in the relaxed build (i8 dots on int4 weights), for any column split; + shapes
  // whose groups are not whole blocks of 32 (gs 48: 32 + 16; gs = K = 40: 32 + 8)
  const relaxed = instantiate('relaxed');
  for (const [bits, K, N, gs, act] of [...dotShapes, [4, 96, 28, 48, true], [4, 40, 20, 40, false], [8, 144, 36, 48, false]] as const) {
    it(`gemv_q_dot8 / gemm_q_dot8 int${bits} K=${K} N=${N} gs=${gs}${act ? ' act-order' : ''}, default and relaxed builds`, () => {
      const d = randomQuant(K * 41 + N + bits, bits, K, N, gs, act);
      for (const M of [1, 3, 4, 6, 37]) {
        const x = randF32(rng(M * 11 + K), M * K, 2);
        const want = linearQuantDotI8(x, M, d);
        for (const [name, k] of [
          ['simd', { e, mem }],
          ['relaxed', relaxed],
        ] as const) {
          // the GEMM (any M, tiles of 4 rows) and, for M <= 3, the GEMV: the same bits
          expectBits(run(k.e, k.mem, d, x, M, 'gemmdot8', []), want, `${name} gemm M=${M}`);
          if (N > 8) expectBits(run(k.e, k.mem, d, x, M, 'gemmdot8', [8 * Math.floor(N / 24)]), want, `${name} gemm M=${M} split`);
          if (M > 3) continue;
          expectBits(run(k.e, k.mem, d, x, M, 'gemvdot8', []), want, `${name} M=${M}`);
          if (N > 8) expectBits(run(k.e, k.mem, d, x, M, 'gemvdot8', [8 * Math.floor(N / 24)]), want, `${name} M=${M} split`);
        }
      }
    });
  }

  it('quant_blocks_i8 (vector blocks of 32 and scalar tails, both builds) gives quantBlocksI8 on edge values: NaN, ±inf, ±0, ties, subnormals, all-zero blocks', () => {
    const K = 192;
    const r = rng(77);
    const x = new Float32Array(K);
    for (let i = 0; i < K; i++) x[i] = (r() - 0.5) * 8;
    x.fill(0, 32, 64); // an all-zero block: scale 0, codes 0
    x[3] = Number.NaN; // block 0: every code 0, scale NaN
    x[70] = Number.POSITIVE_INFINITY; // block 2: inv 0, the inf's code 0
    x[100] = -0;
    x[101] = -1e-40; // subnormal
    // block 4 (128..159): exact ties of x·127/amax (amax 127: x·1 = k + 0.5 rounds to even)
    for (let i = 128; i < 160; i++) x[i] = i === 128 ? 127 : (i % 7) - 3 + 0.5;
    x[190] = Number.NEGATIVE_INFINITY;
    for (const variant of ['simd', 'relaxed'] as const) {
      const { e, mem } = instantiate(variant);
      for (const [bits, gs] of [
        [4, 32],
        [4, 48],
        [4, 192],
        [8, 64],
        [8, 12],
      ] as const) {
        const G = Math.ceil(K / gs);
        const B = dot8BlockCount(K, gs);
        const [px, p16, p8, pab, pxg] = [1024, 2048, 3072, 4096, 5120];
        new Float32Array(mem.buffer, px, K).set(x);
        new Uint8Array(mem.buffer, p16, 4096 + 1024).fill(0xee);
        e.quant_blocks_i8(bits, K, gs, px, p16, p8, pab, pxg);
        const want = quantBlocksI8(x, K, gs);
        const what = `${variant} int${bits} gs=${gs}`;
        expectBits(new Float32Array(mem.buffer, pab, B).slice(), want.axb, `${what} block scales`);
        expectBits(new Float32Array(mem.buffer, pxg, G).slice(), want.xg, `${what} group sums`);
        // xr16 in dot_pair_order's order, xr8 (int4) evens then odds per word
        const per = 32 / bits;
        const half = per / 2;
        const x16 = new Int16Array(mem.buffer, p16, K);
        const x8 = new Int8Array(mem.buffer, p8, K);
        for (let i = 0; i < K; i++) {
          const w = i - (i % per);
          const j = i % per;
          const o16 = w + (j < half ? 2 * j : 2 * (j - half) + 1);
          if (x16[o16] !== want.xq[i]) expect.fail(`${what}: xr16 of input ${i}: got ${x16[o16]}, want ${want.xq[i]}`);
          if (bits === 4 && x8[w + (j & 1 ? 4 + (j >> 1) : j >> 1)] !== want.xq[i]) expect.fail(`${what}: xr8 of input ${i}`);
        }
      }
    }
  });

  it('the int8-activation twin is x · dequantize(W)ᵀ within the int8 rounding of x per block plus its f32 sums (f64 reference)', () => {
    for (const [bits, gs] of [
      [4, 128],
      [4, 48],
      [8, 64],
    ] as const) {
      const K = 384;
      const N = 16;
      const M = 3;
      const d = randomQuant(21 + bits, bits, K, N, gs, true);
      const x = randF32(rng(22), M * K, 1);
      x[5] = 40; // an outlier: only its own block of 32 loses resolution
      const W = dequantize(d);
      const y = linearQuantDotI8(x, M, d);
      const G = Math.ceil(K / gs);
      const u = 2 ** -24;
      for (let m = 0; m < M; m++) {
        // the blocks' scales, in perm order as the twin sees x
        const xp = new Float32Array(K);
        for (let i = 0; i < K; i++) xp[i] = x[m * K + (d.perm ? d.perm[i] : i)];
        const { axb } = quantBlocksI8(xp, K, gs);
        const blockOf = new Int32Array(K);
        for (let g0 = 0, b = 0; g0 < K; g0 += gs)
          for (let k0 = g0; k0 < Math.min(K, g0 + gs); k0 += DOT8_KB, b++) blockOf.fill(b, k0, Math.min(K, g0 + gs, k0 + DOT8_KB));
        for (let n = 0; n < N; n++) {
          let s = 0;
          let rounding = 0; // Σ 0.5·axb·|w|: x rounded to its block's int8 grid
          let big = 0; // Σ (|x| + axb)·max(q, zero)·scale: what the f32 sums are rounded against
          for (let i = 0; i < K; i++) {
            const w = W[n * K + (d.perm ? d.perm[i] : i)];
            const g = Math.floor(i / gs);
            s += xp[i] * w;
            rounding += 0.5 * (1 + 1e-4) * axb[blockOf[i]] * Math.abs(w);
            big += (Math.abs(xp[i]) + axb[blockOf[i]]) * 2 ** bits * d.scales[g * N + n];
          }
          expect(Math.abs(y[m * N + n] - s)).toBeLessThanOrEqual(rounding + (gs / DOT8_KB + G + 6) * u * big);
        }
        // and the rounding term is the dominant one: x on a grid of 127 steps per block
        expect(axb.every((a) => a > 0)).toBe(true);
      }
    }
  });

  it('the integer-dot twin is x · dequantize(W)ᵀ within the int16 rounding of x plus its f32 sums (f64 reference)', () => {
    for (const [bits, gs] of [
      [4, 32],
      [8, 256],
    ] as const) {
      const K = 512;
      const N = 16;
      const M = 3;
      const d = randomQuant(11 + bits, bits, K, N, gs, true);
      const x = randF32(rng(12), M * K, 1);
      x[5] = 40; // an outlier: the other inputs of row 0 lose resolution
      const W = dequantize(d);
      const y = linearQuantDotI16(x, M, d);
      const blocks = K / Math.min(gs, DOT_KB);
      for (let m = 0; m < M; m++) {
        const { ax } = quantRowI16(x.subarray(m * K, (m + 1) * K));
        for (let n = 0; n < N; n++) {
          let s = 0;
          let a = 0;
          let w1 = 0;
          for (let k = 0; k < K; k++) {
            s += x[m * K + k] * W[n * K + k];
            a += Math.abs(x[m * K + k] * W[n * K + k]);
            w1 += Math.abs(W[n * K + k]);
          }
          // |x_i − xq_i·ax| <= 0.5·ax (+ the f32 rounding of x·inv), then blocks + 2 f32 roundings
          expect(Math.abs(y[m * N + n] - s)).toBeLessThanOrEqual(
            0.5 * (1 + 1e-4) * ax * w1 + (blocks + 3) * 2 ** -24 * (a + 0.5 * ax * w1),
          );
        }
      }
    }
  });
});
