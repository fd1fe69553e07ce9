// Kernel-level tests of the wasm backend beyond the shared operator suite:
//  - which build is live (no silent fallback), and the toolchain's first kernel (dot);
//  - GEMM and GEMV equal scalar twins that follow the kernels' documented summation order
//    bit for bit (the `Numerics:` notes in kernels/gemm.ts and kernels/gemv.ts), over sizes
//    around the vector width, the 4x8 tile, the kc/mc/nc block edges and the model's sizes;
//  - results do not depend on the thread count, the row chunking or the memory a weight
//    lives in; the weight store spans several memories; dispose() ends the backend.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKernels, relaxedSimdAvailable } from '../../src/backend/wasm/kernels.js';
import type { KernelMemory } from '../../src/backend/wasm/memory.js';
import { createWasmBackend, type WasmBackend } from '../../src/backend/wasm.js';
import { narrowToBf16 } from '../../src/dtype.js';
import { BackendError } from '../../src/errors.js';
import { unfoldPatches } from '../../src/ops/patch-embed.js';
import { randF32, rng } from '../ops/helpers.js';
import { bf16Values, firstDiff, t } from './bits.js';

const f = Math.fround;

function expectBitEqual(got: Float32Array, want: Float32Array, what: string): void {
  const i = firstDiff(got, want);
  if (i !== -1) expect.fail(`${what}: first difference at ${i}: got ${got[i]}, want ${want[i]} (length ${got.length} vs ${want.length})`);
}

/** GEMM twin: acc = 0; for k ascending: acc = f32(acc + f32(a·b)) — kernels/gemm.ts's order. */
function gemmTwin(a: Float32Array, M: number, K: number, b: (k: number, n: number) => number, N: number): Float32Array {
  const y = new Float32Array(M * N);
  for (let i = 0; i < M; i++)
    for (let n = 0; n < N; n++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc = f(acc + f(a[i * K + k] * b(k, n)));
      y[i * N + n] = acc;
    }
  return y;
}

/** kernels/gemv.ts GEMV_ONE_ROW_MAX_K: bf16 rows with K up to this use six accumulators. */
const GEMV_ONE_ROW_MAX_K = 4096;

/** GEMV twin in kernels/gemv.ts's order: 4-lane accumulators per row (bf16 with K <=
 *  GEMV_ONE_ROW_MAX_K: six, 8-block b going to accumulator b mod 6, combined lane-wise as
 *  ((a0 + a1) + (a2 + a3)) + (a4 + a5); otherwise one); per block of 8, lane l adds
 *  x[k+2l]·w then x[k+2l+1]·w (bf16: even/odd split) or x[k+l]·w then x[k+4+l]·w (f32);
 *  then (s0 + s2) + (s1 + s3) and the K mod 8 tail in order. */
function gemvTwin(x: Float32Array, w: (n: number, k: number) => number, N: number, K: number, bf16: boolean): Float32Array {
  const y = new Float32Array(N);
  const K8 = K & ~7;
  const nAcc = bf16 && K <= GEMV_ONE_ROW_MAX_K ? 6 : 1;
  for (let n = 0; n < N; n++) {
    const acc = Array.from({ length: nAcc }, () => [0, 0, 0, 0]);
    for (let k = 0; k < K8; k += 8) {
      const a = acc[(k / 8) % nAcc];
      for (let l = 0; l < 4; l++) {
        const k1 = bf16 ? k + 2 * l : k + l;
        a[l] = f(a[l] + f(x[k1] * w(n, k1)));
      }
      for (let l = 0; l < 4; l++) {
        const k2 = bf16 ? k + 2 * l + 1 : k + 4 + l;
        a[l] = f(a[l] + f(x[k2] * w(n, k2)));
      }
    }
    let a = acc[0];
    if (nAcc === 6) {
      const sum = (p: number[], q: number[]) => p.map((v, l) => f(v + q[l]));
      a = sum(sum(sum(acc[0], acc[1]), sum(acc[2], acc[3])), sum(acc[4], acc[5]));
    }
    let r = f(f(a[0] + a[2]) + f(a[1] + a[3]));
    for (let k = K8; k < K; k++) r = f(r + f(x[k] * w(n, k)));
    y[n] = r;
  }
  return y;
}

