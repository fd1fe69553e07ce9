#!/usr/bin/env node
// ovis-ts against llama.cpp on the same shapes: the synthetic Ovis1.6-Llama3.2-3B's LLM
// (28 layers, hidden 3072, vocab 128256), decode and a 128-token prefill, 2 threads, in one run.
// llama.cpp runs through node-llama-cpp's prebuilt CPU binary — a native package, so it is not
// a dependency of this project: install it anywhere and point --nlc at it.
//
//   npm install --prefix /tmp/nlc node-llama-cpp
//   reference/.venv/bin/python reference/make_gguf.py --model /tmp/quant-bench/3b-bf16 --type q4_0 --out /tmp/nlc/3b-q4_0.gguf
//   (also --type q8_0 and f16; the synthetic checkpoints come from `npm run bench:quant`)
//   node bench/llamacpp.mjs --nlc /tmp/nlc --gguf-dir /tmp/nlc --dir /tmp/quant-bench [--threads 2] [--prefill 128] [--decode 16] [--rounds 2]
//
// Pairs: ovis-ts bf16 / GPTQ int8 / GPTQ int4 (g128; lm_head and embedding stay bf16, as in the
// GPTQ releases) against llama.cpp F16 / Q8_0 / Q4_0 (32-weight blocks; token_embd, which is
// also the tied output matrix, in the same type — llama.cpp's own files do that). The GGUF holds
// the same tensors without llama.cpp's Q/K permutation: same work per token, other logits.
// Prompt tokens are fixed ids; decode is greedy. Best of --rounds for each side.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { opt } from './args.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const nlcDir = opt('--nlc', undefined);
const ggufDir = opt('--gguf-dir', nlcDir);
const dir = opt('--dir', '/tmp/quant-bench');
const threads = Number(opt('--threads', '2'));
const prefillN = Number(opt('--prefill', '128'));
const decodeN = Number(opt('--decode', '16'));
const rounds = Number(opt('--rounds', '2'));
const log = (s) => process.stderr.write(`${s}\n`);
if (!nlcDir) {
  log('bench/llamacpp.mjs: --nlc DIR is required (a directory where `npm install node-llama-cpp` was run); see the header');
  process.exit(2);
}

const PAIRS = [
  { ours: '3b-bf16', gguf: '3b-f16.gguf', label: 'bf16 vs F16' },
  { ours: '3b-int8', gguf: '3b-q8_0.gguf', label: 'int8 vs Q8_0' },
  { ours: '3b-int8', extra: ['--quant-dot'], gguf: '3b-q8_0.gguf', label: 'int8 --quant-dot vs Q8_0' },
  // llama.cpp's Q8_0 / Q4_0 files quantize the output matrix too: --quant-lm-head is the like-for-like
  {
    ours: '3b-int8',
    extra: ['--quant-dot', '--quant-lm-head', 'int8'],
    gguf: '3b-q8_0.gguf',
    label: 'int8 --quant-dot --quant-lm-head int8 vs Q8_0',
  },
  { ours: '3b-int4', gguf: '3b-q4_0.gguf', label: 'int4 vs Q4_0' },
  { ours: '3b-int4', extra: ['--quant-dot'], gguf: '3b-q4_0.gguf', label: 'int4 --quant-dot vs Q4_0' },
  {
    ours: '3b-int4',
    extra: ['--kernels', 'relaxed', '--quant-dot-activations', 'int8', '--quant-lm-head', 'int4'],
    gguf: '3b-q4_0.gguf',
    label: 'int4 --kernels relaxed --quant-dot-activations int8 --quant-lm-head int4 vs Q4_0',
  },
];
for (const p of PAIRS) {
  if (!existsSync(join(dir, p.ours, 'config.json')))
    throw new Error(`${join(dir, p.ours)} is missing: run npm run bench:quant first (it synthesizes it)`);
  if (!existsSync(join(ggufDir, p.gguf)))
    throw new Error(`${join(ggufDir, p.gguf)} is missing: make it with reference/make_gguf.py (header)`);
}

