#!/usr/bin/env node
// Quantized Linear kernels vs the bf16 ones, one thread, same run (imports dist/: `npm run bench:quant-kernels`;
// the model-level table is bench/quant-model.mjs, `npm run bench:quant`).
//
//   node bench/quant.mjs [--quick] [--wall]
//   node bench/quant.mjs --error     the quantization error of `ovis quantize`'s scheme (below)
//   node bench/quant.mjs --dot-error the opt-in integer-dot GEMM's error against the f32 path (below)
//
// Kernel time only (the modules are instantiated directly on one shared memory; no backend, no
// copies): decode GEMVs on the 3B's shapes (bf16 gemv_bf16 vs gemv_q4 / gemv_q8, GPTQ group 128),
// and prefill GEMMs (gemm_blocked on bf16 weights vs gemm_q = dequantize a 64-column block then
// gemm_blocked on it), with the share of gemm_q's time spent dequantizing (dequant_cols alone on the
// same columns). Also the same-run read bandwidth (read_stream over 512 MiB). Timing: one warm-up,
// minimum of reps calls, the variants of a row interleaved in rounds. Weights are random bits (speed does not depend on the values).
import { EMBEDDED_KERNELS } from '../dist/backend/wasm/generated/kernels-wasm.js';
import { dequantize, linearQuantDotI8, linearQuantDotI16, linearQuantF32, prepareGptqLinear } from '../dist/quant/gptq.js';
import { RtnQuantizer } from '../dist/quant/rtn.js';

// --error: round-to-nearest (src/quant/rtn.ts) on real-shaped random weights, N(0, 0.02) rounded
// to bf16 (the synthetic checkpoints' distribution; real weights have heavier tails, so expect
// somewhat more), against those bf16 weights: relative Frobenius error of W, and of y = x·Wᵀ for
// x ~ N(0, 1) rows; the bf16 rounding of the same weights from f32 is printed for scale.
// --dot-error: gemm_q_dot's result (its twin linearQuantDotI16: x rounded per row to int16) and
// gemv_q_dot8's (linearQuantDotI8: x rounded to int8 per block of 32, quantDot 'int8') against
// the default f32 path (linearQuantF32) on the same int4/int8 g128 weights, relative Frobenius error
// of y and the largest relative error of one output (to its row's largest |y|), for x ~ N(0, 1) and
// for x with outlier channels (1 % of the channels x 50, as LLM hidden states have), 16 rows.
if (process.argv.includes('--dot-error')) {
  let st = 777;
  const uni = () => {
    st = (Math.imul(st, 1664525) + 1013904223) >>> 0;
    return st / 2 ** 32;
  };
  const gauss = () => Math.sqrt(-2 * Math.log(uni() || 1e-12)) * Math.cos(2 * Math.PI * uni());
  const M = 16;
  const K = 3072;
  const N = 1024;
  process.stdout.write('| weights | x | activations | ‖Δy‖/‖y‖ | max |Δy| / max|y| of the row |\n| --- | --- | --- | ---: | ---: |\n');
  for (const bits of [8, 4]) {
    const G = K / 128;
    const per = 32 / bits;
    const qweight = Int32Array.from({ length: (K / per) * N }, () => (uni() * 2 ** 32) | 0);
    const scales = Float32Array.from({ length: G * N }, () => Math.fround(((0.02 * 6) / 2 ** bits) * (0.5 + uni())));
    const zeros = new Float32Array(G * N).fill(2 ** (bits - 1));
    const d = { name: 'w', bits, K, N, groupSize: 128, qweight, scales, zeros, perm: null, bias: null };
    for (const outliers of [false, true]) {
      const x = Float32Array.from({ length: M * K }, (_, i) => gauss() * (outliers && (i % K) % 100 === 7 ? 50 : 1));
      const yf = linearQuantF32(x, M, d);
      for (const [act, yd] of [
        ['int16 per row', linearQuantDotI16(x, M, d)],
        ['int8 per 32', linearQuantDotI8(x, M, d)],
      ]) {
        let num = 0;
        let den = 0;
        let worst = 0;
        for (let m = 0; m < M; m++) {
          let ymax = 0;
          for (let n = 0; n < N; n++) ymax = Math.max(ymax, Math.abs(yf[m * N + n]));
          for (let n = 0; n < N; n++) {
            const e = yd[m * N + n] - yf[m * N + n];
            num += e * e;
            den += yf[m * N + n] ** 2;
            worst = Math.max(worst, Math.abs(e) / ymax);
          }
        }
        process.stdout.write(
          `| int${bits} g128 ${N}x${K} | ${outliers ? 'N(0, 1), 1 % channels x50' : 'N(0, 1)'} | ${act} | ${Math.sqrt(num / den).toExponential(2)} | ${worst.toExponential(2)} |\n`,
        );
      }
    }
  }
  process.exit(0);
}

