#!/usr/bin/env node
// Whole-model timings on a (synthetic) full-size checkpoint (imports dist/: run
// `npm run bench:model` or `npx tsc -p tsconfig.build.json` first).
//
//   node bench/model.mjs [--model /tmp/synth3b] [--backend wasm|ts] [--threads 2]
//                        [--parts decode,crop,prefill] [--prefill 200] [--decode 8] [--context N] [--ops] [--json FILE]
//                        [--kernels simd|relaxed] [--quant-dot] [--quant-dot-activations int16|int8] [--quant-lm-head int8|int4] [--dist DIR]   (DIR = another build's dist/, for A/B runs)
//
// Loads only what the asked parts need (crop: SigLIP + visual head + VTE; decode/prefill: the
// LLM) once, then times:
//   decode   tokens/s over --decode greedy steps after a 16-token prefill (T = 1 forwards),
//            after --context N cached tokens if given;
//   crop     one 384x384 crop through SigLIP, the visual head and the VTE (encodeImages's
//            three stages, each timed);
//   prefill  one forward over --prefill tokens (last-row logits only).
// --ops adds a per-Backend-method breakdown (wall ms, and for wasm the part spent inside
// kernel jobs: the rest is copying activations in/out and allocating results).
// Wall-clock times on a shared machine are noisy: compare runs made in the same conditions.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { args, opt } from './args.mjs';

// --dist DIR: benchmark another build (e.g. a copy of the previous version) for same-run A/B
const dist = opt('--dist', undefined);
const from = (m) => import(dist ? pathToFileURL(resolve(dist, m)).href : new URL(`../dist/${m}`, import.meta.url).href);
const { Checkpoint } = await from('checkpoint/checkpoint.js');
const { loadLlm } = await from('model/ovis.js');
const { loadVision } = await from('model/vision.js');
const { siglipForward } = await from('model/siglip.js');
const { visualTokenize } = await from('model/visual-tokenizer.js');
const { vteEmbed } = await from('model/vte.js');
const { createBackend } = await from('backend/index.js');
const modelDir = opt('--model', '/tmp/synth3b');
const backendName = opt('--backend', 'wasm');
const threads = Number(opt('--threads', '2'));
// --kernels relaxed: the relaxed-SIMD build (Node needs --experimental-wasm-relaxed-simd)
const kernels = opt('--kernels', undefined);
const parts = opt('--parts', 'decode,crop,prefill').split(',');
const prefillT = Number(opt('--prefill', '200'));
const decodeN = Number(opt('--decode', '8'));
// --context N: decode after N cached tokens (random keys/values written into the cache: decode
// cost depends on the context length, not on the values) instead of a 16-token prefill
const contextN = Number(opt('--context', '0'));
const jsonOut = opt('--json', undefined);
const showOps = args.includes('--ops');
const log = (s) => process.stderr.write(s + '\n');

// --quant-dot: quantized Linears through integer dot products (opt-in, changes numerics);
// --quant-dot-activations int16|int8: which (int8: x per 32 inputs; implies --quant-dot)
const dotAct = opt('--quant-dot-activations', undefined);
if (dotAct !== undefined && dotAct !== 'int16' && dotAct !== 'int8')
  throw new Error(`--quant-dot-activations: int16 or int8, got ${dotAct}`);
const quantDot = dotAct ?? args.includes('--quant-dot');
const be = await createBackend(backendName, { threads, kernels, quantDot });
// --quant-lm-head int8|int4: lm_head quantized at load (opt-in, changes the logits)
const lmHeadOpt = opt('--quant-lm-head', undefined);
const quantLmHead = lmHeadOpt === undefined ? undefined : { int8: 8, int4: 4 }[lmHeadOpt];
if (lmHeadOpt !== undefined && !quantLmHead) throw new Error(`--quant-lm-head: int8 or int4, got ${lmHeadOpt}`);
const ckpt = await Checkpoint.open(modelDir);
const rows = [];
const metrics = {}; // numbers for --json (bench/quant-model.mjs reads them)
// CPU seconds of the whole process (all worker threads) since c0: on a shared machine the wall
// time grows with other processes' load, the CPU time much less (the pool spins only ~20k loads
// before it waits)
const cpuS = (c0) => {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
};
const sec = (ms) => (ms / 1000).toFixed(2);

