#!/usr/bin/env node
// Kernel benchmarks of the wasm backend (imports dist/: run `npm run bench:kernels`).
//
//   node bench/kernels.mjs [--threads 1,2] [--quick] [--json FILE] [--svg FILE] [--no-native]
//
// For each kernel and shape: GFLOP/s (compute-bound kernels) or GB/s (memory-bound ones) at
// each thread count, and the ratio to references measured in the same run:
//   - the SIMD128 mul+add ceiling: kernels/gemm.ts peak_madd on every thread at once;
//   - the read bandwidth: kernels/gemv.ts read_stream over 512 MiB;
//   - a native baseline when available: numpy (OpenBLAS) from reference/.venv.
// "kernel" = time inside the wasm jobs (threads included); "op" = the whole Backend call
// (also copying activations in/out and allocating the result array).
// Timing: wall clock, one warm-up call (V8 tiers wasm up from Liftoff to TurboFan after the
// first calls), then the median of `reps` calls. On a shared machine the numbers are noisy:
// the ratios, measured back to back, are the meaningful part.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createWasmBackend } from '../dist/backend/wasm.js';
import { relaxedSimdAvailable } from '../dist/backend/wasm/kernels.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, def) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : def; };
const threadList = opt('--threads', '1,2').split(',').map(Number);
const quick = args.includes('--quick');
const jsonOut = opt('--json', undefined);
const svgOut = opt('--svg', join(root, 'docs', 'img', 'kernels-bench.svg'));
const native = !args.includes('--no-native');
const log = (s) => process.stderr.write(s + '\n');

function rng(seed) {
  let s = seed >>> 0;
  return () => { s = (s + 0x6d2b79f5) >>> 0; let t = s; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32 - 0.5; };
}
const randF32 = (r, n) => { const a = new Float32Array(n); for (let i = 0; i < n; i++) a[i] = r(); return a; };
/** bf16 bits of random values in [-0.5, 0.5) without building an f32 copy of huge weights. */
const randBf16 = (r, n) => { const a = new Uint16Array(n); const f = new Float32Array(1), u = new Uint32Array(f.buffer); for (let i = 0; i < n; i++) { f[0] = r() * 0.1; a[i] = u[0] >>> 16; } return a; };
const t = (shape, data) => ({ shape, data });

function median(xs) { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; }
/** Median op time and median kernel-only time (be.kernelMs: inside the wasm jobs, without
 *  copying activations in/out and allocating the result — which on VMs with costly page
 *  faults can dominate memory-bound ops). */
function time(be, f, reps) {
  f(); // warm-up (tier-up)
  const ts = [], ks = [];
  for (let i = 0; i < reps; i++) {
    const k0 = be.kernelMs, t0 = performance.now();
    f();
    ts.push(performance.now() - t0); ks.push(be.kernelMs - k0);
  }
  return [median(ts) / 1e3, median(ks) / 1e3]; // seconds
}