if (process.argv.includes('--error')) {
  let st = 12345;
  const gauss = () => {
    let u = 0;
    let v = 0;
    while (u === 0) {
      st = (Math.imul(st, 1664525) + 1013904223) >>> 0;
      u = st / 2 ** 32;
    }
    st = (Math.imul(st, 1664525) + 1013904223) >>> 0;
    v = st / 2 ** 32;
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  const bf16 = (v) => {
    const f = new Float32Array([v]);
    const u = new Uint32Array(f.buffer);
    u[0] = (u[0] + 0x7fff + ((u[0] >>> 16) & 1)) & 0xffff0000;
    return f[0];
  };
  const M = 16;
  process.stdout.write('| shape (N x K) | scheme | ‖ΔW‖/‖W‖ | ‖Δy‖/‖y‖ | bytes/weight |\n| --- | --- | ---: | ---: | ---: |\n');
  for (const [N, K] of [
    [3072, 3072],
    [8192, 3072],
    [3072, 8192],
  ]) {
    const w32 = Float32Array.from({ length: N * K }, () => 0.02 * gauss());
    const W = w32.map(bf16);
    const x = Float32Array.from({ length: M * K }, gauss);
    const rel = (a, b) => {
      let d = 0;
      let n = 0;
      for (let i = 0; i < a.length; i++) {
        d += (a[i] - b[i]) ** 2;
        n += b[i] ** 2;
      }
      return Math.sqrt(d / n);
    };
    const mm = (w) => {
      const y = new Float64Array(M * N);
      for (let m = 0; m < M; m++)
        for (let n = 0; n < N; n++) {
          let s = 0;
          for (let k = 0; k < K; k++) s += x[m * K + k] * w[n * K + k];
          y[m * N + n] = s;
        }
      return y;
    };
    const y = mm(W);
    process.stdout.write(
      `| ${N}x${K} | bf16 vs f32 (for scale) | ${rel(W, w32).toExponential(2)} | ${rel(y, mm(w32)).toExponential(2)} | 2 |\n`,
    );
    for (const [bits, gs, sym] of [
      [8, -1, true],
      [8, 128, false],
      [4, 128, true],
      [4, 128, false],
      [4, 64, false],
      [4, 32, false],
      [4, -1, true],
    ]) {
      const q = new RtnQuantizer(N, K, bits, gs, sym);
      q.addRows(0, W);
      const G = gs === -1 ? 1 : K / gs;
      const cfg = { quant_method: 'gptq', bits, group_size: gs, sym, desc_act: false, checkpoint_format: 'gptq', source: '' };
      const t = (dtype, shape, data) => ({ dtype, shape, data });
      const d = prepareGptqLinear(
        'p',
        N,
        K,
        cfg,
        {
          qweight: t('I32', [(K * bits) / 32, N], q.t.qweight),
          qzeros: t('I32', [G, (N * bits) / 32], q.t.qzeros),
          scales: t('F16', [G, N], q.t.scales),
          g_idx: t('I32', [K], q.t.g_idx),
        },
        'bench',
        false,
      );
      const Wq = dequantize(d);
      const bpw = bits / 8 + (G * N * (2 + bits / 8)) / (N * K);
      process.stdout.write(
        `| ${N}x${K} | int${bits} g${gs} ${sym ? 'sym' : 'asym'} | ${rel(Wq, W).toExponential(2)} | ${rel(mm(Wq), y).toExponential(2)} | ${bpw.toFixed(3)} |\n`,
      );
    }
  }
  process.exit(0);
}

const quick = process.argv.includes('--quick');
const reps = quick ? 3 : 7;
const mem = new WebAssembly.Memory({ initial: 16384, maximum: 65536, shared: true }); // 1 GiB, grown below (~2.5 GiB in all)
const moduleBytes = (variant, g) =>
  Uint8Array.from(atob(EMBEDDED_KERNELS.find((k) => k.variant === variant && k.group === g).base64), (c) => c.charCodeAt(0));
const inst = (g, variant = 'simd') =>
  new WebAssembly.Instance(new WebAssembly.Module(moduleBytes(variant, g)), { env: { memory: mem } }).exports;
const gemm = inst('gemm');
const gemv = inst('gemv');
const quant = inst('quant');
// the relaxed build's quant module (int4 gemv_q_dot8 through i8 dots), where the engine validates it
// (Node < 22: node --experimental-wasm-relaxed-simd bench/quant.mjs)
const quantRelaxed = WebAssembly.validate(moduleBytes('relaxed', 'quant')) ? inst('quant', 'relaxed') : null;

let top = 1 << 16;
const alloc = (bytes) => {
  const p = top;
  top = Math.ceil((top + bytes) / 64) * 64;
  const need = Math.ceil(top / 65536) - mem.buffer.byteLength / 65536;
  if (need > 0) mem.grow(need);
  return p;
};
const fillRandom = (p, bytes) => {
  const u = new Uint32Array(mem.buffer, p, bytes / 4);
  let s = 0x9e3779b9;
  for (let i = 0; i < u.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    u[i] = s;
  }
};
const fillF32 = (p, n, f) => {
  const a = new Float32Array(mem.buffer, p, n);
  for (let i = 0; i < n; i++) a[i] = f(i);
};
/** Minimum over reps calls after one warm-up: on a shared machine (other processes on both cores)
 *  the least disturbed call is the best estimate of the kernel's own speed; the variants of one row
 *  are timed interleaved (rounds), so a busy period hits them alike. */
// --wall: wall-clock time; default: the process's CPU time (process.cpuUsage, µs): one thread runs
// here, so it is the kernel's own time and does not count the periods the OS gave the core to other
// processes (on the shared 2-core machine, load 6-10, wall minima still varied 2-3x between runs)
const useWall = process.argv.includes('--wall');
const now = useWall
  ? () => performance.now()
  : () => {
      const c = process.cpuUsage();
      return (c.user + c.system) / 1000;
    };
function time(fn) {
  fn();
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = now();
    fn();
    best = Math.min(best, now() - t0);
  }
  return best;
}
/** Interleaved rounds of several timed functions; the minimum of each. */
function timeAll(fns, rounds = quick ? 3 : 5) {
  const best = fns.map(() => Infinity);
  for (let r = 0; r < rounds; r++)
    fns.forEach((f, i) => {
      best[i] = Math.min(best[i], time(f));
    });
  return best;
}

