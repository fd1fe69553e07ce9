// Runtime smoke test body (run by scripts/smoke-runtimes.mjs under Node, Deno and Bun).
// Uses only the built public modules (dist/): safetensors in memory, the wasm backend against
// the ts backend on one op, then both tiny models (image -> answer ids) on the wasm backend,
// whose greedy ids must equal the Hugging Face dump's.
// Prints one JSON line; the driver compares the runtimes' lines.

import { readFile } from 'node:fs/promises';
import { createBackend } from '../dist/backend/index.js';
import { encodeSafetensors, SafetensorsFile } from '../dist/io/safetensors.js';
import { OvisRunner } from '../dist/runner.js';

const root = new URL('..', import.meta.url).pathname;

// 1. safetensors round trip in memory
const w = new Float32Array(24).map((_, i) => Math.sin(i));
const bytes = encodeSafetensors([{ name: 'w', dtype: 'F32', shape: [4, 6], data: w }]);
const f = SafetensorsFile.fromBytes(bytes, 'smoke.safetensors');
const back = await f.readF32('w');
if (back.some((x, i) => x !== w[i])) throw new Error('safetensors round trip changed values');

// 2. one wasm kernel (linear) against the readable twin
const x = { shape: [3, 6], data: new Float32Array(18).map((_, i) => Math.cos(i)) };
const results = [];
for (const name of ['ts', 'wasm']) {
  const be = await createBackend(name, { threads: 1 });
  const W = be.loadWeight('w', 'F32', [4, 6], w);
  results.push(be.linear(x, W).data);
  be.dispose();
}
const linearMaxDiff = Math.max(...results[0].map((v, i) => Math.abs(v - results[1][i])));
if (!(linearMaxDiff < 1e-5)) throw new Error(`wasm linear differs from ts by ${linearMaxDiff}`);

// 3. both tiny models on the wasm backend (2 threads: the worker pool in this runtime), on the
//    'square' case of the Hugging Face dumps: the greedy ids must be HF's
const image = new Uint8Array(await readFile(root + 'reference/fixtures/images/square.png'));
const ids = {};
let promptTokens = 0;
for (const flavour of ['llama', 'gemma2']) {
  const ref = JSON.parse(await readFile(root + `reference/fixtures/dumps/${flavour}/square__f32.json`, 'utf8'));
  const runner = await OvisRunner.load(root + `reference/fixtures/tiny/${flavour}`, {
    backend: 'wasm',
    threads: 2,
    maxNewTokens: 8,
    maxPartition: ref.max_partition,
  });
  const r = await runner.ask({ prompt: ref.user_prompt, images: [image] });
  runner.dispose();
  const want = ref.generated_ids.slice(0, 8);
  if (JSON.stringify(r.generation.ids) !== JSON.stringify(want)) {
    throw new Error(`${flavour}: greedy ids ${JSON.stringify(r.generation.ids)} differ from Hugging Face's ${JSON.stringify(want)}`);
  }
  if (r.promptTokens !== ref.num_tokens) throw new Error(`${flavour}: ${r.promptTokens} prompt tokens, Hugging Face had ${ref.num_tokens}`);
  ids[flavour] = r.generation.ids;
  promptTokens += r.promptTokens;
}
console.log(JSON.stringify({ linearMaxDiff, promptTokens, ids }));