describe('wasm kernels: live build and toolchain', () => {
  it('the SIMD128 build is live (no silent fallback) and every group is embedded', async () => {
    const k = loadKernels('simd');
    expect(k.info.variant).toBe('simd');
    expect(k.info.groups.map((g) => g.group)).toEqual(['gemm', 'gemv', 'ops']);
    for (const g of k.info.groups) expect(g.opt).toMatch(/^O[0-3]$/);
    const be = await createWasmBackend({ threads: 1 });
    expect(be.name).toBe('wasm');
    expect(be.info().variant).toBe('simd');
    be.dispose();
  });

  // vitest.config.ts runs the workers with --experimental-wasm-relaxed-simd, so the first branch
  // runs here; the refusal on a plain `node` is tested through the CLI (test/cli).
  it('relaxed SIMD is used only when asked for and validated; otherwise a typed error', async () => {
    if (relaxedSimdAvailable()) {
      const be = await createWasmBackend({ threads: 1, kernels: 'relaxed' });
      expect(be.info().variant).toBe('relaxed');
      // fused or not, each product differs by <= 1/2 ulp: bound K·u·Σ|ab| vs the f64 result
      const r = rng(3);
      const K = 300;
      const N = 9;
      const M = 5;
      const a = randF32(r, M * K);
      const w = randF32(r, N * K);
      const y = be.linear(t([M, K], a), be.loadWeight('w', 'F32', [N, K], w)).data;
      for (let i = 0; i < M; i++)
        for (let n = 0; n < N; n++) {
          let s = 0;
          let sa = 0;
          for (let k = 0; k < K; k++) {
            s += a[i * K + k] * w[n * K + k];
            sa += Math.abs(a[i * K + k] * w[n * K + k]);
          }
          expect(Math.abs(y[i * N + n] - s)).toBeLessThanOrEqual((K + 2) * 2 ** -24 * sa);
        }
      be.dispose();
    } else {
      await expect(createWasmBackend({ threads: 1, kernels: 'relaxed' })).rejects.toThrow(BackendError);
    }
    // the default stays SIMD128 either way
    expect(loadKernels().info.variant).toBe('simd');
  });

  it('dot (first kernel) equals its same-order twin bit for bit', async () => {
    const be = await createWasmBackend({ threads: 1 });
    const mem = (be as unknown as { mems: { get(i: number): KernelMemory } }).mems.get(0);
    const r = rng(7);
    for (const n of [0, 1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 72, 128, 1152, 4304]) {
      const a = randF32(r, n);
      const b = randF32(r, n);
      mem.resetScratch();
      const got = mem.k.dot(mem.put(a), mem.put(b), n);
      // twin: lanes l (i ≡ l mod 8 for l < 4 -> e, i ≡ 4+l -> o), (s0+s2)+(s1+s3), tail
      const e = [0, 0, 0, 0];
      const o = [0, 0, 0, 0];
      const n8 = n & ~7;
      for (let i = 0; i < n8; i++) {
        const acc = i % 8 < 4 ? e : o;
        acc[i % 4] = f(acc[i % 4] + f(a[i] * b[i]));
      }
      const s = e.map((v, l) => f(v + o[l]));
      let want = f(f(s[0] + s[2]) + f(s[1] + s[3]));
      for (let i = n8; i < n; i++) want = f(want + f(a[i] * b[i]));
      expect(got, `dot n=${n}`).toBe(want);
    }
    be.dispose();
  });
});

