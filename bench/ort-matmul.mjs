// Baseline for `npm run bench:kernels`: onnxruntime-web's WASM MatMul on the SigLIP shape
// 729x1152x4304, at 1 and 2 threads, beside our f32 linear op in the same run
// (`npm run bench:ort`). onnxruntime-web (141 MB installed) is no dependency of ovis-ts, not
// even a dev one: install it for this benchmark with `npm install --no-save onnxruntime-web`. The ONNX model (one MatMul node) is
// encoded here by hand (protobuf wire format), so no model file is needed.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createBackend } from '../dist/backend/index.js';

// onnxruntime-web initialises its wasm runtime once per process with the numThreads of the
// first session (later changes are ignored), so every thread count runs in its own process:
// `--threads N` runs one (printing a JSON row), no argument runs 1 and 2 and prints the table.
const argv = process.argv.slice(2);
const only = argv.includes('--threads') ? Number(argv[argv.indexOf('--threads') + 1]) : undefined;

let ort;
try {
  ort = await import('onnxruntime-web');
} catch {
  console.log(
    'onnxruntime-web is not installed: it is the baseline of this benchmark only (no dependency of ovis-ts);\n' +
      'install it without recording it: npm install --no-save onnxruntime-web   (then npm run bench:ort again)',
  );
  process.exit(0);
}

// --- minimal protobuf writer
const varint = (n) => {
  const o = [];
  n = BigInt(n);
  do {
    let b = Number(n & 0x7fn);
    n >>= 7n;
    if (n) b |= 0x80;
    o.push(b);
  } while (n);
  return o;
};
const key = (field, wire) => varint((field << 3) | wire);
const int = (field, v) => [...key(field, 0), ...varint(v)];
const bytes = (field, b) => [...key(field, 2), ...varint(b.length), ...b];
const str = (field, s) => bytes(field, [...new TextEncoder().encode(s)]);
const valueInfo = (name, dims) => [
  ...str(1, name),
  ...bytes(
    2,
    bytes(1, [
      ...int(1, 1 /* FLOAT */),
      ...bytes(
        2,
        dims.flatMap((d) => bytes(1, int(1, d))),
      ),
    ]),
  ),
];
function matmulModel(M, K, N) {
  const node = [...str(1, 'A'), ...str(1, 'B'), ...str(2, 'C'), ...str(4, 'MatMul')];
  const graph = [
    ...bytes(1, node),
    ...str(2, 'g'),
    ...bytes(11, valueInfo('A', [M, K])),
    ...bytes(11, valueInfo('B', [K, N])),
    ...bytes(12, valueInfo('C', [M, N])),
  ];
  return new Uint8Array([...int(1, 8), ...bytes(8, [...str(1, ''), ...int(2, 13)]), ...bytes(7, graph)]);
}

const [M, K, N] = [729, 1152, 4304];
const flops = 2 * M * K * N;
const a = new Float32Array(M * K).map((_, i) => Math.sin(i));
const b = new Float32Array(K * N).map((_, i) => Math.cos(i));
const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];

async function timeIt(f, reps = 7) {
  await f(); // warm-up
  const ts = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    await f();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

const rows = [];
for (const threads of only ? [only] : [1, 2]) {
  if (!only) {
    const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--threads', String(threads)], { encoding: 'utf8' });
    const line = child.stdout.split('\n').find((l) => l.startsWith('{'));
    if (child.status !== 0 || !line) throw new Error(`bench:ort child (${threads} threads) failed:\n${child.stderr}`);
    rows.push(JSON.parse(line));
    continue;
  }
  ort.env.wasm.numThreads = threads;
  const sess = await ort.InferenceSession.create(matmulModel(M, K, N), { executionProviders: ['wasm'] });
  const feeds = { A: new ort.Tensor('float32', a, [M, K]), B: new ort.Tensor('float32', b, [K, N]) };
  const ortMs = await timeIt(() => sess.run(feeds));
  await sess.release();
  const be = await createBackend('wasm', { threads });
  const Wt = new Float32Array(N * K); // our linear takes (out, in): Bᵀ
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) Wt[n * K + k] = b[k * N + n];
  const w = be.loadWeight('w', 'F32', [N, K], Wt);
  const x = { shape: [M, K], data: a };
  const oursMs = await timeIt(() => be.linear(x, w));
  be.dispose();
  console.log(JSON.stringify({ threads, ortMs, oursMs }));
  process.exit(0);
}
console.log(`f32 MatMul ${M}x${K}x${N} (${(flops / 1e9).toFixed(2)} GFLOP), median of 7, same run`);
console.log('threads | onnxruntime-web wasm | ovis-ts wasm (linear op) | ratio');
console.log('--- | --- | --- | ---');
for (const r of rows) {
  const g = (ms) => `${(flops / ms / 1e6).toFixed(1)} GFLOP/s (${ms.toFixed(0)} ms)`;
  console.log(`${r.threads} | ${g(r.ortMs)} | ${g(r.oursMs)} | ${(r.ortMs / r.oursMs).toFixed(2)}x`);
}
process.exit(0);