/** Cases: unit 'GFLOP/s' (work = flops) or 'GB/s' (work = bytes that must be read). */
function cases(be, r) {
  const out = [];
  const gemm = (label, M, K, N, dtype, kind = 'linear') => {
    const x = t([M, K], randF32(r, M * K));
    const shape = kind === 'linear' ? [N, K] : [K, N];
    const w = dtype === 'F32' ? be.loadWeight(label, 'F32', shape, randF32(r, N * K)) : be.loadWeight(label, 'BF16', shape, randBf16(r, N * K));
    out.push({ kernel: `${kind} ${dtype}`, shape: `${M}x${K}x${N}`, unit: 'GFLOP/s', work: 2 * M * N * K, run: () => (kind === 'linear' ? be.linear(x, w) : be.matmul(x, w)), reps: quick ? 2 : 4 });
  };
  gemm('g1', 729, 1152, 4304, 'F32');
  gemm('g2', 729, 1152, 4304, 'BF16');
  if (!quick) {
    gemm('g3', 729, 4304, 1152, 'BF16');
    gemm('g4', 196, 8192, 3072, 'BF16', 'matmul');
  }
  const gemv = (label, K, N) => {
    const x = t([1, K], randF32(r, K));
    const w = be.loadWeight(label, 'BF16', [N, K], randBf16(r, N * K));
    out.push({ kernel: 'gemv BF16', shape: `1x${K}x${N}`, unit: 'GB/s', work: 2 * N * K, run: () => be.linear(x, w), reps: 7, bw: true });
  };
  gemv('v1', 3072, 8192);
  gemv('v2', 3072, quick ? 32064 : 128256);
  if (!quick) gemv('v3', 8192, 3072); // down_proj: K > GEMV_ONE_ROW_MAX_K, the 8-row schedule
  const sm = t([196, 65531], randF32(r, 196 * 65531));
  out.push({ kernel: 'softmax', shape: '196x65531', unit: 'GB/s', work: 196 * 65531 * 8, run: () => be.softmax(sm), reps: 5 });
  const ln = t([729, 1152], randF32(r, 729 * 1152));
  const lw = be.loadWeight('lw', 'BF16', [1152], randBf16(r, 1152)), lb = be.loadWeight('lb', 'BF16', [1152], randBf16(r, 1152));
  out.push({ kernel: 'layerNorm', shape: '729x1152', unit: 'GB/s', work: 729 * 1152 * 8, run: () => be.layerNorm(ln, lw, lb, 1e-6), reps: 9 });
  const g = t([729, 4304], randF32(r, 729 * 4304));
  out.push({ kernel: 'geluTanh', shape: '729x4304', unit: 'GB/s', work: 729 * 4304 * 8, run: () => be.geluTanh(g), reps: 7 });
  const q = t([729, 1152], randF32(r, 729 * 1152)), k = t([729, 1152], randF32(r, 729 * 1152)), v = t([729, 1152], randF32(r, 729 * 1152));
  out.push({ kernel: 'attention', shape: 'SigLIP 729x16x72', unit: 'GFLOP/s', work: 729 * 729 * 16 * 72 * 4,
    run: () => be.attention(q, k, v, { nHeads: 16, nKvHeads: 16, headDim: 72, scale: 72 ** -0.5, causal: false }), reps: quick ? 2 : 3 });
  const qd = t([1, 24 * 128], randF32(r, 24 * 128)), kd = t([2048, 8 * 128], randF32(r, 2048 * 1024)), vd = t([2048, 8 * 128], randF32(r, 2048 * 1024));
  out.push({ kernel: 'attention', shape: 'decode 1x2048 24/8x128', unit: 'GFLOP/s', work: 2048 * 24 * 128 * 4,
    run: () => be.attention(qd, kd, vd, { nHeads: 24, nKvHeads: 8, headDim: 128, scale: 128 ** -0.5, causal: true, qPos0: 2047 }), reps: 9 });
  return out;
}

function numpyBaseline(threads) {
  // reference/.venv's python if set up, else the system python3 (either needs numpy)
  const venv = join(root, 'reference', '.venv', 'bin', 'python');
  const py = existsSync(venv) ? venv : 'python3';
  if (!native) return undefined;
  const code = `
import numpy as np, time
a = np.random.rand(729, 1152).astype(np.float32); b = np.random.rand(1152, 4304).astype(np.float32)
a @ b
ts = []
for _ in range(5):
    t0 = time.perf_counter(); a @ b; ts.append(time.perf_counter() - t0)
ts.sort(); print(2 * 729 * 1152 * 4304 / ts[2] / 1e9)`;
  const env = { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) };
  delete env.OPENBLAS_CORETYPE; delete env.OPENBLAS_L2_SIZE;
  const res = spawnSync(py, ['-c', code], { env, encoding: 'utf8', timeout: 120_000 });
  const v = parseFloat(res.stdout);
  return Number.isFinite(v) ? v : undefined;
}