describe('wasm GEMM / GEMV equal their same-order twins bit for bit', () => {
  let be: WasmBackend;
  beforeAll(async () => {
    be = await createWasmBackend({ threads: 2 });
  });
  afterAll(() => be.dispose());

  // M >= 4 takes the GEMM path in linear(); matmul() always does. Edges: tile 4x8, kc 256,
  // mc 128, nc 1024 (per thread: N is split over 2 threads in multiples of 8).
  const shapes: [number, number, number][] = [
    [4, 1, 1],
    [4, 3, 8],
    [5, 4, 9],
    [15, 15, 15],
    [16, 16, 16],
    [17, 17, 17],
    [7, 255, 23],
    [9, 256, 8],
    [6, 257, 31],
    [129, 40, 17],
    [4, 513, 2050],
    [33, 72, 129],
    [72, 1152, 24],
    [12, 4304, 16],
  ];
  it(`linear f32 and bf16 weights (${shapes.length} shapes)`, () => {
    const r = rng(11);
    for (const [M, K, N] of shapes) {
      const x = randF32(r, M * K);
      const wf = randF32(r, N * K);
      const yf = be.linear(t([M, K], x), be.loadWeight('w', 'F32', [N, K], wf)).data;
      expectBitEqual(
        yf,
        gemmTwin(x, M, K, (k, n) => wf[n * K + k], N),
        `linear f32 ${M}x${K}x${N}`,
      );
      const wb = narrowToBf16(wf);
      const wv = bf16Values(wb);
      const yb = be.linear(t([M, K], x), be.loadWeight('w', 'BF16', [N, K], wb)).data;
      expectBitEqual(
        yb,
        gemmTwin(x, M, K, (k, n) => wv[n * K + k], N),
        `linear bf16 ${M}x${K}x${N}`,
      );
    }
  });

  it(`matmul (K, N) weights f32 and bf16, M from 1 (${shapes.length + 2} shapes)`, () => {
    const r = rng(12);
    for (const [M, K, N] of [[1, 5, 3], [3, 17, 9], ...shapes] as [number, number, number][]) {
      const a = randF32(r, M * K);
      const wf = randF32(r, K * N);
      const yf = be.matmul(t([M, K], a), be.loadWeight('v', 'F32', [K, N], wf)).data;
      expectBitEqual(
        yf,
        gemmTwin(a, M, K, (k, n) => wf[k * N + n], N),
        `matmul f32 ${M}x${K}x${N}`,
      );
      const wb = narrowToBf16(wf);
      const wv = bf16Values(wb);
      const yb = be.matmul(t([M, K], a), be.loadWeight('v', 'BF16', [K, N], wb)).data;
      expectBitEqual(
        yb,
        gemmTwin(a, M, K, (k, n) => wv[k * N + n], N),
        `matmul bf16 ${M}x${K}x${N}`,
      );
    }
  });

  it('GEMV (decode rows M <= 3): bf16 and f32 weights, K around 8 and model sizes', () => {
    const r = rng(13);
    for (const K of [0, 1, 3, 7, 8, 9, 15, 16, 17, 40, 48, 56, 72, 95, 96, 1152, 3072, 4095, 4096, 4097, 4104, 8192]) {
      for (const N of K > 4096 ? [1, 9, 17, 33] : [1, 3, 4, 5, 8, 9, 13, 17, 129]) {
        const x = randF32(r, 2 * K);
        const wf = randF32(r, N * K);
        const wb = narrowToBf16(wf);
        const wv = bf16Values(wb);
        const yb = be.linear(t([2, K], x), be.loadWeight('g', 'BF16', [N, K], wb)).data;
        const yf = be.linear(t([2, K], x), be.loadWeight('g', 'F32', [N, K], wf)).data;
        for (let i = 0; i < 2; i++) {
          const xi = x.subarray(i * K, (i + 1) * K);
          if (K === 0) {
            expect(Array.from(yb.subarray(i * N, (i + 1) * N))).toEqual(new Array(N).fill(0));
            continue;
          }
          expectBitEqual(
            yb.subarray(i * N, (i + 1) * N),
            gemvTwin(xi, (n, k) => wv[n * K + k], N, K, true),
            `gemv bf16 K=${K} N=${N}`,
          );
          expectBitEqual(
            yf.subarray(i * N, (i + 1) * N),
            gemvTwin(xi, (n, k) => wf[n * K + k], N, K, false),
            `gemv f32 K=${K} N=${N}`,
          );
        }
      }
    }
  });

  it('patchEmbed equals linear on the TS unfold bit for bit (SigLIP size, f32 and bf16)', () => {
    const r = rng(15);
    const px = randF32(r, 2 * 3 * 384 * 384);
    const wf = randF32(r, 40 * 588, 0.05);
    const b = randF32(r, 40);
    for (const W of [be.loadWeight('pe', 'F32', [40, 588], wf), be.loadWeight('pe', 'BF16', [40, 588], narrowToBf16(wf))]) {
      const B = be.loadWeight('pb', 'F32', [40], b);
      const y = be.patchEmbed(t([2, 3, 384, 384], px), W, B, 14);
      expect(y.shape).toEqual([2 * 729, 40]);
      expectBitEqual(y.data, be.linear(unfoldPatches(t([2, 3, 384, 384], px), 14), W, B).data, `patchEmbed ${W.dtype}`);
    }
  });

  it('the twin can fail: a different order changes bits', () => {
    const r = rng(14);
    const K = 1152;
    const N = 8;
    const x = randF32(r, 4 * K);
    const w = randF32(r, N * K);
    const y = be.linear(t([4, K], x), be.loadWeight('w', 'F32', [N, K], w)).data;
    const reversed = gemmTwin(
      x.map((_, i) => x[Math.floor(i / K) * K + K - 1 - (i % K)]),
      4,
      K,
      (k, n) => w[n * K + K - 1 - k],
      N,
    );
    expect(firstDiff(y, reversed)).toBeGreaterThanOrEqual(0);
  });
});

