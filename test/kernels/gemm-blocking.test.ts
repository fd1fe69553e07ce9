// GEMM blocking chosen at run time: kc, mc, nc change speed, never a bit.
//  - linear / matmul / patchEmbed under many blockings (the probe's grid, degenerate and odd
//    edges: kc 1, 3, 7, 257; mc 4, 12, 132; nc 8, 24, 1032) equal the default blocking and
//    the sequential Math.fround twin bit for bit, f32 and bf16 weights, at 1 and 2 threads;
//  - the blocking asked for is the one live (info()), invalid ones are refused with every
//    problem named; OVIS_GEMM_BLOCKING overrides the probe; the probe keeps the default
//    unless a candidate is clearly faster.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  blockingForScratch,
  blockingProblems,
  DEFAULT_GEMM_BLOCKING,
  type GemmBlocking,
  PROBE_KC,
  PROBE_MC,
  PROBE_NC,
  parseBlocking,
  probeBlocking,
  resetProcessBlocking,
} from '../../src/backend/wasm/blocking.js';
import { createWasmBackend, type WasmBackend } from '../../src/backend/wasm.js';
import { narrowToBf16 } from '../../src/dtype.js';
import { InputError } from '../../src/errors.js';
import { randF32, rng } from '../ops/helpers.js';
import { bf16Values, firstDiff, t } from './bits.js';

const f = Math.fround;

/** kernels/gemm.ts's order: acc = 0; for k ascending: acc = f32(acc + f32(a·b)). w is (N, K). */
function gemmTwin(a: Float32Array, M: number, K: number, w: Float32Array, N: number): Float32Array {
  const y = new Float32Array(M * N);
  for (let i = 0; i < M; i++)
    for (let n = 0; n < N; n++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc = f(acc + f(a[i * K + k] * w[n * K + k]));
      y[i * N + n] = acc;
    }
  return y;
}

const transpose = (w: Float32Array | Uint16Array, N: number, K: number) => {
  const o = new (w.constructor as Float32ArrayConstructor | Uint16ArrayConstructor)(N * K);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) o[k * N + n] = w[n * K + k];
  return o;
};

/** The probe's grid plus degenerate and odd blockings (every one valid). */
const BLOCKINGS: GemmBlocking[] = [
  ...PROBE_KC.flatMap((kc) => PROBE_NC.flatMap((nc) => PROBE_MC.map((mc) => ({ kc, mc, nc })))),
  { kc: 1, mc: 4, nc: 8 },
  { kc: 3, mc: 4, nc: 8 },
  { kc: 7, mc: 12, nc: 24 },
  { kc: 4, mc: 8, nc: 16 },
  { kc: 257, mc: 132, nc: 1032 },
  { kc: 100, mc: 20, nc: 40 },
  { kc: 2048, mc: 256, nc: 2048 },
  { kc: 1152, mc: 4, nc: 4304 },
];
// M around mc (4, 12, 64, 128, 132), K around kc (1, 3, 7, 128, 256, 257, 384), N around nc and 8
const SHAPES: [number, number, number][] = [
  [4, 1, 1],
  [5, 9, 17],
  [13, 258, 25],
  [37, 385, 523],
  [133, 130, 1100],
  [129, 769, 41],
  [4, 1152, 1033],
];