// Per-method timing: wrap every Backend method (wall ms and, for wasm, kernel-job ms).
const opStats = new Map();
let opDepth = 0;
if (showOps) {
  for (const m of [
    'linear',
    'linearQuant',
    'linearQuantMany',
    'matmul',
    'embedding',
    'layerNorm',
    'rmsNorm',
    'geluTanh',
    'gatedAct',
    'add',
    'scale',
    'softmax',
    'softcap',
    'ropeInPlace',
    'attention',
    ...(be.attentionCached ? ['attentionCached', 'cacheAppend'] : []),
  ]) {
    const f = be[m]?.bind(be);
    if (!f) continue;
    be[m] = (...a) => {
      // a method the backend calls from inside another (linearQuantMany -> linearQuant) counts once
      if (opDepth > 0) return f(...a);
      const k0 = be.kernelMs ?? 0;
      const t0 = performance.now();
      opDepth++;
      let r;
      try {
        r = f(...a);
      } finally {
        opDepth--;
      }
      // linear/matmul are also split by weight shape ([out, in] / [K, N]) and rows
      const key =
        m === 'linear' || m === 'linearQuant' || m === 'matmul'
          ? `${m} ${a[0].data.length / a[1].shape[m === 'matmul' ? 0 : 1]}x[${a[1].shape}]`
          : m === 'linearQuantMany'
            ? `${m} ${a[0].data.length / a[1][0].shape[1]}x${a[1].map((w) => `[${w.shape}]`).join('+')}`
            : m;
      const s = opStats.get(key) ?? { calls: 0, ms: 0, kernelMs: 0 };
      s.calls++;
      s.ms += performance.now() - t0;
      s.kernelMs += (be.kernelMs ?? 0) - k0;
      opStats.set(key, s);
      return r;
    };
  }
}
const flushOps = (what) => {
  if (!showOps) return;
  const list = [...opStats.entries()].sort((a, b) => b[1].ms - a[1].ms);
  log(`  ops during ${what}:`);
  for (const [m, s] of list)
    log(
      `    ${m.padEnd(30)} ${String(s.calls).padStart(6)} calls ${s.ms.toFixed(0).padStart(8)} ms  kernel ${s.kernelMs.toFixed(0).padStart(8)} ms`,
    );
  opStats.clear();
};

function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
const r = rng(1);

if (parts.includes('crop')) {
  let t0 = performance.now();
  const vision = await loadVision(ckpt.config, ckpt, be);
  metrics.visionLoadS = (performance.now() - t0) / 1000;
  log(`vision loaded in ${sec(performance.now() - t0)} s`);
  const S = ckpt.config.visual_tokenizer_config.backbone_config.image_size;
  const px = new Float32Array(3 * S * S).map(() => r() * 2 - 1); // [1, 3, S, S] in [-1, 1)
  // the three stages of encodeImages, timed one by one (the speed bar, docs/kernels.md, is on the SigLIP forward)
  t0 = performance.now();
  const c0 = process.cpuUsage();
  const hidden = siglipForward(be, vision.tower, { shape: [1, 3, S, S], data: px }); // [1, 729, 1152]
  const t1 = performance.now();
  const tokens = visualTokenize(be, vision.head, hidden); // [1, 196, 65536]
  const t2 = performance.now();
  const e = vteEmbed(be, vision.vte, tokens); // [1, 196, H]
  const t3 = performance.now();
  if (!Number.isFinite(e.data[0])) throw new Error('crop: non-finite output');
  rows.push(
    ['crop: SigLIP forward', `${sec(t1 - t0)} s`],
    ['crop: visual head', `${sec(t2 - t1)} s`],
    ['crop: VTE', `${sec(t3 - t2)} s`],
    ['crop (1 x 384x384)', `${sec(t3 - t0)} s`],
  );
  metrics.cropS = (t3 - t0) / 1000;
  metrics.cropCpuS = cpuS(c0);
  log(`crop: ${sec(t3 - t0)} s (SigLIP ${sec(t1 - t0)} s, visual head ${sec(t2 - t1)} s, VTE ${sec(t3 - t2)} s)`);
  flushOps('crop');
}

