// Runtime smoke test body (run by scripts/smoke-runtimes.mjs under Node, Deno and Bun).
// Uses only the built public modules (dist/): safetensors in memory, the wasm backend against
// the ts backend on one op, then the whole tiny model (image -> answer ids) on the wasm backend.
// Prints one JSON line; the driver compares the runtimes' lines.

import { encodeSafetensors, SafetensorsFile } from '../dist/io/safetensors.js';
import { createBackend } from '../dist/backend/index.js';
import { OvisRunner } from '../dist/runner.js';
import { readFile } from 'node:fs/promises';

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

// 3. the whole tiny model on the wasm backend
const runner = await OvisRunner.load(root + 'reference/fixtures/tiny/llama', { backend: 'wasm', maxNewTokens: 8 });
const image = new Uint8Array(await readFile(root + 'reference/fixtures/images/square.png'));
const r = await runner.ask({ prompt: 'What is in this picture?', images: [image] });
runner.dispose();
console.log(JSON.stringify({ linearMaxDiff, promptTokens: r.promptTokens, ids: r.generation.ids }));