const log = (s) => process.stdout.write(s + '\n');
// bandwidth reference
const RS = 512 << 20;
const prs = alloc(RS);
fillRandom(prs, RS);
const bw = RS / time(() => gemv.read_stream(prs, RS)) / 1e6;
log(
  `node ${process.versions.node}, ${new Date().toISOString().slice(0, 10)}, 1 thread, ${useWall ? 'wall' : 'CPU'} time (min of ${reps}); read_stream ${bw.toFixed(1)} GB/s`,
);

const GS = 128;
log(
  '\ndecode GEMV (M = 1), kernel time; each call on the next of several copies of the weights (>= 96 MiB per variant, so they come from DRAM as in the model, not from L3):',
);
log(
  'int8/int4 dot = gemv_q_dot (opt-in: x rounded to int16 by quant_rows_i16 + dot_block_sums + dot_pair_order, included; i32x4.dot_i16x8_s)',
);
log(
  'int4 dot8 = gemv_q_dot8 (opt-in, x rounded to int8 per 32 inputs by quant_blocks_i8, included): default build (i32x4.dot_i16x8_s) and relaxed build (i16x8.relaxed_dot_i8x16_i7x16_s)' +
    (quantRelaxed ? '' : ' — relaxed SIMD not validated by this engine: n/a'),
);
log(
  '| shape (N x K) | bf16 | int8 g128 | int4 g128 | int4 vs bf16 | int8 dot | int4 dot | int8 dot vs bf16 | int4 dot vs bf16 | int4 dot8 | int4 dot8, relaxed | int4 dot8 relaxed vs bf16 |',
);
log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const [N, K, what] of [
  [8192, 3072, 'gate/up_proj'],
  [3072, 8192, 'down_proj'],
  [3072, 3072, 'q/o_proj'],
]) {
  const px = alloc(K * 4);
  const pxd = alloc(K * 4);
  const py = alloc(N * 4);
  fillF32(px, K, (i) => Math.sin(i));
  gemv.deinterleave8(px, K, pxd);
  const G = K / GS;
  const copies = (bytes) => Math.max(2, Math.ceil((96 << 20) / bytes));
  const ring = (bytes) => {
    const n = copies(bytes);
    const ps = [];
    for (let i = 0; i < n; i++) {
      const p = alloc(bytes);
      fillRandom(p, bytes);
      ps.push(p);
    }
    let i = 0;
    return () => ps[i++ % n];
  };
  const wb = ring(N * K * 2);
  const q8 = ring(K * N);
  const q4 = ring((K * N) / 2);
  // scales 0.01 and zeros 8 in the kernels' panel lines (panelScales: 8 scales, then 8 zeros)
  const ps = alloc(G * N * 8);
  fillF32(ps, G * N * 2, (i) => (i & 8 ? 8 : 0.01));
  const pxs = alloc(G * 4);
  const pab = alloc(N * 4);
  const pxq = alloc(K * 4);
  const q = (bits, next) => () => {
    quant.group_sums(bits, K, GS, px, pxs, pxq);
    quant.gemv_q(bits, K, N, GS, pxq, pxs, next(), ps, py, pab, 0, N);
  };
  const pxi = alloc(K * 2);
  const pxr = alloc(K * 2);
  const pax = alloc(4);
  const pbs = alloc((K / 128 + G) * 4);
  const dq = (bits, next) => () => {
    quant.quant_rows_i16(1, K, px, pxi, K, pax);
    quant.dot_block_sums(K, GS, pxi, pbs);
    quant.dot_pair_order(bits, K, pxi, pxr);
    quant.gemv_q_dot(bits, K, N, GS, pxr, pax, pbs, next(), ps, py, 0, N);
  };
  const px16 = alloc(K * 2);
  const px8 = alloc(K);
  const paxb = alloc((K / 32 + G) * 4);
  const pxg = alloc(G * 4);
  const d8 = (k, next) => () => {
    k.quant_blocks_i8(4, K, GS, px, px16, px8, paxb, pxg);
    k.gemv_q_dot8(4, K, N, GS, px16, px8, paxb, pxg, next(), ps, py, 0, N);
  };
  const [tb, t8, t4, td8, td4, t48, t48r] = timeAll([
    () => gemv.gemv_bf16(K, px, pxd, wb(), py, 0, N),
    q(8, q8),
    q(4, q4),
    dq(8, q8),
    dq(4, q4),
    d8(quant, q4),
    quantRelaxed ? d8(quantRelaxed, q4) : () => {},
  ]);
  const row = [
    [8, t8],
    [4, t4],
  ].map(([bits, tq]) => ({ tq, gbs: ((K * N * bits) / 8 + 2 * G * N * 4) / tq / 1e6, gw: (N * K) / tq / 1e6 }));
  log(
    `| ${N}x${K} ${what} | ${tb.toFixed(2)} ms (${((N * K * 2) / tb / 1e6).toFixed(1)} GB/s, ${((N * K) / tb / 1e6).toFixed(1)} Gw/s) | ` +
      row.map((r) => `${r.tq.toFixed(2)} ms (${r.gbs.toFixed(1)} GB/s, ${r.gw.toFixed(1)} Gw/s)`).join(' | ') +
      ` | ${(tb / row[1].tq).toFixed(2)}x | ` +
      `${td8.toFixed(2)} ms (${((N * K) / td8 / 1e6).toFixed(1)} Gw/s) | ${td4.toFixed(2)} ms (${((N * K) / td4 / 1e6).toFixed(1)} Gw/s) | ${(tb / td8).toFixed(2)}x | ${(tb / td4).toFixed(2)}x | ` +
      `${t48.toFixed(2)} ms (${((N * K) / t48 / 1e6).toFixed(1)} Gw/s) | ` +
      (quantRelaxed ? `${t48r.toFixed(2)} ms (${((N * K) / t48r / 1e6).toFixed(1)} Gw/s) | ${(tb / t48r).toFixed(2)}x |` : 'n/a | n/a |'),
  );
}