const req = createRequire(join(nlcDir, 'package.json'));
const { getLlama } = await import(pathToFileURL(req.resolve('node-llama-cpp')).href);
const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });

/** llama.cpp: prefill prefillN fixed ids, then decodeN greedy tokens; tok/s of each. */
async function llamaCpp(file) {
  const model = await llama.loadModel({ modelPath: join(ggufDir, file) });
  let best = { prefill: 0, decode: 0 };
  for (let r = 0; r < rounds; r++) {
    const context = await model.createContext({ contextSize: prefillN + decodeN + 16, threads, batchSize: Math.max(512, prefillN) });
    const seq = context.getSequence();
    const prompt = Array.from({ length: prefillN }, (_, i) => 1000 + i);
    let t0 = performance.now();
    await seq.evaluateWithoutGeneratingNewTokens(prompt);
    const prefill = prefillN / ((performance.now() - t0) / 1000);
    let n = 0;
    t0 = performance.now();
    for await (const _ of seq.evaluate([42], { temperature: 0 })) if (++n >= decodeN) break;
    const decode = decodeN / ((performance.now() - t0) / 1000);
    best = { prefill: Math.max(best.prefill, prefill), decode: Math.max(best.decode, decode) };
    await context.dispose();
  }
  await model.dispose();
  return best;
}

/** ovis-ts: bench/model.mjs in a child (decode after a 16-token prefill, prefill of prefillN). */
function ovisTs(name, extra = []) {
  let best = { prefill: 0, decode: 0 };
  // Node < 22 validates relaxed SIMD only behind a V8 flag
  const relaxedFlag =
    extra.includes('relaxed') && Number(process.versions.node.split('.')[0]) < 22 ? ['--experimental-wasm-relaxed-simd'] : [];
  for (let r = 0; r < rounds; r++) {
    const json = join(dir, `llamacpp-${name}${extra.join('')}.json`);
    rmSync(json, { force: true });
    const c = spawnSync(
      process.execPath,
      [
        ...relaxedFlag,
        join(root, 'bench', 'model.mjs'),
        '--model',
        join(dir, name),
        '--parts',
        'decode,prefill',
        '--prefill',
        String(prefillN),
        '--decode',
        String(decodeN),
        '--threads',
        String(threads),
        '--json',
        json,
        ...extra,
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    if (c.status !== 0) throw new Error(`bench/model.mjs ${name} exited with ${c.status ?? c.signal}`);
    const m = JSON.parse(readFileSync(json, 'utf8')).metrics;
    best = { prefill: Math.max(best.prefill, m.prefillTokS), decode: Math.max(best.decode, m.decodeTokS) };
  }
  return best;
}

const rows = [];
const cpp = {};
for (const p of PAIRS) {
  log(`llama.cpp ${p.gguf} / ovis-ts ${p.ours}${p.extra ? ` ${p.extra.join(' ')}` : ''}`);
  cpp[p.gguf] ??= await llamaCpp(p.gguf);
  const o = ovisTs(p.ours, p.extra);
  rows.push({ ...p, o, c: cpp[p.gguf] });
}
console.log(
  `\novis-ts vs llama.cpp (node-llama-cpp, CPU), synthetic Ovis1.6-Llama3.2-3B LLM, ${threads} threads, best of ${rounds}; prefill ${prefillN} tokens, decode ${decodeN} tokens`,
);
console.log(
  '| pair | ovis-ts decode tok/s | llama.cpp decode tok/s | ovis-ts / llama.cpp | ovis-ts prefill tok/s | llama.cpp prefill tok/s | ovis-ts / llama.cpp |',
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  console.log(
    `| ${r.label} | ${r.o.decode.toFixed(2)} | ${r.c.decode.toFixed(2)} | ${(r.o.decode / r.c.decode).toFixed(2)}x | ${r.o.prefill.toFixed(1)} | ${r.c.prefill.toFixed(1)} | ${(r.o.prefill / r.c.prefill).toFixed(2)}x |`,
  );
}
await llama.dispose();
