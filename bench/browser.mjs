#!/usr/bin/env node
// The browser example's engine in headless Chromium vs Node, on this machine, in one run
// (imports dist/: run `npm run bench:browser`).
//
//   node bench/browser.mjs [--reps 2] [--threads 1,2] [--only gemm,tiny,ceiling] [--largest DIR] [--json FILE]
//
// Every measurement is bench/browser-work.mjs, run in Node (dist/index.js, this process) and
// in a module worker of a cross-origin isolated tab (dist/browser.js; the page and the worker
// served by examples/browser/serve.mjs on 127.0.0.1, with its COOP/COEP and CSP headers), the
// two interleaved rep by rep (the machine is shared: the best of the reps is kept, and the load
// average printed):
//   - GEMM: linear 729x1152x4304 (f32 and bf16 weights), kernel GFLOP/s and % of the same-run
//     SIMD128 ceiling, per thread count;
//   - tiny models: the tiny Llama / Gemma2 fixtures by URL (HTTP Range), square.png, 64 greedy
//     tokens: decode tokens/s, per thread count; the ids of the tab and of Node must be equal;
//   - the address-space ceiling: how many untouched 4 GiB shared wasm32 memories one thread
//     may create (no RAM used);
//   - --largest DIR: load the checkpoint in DIR (e.g. `ovis synth --preset
//     ovis1.6-llama3.2-3b --out DIR --tokenizer …`) in a tab by URL: seconds, bytes read,
//     wasm memories and bytes held — or the error that stopped it.
// Tables: Markdown, Chromium / Node ratios.

import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as api from '../dist/index.js';
import { startStaticServer } from '../examples/browser/serve.mjs';
import { CHROMIUM, CHROMIUM_ARGS } from '../scripts/chromium.mjs';
import { opt } from './args.mjs';
import { gemm, load, memoryCeiling, tiny } from './browser-work.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const reps = Number(opt('--reps', '2'));
const threadList = opt('--threads', '1,2').split(',').map(Number);
const largest = opt('--largest', undefined);
/** --only gemm,tiny,ceiling (default: all three; --largest adds its probe). */
const only = opt('--only', 'gemm,tiny,ceiling').split(',');
const jsonOut = opt('--json', undefined);
const log = (s) => process.stderr.write(`${s}\n`);