if (parts.includes('decode') || parts.includes('prefill')) {
  let t0 = performance.now();
  const llm = await loadLlm(ckpt.config.llm_config, ckpt, be, 'llm.', { quantLmHead });
  metrics.llmLoadS = (performance.now() - t0) / 1000;
  log(`LLM loaded in ${sec(performance.now() - t0)} s`);
  const V = llm.vocabSize;
  const ids = (n) => Int32Array.from({ length: n }, () => Math.floor(r() * 1000) + 1000);
  if (parts.includes('decode')) {
    const cache = llm.newCache(64 + contextN + decodeN);
    if (contextN > 0) {
      const D = cache.kvDim;
      const kv = new Float32Array(contextN * D).map(() => r() - 0.5);
      for (let l = 0; l < cache.numLayers; l++) cache.update(l, { shape: [contextN, D], data: kv }, { shape: [contextN, D], data: kv });
      cache.commit(contextN);
    }
    let out = llm.forward(llm.embedTokens(ids(16)), cache);
    const argmax = (l) => {
      let b = 0;
      for (let i = 1; i < V; i++) if (l.data[i] > l.data[b]) b = i;
      return b;
    };
    opStats.clear();
    // first step outside the timing (first-touch of per-step buffers)
    out = llm.forward(llm.embedTokens(Int32Array.of(argmax(out.logits))), cache);
    opStats.clear();
    t0 = performance.now();
    const c0 = process.cpuUsage();
    let minStep = Infinity; // the least disturbed step (a shared machine's load comes in bursts)
    for (let i = 0; i < decodeN; i++) {
      const s0 = performance.now();
      out = llm.forward(llm.embedTokens(Int32Array.of(argmax(out.logits))), cache);
      minStep = Math.min(minStep, performance.now() - s0);
    }
    metrics.decodeBestStepTokS = 1000 / minStep;
    const ms = performance.now() - t0;
    metrics.decodeTokS = decodeN / (ms / 1000);
    metrics.decodeCpuSPerToken = cpuS(c0) / decodeN;
    rows.push([`decode (${decodeN} tokens${contextN ? `, context ${contextN}` : ''})`, `${(decodeN / (ms / 1000)).toFixed(2)} tok/s`]);
    log(`decode: ${(decodeN / (ms / 1000)).toFixed(2)} tok/s (${(ms / decodeN).toFixed(0)} ms/token)`);
    flushOps('decode');
  }
  if (parts.includes('prefill')) {
    const cache = llm.newCache(prefillT + 8);
    const x = llm.embedTokens(ids(prefillT));
    t0 = performance.now();
    const c0 = process.cpuUsage();
    llm.forward(x, cache);
    const ms = performance.now() - t0;
    metrics.prefillTokS = prefillT / (ms / 1000);
    metrics.prefillCpuS = cpuS(c0);
    rows.push([`prefill (${prefillT} tokens)`, `${sec(ms)} s (${(prefillT / (ms / 1000)).toFixed(1)} tok/s)`]);
    log(`prefill: ${sec(ms)} s`);
    flushOps('prefill');
  }
}

const mem = process.memoryUsage();
rows.push(['rss now', `${(mem.rss / 1e9).toFixed(2)} GB`]);
// peak resident set of the whole process (worker threads included), in kB from getrusage
metrics.peakRssGB = (process.resourceUsage().maxRSS * 1024) / 1e9;
rows.push(['peak rss', `${metrics.peakRssGB.toFixed(2)} GB`]);
console.log(
  `\nbackend ${backendName}${kernels ? ` (${kernels})` : ''}, threads ${threads}, model ${modelDir}${dist ? `, dist ${dist}` : ''}`,
);
for (const [k, v] of rows) console.log(`  ${k.padEnd(24)} ${v}`);
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ backend: backendName, threads, model: modelDir, rows, metrics }, null, 2));
be.dispose();
await ckpt.close();
