// The wasm backend's quantized Linear (Backend.loadQuantLinear / linearQuant) at 1, 2 and 3
// threads: the same bits as the twins (linearQuantGemvF32 for M <= 3 rows, linearQuantF32 above),
// so neither the thread count nor the task split changes a value; with act order, a bias, int4
// and int8, sizes large enough that the work is split across threads. The ts backend's readable
// op (f64 accumulation) is held to an f64 product of the dequantized weight.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TsBackend } from '../../src/backend/ts.js';
import { createWasmBackend, type WasmBackend } from '../../src/backend/wasm.js';
import {
  dequantize,
  linearQuantDotI8,
  linearQuantDotI16,
  linearQuantF32,
  linearQuantGemvF32,
  type QuantLinearData,
} from '../../src/quant/gptq.js';
import { randF32, rng } from '../ops/helpers.js';
import { randomQuant } from './random.js';

function firstDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

const CASES: [4 | 8, number, number, number, boolean, boolean][] = [
  [4, 3072, 1024, 128, false, false],
  [4, 1024, 2056, 64, true, true],
  [8, 2048, 1032, 128, true, false],
  [8, 512, 768, -1, false, true],
];

describe("wasm linearQuant: the twins' bits at 1, 2, 3 threads", () => {
  const backends: WasmBackend[] = [];
  beforeAll(async () => {
    for (const threads of [1, 2, 3]) backends.push(await createWasmBackend({ threads }));
  });
  afterAll(() => {
    for (const b of backends) b.dispose();
  });

  for (const [bits, K, N, gs0, act, bias] of CASES) {
    it(`int${bits} ${N}x${K} g${gs0}${act ? ' act-order' : ''}${bias ? ' bias' : ''}`, () => {
      const gs = gs0 === -1 ? K : gs0;
      const d = randomQuant(K + N + bits, bits, K, N, gs, act, bias);
      for (const M of [1, 3, 4, 37]) {
        const x = randF32(rng(M * 7 + K), M * K, 2);
        const want = M <= 3 ? linearQuantGemvF32(x, M, d) : linearQuantF32(x, M, d);
        for (const be of backends) {
          const w = be.loadQuantLinear(d);
          const y = be.linearQuant({ shape: [M, K], data: x }, w);
          expect(y.shape).toEqual([M, N]);
          const i = firstDiff(y.data, want);
          if (i >= 0) expect.fail(`M=${M}, ${be.threads} threads: first difference at ${i}: got ${y.data[i]}, twin ${want[i]}`);
        }
      }
    });
  }

  it("quantDot (opt-in): gemv_q_dot (<= 3 rows) and gemm_q_dot (>= 4) give linearQuantDotI16's bits at 1, 2, 3 threads", async () => {
    const dots: WasmBackend[] = [];
    for (const threads of [1, 2, 3]) dots.push(await createWasmBackend({ threads, quantDot: true }));
    try {
      for (const [bits, K, N, gs0, act, bias] of CASES) {
        const gs = gs0 === -1 ? K : gs0;
        const d = randomQuant(K + N + bits, bits, K, N, gs, act, bias);
        for (const M of [1, 3, 4, 37]) {
          const x = randF32(rng(M * 7 + K), M * K, 2);
          const want = linearQuantDotI16(x, M, d);
          for (const be of dots) {
            const y = be.linearQuant({ shape: [M, K], data: x }, be.loadQuantLinear(d));
            const i = firstDiff(y.data, want);
            if (i >= 0)
              expect.fail(
                `int${bits} ${N}x${K} M=${M}, ${be.threads} threads: first difference at ${i}: got ${y.data[i]}, twin ${want[i]}`,
              );
          }
        }
      }
    } finally {
      for (const b of dots) b.dispose();
    }
  });

  it("quantDot 'int8': gemv_q_dot8 (<= 3 rows) and gemm_q_dot8 (>= 4) give linearQuantDotI8's bits at 1, 2, 3 threads in both builds", async () => {
    const dots: WasmBackend[] = [];
    for (const kernels of ['simd', 'relaxed'] as const)
      for (const threads of [1, 2, 3]) dots.push(await createWasmBackend({ threads, kernels, quantDot: 'int8' }));
    // the relaxed build must be live (vitest.config.ts enables it), or this would test one build twice
    expect(dots.map((b) => b.info().variant)).toEqual(['simd', 'simd', 'simd', 'relaxed', 'relaxed', 'relaxed']);
    // + groups of 48 (a block of 32 and one of 16), of 8 (tiny fixtures' g8), N % 8 == 4 (a half panel)
    const cases: typeof CASES = [...CASES, [4, 960, 1036, 48, true, false], [4, 256, 260, 8, false, true], [8, 384, 516, 48, false, false]];
    try {
      for (const [bits, K, N, gs0, act, bias] of cases) {
        const gs = gs0 === -1 ? K : gs0;
        const d = randomQuant(K + N + bits, bits, K, N, gs, act, bias);
        for (const M of [1, 3, 4, 37]) {
          const x = randF32(rng(M * 7 + K), M * K, 2);
          const want = linearQuantDotI8(x, M, d);
          for (const be of dots) {
            const y = be.linearQuant({ shape: [M, K], data: x }, be.loadQuantLinear(d));
            const i = firstDiff(y.data, want);
            if (i >= 0)
              expect.fail(
                `int${bits} ${N}x${K} g${gs} M=${M}, ${be.info().variant} ${be.threads} threads: first difference at ${i}: got ${y.data[i]}, twin ${want[i]}`,
              );
          }
        }
      }
    } finally {
      for (const b of dots) b.dispose();
    }
  });

  it("linearQuantMany (q/k/v, gate/up in one job): each output has its twin's bits in every mode, build and thread count; unlike matrices fall back", async () => {
    const K = 512;
    const gs = 64;
    const modes = [
      {
        quantDot: false as const,
        twin: (x: Float32Array, M: number, d: QuantLinearData) => (M <= 3 ? linearQuantGemvF32(x, M, d) : linearQuantF32(x, M, d)),
      },
      { quantDot: true as const, twin: linearQuantDotI16 },
      { quantDot: 'int8' as const, twin: linearQuantDotI8 },
      { quantDot: 'int8' as const, kernels: 'relaxed' as const, twin: linearQuantDotI8 },
    ];
    // three int4 matrices of one x: N % 8 == 4 (a half panel inside the joined range), a bias, one act
    // order shared by contents (separate arrays, as loaded per tensor)
    const a = randomQuant(11, 4, K, 1036, gs, true);
    const b = { ...randomQuant(12, 4, K, 260, gs, false, true), perm: a.perm ? Int32Array.from(a.perm) : null };
    const c = { ...randomQuant(13, 4, K, 2048, gs, false), perm: a.perm ? Int32Array.from(a.perm) : null };
    // fall back to one job each: another act order; another bit width
    const other = randomQuant(14, 4, K, 520, gs, true);
    const int8 = { ...randomQuant(15, 8, K, 264, gs, false), perm: a.perm ? Int32Array.from(a.perm) : null };
    for (const mode of modes) {
      for (const threads of [1, 2, 3]) {
        const be = await createWasmBackend({ threads, quantDot: mode.quantDot, kernels: mode.kernels });
        try {
          for (const set of [[a, b, c], [a, other], [a, int8, c], [b]]) {
            const ws = set.map((d) => be.loadQuantLinear(d));
            for (const M of [1, 2, 3, 4]) {
              const x = randF32(rng(M * 3 + set.length), M * K, 2);
              const ys = be.linearQuantMany({ shape: [M, K], data: x }, ws);
              expect(ys.length).toBe(set.length);
              set.forEach((d, j) => {
                expect(ys[j].shape).toEqual([M, d.N]);
                const want = mode.twin(x, M, d);
                const i = firstDiff(ys[j].data, want);
                if (i >= 0)
                  expect.fail(
                    `${mode.quantDot} ${mode.kernels ?? 'simd'} ${threads} threads, set of ${set.length}, matrix ${j} (N ${d.N}), M=${M}: first difference at ${i}: got ${ys[j].data[i]}, twin ${want[i]}`,
                  );
              });
            }
          }
        } finally {
          be.dispose();
        }
      }
    }
  });

  it("quantDot with NaN or inf activations: no trap, the twin's bits (non-finite outputs), other rows unaffected", async () => {
    const be = await createWasmBackend({ threads: 2, quantDot: true });
    try {
      const [bits, K, N, gs] = [4, 512, 264, 128] as const;
      const d = randomQuant(99, bits, K, N, gs, false, false);
      const w = be.loadQuantLinear(d);
      for (const M of [1, 5]) {
        const x = randF32(rng(M), M * K, 2);
        x[3] = Number.NaN; // row 0
        if (M > 1) x[K + 7] = Number.POSITIVE_INFINITY; // row 1
        const want = linearQuantDotI16(x, M, d);
        const y = be.linearQuant({ shape: [M, K], data: x }, w);
        expect(firstDiff(y.data, want)).toBe(-1);
        expect(y.data.subarray(0, N).every((v) => Number.isNaN(v))).toBe(true);
        if (M > 1) {
          expect(y.data.subarray(N, 2 * N).some((v) => !Number.isFinite(v))).toBe(true);
          expect(y.data.subarray(2 * N).every((v) => Number.isFinite(v))).toBe(true);
        }
      }
    } finally {
      be.dispose();
    }
  });

  it('the ts backend: f64 accumulation on the dequantized weight, one rounding', () => {
    const d = randomQuant(3, 4, 256, 64, 32, true, true);
    const W = dequantize(d);
    const x = randF32(rng(4), 5 * 256, 1);
    const ts = new TsBackend();
    const y = ts.linearQuant({ shape: [5, 256], data: x }, ts.loadQuantLinear(d));
    for (let m = 0; m < 5; m++)
      for (let n = 0; n < 64; n++) {
        let s = 0;
        for (let k = 0; k < 256; k++) s += x[m * 256 + k] * W[n * 256 + k];
        expect(y.data[m * 64 + n]).toBe(Math.fround(s + d.bias![n]));
      }
  });
});