describe('GEMM blocking: every blocking gives the same bits (default blocking and the scalar twin)', () => {
  for (const threads of [1, 2]) {
    describe(`${threads} thread(s)`, () => {
      let be: WasmBackend;
      beforeAll(async () => {
        be = await createWasmBackend({ threads });
      });
      afterAll(() => be.dispose());

      it(`linear and matmul, f32 and bf16, ${SHAPES.length} shapes x ${BLOCKINGS.length} blockings`, () => {
        const r = rng(180 + threads);
        const failures: string[] = [];
        let checked = 0;
        for (const [M, K, N] of SHAPES) {
          const x = randF32(r, M * K);
          const wf = randF32(r, N * K);
          const wb = narrowToBf16(wf);
          const twins = { F32: gemmTwin(x, M, K, wf, N), BF16: gemmTwin(x, M, K, bf16Values(wb), N) };
          const W = {
            F32: [be.loadWeight('w', 'F32', [N, K], wf), be.loadWeight('wt', 'F32', [K, N], transpose(wf, N, K) as Float32Array)],
            BF16: [be.loadWeight('w', 'BF16', [N, K], wb), be.loadWeight('wt', 'BF16', [K, N], transpose(wb, N, K) as Uint16Array)],
          };
          be.setGemmBlocking(DEFAULT_GEMM_BLOCKING);
          const want = { F32: be.linear(t([M, K], x), W.F32[0]).data, BF16: be.linear(t([M, K], x), W.BF16[0]).data };
          for (const dt of ['F32', 'BF16'] as const) {
            const i = firstDiff(want[dt], twins[dt]);
            if (i !== -1) failures.push(`default blocking vs twin ${dt} ${M}x${K}x${N} at ${i}: ${want[dt][i]} vs ${twins[dt][i]}`);
          }
          for (const b of BLOCKINGS) {
            be.setGemmBlocking(b);
            const live = be.info().gemmBlocking;
            expect([live.kc, live.mc, live.nc], 'the blocking asked for is live').toEqual([b.kc, b.mc, b.nc]);
            for (const dt of ['F32', 'BF16'] as const) {
              for (const [what, y] of [
                ['linear', be.linear(t([M, K], x), W[dt][0]).data],
                ['matmul', be.matmul(t([M, K], x), W[dt][1]).data],
              ] as const) {
                const i = firstDiff(y, want[dt]);
                checked++;
                if (i !== -1)
                  failures.push(`${what} ${dt} ${M}x${K}x${N} kc=${b.kc} mc=${b.mc} nc=${b.nc} at ${i}: ${y[i]} vs ${want[dt][i]}`);
              }
            }
          }
        }
        be.setGemmBlocking(DEFAULT_GEMM_BLOCKING);
        expect(failures.slice(0, 5), `${failures.length} of ${checked} differ`).toEqual([]);
        expect(checked).toBe(SHAPES.length * BLOCKINGS.length * 4);
      });
    });
  }

  it('SigLIP-sized linear (729x1152x4304 bf16) and patchEmbed: same bits under every probe blocking and odd ones', async () => {
    const be = await createWasmBackend({ threads: 2 });
    const r = rng(187);
    const M = 729;
    const K = 1152;
    const N = 4304;
    const x = randF32(r, M * K);
    const W = be.loadWeight('fc1', 'BF16', [N, K], narrowToBf16(randF32(r, N * K, 0.05)));
    const px = randF32(r, 3 * 56 * 56);
    const pw = be.loadWeight('pw', 'BF16', [40, 588], narrowToBf16(randF32(r, 40 * 588, 0.1)));
    const pb = be.loadWeight('pb', 'F32', [40], randF32(r, 40));
    be.setGemmBlocking(DEFAULT_GEMM_BLOCKING);
    const want = be.linear(t([M, K], x), W).data;
    const wantP = be.patchEmbed(t([1, 3, 56, 56], px), pw, pb, 14).data;
    const failures: string[] = [];
    for (const b of [...BLOCKINGS.filter((bb) => bb.kc >= 128), { kc: 5, mc: 4, nc: 8 }]) {
      be.setGemmBlocking(b);
      const i = firstDiff(be.linear(t([M, K], x), W).data, want);
      const j = firstDiff(be.patchEmbed(t([1, 3, 56, 56], px), pw, pb, 14).data, wantP);
      if (i !== -1 || j !== -1) failures.push(`kc=${b.kc} mc=${b.mc} nc=${b.nc}: linear ${i}, patchEmbed ${j}`);
    }
    be.dispose();
    expect(failures).toEqual([]);
  });
});

