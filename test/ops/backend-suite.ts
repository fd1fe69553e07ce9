// One operator suite for every Backend implementation (ts: test/ops/ts-backend.test.ts; wasm:
// test/kernels/backend-suite-wasm.test.ts and, relaxed SIMD, backend-suite-relaxed.test.ts): each op is
// compared with an independent float64 naive implementation written here, on seeded inputs,
// over the sizes 0, 1, 3, 4, 5, 15, 16, 17 (vector width / unroll edges) and some of the
// model's real sizes, with a written error bound per element.
//
// Bounds assume an f32 implementation with any summation order (γ_n = n·2^-24 per sum of n
// terms, Higham §3.1). A backend that accumulates in float64 (the ts backend) is also held to
// the tight bound `accum: 'f64'` (a few ulps of the result), so a sloppy f64 path cannot hide
// behind the f32 budget.

import { beforeAll, describe, expect, it } from 'vitest';
import type { AttentionOptions, Backend } from '../../src/backend/backend.js';
import type { WeightDType } from '../../src/tensor.js';
import { check, makeWeight, randF32, rng, t, U } from './helpers.js';

export interface SuiteOptions {
  /** 'f64': results must be within a few ulps of the exact value; 'f32': within γ_n bounds. */
  accum: 'f32' | 'f64';
}

const EDGE = [0, 1, 3, 4, 5, 15, 16, 17];

function expectOk(r: ReturnType<typeof check>, what: string): void {
  if (r.failures !== 0) {
    const msg =
      r.failures < 0
        ? 'length mismatch'
        : `${r.failures} element(s) out of bound; worst @${r.worst!.index}: got ${r.worst!.got}, want ${r.worst!.want}, bound ${r.worst!.bound}; first: ${JSON.stringify(r.first)}`;
    expect.fail(`${what}: ${msg}`);
  }
}