log('\nprefill GEMM, kernel time (kc/mc/nc 256/128/1024):');
log(
  'int8/int4 dot = gemm_q_dot (opt-in integer dot products: x quantized per row to int16 by quant_rows_i16, included; i32x4.dot_i16x8_s)',
);
log(
  'int4 dot8 = gemm_q_dot8 (opt-in, x rounded to int8 per 32 inputs by quant_rows_i8, included), default and relaxed build' +
    (quantRelaxed ? '' : ' — relaxed SIMD not validated by this engine: n/a'),
);
log(
  '| M x N x K | bf16 gemm_blocked | int4 gemm_q | of which dequant_cols | int8 gemm_q | int8 dot | int4 dot | int8 dot vs bf16 | int4 dot8 | int4 dot8, relaxed | dot8 relaxed vs bf16 |',
);
log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const [M, N, K] of quick
  ? [[229, 3072, 3072]]
  : [
      [229, 3072, 3072],
      [229, 8192, 3072],
      [16, 3072, 3072],
      [1024, 3072, 3072],
    ]) {
  const px = alloc(M * K * 4);
  const py = alloc(M * N * 4);
  fillF32(px, M * K, (i) => Math.sin(i));
  const pw = alloc(N * K * 2);
  fillRandom(pw, N * K * 2);
  // bf16 bits from random words can be NaN/huge: keep the exponent sane for a fair FP pipeline
  {
    const u = new Uint16Array(mem.buffer, pw, N * K);
    for (let i = 0; i < u.length; i++) u[i] = (u[i] & 0x807f) | 0x3c00;
  }
  const psc = alloc(Math.max(quant.gemm_q_scratch_bytes(K, 256, 128, 1024), quant.gemm_q_dot_scratch_bytes()));
  const pxi = alloc(M * K * 2);
  const pax = alloc(M * 4);
  const gf = (2 * M * N * K) / 1e9;
  const G = K / GS;
  // scales 0.01 and zeros 8 in the kernels' panel lines (panelScales: 8 scales, then 8 zeros)
  const ps = alloc(G * N * 8);
  fillF32(ps, G * N * 2, (i) => (i & 8 ? 8 : 0.01));
  const pq = { 8: alloc(K * N), 4: alloc((K * N) / 2) };
  fillRandom(pq[8], K * N);
  fillRandom(pq[4], (K * N) / 2);
  const Mp = Math.ceil(M / 4) * 4;
  const B8 = K / 32;
  const pm16 = alloc(Mp * K * 2);
  const pm8 = alloc(Mp * K);
  const pmab = alloc(Mp * B8 * 4);
  const pmxg = alloc(Mp * G * 4);
  const g8 = (k) => () => {
    k.quant_rows_i8(4, M, Mp, K, GS, B8, G, px, pm16, pm8, pmab, pmxg);
    k.gemm_q_dot8(4, M, K, N, GS, B8, G, pm16, pm8, pmab, pmxg, pq[4], ps, py, 0, N);
  };
  const [tb, t4, t8, tdeq, td8, td4, tg8, tg8r] = timeAll(
    [
      () => gemm.gemm_blocked(M, N, K, px, K, 1, pw, K, py, N, 0, N, psc, 256, 128, 1024),
      () => quant.gemm_q(4, M, K, N, GS, px, pq[4], ps, py, 0, N, psc, 256, 128, 1024),
      () => quant.gemm_q(8, M, K, N, GS, px, pq[8], ps, py, 0, N, psc, 256, 128, 1024),
      () => {
        for (let b = 0; b < N; b += 64) quant.dequant_cols(4, K, N, GS, pq[4], ps, b, 64, psc);
      },
      () => {
        quant.quant_rows_i16(M, K, px, pxi, K, pax);
        quant.gemm_q_dot(8, M, K, N, GS, pxi, K, pax, pq[8], ps, py, 0, N, psc);
      },
      () => {
        quant.quant_rows_i16(M, K, px, pxi, K, pax);
        quant.gemm_q_dot(4, M, K, N, GS, pxi, K, pax, pq[4], ps, py, 0, N, psc);
      },
      g8(quant),
      quantRelaxed ? g8(quantRelaxed) : () => {},
    ],
    quick || M > 512 ? 2 : 3,
  );
  const res = { 4: t4, 8: t8, deq: tdeq };
  log(
    `| ${M}x${N}x${K} | ${tb.toFixed(1)} ms (${((gf / tb) * 1e3).toFixed(1)} GFLOP/s) | ${res[4].toFixed(1)} ms (${((gf / res[4]) * 1e3).toFixed(1)}) | ${res.deq.toFixed(1)} ms (${((100 * res.deq) / res[4]).toFixed(0)}%) | ${res[8].toFixed(1)} ms (${((gf / res[8]) * 1e3).toFixed(1)}) | ${td8.toFixed(1)} ms (${((gf / td8) * 1e3).toFixed(1)}) | ${td4.toFixed(1)} ms (${((gf / td4) * 1e3).toFixed(1)}) | ${(tb / td8).toFixed(2)}x | ` +
      `${tg8.toFixed(1)} ms (${((gf / tg8) * 1e3).toFixed(1)}) | ` +
      (quantRelaxed ? `${tg8r.toFixed(1)} ms (${((gf / tg8r) * 1e3).toFixed(1)}) | ${(tb / tg8r).toFixed(2)}x |` : 'n/a | n/a |'),
  );
}