if (!existsSync(CHROMIUM)) {
  log(`bench:browser needs chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
  process.exit(2);
}
const models = {
  'tiny-llama': join(root, 'reference', 'fixtures', 'tiny', 'llama'),
  'tiny-gemma2': join(root, 'reference', 'fixtures', 'tiny', 'gemma2'),
};
if (largest) models.largest = largest;
const srv = await startStaticServer({ models, mounts: { '/bench/': join(root, 'bench') } });
const { chromium } = await import('playwright-core');
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: CHROMIUM_ARGS,
});
const version = browser.version();
const page = await browser.newPage();
page.on('pageerror', (e) => log(`tab: ${e}`));
await page.goto(`${srv.url}/`);
if (!(await page.evaluate(() => self.crossOriginIsolated))) throw new Error('the tab is not cross-origin isolated');

/** One measurement in a fresh module worker of the tab. */
async function inTab(kind, opts) {
  const r = await page.evaluate(
    ({ kind, opts }) =>
      new Promise((resolve) => {
        const w = new Worker('/bench/browser-worker.js', { type: 'module' });
        w.onmessage = (e) => {
          w.terminate();
          resolve(e.data);
        };
        w.onerror = (e) => {
          w.terminate();
          resolve({ ok: false, error: e.message || 'worker error' });
        };
        w.postMessage({ kind, opts });
      }),
    { kind, opts },
  );
  if (!r.ok) throw new Error(`tab ${kind}: ${r.error}`);
  return r.result;
}
const WORK = { gemm, tiny, load, memoryCeiling };
const inNode = (kind, opts) => WORK[kind](api, opts);

/** Resident bytes of this process's descendants — Chromium's processes: playwright-core runs
 *  in this process and spawns the browser as its child (Linux /proc; 0 elsewhere). */
function chromiumRss() {
  const root = process.pid;
  if (!existsSync('/proc/self/status')) return 0;
  const parent = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* the process ended */
    }
  }
  let total = 0;
  for (const pid of parent.keys()) {
    if (pid === root) continue;
    let p = pid;
    while (p && p !== root) p = parent.get(p);
    if (p !== root) continue;
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) total += Number(m[1]) * 1024;
    } catch {
      /* the process ended */
    }
  }
  return total;
}

const machine = `${cpus()[0]?.model ?? 'cpu'} x${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM`;
log(
  `${machine}; Node ${process.version}; Chromium ${version}; load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
const results = {
  date: new Date().toISOString(),
  machine,
  node: process.version,
  chromium: version,
  loadavgStart: loadavg(),
  gemm: [],
  tiny: [],
  ceiling: {},
  largest: null,
};

// --- GEMM
const gemmLines = [
  '| threads | weights | Node GFLOP/s (% ceiling) | Chromium GFLOP/s (% ceiling) | Chromium / Node |',
  '|---:|---|---:|---:|---:|',
];
if (only.includes('gemm')) {
  const best = new Map();
  for (let rep = 0; rep < reps; rep++) {
    for (const threads of threadList) {
      for (const [env, run] of [
        ['node', inNode],
        ['chromium', inTab],
      ]) {
        const g = await run('gemm', { threads });
        for (const row of g.rows) {
          const k = `${env}|${threads}|${row.dtype}`;
          const prev = best.get(k);
          if (!prev || row.gflops > prev.gflops) best.set(k, { ...row, ceiling: g.ceiling });
        }
        log(
          `gemm ${env} ${threads}T: ${g.rows.map((r) => `${r.dtype} ${r.gflops.toFixed(1)}`).join(', ')} GFLOP/s (ceiling ${g.ceiling.toFixed(1)})`,
        );
      }
    }
  }
  for (const threads of threadList) {
    for (const dtype of ['F32', 'BF16']) {
      const n = best.get(`node|${threads}|${dtype}`);
      const c = best.get(`chromium|${threads}|${dtype}`);
      results.gemm.push({ threads, dtype, node: n, chromium: c });
      gemmLines.push(
        `| ${threads} | ${dtype} | ${n.gflops.toFixed(1)} (${(100 * n.ofCeiling).toFixed(0)}%) | ${c.gflops.toFixed(1)} (${(100 * c.ofCeiling).toFixed(0)}%) | ${(c.gflops / n.gflops).toFixed(2)} |`,
      );
    }
  }
}

// --- tiny models, tokens/s
const tinyLines = ['| model | threads | Node tokens/s | Chromium tokens/s | Chromium / Node | same ids |', '|---|---:|---:|---:|---:|---|'];
if (only.includes('tiny')) {
  for (const flavour of ['llama', 'gemma2']) {
    for (const threads of threadList) {
      const opts = {
        url: `${srv.url}/models/tiny-${flavour}/`,
        imageUrl: `${srv.url}/fixtures/images/square.png`,
        threads,
        reps: Math.max(2, reps + 1),
      };
      const n = await inNode('tiny', opts);
      const c = await inTab('tiny', opts);
      const same = JSON.stringify(n.ids) === JSON.stringify(c.ids);
      results.tiny.push({ flavour, threads, node: n.tokensPerSecond, chromium: c.tokensPerSecond, tokens: n.ids.length, sameIds: same });
      tinyLines.push(
        `| tiny ${flavour} | ${threads} | ${n.tokensPerSecond.toFixed(1)} | ${c.tokensPerSecond.toFixed(1)} | ${(c.tokensPerSecond / n.tokensPerSecond).toFixed(2)} | ${same ? `yes (${n.ids.length})` : 'NO'} |`,
      );
      log(
        `tiny ${flavour} ${threads}T: node ${n.tokensPerSecond.toFixed(1)}, chromium ${c.tokensPerSecond.toFixed(1)} tokens/s; ids ${same ? 'equal' : 'DIFFER'}`,
      );
      if (!same) process.exitCode = 1;
    }
  }
}

// --- address space
if (only.includes('ceiling')) {
  results.ceiling = { node: await inNode('memoryCeiling', { max: 256 }), chromium: await inTab('memoryCeiling', { max: 256 }) };
  log(
    `4 GiB wasm32 memories one thread may create (max 256 tried): node ${results.ceiling.node.memories}, chromium ${results.ceiling.chromium.memories}${results.ceiling.chromium.error ? ` (${results.ceiling.chromium.error})` : ''}`,
  );
}

// --- the largest checkpoint
if (largest) {
  const cfg = JSON.parse(readFileSync(join(largest, 'config.json'), 'utf8'));
  log(`loading ${largest} in the tab by URL (2 threads), then one answer (square.png, 1 crop, 8 tokens)…`);
  const before = chromiumRss();
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, chromiumRss());
  }, 250);
  try {
    const r = await inTab('load', { url: `${srv.url}/models/largest/`, threads: 2, imageUrl: `${srv.url}/fixtures/images/square.png` });
    clearInterval(sampler);
    results.largest = { dir: largest, ok: true, ...r, llm: cfg.llm_config?.model_type, rssBefore: before, rssPeak: peak };
    log(`Chromium's processes: RSS ${(before / 2 ** 30).toFixed(2)} GiB before, peak ${(peak / 2 ** 30).toFixed(2)} GiB while loading`);
    log(
      `loaded: ${(r.bytesRead / 1e9).toFixed(2)} GB in ${r.seconds.toFixed(1)} s (${(r.bytesRead / 1e6 / r.seconds).toFixed(0)} MB/s), ${r.requests} requests; ${r.memories} wasm memories, ${(r.wasmBytes / 2 ** 30).toFixed(2)} GiB`,
    );
    if (r.answer) {
      const a = r.answer;
      log(
        `answered: ${a.promptTokens} prompt tokens, ${a.ids.length} tokens in ${a.seconds.toFixed(1)} s (vision ${(a.timings.visionMs / 1e3).toFixed(1)} s, LLM prefill ${(a.timings.prefillMs / 1e3).toFixed(1)} s, decode ${a.timings.tokensPerSecond.toFixed(2)} tokens/s); ids ${JSON.stringify(a.ids)}`,
      );
    }
    if (r.answer) {
      // the same in Node, after the tab's worker has ended (one copy of the weights at a time)
      log('the same load and answer in Node…');
      const n = await inNode('load', { url: `${srv.url}/models/largest/`, threads: 2, imageUrl: `${srv.url}/fixtures/images/square.png` });
      results.largest.node = n;
      results.largest.sameIds = JSON.stringify(n.answer.ids) === JSON.stringify(r.answer.ids);
      log(
        `node: loaded in ${n.seconds.toFixed(1)} s; decode ${n.answer.timings.tokensPerSecond.toFixed(2)} tokens/s; ids ${results.largest.sameIds ? "equal to the tab's" : `DIFFER: ${JSON.stringify(n.answer.ids)}`}`,
      );
      if (!results.largest.sameIds) process.exitCode = 1;
    }
  } catch (e) {
    clearInterval(sampler);
    results.largest = { dir: largest, ok: false, error: String(e.message ?? e), rssBefore: before, rssPeak: peak };
    log(`did not load: ${e.message ?? e}`);
  }
}