export function backendSuite(name: string, create: () => Backend | Promise<Backend>, opts: SuiteOptions): void {
  const tight = opts.accum === 'f64';
  /** Bound on a dot product of n terms whose |terms| sum to `absSum`, result `ref`. */
  const dotBound = (n: number, absSum: number, ref: number) =>
    (tight ? 2 * U * Math.abs(ref) + (n + 2) * 2 ** -52 * absSum : (n + 2) * U * absSum + U * Math.abs(ref)) + 1e-40;

  describe(`backend ${name}: operators vs float64 references`, () => {
    let be: Backend;
    beforeAll(async () => {
      be = await create();
    });
    it('is the expected backend (no silent fallback)', () => {
      expect(be.name).toBe(name);
    });

    // ---------------------------------------------------------------- linear / matmul
    const linCases: [number, number, number][] = [];
    for (const m of [1, 3, 5]) for (const k of EDGE) for (const n of [1, 4, 17]) linCases.push([m, k, n]);
    for (const n of EDGE) linCases.push([4, 17, n]);
    linCases.push([33, 16, 5], [2, 1152, 33], [1, 4304, 9], [2, 4608, 7], [1, 16, 65531]);
    for (const dtype of ['F32', 'BF16', 'F16'] as WeightDType[]) {
      it(`linear x·Wᵀ+b, ${dtype} weights, ${linCases.length} shapes`, () => {
        const r = rng(dtype.length * 1000 + 1);
        for (const [M, K, N] of linCases) {
          for (const withBias of [true, false]) {
            const x = randF32(r, M * K);
            const W = makeWeight(be, 'w', dtype, [N, K], randF32(r, N * K, 0.5));
            const B = withBias ? makeWeight(be, 'b', dtype, [N], randF32(r, N)) : undefined;
            const y = be.linear(t([M, K], x), W.w, B?.w);
            expect(y.shape).toEqual([M, N]);
            const want = new Float64Array(M * N);
            const abs = new Float64Array(M * N);
            for (let m = 0; m < M; m++)
              for (let n = 0; n < N; n++) {
                let s = B ? B.values[n] : 0;
                let a = B ? Math.abs(B.values[n]) : 0;
                for (let k = 0; k < K; k++) {
                  const p = x[m * K + k] * W.values[n * K + k];
                  s += p;
                  a += Math.abs(p);
                }
                want[m * N + n] = s;
                abs[m * N + n] = a;
              }
            expectOk(
              check(y.data, want, (i) => dotBound(K + 1, abs[i], want[i])),
              `linear M=${M} K=${K} N=${N} bias=${withBias} ${dtype}`,
            );
          }
        }
      });
    }

    it('linear keeps leading dims and rejects a wrong inner dim', () => {
      const r = rng(7);
      const W = makeWeight(be, 'w', 'F32', [3, 4], randF32(r, 12));
      expect(be.linear(t([2, 5, 4], randF32(r, 40)), W.w).shape).toEqual([2, 5, 3]);
      expect(() => be.linear(t([2, 5], randF32(r, 10)), W.w)).toThrow(/last dim 5.*needs 4/);
    });

    const mmCases: [number, number, number][] = [];
    for (const m of [1, 3, 5]) for (const k of EDGE) for (const n of [1, 5, 16, 17]) mmCases.push([m, k, n]);
    mmCases.push([17, 33, 513], [3, 4101, 24], [2, 65536, 3]);
    for (const dtype of ['F32', 'BF16'] as WeightDType[]) {
      it(`matmul a·W (W stored (K,N)), ${dtype}, ${mmCases.length} shapes`, () => {
        const r = rng(dtype.length * 77 + 3);
        for (const [M, K, N] of mmCases) {
          const a = randF32(r, M * K);
          const W = makeWeight(be, 'vte.weight', dtype, [K, N], randF32(r, K * N));
          const y = be.matmul(t([M, K], a), W.w);
          expect(y.shape).toEqual([M, N]);
          const want = new Float64Array(M * N);
          const abs = new Float64Array(M * N);
          for (let m = 0; m < M; m++)
            for (let k = 0; k < K; k++) {
              const av = a[m * K + k];
              for (let n = 0; n < N; n++) {
                const p = av * W.values[k * N + n];
                want[m * N + n] += p;
                abs[m * N + n] += Math.abs(p);
              }
            }
          expectOk(
            check(y.data, want, (i) => dotBound(K, abs[i], want[i])),
            `matmul M=${M} K=${K} N=${N} ${dtype}`,
          );
        }
      });
    }

    // Conv2d(C, D, P, stride P, 'valid') written directly as a convolution (not unfold + linear)
    const peCases: [number, number, number, number, number][] = []; // n, C, S, P, D
    for (const n of [0, 1, 2])
      for (const [S, P] of [
        [1, 1],
        [5, 2],
        [16, 4],
        [17, 4],
        [30, 14],
      ])
        for (const D of [1, 5, 17]) peCases.push([n, 3, S, P, D]);
    peCases.push([1, 1, 7, 3, 4], [1, 3, 384, 14, 8]);
    for (const dtype of ['F32', 'BF16'] as WeightDType[]) {
      it(`patchEmbed = Conv2d(kernel P, stride P, valid) + bias, ${dtype}, ${peCases.length} shapes`, () => {
        const r = rng(dtype.length * 31 + 5);
        for (const [n, C, S, P, D] of peCases) {
          const px = randF32(r, n * C * S * S);
          const L = C * P * P;
          const g = Math.floor(S / P);
          const W = makeWeight(be, 'patch_embedding.weight', dtype, [D, L], randF32(r, D * L, 0.5));
          const B = makeWeight(be, 'patch_embedding.bias', dtype, [D], randF32(r, D));
          const y = be.patchEmbed(t([n, C, S, S], px), W.w, B.w, P);
          expect(y.shape).toEqual([n * g * g, D]);
          const want = new Float64Array(n * g * g * D);
          const abs = new Float64Array(n * g * g * D);
          for (let b = 0; b < n; b++)
            for (let gy = 0; gy < g; gy++)
              for (let gx = 0; gx < g; gx++)
                for (let d = 0; d < D; d++) {
                  const i = ((b * g + gy) * g + gx) * D + d;
                  let s = B.values[d];
                  let a = Math.abs(B.values[d]);
                  for (let c = 0; c < C; c++)
                    for (let ky = 0; ky < P; ky++)
                      for (let kx = 0; kx < P; kx++) {
                        const p = px[((b * C + c) * S + gy * P + ky) * S + gx * P + kx] * W.values[d * L + (c * P + ky) * P + kx];
                        s += p;
                        a += Math.abs(p);
                      }
                  want[i] = s;
                  abs[i] = a;
                }
          expectOk(
            check(y.data, want, (i) => dotBound(L + 1, abs[i], want[i])),
            `patchEmbed n=${n} C=${C} S=${S} P=${P} D=${D} ${dtype}`,
          );
        }
      });
    }

    it('patchEmbed rejects pixels that are not [n, C, S, S] and a weight of the wrong width', () => {
      const r = rng(9);
      const W = makeWeight(be, 'w', 'F32', [4, 12], randF32(r, 48));
      const B = makeWeight(be, 'b', 'F32', [4], randF32(r, 4));
      expect(() => be.patchEmbed(t([1, 3, 4, 5], randF32(r, 60)), W.w, B.w, 2)).toThrow(/not \[n, C, S, S\]/);
      expect(() => be.patchEmbed(t([1, 3, 4, 4], randF32(r, 48)), W.w, B.w, 3)).toThrow(/27|C·P·P/);
    });

    it('embedding copies rows exactly (bf16 widened), rejects out-of-range ids', () => {
      const r = rng(11);
      for (const dtype of ['F32', 'BF16', 'F16'] as WeightDType[]) {
        for (const H of [1, 3, 16, 17]) {
          const V = 37;
          const T = makeWeight(be, 'embed_tokens.weight', dtype, [V, H], randF32(r, V * H));
          const ids = Int32Array.from([0, 36, 5, 5, 17]);
          const y = be.embedding(ids, T.w);
          expect(y.shape).toEqual([5, H]);
          const want = new Float64Array(5 * H);
          ids.forEach((id, i) => {
            for (let h = 0; h < H; h++) want[i * H + h] = T.values[id * H + h];
          });
          expect(Array.from(y.data)).toEqual(Array.from(want));
          expect(be.embedding(new Int32Array(0), T.w).shape).toEqual([0, H]);
          expect(() => be.embedding(Int32Array.from([1, 37]), T.w)).toThrow(/37/);
          expect(() => be.embedding(Int32Array.from([-301]), T.w)).toThrow(/-301/);
        }
      }
    });

    // ---------------------------------------------------------------- norms
    const normSizes = [1, 3, 4, 5, 15, 16, 17, 1152, 3072, 3584, 65531];
    it('layerNorm: biased variance, eps, affine', () => {
      const r = rng(21);
      for (const C of normSizes) {
        const R = C > 5000 ? 1 : 3;
        for (const eps of [1e-6, 1e-5]) {
          // An offset mean makes a wrong (non-centred) variance visible.
          const x = randF32(r, R * C, 2).map((v) => v + 0.75);
          const Wt = makeWeight(be, 'layer_norm1.weight', 'BF16', [C], randF32(r, C, 1.5));
          const Bt = makeWeight(be, 'layer_norm1.bias', 'BF16', [C], randF32(r, C, 0.5));
          const y = be.layerNorm(t([R, C], x), Wt.w, Bt.w, eps);
          const want = new Float64Array(R * C);
          const bnd = new Float64Array(R * C);
          for (let row = 0; row < R; row++) {
            let mean = 0;
            for (let c = 0; c < C; c++) mean += x[row * C + c];
            mean /= C;
            let v = 0;
            let absMean = 0;
            for (let c = 0; c < C; c++) {
              v += (x[row * C + c] - mean) ** 2;
              absMean += Math.abs(x[row * C + c]);
            }
            v /= C;
            absMean /= C;
            const rstd = 1 / Math.sqrt(v + eps);
            for (let c = 0; c < C; c++) {
              const i = row * C + c;
              const xh = (x[i] - mean) * rstd;
              want[i] = xh * Wt.values[c] + Bt.values[c];
              // f32: mean/var sums of C terms perturb (x-mean) by ~C·u·mean|x| and rstd by ~C·u.
              bnd[i] = tight
                ? 4 * U * (Math.abs(xh * Wt.values[c]) + Math.abs(Bt.values[c]))
                : (C + 8) * U * (Math.abs(Wt.values[c]) * (Math.abs(xh) + absMean * rstd) + Math.abs(Bt.values[c]));
            }
          }
          expectOk(
            check(y.data, want, (i) => bnd[i] + 1e-40),
            `layerNorm C=${C} eps=${eps}`,
          );
        }
      }
      const W = makeWeight(be, 'ln.weight', 'F32', [4], new Float32Array(4));
      expect(() => be.layerNorm(t([2, 5], new Float32Array(10)), W.w, W.w, 1e-6)).toThrow(/4 values.*last dim 5/);
    });

    for (const offset of [0, 1] as const) {
      it(`rmsNorm offset ${offset} (${offset ? 'Gemma2 (1 + weight)' : 'Llama weight'})`, () => {
        const r = rng(31 + offset);
        for (const C of normSizes) {
          const R = C > 5000 ? 1 : 3;
          const x = randF32(r, R * C, 3);
          const Wt = makeWeight(be, 'input_layernorm.weight', 'BF16', [C], randF32(r, C, 0.5));
          const eps = offset ? 1e-6 : 1e-5;
          const y = be.rmsNorm(t([R, C], x), Wt.w, eps, offset);
          const want = new Float64Array(R * C);
          const bnd = new Float64Array(R * C);
          for (let row = 0; row < R; row++) {
            let ss = 0;
            for (let c = 0; c < C; c++) ss += x[row * C + c] ** 2;
            const rinv = 1 / Math.sqrt(ss / C + eps);
            for (let c = 0; c < C; c++) {
              const i = row * C + c;
              const g = Math.fround(offset + Wt.values[c]); // torch: (1.0 + weight.float()) in f32
              want[i] = x[i] * rinv * g;
              bnd[i] = (tight ? 4 : C + 8) * U * Math.abs(want[i]) + 1e-40;
            }
          }
          expectOk(
            check(y.data, want, (i) => bnd[i]),
            `rmsNorm C=${C} offset=${offset}`,
          );
        }
      });
    }

    it('rmsNorm offset 1 rounds (1 + w) to f32 like torch', () => {
      // w = 2^-25: torch's f32 `1.0 + weight` is exactly 1, while an f64 (1 + w) would scale
      // every output by 1 + 2^-25 (a quarter ulp), which changes the f32 rounding of about a
      // quarter of random outputs. An f32 backend rounds rinv differently anyway, so only the
      // f64 backend is held to bit-exactness here.
      const C = 256;
      const r = rng(33);
      const x = randF32(r, C, 3);
      const w = makeWeight(be, 'norm.weight', 'F32', [C], new Float32Array(C).fill(2 ** -25));
      const y = be.rmsNorm(t([1, C], x), w.w, 1e-6, 1);
      let ss = 0;
      for (let c = 0; c < C; c++) ss += x[c] ** 2;
      const rinv = 1 / Math.sqrt(ss / C + 1e-6);
      const want = Float64Array.from(x, (v) => v * rinv);
      if (tight) {
        const wrong = Float32Array.from(x, (v) => v * rinv * (1 + 2 ** -25));
        expect(Array.from(wrong).some((v, i) => v !== Math.fround(want[i]))).toBe(true); // the test can fail
        expect(Array.from(y.data)).toEqual(Array.from(want, Math.fround));
      } else {
        expectOk(
          check(y.data, want, (i) => (C + 8) * U * Math.abs(want[i])),
          'rmsNorm (1 + 2^-25)',
        );
      }
    });

    // ---------------------------------------------------------------- elementwise
    it('geluTanh / gatedAct / add / scale / softcap vs independent formulas', () => {
      const r = rng(41);
      const sig = (z: number) => 1 / (1 + Math.exp(-z));
      for (const n of [...EDGE, 4304, 14336]) {
        const x = randF32(r, n, 8);
        const u = randF32(r, n, 2);
        // gelu_tanh = x·σ(2·√(2/π)(x + 0.044715x³)) — the same function, written via σ.
        const g = be.geluTanh(t([n], x));
        const z2u = Float64Array.from(x, (v) => 2 * Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3));
        const gw = Float64Array.from(x, (v, i) => v * sig(z2u[i]));
        // an f64 evaluation is good to a few ulps; an f32 one (the wasm kernel, like torch's
        // f32 gelu) computes 2u in f32, and e^{-2u} turns its rounding into 3.5·|2u| ulps of
        // relative error (kernels/ops.ts gelu32), plus 2^-126·|x| where 2^w is cut to inf
        const gBound = (i: number, scale: number) =>
          tight
            ? 4 * U * Math.abs(gw[i] * scale) + 8 * 2 ** -52 * Math.abs(x[i] * scale) + 1e-40
            : (4 + 3.5 * Math.abs(z2u[i])) * U * Math.abs(gw[i] * scale) + 2 ** -126 * Math.abs(x[i] * scale) + 1e-40;
        expectOk(
          check(g.data, gw, (i) => gBound(i, 1)),
          `geluTanh n=${n}`,
        );
        for (const act of ['silu', 'gelu_tanh'] as const) {
          const y = be.gatedAct(t([n], x), t([n], u), act);
          const yw = Float64Array.from(x, (v, i) => (act === 'silu' ? v * (0.5 + 0.5 * Math.tanh(v / 2)) : gw[i]) * u[i]);
          expectOk(
            check(y.data, yw, (i) =>
              act === 'silu'
                ? 6 * U * Math.abs(yw[i]) + 8 * 2 ** -52 * Math.abs(x[i] * u[i]) + 1e-40
                : gBound(i, u[i]) + 2 * U * Math.abs(yw[i]),
            ),
            `gatedAct ${act} n=${n}`,
          );
        }
        const s = be.add(t([n], x), t([n], u));
        expectOk(
          check(
            s.data,
            Float64Array.from(x, (v, i) => v + u[i]),
            (i) => U * Math.abs(x[i] + u[i]),
          ),
          `add n=${n}`,
        );
        const sc = be.scale(t([n], x), 0.125);
        expect(Array.from(sc.data)).toEqual(Array.from(x, (v) => v * 0.125)); // power of two: exact
        const c = be.softcap(t([n], x), 3);
        const cw = Float64Array.from(x, (v) => 3 * (2 * sig((2 * v) / 3) - 1));
        expectOk(
          check(c.data, cw, (i) => 4 * U * Math.abs(cw[i]) + 4 * 2 ** -52),
          `softcap n=${n}`,
        );
      }
      expect(() => be.add(t([2], new Float32Array(2)), t([3], new Float32Array(3)))).toThrow(/differ/);
    });

    it('softmax over the last dim: max-subtracted, sums to 1, handles huge logits', () => {
      const r = rng(51);
      for (const C of [...EDGE.filter((c) => c > 0), 729, 65531]) {
        const R = C > 5000 ? 2 : 3;
        const x = randF32(r, R * C, 30);
        x[0] = 1e30; // would overflow exp without the max subtraction
        const y = be.softmax(t([R, C], x));
        const want = new Float64Array(R * C);
        const bnd = new Float64Array(R * C);
        for (let row = 0; row < R; row++) {
          let mx = -Infinity;
          for (let c = 0; c < C; c++) mx = Math.max(mx, x[row * C + c]);
          let s = 0;
          for (let c = 0; c < C; c++) s += Math.exp(x[row * C + c] - mx);
          for (let c = 0; c < C; c++) {
            const i = row * C + c;
            want[i] = Math.exp(x[i] - mx) / s;
            bnd[i] = (tight ? 4 * U : (C + 8 + 2 * Math.abs(x[i] - mx)) * U) * want[i] + 1e-44;
          }
        }
        expectOk(
          check(y.data, want, (i) => bnd[i]),
          `softmax C=${C}`,
        );
      }
    });

    // ---------------------------------------------------------------- rope
    it('ropeInPlace = x·cos + rotate_half(x)·sin per head', () => {
      const r = rng(61);
      for (const [T, H, D] of [
        [1, 1, 2],
        [3, 2, 4],
        [5, 3, 16],
        [17, 2, 18],
        [4, 24, 128],
        [2, 16, 256],
      ]) {
        const x = randF32(r, T * H * D, 2);
        const cos = randF32(r, T * D);
        const sin = randF32(r, T * D);
        const y = { shape: [T, H * D], data: x.slice() };
        be.ropeInPlace(y, H, D, cos, sin);
        const want = new Float64Array(T * H * D);
        const bnd = new Float64Array(T * H * D);
        for (let tt = 0; tt < T; tt++)
          for (let h = 0; h < H; h++) {
            const base = tt * H * D + h * D;
            const xs = Array.from(x.subarray(base, base + D));
            const rot = [...xs.slice(D / 2).map((v) => -v), ...xs.slice(0, D / 2)]; // rotate_half
            for (let d = 0; d < D; d++) {
              const a = xs[d] * cos[tt * D + d];
              const b = rot[d] * sin[tt * D + d];
              want[base + d] = a + b;
              bnd[base + d] = 2 * U * (Math.abs(a) + Math.abs(b)) + 1e-40;
            }
          }
        expectOk(
          check(y.data, want, (i) => bnd[i]),
          `rope T=${T} H=${H} D=${D}`,
        );
      }
    });

    // ---------------------------------------------------------------- attention
    interface AttnCase {
      Tq: number;
      Tk: number;
      Nq: number;
      Nkv: number;
      Dh: number;
      causal: boolean;
      qPos0?: number;
      kPos0?: number;
      window?: number;
      softcap?: number;
    }
    const attnCases: AttnCase[] = [];
    for (const T of [1, 3, 4, 5, 16, 17]) attnCases.push({ Tq: T, Tk: T, Nq: 2, Nkv: 2, Dh: 4, causal: false });
    for (const T of [1, 5, 17]) attnCases.push({ Tq: T, Tk: T, Nq: 4, Nkv: 2, Dh: 5, causal: true });
    attnCases.push(
      { Tq: 9, Tk: 9, Nq: 6, Nkv: 2, Dh: 3, causal: true, window: 3 }, // sliding window
      { Tq: 9, Tk: 9, Nq: 6, Nkv: 3, Dh: 8, causal: true, window: 4, softcap: 2 }, // Gemma2-like
      { Tq: 1, Tk: 12, Nq: 3, Nkv: 1, Dh: 16, causal: true, qPos0: 11 }, // decode step, MQA
      { Tq: 1, Tk: 6, Nq: 4, Nkv: 2, Dh: 8, causal: true, qPos0: 20, kPos0: 15, window: 6, softcap: 50 }, // sliding cache
      { Tq: 3, Tk: 7, Nq: 2, Nkv: 1, Dh: 4, causal: true, qPos0: 4 }, // chunked prefill
      { Tq: 17, Tk: 17, Nq: 4, Nkv: 4, Dh: 72, causal: false }, // SigLIP head dim
      { Tq: 6, Tk: 6, Nq: 24, Nkv: 8, Dh: 128, causal: true }, // Llama 3.2 3B heads
    );
    it(`attention vs brute force (${attnCases.length} cases: bidirectional, causal, GQA, window, softcap, offsets)`, () => {
      const r = rng(71);
      for (const c of attnCases) {
        const { Tq, Tk, Nq, Nkv, Dh } = c;
        const q = randF32(r, Tq * Nq * Dh, 2);
        const k = randF32(r, Tk * Nkv * Dh, 2);
        const v = randF32(r, Tk * Nkv * Dh, 3);
        const o: AttentionOptions = {
          nHeads: Nq,
          nKvHeads: Nkv,
          headDim: Dh,
          scale: Dh ** -0.5,
          causal: c.causal,
          qPos0: c.qPos0,
          kPos0: c.kPos0,
          window: c.window,
          softcap: c.softcap,
        };
        const y = be.attention(t([Tq, Nq * Dh], q), t([Tk, Nkv * Dh], k), t([Tk, Nkv * Dh], v), o);
        expect(y.shape).toEqual([Tq, Nq * Dh]);
        // Brute force: repeat_kv materialised, full [Tq, Tk] score matrix, additive -inf mask.
        const want = new Float64Array(Tq * Nq * Dh);
        const bnd = new Float64Array(Tq * Nq * Dh);
        const rep = Nq / Nkv;
        for (let h = 0; h < Nq; h++) {
          const kvh = Math.floor(h / rep); // repeat_kv: kv head j serves query heads j·rep .. j·rep+rep-1
          for (let i = 0; i < Tq; i++) {
            const qp = (c.qPos0 ?? 0) + i;
            const s: number[] = [];
            const sAbs: number[] = [];
            for (let j = 0; j < Tk; j++) {
              const kp = (c.kPos0 ?? 0) + j;
              let dot = 0;
              let dabs = 0;
              for (let d = 0; d < Dh; d++) {
                const p = q[i * Nq * Dh + h * Dh + d] * k[j * Nkv * Dh + kvh * Dh + d];
                dot += p;
                dabs += Math.abs(p);
              }
              let sc = dot * o.scale;
              if (c.softcap) sc = c.softcap * Math.tanh(sc / c.softcap);
              const masked = (c.causal && kp > qp) || (c.window !== undefined && qp - kp >= c.window);
              s.push(masked ? -Infinity : sc);
              sAbs.push(dabs * o.scale);
            }
            const mx = Math.max(...s);
            const e = s.map((x) => Math.exp(x - mx));
            const z = e.reduce((a, b) => a + b, 0);
            const maxAbsScore = Math.max(...sAbs);
            for (let d = 0; d < Dh; d++) {
              let acc = 0;
              let accAbs = 0;
              let vmax = 0;
              for (let j = 0; j < Tk; j++) {
                const vv = v[j * Nkv * Dh + kvh * Dh + d];
                acc += (e[j] / z) * vv;
                accAbs += (e[j] / z) * Math.abs(vv);
                if (e[j] > 0) vmax = Math.max(vmax, Math.abs(vv));
              }
              const idx = i * Nq * Dh + h * Dh + d;
              want[idx] = acc;
              bnd[idx] =
                (tight
                  ? 4 * U * accAbs + 16 * 2 ** -52 * (Tk + Dh) * (accAbs + maxAbsScore * vmax)
                  : U * ((Tk + 8) * accAbs + 2 * (Dh + 4) * maxAbsScore * vmax)) + 1e-40;
            }
          }
        }
        expectOk(
          check(y.data, want, (i) => bnd[i]),
          `attention ${JSON.stringify(c)}`,
        );
      }
    });

    it('attention: a query row with no visible key is an error', () => {
      const z = new Float32Array(4);
      const o: AttentionOptions = { nHeads: 1, nKvHeads: 1, headDim: 2, scale: 1, causal: true, qPos0: 0, kPos0: 1 };
      expect(() => be.attention(t([1, 2], z.subarray(0, 2)), t([2, 2], z), t([2, 2], z), o)).toThrow(/sees no key/);
    });

    // ---------------------------------------------------------------- weights
    it('loadWeight / readWeight round-trip every dtype; mis-sized data is rejected', () => {
      const r = rng(81);
      const v = randF32(r, 6);
      for (const dtype of ['F32', 'BF16', 'F16'] as WeightDType[]) {
        const W = makeWeight(be, 'x', dtype, [2, 3], v);
        expect(W.w.shape).toEqual([2, 3]);
        expect(W.w.dtype).toBe(dtype);
        expect(Array.from(be.readWeight(W.w))).toEqual(Array.from(W.values));
      }
      expect(() => be.loadWeight('bad', 'BF16', [2, 3], new Uint16Array(5))).toThrow(/bad.*6.*5/);
    });
  });
}
