// Proves the core has no Node-only dependency: the same smoke body (scripts/smoke-core.mjs:
// safetensors, a wasm kernel vs its ts twin, the tiny model end to end on the wasm backend) runs
// under Node, Deno and Bun (the npm packages `deno` and `bun` ship the runtimes), and all three
// must produce the same generated ids. Prints 'N passed, N failed'; exits 1 on any failure.

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { root, runtimeCommands } from './runtimes.mjs';

const body = join(root, 'scripts', 'smoke-core.mjs');
const runtimes = runtimeCommands(body);

let passed = 0, failed = 0, reference;
for (const [name, [cmd, ...args]] of runtimes) {
  const t0 = Date.now();
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', timeout: 300_000, env: { ...process.env, NO_COLOR: '1' } });
  const line = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  let out;
  try { out = JSON.parse(line); } catch { out = undefined; }
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  if (r.status !== 0 || !out) {
    failed++;
    console.log(`FAIL ${name} (${secs} s): exit ${r.status}${r.error ? ' ' + r.error.message : ''}\n${(r.stderr ?? '').slice(-2000)}`);
    continue;
  }
  reference ??= out;
  const same = JSON.stringify(out.ids) === JSON.stringify(reference.ids) && out.promptTokens === reference.promptTokens;
  if (same) passed++; else failed++;
  console.log(`${same ? 'ok  ' : 'FAIL'} ${name} (${secs} s): prompt ${out.promptTokens} tokens, ids ${JSON.stringify(out.ids)}, wasm-vs-ts linear max diff ${out.linearMaxDiff.toExponential(2)}${same ? '' : ' — differs from node'}`);
}
console.log(`runtimes: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