describe('wasm backend: results independent of threads, chunking and memory placement', () => {
  it('1 vs 2 threads vs row-chunked vs many memories: bit-identical for every parallel op', async () => {
    const configs = [
      { threads: 1 },
      { threads: 2 },
      { threads: 3 }, // more threads than cores: uneven splits, stolen tasks
      // small scratch: row chunks; a probed blocking too big for it falls back to the default
      { threads: 2, scratchBytes: 3 << 20, weightBytesPerMemory: 1 << 16 },
    ];
    const r = rng(21);
    const M = 40;
    const K = 1152;
    const N = 4304;
    const H = 72;
    const T = 97;
    const x = randF32(r, M * K);
    const wf = randF32(r, N * K, 0.05);
    const b = randF32(r, N);
    const wb = narrowToBf16(wf);
    const xs = randF32(r, 2 * K);
    const lnw = randF32(r, K);
    const lnb = randF32(r, K);
    const big = randF32(r, 3 * 65531, 20);
    const q = randF32(r, T * 16 * H);
    const kk = randF32(r, T * 16 * H);
    const v = randF32(r, T * 16 * H);
    const px = randF32(r, 3 * 3 * 112 * 112);
    const pw = narrowToBf16(randF32(r, 16 * 588, 0.1));
    const pb = randF32(r, 16); // 3 crops: >= 2 chunks at 3 MiB
    // decode attention: key-range score tasks and kv-head P·V tasks; the second case's score
    // rows (5 queries x 16 heads x 12000 keys = 3.7 MiB) go in query groups at 3 MiB of scratch
    const dq = randF32(r, 5 * 16 * 64);
    const dk = randF32(r, 12000 * 4 * 64);
    const dv = randF32(r, 12000 * 4 * 64);
    const outs: Float32Array[][] = [];
    for (const cfg of configs) {
      const be = await createWasmBackend(cfg);
      const W = be.loadWeight('w', 'BF16', [N, K], wb);
      const Wf = be.loadWeight('wf', 'F32', [N, K], wf);
      const B = be.loadWeight('b', 'F32', [N], b);
      const LW = be.loadWeight('lnw', 'F32', [K], lnw);
      const LB = be.loadWeight('lnb', 'BF16', [K], narrowToBf16(lnb));
      if (cfg.weightBytesPerMemory) expect(be.info().memories.length).toBeGreaterThanOrEqual(3);
      outs.push([
        be.linear(t([M, K], x), W, B).data,
        be.linear(t([M, K], x), Wf).data,
        be.linear(t([2, K], xs), W, B).data,
        be.matmul(t([4, N], x.subarray(0, 4 * N)), be.loadWeight('m', 'BF16', [N, K], wb)).data,
        be.layerNorm(t([M, K], x), LW, LB, 1e-6).data,
        be.rmsNorm(t([M, K], x), LW, 1e-5, 1).data,
        be.softmax(t([3, 65531], big)).data,
        be.gatedAct(t([big.length], big), t([big.length], big), 'gelu_tanh').data,
        be.attention(t([T, 16 * H], q), t([T, 16 * H], kk), t([T, 16 * H], v), {
          nHeads: 16,
          nKvHeads: 16,
          headDim: H,
          scale: H ** -0.5,
          causal: false,
        }).data,
        be.attention(t([T, 16 * H], q), t([T, 4 * H * 4], kk), t([T, 4 * H * 4], v), {
          nHeads: 16,
          nKvHeads: 16,
          headDim: H,
          scale: 0.1,
          causal: true,
          window: 30,
          softcap: 5,
        }).data,
        be.attention(
          t([1, 24 * 64], dq.subarray(0, 24 * 64)),
          t([1500, 8 * 64], dk.subarray(0, 1500 * 512)),
          t([1500, 8 * 64], dv.subarray(0, 1500 * 512)),
          { nHeads: 24, nKvHeads: 8, headDim: 64, scale: 0.125, causal: true, qPos0: 1499 },
        ).data,
        be.attention(t([5, 16 * 64], dq), t([12000, 4 * 64], dk), t([12000, 4 * 64], dv), {
          nHeads: 16,
          nKvHeads: 4,
          headDim: 64,
          scale: 0.125,
          causal: true,
          qPos0: 11995,
          window: 9000,
          softcap: 30,
        }).data,
        be.patchEmbed(t([3, 3, 112, 112], px), be.loadWeight('pw', 'BF16', [16, 588], pw), be.loadWeight('pb', 'F32', [16], pb), 14).data,
      ]);
      be.dispose();
    }
    for (let c = 1; c < configs.length; c++) {
      outs[c].forEach((o, i) => expectBitEqual(o, outs[0][i], `config ${JSON.stringify(configs[c])} output ${i}`));
    }
  });

  it('loadWeightFrom (bytes written straight into wasm memory) equals loadWeight; a failed fill gives the space back', async () => {
    const be = await createWasmBackend({ threads: 1, weightBytesPerMemory: 1 << 16 });
    const r = rng(31);
    const wf = randF32(r, 40 * 300);
    const wb = narrowToBf16(wf);
    const x = randF32(r, 5 * 300);
    const viaBytes = (src: Uint16Array | Float32Array) => (dst: Uint8Array) => {
      dst.set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength));
      return Promise.resolve();
    };
    for (const [dtype, data] of [
      ['BF16', wb],
      ['F32', wf],
    ] as const) {
      const a = be.loadWeight('a', dtype, [40, 300], data);
      const b = await be.loadWeightFrom('b', dtype, [40, 300], viaBytes(data));
      expectBitEqual(be.readWeight(b), be.readWeight(a), `readWeight ${dtype}`);
      expectBitEqual(be.linear(t([5, 300], x), b).data, be.linear(t([5, 300], x), a).data, `linear ${dtype}`);
    }
    expect(be.info().memories.length).toBeGreaterThanOrEqual(2); // 48 KiB weights at 64 KiB per memory
    const held = () => be.info().memories.reduce((s, m) => s + m.weightBytes, 0);
    const before = held();
    await expect(be.loadWeightFrom('c', 'BF16', [40, 300], () => Promise.reject(new Error('disk on fire')))).rejects.toThrow(
      /disk on fire/,
    );
    expect(held()).toBe(before); // (an emptied new memory stays, for the next weight)
    be.dispose();
  });

  it('dispose() ends the backend: later calls throw a BackendError; foreign weights are rejected', async () => {
    const a = await createWasmBackend({ threads: 1 });
    const b = await createWasmBackend({ threads: 1 });
    const w = a.loadWeight('w', 'F32', [2, 2], new Float32Array(4));
    expect(() => b.linear(t([1, 2], new Float32Array(2)), w)).toThrow(/not loaded by this wasm backend/);
    a.dispose();
    expect(() => a.linear(t([1, 2], new Float32Array(2)), w)).toThrow(BackendError);
    b.dispose();
  });
});