results.loadavgEnd = loadavg();
console.log(
  `\n${machine}; Node ${process.version}; Chromium ${version}; load average ${results.loadavgStart.map((x) => x.toFixed(2)).join(' ')} -> ${results.loadavgEnd.map((x) => x.toFixed(2)).join(' ')}\n`,
);
if (only.includes('gemm')) {
  console.log('GEMM, linear 729x1152x4304 (kernel time, best of the reps; % of the same-run SIMD128 mul+add ceiling)\n');
  console.log(gemmLines.join('\n'));
}
if (only.includes('tiny')) {
  console.log('\nTiny checkpoints by URL, square.png, 64 greedy tokens: decode tokens/s (best of the reps)\n');
  console.log(tinyLines.join('\n'));
}
const c = results.ceiling;
if (c.node)
  console.log(
    `\nUntouched 4 GiB shared wasm32 memories one thread could create (of 256 tried): Node ${c.node.memories}${c.node.error ? ` (${c.node.error})` : ''}, Chromium ${c.chromium.memories}${c.chromium.error ? ` (${c.chromium.error})` : ''}`,
  );
if (results.largest) {
  const l = results.largest;
  const a = l.answer;
  if (a) {
    console.log(
      `Then one answer in the tab (2 threads, square.png, 1 crop): ${a.promptTokens} prompt tokens, vision ${(a.timings.visionMs / 1e3).toFixed(1)} s, LLM prefill ${(a.timings.prefillMs / 1e3).toFixed(1)} s, ${a.ids.length} tokens at ${a.timings.tokensPerSecond.toFixed(2)} tokens/s` +
        (l.node
          ? `; Node: load ${l.node.seconds.toFixed(1)} s, vision ${(l.node.answer.timings.visionMs / 1e3).toFixed(1)} s, LLM prefill ${(l.node.answer.timings.prefillMs / 1e3).toFixed(1)} s, ${l.node.answer.timings.tokensPerSecond.toFixed(2)} tokens/s; ids ${l.sameIds ? 'equal' : 'DIFFER'}`
          : ''),
    );
  }
  console.log(
    l.ok
      ? `Largest checkpoint tried: ${l.dir}: loaded in the tab, ${(l.bytesRead / 1e9).toFixed(2)} GB read in ${l.seconds.toFixed(1)} s, ${l.memories} wasm memories holding ${(l.wasmBytes / 2 ** 30).toFixed(2)} GiB; Chromium's RSS ${(l.rssBefore / 2 ** 30).toFixed(2)} GiB before, peak ${(l.rssPeak / 2 ** 30).toFixed(2)} GiB`
      : `Largest checkpoint tried: ${l.dir}: did not load (${l.error})`,
  );
}
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(results, null, 2));
await browser.close();
await srv.close();