const results = { date: new Date().toISOString(), runtime: globalThis.Deno ? `deno ${globalThis.Deno.version.deno}` : process.versions.bun ? `bun ${process.versions.bun}` : `node ${process.versions.node}`, threads: {}, rows: [] };
for (const threads of threadList) {
  log(`== ${threads} thread(s)`);
  const be = await createWasmBackend({ threads });
  const info = be.info();
  // many short calls first: an engine tiers a wasm function up for its *next* call (no on-stack
  // replacement), and Deno's V8 needed more calls than Node's before the loop ran optimised
  for (let i = 0; i < 40; i++) be.measurePeakGflops(2e5);
  const peak = Math.max(be.measurePeakGflops(2e7), be.measurePeakGflops(2e7));
  const readBw = be.measureReadGBps(512 * 2 ** 20, threads);
  const numpy = numpyBaseline(threads);
  results.threads[threads] = { peakGflops: peak, readGBps: readBw, numpyGemmGflops: numpy, variant: info.variant, opt: info.groups };
  log(`ceiling ${peak.toFixed(1)} GFLOP/s (SIMD128 mul+add), read ${readBw.toFixed(1)} GB/s${numpy ? `, numpy GEMM ${numpy.toFixed(1)} GFLOP/s` : ''}`);
  for (const c of cases(be, rng(1))) {
    const [s, ks] = time(be, c.run, c.reps);
    const rate = c.work / ks / 1e9, opRate = c.work / s / 1e9;
    const ref = c.unit === 'GFLOP/s' ? peak : readBw;
    const row = { kernel: c.kernel, shape: c.shape, threads, unit: c.unit, rate, opRate, ms: ks * 1e3, opMs: s * 1e3, ratio: rate / ref,
      vsNumpy: c.kernel === 'linear F32' && c.shape === '729x1152x4304' && numpy ? rate / numpy : undefined };
    results.rows.push(row);
    log(`  ${c.kernel.padEnd(12)} ${c.shape.padEnd(24)} kernel ${rate.toFixed(1).padStart(7)} ${c.unit.padEnd(8)} ${(row.ms).toFixed(2).padStart(9)} ms ${(100 * row.ratio).toFixed(0).padStart(4)}% of ${c.unit === 'GFLOP/s' ? 'ceiling' : 'read bw'} | op ${opRate.toFixed(1)} ${c.unit} ${s * 1e3 < 10 ? (s * 1e3).toFixed(2) : (s * 1e3).toFixed(0)} ms`);
  }
  be.dispose();
  if (relaxedSimdAvailable()) {
    // the optional relaxed-SIMD build (f32x4.relaxed_madd: FMA where the engine fuses), same GEMM
    const bx = await createWasmBackend({ threads, kernels: 'relaxed' });
    const r = rng(1), M = 729, K = 1152, N = 4304;
    const x = t([M, K], randF32(r, M * K)), w = bx.loadWeight('g', 'F32', [N, K], randF32(r, N * K));
    const [s, ks] = time(bx, () => bx.linear(x, w), quick ? 2 : 4);
    const rate = 2 * M * N * K / ks / 1e9;
    results.rows.push({ kernel: 'linear F32 relaxed', shape: `${M}x${K}x${N}`, threads, unit: 'GFLOP/s', rate, opRate: 2 * M * N * K / s / 1e9, ms: ks * 1e3, opMs: s * 1e3, ratio: rate / peak });
    log(`  relaxed-SIMD linear F32 ${M}x${K}x${N}: ${rate.toFixed(1)} GFLOP/s (${(100 * rate / peak).toFixed(0)}% of the mul+add ceiling)`);
    bx.dispose();
  }
}