describe('GEMM blocking: choice, override, validation', () => {
  it('invalid blockings are refused with every problem named', async () => {
    expect(blockingProblems({ kc: 0, mc: 6, nc: 12 })).toHaveLength(3);
    expect(blockingProblems({ kc: 256, mc: 128, nc: 1024 })).toEqual([]);
    expect(blockingProblems({ kc: 8192, mc: 8192, nc: 16384 })[0]).toMatch(/MiB/);
    expect(() => parseBlocking('256,128')).toThrow(InputError);
    expect(() => parseBlocking('256,130,1024')).toThrow(/mc must be a multiple of 4/);
    expect(parseBlocking(' 384, 64 ,512')).toEqual({ kc: 384, mc: 64, nc: 512 });
    await expect(createWasmBackend({ threads: 1, gemmBlocking: { kc: 256, mc: 128, nc: 1001 } })).rejects.toThrow(
      /nc must be a multiple of 8/,
    );
    const be = await createWasmBackend({ threads: 1, gemmBlocking: { kc: 128, mc: 64, nc: 256 } });
    expect(be.info().gemmBlocking).toMatchObject({ kc: 128, mc: 64, nc: 256, source: 'option' });
    expect(() => be.setGemmBlocking({ kc: 1, mc: 2, nc: 8 })).toThrow(InputError);
    be.dispose();
  });

  it('OVIS_GEMM_BLOCKING overrides the probe; without it the probe picks one of its candidates', async () => {
    const saved = process.env.OVIS_GEMM_BLOCKING;
    try {
      process.env.OVIS_GEMM_BLOCKING = '384,64,512';
      resetProcessBlocking();
      const a = await createWasmBackend({ threads: 1 });
      expect(a.info().gemmBlocking).toMatchObject({ kc: 384, mc: 64, nc: 512, source: 'env' });
      a.dispose();
      process.env.OVIS_GEMM_BLOCKING = '384,66,512';
      resetProcessBlocking();
      await expect(createWasmBackend({ threads: 1 })).rejects.toThrow(/OVIS_GEMM_BLOCKING.*mc must be a multiple of 4/s);
      delete process.env.OVIS_GEMM_BLOCKING;
      resetProcessBlocking();
      const b = await createWasmBackend({ threads: 1 });
      const g = b.info().gemmBlocking;
      expect(g.source).toBe('probe');
      expect(g.probe!.candidates).toHaveLength(PROBE_KC.length * PROBE_NC.length * PROBE_MC.length);
      expect(g.probe!.candidates.some((c) => c.kc === g.kc && c.mc === g.mc && c.nc === g.nc)).toBe(true);
      b.dispose();
      const c = await createWasmBackend({ threads: 1 }); // remembered for the process: no second probe
      expect(c.info().gemmBlocking).toEqual(g); // same measured GFLOP/s: not probed again
      c.dispose();
    } finally {
      if (saved === undefined) delete process.env.OVIS_GEMM_BLOCKING;
      else process.env.OVIS_GEMM_BLOCKING = saved;
      resetProcessBlocking();
    }
  });

  it('the probe stops at its time budget (a budget of 0: only the default is timed, and kept)', () => {
    let calls = 0;
    const r = probeBlocking(
      () => {
        calls++;
        return 0.01;
      },
      1e9,
      3,
      0.03,
      0,
    );
    expect(calls).toBe(1);
    expect([r.kc, r.mc, r.nc]).toEqual([256, 128, 1024]);
    expect(r.probe!.candidates.filter((c) => c.gflops > 0)).toHaveLength(1);
  });

  it('the probe keeps the default unless a candidate is faster by more than the margin', () => {
    const flops = 1e9;
    // every candidate 2% faster than the default: within the margin -> default
    const near = probeBlocking((b) => (b.kc === 256 && b.mc === 128 && b.nc === 1024 ? 0.0102 : 0.01), flops);
    expect([near.kc, near.mc, near.nc]).toEqual([256, 128, 1024]);
    // one candidate 10% faster -> that one
    const far = probeBlocking((b) => (b.kc === 384 && b.mc === 64 && b.nc === 512 ? 0.009 : 0.01), flops);
    expect([far.kc, far.mc, far.nc]).toEqual([384, 64, 512]);
    expect(far.probe!.candidates.find((c) => c.kc === 384 && c.mc === 64 && c.nc === 512)!.gflops).toBeCloseTo(flops / 0.009 / 1e9);
  });

  it("a probed blocking whose packing would take over half of a backend's scratch budget falls back to the default", async () => {
    const probed = { kc: 384, mc: 128, nc: 1024, source: 'probe' as const }; // 1.77 MB of packing per thread
    expect(blockingForScratch(probed, 2, 512 * 2 ** 20)).toBe(probed);
    const small = blockingForScratch(probed, 2, 3 << 20);
    expect([small.kc, small.mc, small.nc, small.source]).toEqual([256, 128, 1024, 'default']);
    expect(blockingForScratch(probed, 1, 4 << 20)).toBe(probed);
    // the user's own choice is kept (and a GEMM that cannot fit then says 'raise scratchBytes')
    const env = { ...probed, source: 'env' as const };
    expect(blockingForScratch(env, 2, 3 << 20)).toBe(env);
    // end to end: whatever the process probed, a 3 MiB backend runs a GEMM
    const be = await createWasmBackend({ threads: 2, scratchBytes: 3 << 20 });
    try {
      const x = randF32(rng(5), 40 * 300);
      const w = randF32(rng(6), 300 * 200);
      const y = be.linear(t([40, 300], x), be.loadWeight('w', 'F32', [200, 300], w));
      expect(y.shape).toEqual([40, 200]);
      // the probed blocking if its packing fits in half the budget, else the default
      const g = be.info().gemmBlocking;
      if (g.source === 'default') expect([g.kc, g.mc, g.nc]).toEqual([256, 128, 1024]);
      else expect(g.source === 'probe' && 2 * (g.kc * (g.nc + g.mc) + 32) * 4 + 128 <= 3 << 19).toBe(true);
    } finally {
      be.dispose();
    }
  });
});