// ---- table --------------------------------------------------------------------------------
const keys = [...new Set(results.rows.map((r) => `${r.kernel}|${r.shape}`))];
const head = ['kernel', 'shape', 'unit', ...threadList.flatMap((n) => [`${n}T kernel`, `${n}T %ref`, `${n}T op`])];
if (threadList.length > 1) head.push(`${threadList[1]}T/${threadList[0]}T`);
const lines = [head.join(' | '), head.map(() => '---').join(' | ')];
for (const key of keys) {
  const rows = threadList.map((n) => results.rows.find((r) => `${r.kernel}|${r.shape}` === key && r.threads === n));
  const cells = [rows[0].kernel, rows[0].shape, rows[0].unit, ...rows.flatMap((r) => [r.rate.toFixed(1), `${(100 * r.ratio).toFixed(0)}%`, r.opRate.toFixed(1)])];
  if (threadList.length > 1) cells.push((rows[1].rate / rows[0].rate).toFixed(2));
  lines.push(cells.join(' | '));
}
const refs = threadList.map((n) => `${n}T: ceiling ${results.threads[n].peakGflops.toFixed(1)} GFLOP/s, read ${results.threads[n].readGBps.toFixed(1)} GB/s` +
  (results.threads[n].numpyGemmGflops ? `, numpy ${results.threads[n].numpyGemmGflops.toFixed(1)} GFLOP/s` : '')).join('; ');
console.log(lines.join('\n'));
console.log(`\nreferences (same run): ${refs}`);

if (jsonOut) { mkdirSync(dirname(jsonOut), { recursive: true }); writeFileSync(jsonOut, JSON.stringify(results, null, 2)); log(`wrote ${jsonOut}`); }

// ---- SVG chart: % of the same-run reference per kernel, one bar per thread count ----------
if (svgOut) {
  const W = 860, rowH = 26, top = 56, left = 300, barW = 460;
  const H = top + keys.length * rowH + 60;
  const colors = ['#4878a8', '#e08a3c', '#59a14f', '#b07aa1'];
  const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const maxPct = Math.max(120, ...results.rows.map((r) => 100 * r.ratio));
  const x = (p) => left + (p / maxPct) * barW;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">ovis-ts wasm kernels: % of the same-run reference</text>`,
    `<text x="10" y="38" fill="#555">GFLOP/s kernels vs the SIMD128 mul+add ceiling; GB/s kernels vs streaming read bandwidth (${esc(results.runtime)}, ${results.date.slice(0, 10)})</text>`];
  for (const p of [0, 50, 100]) parts.push(`<line x1="${x(p)}" y1="${top - 6}" x2="${x(p)}" y2="${top + keys.length * rowH}" stroke="${p === 100 ? '#c00' : '#ccc'}" stroke-dasharray="${p === 100 ? '4,3' : ''}"/>`, `<text x="${x(p) - 8}" y="${top + keys.length * rowH + 14}" fill="#555">${p}%</text>`);
  keys.forEach((key, i) => {
    const y0 = top + i * rowH;
    const [kernel, shape] = key.split('|');
    parts.push(`<text x="${left - 8}" y="${y0 + 15}" text-anchor="end">${esc(kernel)} ${esc(shape)}</text>`);
    threadList.forEach((n, j) => {
      const r = results.rows.find((rr) => `${rr.kernel}|${rr.shape}` === key && rr.threads === n);
      const h = (rowH - 6) / threadList.length;
      const pct = 100 * r.ratio;
      parts.push(`<rect x="${left}" y="${y0 + 2 + j * h}" width="${Math.max(1, x(pct) - left)}" height="${h - 1}" fill="${colors[j % colors.length]}"/>`,
        `<text x="${x(pct) + 4}" y="${y0 + 2 + j * h + h - 2}" font-size="10" fill="#333">${r.rate.toFixed(1)} ${r.unit} (${pct.toFixed(0)}%)</text>`);
    });
  });
  threadList.forEach((n, j) => parts.push(`<rect x="${left + j * 110}" y="${H - 28}" width="12" height="12" fill="${colors[j % colors.length]}"/>`,
    `<text x="${left + j * 110 + 16}" y="${H - 18}">${n} thread${n > 1 ? 's' : ''}</text>`));
  parts.push(`<text x="10" y="${H - 8}" fill="#555" font-size="10">${esc(refs)}</text>`, '</svg>');
  mkdirSync(dirname(svgOut), { recursive: true });
  writeFileSync(svgOut, parts.join('\n'));
  log(`wrote ${svgOut}`);
}
