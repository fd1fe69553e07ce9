#!/usr/bin/env node
// ovis-ts fuzz harness (hostile input, docs/security.md). Generates N seeded cases per input path (target), runs them in
// child processes (fuzz/child.mjs) under a per-case timeout and an RSS ceiling, and classifies
// each outcome:
//   ok           accepted
//   typed        rejected with an OvisError that has a code (the expected rejection)
//   UNTYPED      any other exception (TypeError, RangeError, stack overflow, ...) or a CLI stack trace
//   HANG         the case ran past its timeout (the child is killed)
//   OVER-BUDGET  the case's peak RSS passed the ceiling, or the child was killed / ran out of heap
//   GARBAGE      accepted although it must be rejected (e.g. an image truncated inside its pixel data)
//
//   npm run fuzz -- --seed S --cases N [--target NAME[,NAME...]] [--jobs J] [--batch B] [--json FILE]
//   npm run fuzz -- --target NAME --seed S --replay K      (re-run case K in this process, full stack)
//
// Cases run in batches inside one child (setup — loading the seed inputs — happens once per
// child); the child reports `begin`/`end` around each case. If the child dies, stalls or passes
// the RSS ceiling, the case in flight is re-run alone in a fresh process to confirm the culprit,
// and the rest of the batch continues in a new child. Case K of target T under seed S is generated
// from its own PRNG stream (prng.mjs rngFor), so any case is reproducible on its own.
// Every failing case is written to fuzz/out/<target>/seed<S>-case<K>/ (its input files, recipe.txt
// and report.txt with the replay command). Exit code: 0 all cases ok/typed, 1 any failure, 2 usage.
// Needs only `npm run build` (imports ../dist).

import { fork, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { classifyError, contentionFactor, loadTarget, ROOT, TARGET_FILES } from './common.mjs';
import { rngFor } from './prng.mjs';

// ---------------------------------------------------------------------------------------------
// Budgets, one row per target. rssMB is the ceiling on the child's peak RSS during one case
// (VmHWM after a reset; it includes the child's baseline: node + dist + the target's seed
// inputs, measured at ~60-90 MB except where noted). heapMB goes to --max-old-space-size, so a
// runaway JS heap dies in the child instead of swapping. timeoutMs is the per-case watchdog:
// about 20x the slowest honest case we measured, so a HANG is a real hang, not a slow machine.
export const BUDGETS = {
  // in-memory parse of <= 1 MB files: the header is capped at 100 MB (MAX_HEADER_BYTES) but the
  // mutated files are small, so anything past baseline + a few x the file size is a runaway.
  safetensors: { timeoutMs: 10_000, rssMB: 384, heapMB: 256, batch: 250, why: 'inputs <= 1 MB; baseline ~70 MB + slack' },
  // Checkpoint.open on a temp dir: reads headers only (never the 8-13 MB of weights).
  checkpoint: { timeoutMs: 10_000, rssMB: 384, heapMB: 256, batch: 100, why: 'headers only; baseline ~70 MB + slack' },
  // configs are validated against CONFIG_LIMITS before anything is built from them; expectedTensors
  // on the largest accepted config (1024 layers) lists ~10^4 names.
  config: { timeoutMs: 10_000, rssMB: 384, heapMB: 256, batch: 250, why: 'CONFIG_LIMITS bound every size; baseline + slack' },
  // Images: every case decodes with maxDecodeBytes = 512 MiB (fuzz/targets/image.mjs), the
  // decoder's own header-based estimate of what it will allocate (src/image/*: result + internal
  // buffers + DECODE_SLACK). Ceiling = that budget + 256 MB for the ~90 MB baseline and
  // preprocessImage (a bicubic pass over the whole image: <= 4 B/px of a 384-wide strip, and
  // <= 10 crops x 3 x 384^2 f32 = 18 MB). Passing it means the estimate is wrong.
  'image-png': { timeoutMs: 20_000, rssMB: 768, heapMB: 512, batch: 200, why: 'maxDecodeBytes 512 MiB + 256 MB' },
  'image-jpeg': { timeoutMs: 20_000, rssMB: 768, heapMB: 512, batch: 200, why: 'maxDecodeBytes 512 MiB + 256 MB' },
  'image-bmp': { timeoutMs: 20_000, rssMB: 768, heapMB: 512, batch: 200, why: 'maxDecodeBytes 512 MiB + 256 MB' },
  'image-gif': { timeoutMs: 20_000, rssMB: 768, heapMB: 512, batch: 200, why: 'maxDecodeBytes 512 MiB + 256 MB' },
  'image-webp': { timeoutMs: 20_000, rssMB: 768, heapMB: 512, batch: 200, why: 'maxDecodeBytes 512 MiB + 256 MB' },
  // The child holds the three real tokenizers loaded (llama2, llama3.1, gemma3: ~45 MB of JSON,
  // ~600 MB RSS measured with all three built) plus one mutated copy of a trimmed one per case.
  tokenizer: { timeoutMs: 20_000, rssMB: 1536, heapMB: 1280, batch: 200, why: 'three real tokenizers resident (~600 MB) + slack' },
  // Formatters use the real Llama 3 / Gemma tokenizers (resident, ~450 MB); templates are small.
  chat: { timeoutMs: 20_000, rssMB: 1024, heapMB: 768, batch: 200, why: 'two real tokenizers resident (~450 MB) + slack' },
  // One `ovis` process per case on the tiny checkpoints (--max-new-tokens <= 2): ~1 s, ~250 MB.
  // rssMB here is the CLI process's own peak (reported by fuzz/cli-rss.mjs), not the child's.
  cli: {
    timeoutMs: 30_000,
    rssMB: 1024,
    heapMB: 256,
    batch: 25,
    why: 'tiny checkpoints load in ~1 s at ~250 MB; slack for --max-partition 9',
  },
  // OvisServer.handle in process on the tiny Llama checkpoint (~250 MB resident), bodies <= 1 MiB
  // (maxBodyBytes), answers of <= 2 tokens.
  server: { timeoutMs: 20_000, rssMB: 1024, heapMB: 512, batch: 100, why: 'tiny checkpoint resident (~250 MB), bodies <= 1 MiB + slack' },
};
// ---------------------------------------------------------------------------------------------

const FAIL = ['untyped', 'hang', 'over-budget', 'garbage'];
const SHOWN = { ok: 'ok', typed: 'typed', untyped: 'UNTYPED', hang: 'HANG', 'over-budget': 'OVER-BUDGET', garbage: 'GARBAGE' };

function usage(msg) {
  process.stderr.write(
    `fuzz: ${msg}\nusage: node fuzz/run.mjs --seed S --cases N [--target NAME[,NAME]] [--jobs J] [--batch B] [--json FILE] [--out DIR] [--replay K]\n` +
      `targets: ${Object.keys(TARGET_FILES).join(', ')}\n`,
  );
  process.exit(2);
}

function parseArgs(argv) {
  const o = {
    seed: '1',
    cases: 2000,
    targets: Object.keys(BUDGETS),
    jobs: Math.max(1, Math.min(availableParallelism(), 4)),
    out: join(ROOT, 'fuzz', 'out'),
    replay: undefined,
    json: undefined,
    batch: undefined,
    quiet: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) usage(`${a} needs a value`);
      return v;
    };
    if (a === '--seed') o.seed = val();
    else if (a === '--cases') o.cases = Number(val());
    else if (a === '--target') o.targets = val().split(',').filter(Boolean);
    else if (a === '--jobs') o.jobs = Number(val());
    else if (a === '--batch') o.batch = Number(val());
    else if (a === '--out') o.out = val();
    else if (a === '--json') o.json = val();
    else if (a === '--replay') o.replay = Number(val());
    else if (a === '--quiet' || a === '-q') o.quiet = true;
    else if (a === '--help' || a === '-h') usage('help');
    else usage(`unknown argument '${a}'`);
  }
  for (const t of o.targets) if (!BUDGETS[t]) usage(`unknown target '${t}'`);
  if (!Number.isInteger(o.cases) || o.cases < 1) usage('--cases must be a positive integer');
  if (!Number.isInteger(o.jobs) || o.jobs < 1) usage('--jobs must be a positive integer');
  if (o.replay !== undefined && (!Number.isInteger(o.replay) || o.replay < 0 || o.targets.length !== 1))
    usage('--replay K needs one --target and an integer K >= 0');
  return o;
}

function rssKBof(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * Run cases [from, to) of `target` in one child. Resolves with { results: Map<index, result>,
 * died?: { index, outcome, message } , next } where `next` is the first case not run.
 */
function runBatch(target, seed, from, to, budget) {
  return new Promise((resolve) => {
    const child = fork(fileURLToPath(new URL('./child.mjs', import.meta.url)), [], {
      execArgv: [`--max-old-space-size=${budget.heapMB}`],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: { ...process.env, OVIS_FUZZ_RSS_MB: String(budget.rssMB), OVIS_FUZZ_TIMEOUT_MS: String(budget.timeoutMs) },
    });
    const results = new Map();
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr = (stderr + d).slice(-4000);
    });
    let inflight = -1;
    let ready = false;
    let killedFor = null;
    let finished = false;
    let timer = setTimeout(() => kill('hang', 'setup'), 180_000);
    const strays = new Map();
    let caseLimit = budget.timeoutMs;
    const armCase = () => {
      clearTimeout(timer);
      caseLimit = Math.round(budget.timeoutMs * contentionFactor());
      timer = setTimeout(() => kill('hang'), caseLimit);
    };
    const kill = (why) => {
      if (!killedFor) {
        killedFor = why;
        child.kill('SIGKILL');
      }
    };
    const poll = setInterval(() => {
      if (rssKBof(child.pid) > budget.rssMB * 1024 && target !== 'cli') kill('over-budget');
    }, 50);
    child.on('message', (m) => {
      if (m.type === 'hello') child.send({ type: 'batch', target, seed, from, to });
      // cases run in order, so after `ready` the case in flight is always the one after the last
      // `end`: its watchdog starts then, not at `begin` (a case that blocks the event loop at once
      // may never get its `begin` out)
      else if (m.type === 'ready') {
        ready = true;
        armCase();
      } else if (m.type === 'begin') inflight = m.index;
      else if (m.type === 'end') {
        const r = m.result;
        const stray = strays.get(m.index);
        if (stray && !FAIL.includes(r.outcome)) Object.assign(r, stray, { message: `after the case returned: ${stray.message}` });
        if (!FAIL.includes(r.outcome) && r.rssKB > budget.rssMB * 1024) {
          r.message = `peak RSS ${Math.round(r.rssKB / 1024)} MB > ceiling ${budget.rssMB} MB (outcome was ${r.outcome}${r.code ? ' ' + r.code : ''})`;
          r.outcome = 'over-budget';
        }
        results.set(m.index, r);
        inflight = -1;
        armCase();
      } else if (m.type === 'stray') {
        const idx = m.index >= 0 ? m.index : Math.max(from, ...results.keys());
        if (results.has(idx) && !FAIL.includes(results.get(idx).outcome)) {
          Object.assign(results.get(idx), m.result, { message: `stray error after the case: ${m.result.message}` });
        } else strays.set(idx, m.result);
      } else if (m.type === 'done') {
        finished = true;
        clearTimeout(timer);
        child.kill('SIGKILL');
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      clearInterval(poll);
      if (finished) return resolve({ results, next: to });
      if (!ready) {
        // died before the first case: setup failed — a harness or fixture problem, not a finding
        return resolve({
          results,
          next: to,
          setupError: `child exited (code ${code}, signal ${signal}${killedFor ? `, killed: ${killedFor}` : ''}) during setup (batch ${from}..${to}):\n${stderr}`,
        });
      }
      const index = inflight >= 0 ? inflight : results.size ? Math.max(...results.keys()) + 1 : from;
      const heapOom = /heap out of memory|Allocation failed/i.test(stderr);
      const outcome = killedFor === 'hang' ? 'hang' : killedFor === 'over-budget' || heapOom ? 'over-budget' : 'untyped';
      const message =
        killedFor === 'hang'
          ? `no result after ${caseLimit} ms (child killed)`
          : killedFor === 'over-budget'
            ? `child RSS passed ${budget.rssMB} MB (child killed)`
            : `child died (exit code ${code}, signal ${signal}): ${stderr.trim().split('\n').slice(-3).join(' / ').slice(0, 400)}`;
      resolve({ results, died: { index, outcome, message }, next: index + 1 });
    });
  });
}

async function runTarget(name, o, pool) {
  const budget = { ...BUDGETS[name], batch: o.batch ?? BUDGETS[name].batch };
  const results = new Map();
  const t0 = Date.now();
  const batches = [];
  for (let from = 0; from < o.cases; from += budget.batch) batches.push([from, Math.min(o.cases, from + budget.batch)]);
  let setupError;
  const work = async ([from, to]) => {
    while (from < to) {
      const r = await pool(() => runBatch(name, o.seed, from, to, budget));
      for (const [k, v] of r.results) results.set(k, v);
      if (r.setupError) {
        setupError = r.setupError;
        return;
      }
      if (r.died) {
        // confirm the culprit alone in a fresh process (state left by earlier cases can't matter)
        const alone = await pool(() => runBatch(name, o.seed, r.died.index, r.died.index + 1, budget));
        const a = alone.died ? alone.died : alone.results.get(r.died.index);
        if (a && FAIL.includes(a.outcome)) results.set(r.died.index, { ...a, recipe: a.recipe ?? '', note: 'confirmed alone' });
        else results.set(r.died.index, { ...r.died, note: `in batch only: alone it was ${a?.outcome ?? 'lost'}` });
      }
      from = r.next;
    }
  };
  await Promise.all(batches.map(work));
  if (setupError) throw new Error(`${name}: ${setupError}`);
  const counts = { cases: results.size, ok: 0, typed: 0, untyped: 0, hang: 0, 'over-budget': 0, garbage: 0 };
  let peak = 0;
  for (const r of results.values()) {
    counts[r.outcome] = (counts[r.outcome] ?? 0) + 1;
    peak = Math.max(peak, r.rssKB ?? 0);
  }
  const failures = [...results.entries()]
    .filter(([, r]) => FAIL.includes(r.outcome))
    .sort((a, b) => a[0] - b[0])
    .map(([index, r]) => ({ index, ...r }));
  return { name, counts, peakMB: Math.round(peak / 1024), seconds: (Date.now() - t0) / 1000, failures, budget };
}

function makePool(jobs) {
  let active = 0;
  const waiting = [];
  return async (fn) => {
    if (active >= jobs) await new Promise((r) => waiting.push(r));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

/** One line per distinct defect: outcome + code + first stack frame. */
function defectKey(f) {
  const frame = (f.stack ?? '')
    .split(' | ')[0]
    .replace(/:\d+:\d+\)?$/, '')
    .replace(/\(file:\/\/.*\/(dist|node_modules)\//, '($1/');
  return `${f.outcome} ${f.code ?? ''} ${frame || f.message?.replace(/\d+/g, 'N').slice(0, 80)}`;
}

function writeFailure(target, seed, f, outDir) {
  const dir = join(outDir, target, `seed${seed}-case${f.index}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const dump = spawnSync(
    process.execPath,
    [fileURLToPath(new URL('./child.mjs', import.meta.url)), '--dump', target, seed, String(f.index), dir],
    { encoding: 'utf8', timeout: 120_000 },
  );
  const replay = `node fuzz/run.mjs --target ${target} --seed ${seed} --replay ${f.index}`;
  writeFileSync(
    join(dir, 'report.txt'),
    [
      `target:  ${target}`,
      `seed:    ${seed}`,
      `case:    ${f.index}`,
      `outcome: ${SHOWN[f.outcome]}${f.note ? ` (${f.note})` : ''}`,
      `code:    ${f.code ?? ''}`,
      `message: ${f.message ?? ''}`,
      `stack:   ${f.stack ?? ''}`,
      `peakRSS: ${Math.round((f.rssKB ?? 0) / 1024)} MB`,
      `recipe:  ${f.recipe ?? ''}`,
      `replay:  ${replay}`,
      dump.status === 0 ? '' : `(dumping the input failed: ${dump.stderr})`,
      '',
    ].join('\n'),
  );
  return relative(ROOT, dir);
}

async function replay(o) {
  const T = await loadTarget(o.targets[0]);
  const lib = await import(new URL('../dist/index.js', import.meta.url).href);
  const state = await T.setup({ lib, root: ROOT });
  const kase = T.generate(rngFor(o.seed, T.name, o.replay), state);
  process.stdout.write(`target ${T.name} seed ${o.seed} case ${o.replay}\nrecipe: ${kase.recipe.join('; ')}\n`);
  try {
    const r = (await T.run(kase, state, lib)) ?? {};
    process.stdout.write(`outcome: ${SHOWN[r.outcome ?? 'ok']}${r.message ? `\n${r.message}` : ''}${r.stack ? `\n${r.stack}` : ''}\n`);
    if (T.teardown) await T.teardown(state);
    return FAIL.includes(r.outcome) ? 1 : 0;
  } catch (e) {
    const c = classifyError(e, lib);
    process.stdout.write(
      `outcome: ${SHOWN[c.outcome]}${c.code ? ` [${c.code}]` : ''}\n${c.outcome === 'typed' ? c.message : (e?.stack ?? e)}\n`,
    );
    if (T.teardown) await T.teardown(state);
    return c.outcome === 'typed' ? 0 : 1;
  }
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.replay !== undefined) return replay(o);
  const pool = makePool(o.jobs);
  const log = (s) => {
    if (!o.quiet) process.stderr.write(s + '\n');
  };
  log(`fuzz: seed ${o.seed}, ${o.cases} cases per target, ${o.jobs} job(s), targets ${o.targets.join(', ')}`);
  const reports = await Promise.all(
    o.targets.map(async (t) => {
      const r = await runTarget(t, o, pool);
      log(`  ${t}: ${r.counts.cases} cases in ${r.seconds.toFixed(1)} s, ${r.failures.length} failure(s)`);
      return r;
    }),
  );
  const cols = ['cases', 'ok', 'typed', 'untyped', 'hang', 'over-budget', 'garbage'];
  const head = ['target', ...cols.map((c) => SHOWN[c] ?? c), 'peak MB', 'ceiling MB', 'seconds'];
  const rows = reports.map((r) => [
    r.name,
    ...cols.map((c) => String(r.counts[c] ?? 0)),
    String(r.peakMB),
    String(r.budget.rssMB),
    r.seconds.toFixed(1),
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  process.stdout.write([line(head), ...rows.map(line)].join('\n') + '\n');
  let failures = 0;
  const defects = new Map();
  for (const r of reports) {
    for (const f of r.failures) {
      failures++;
      const key = `${r.name}: ${defectKey(f)}`;
      if (!defects.has(key)) defects.set(key, { target: r.name, first: f, n: 0, dir: writeFailure(r.name, o.seed, f, o.out) });
      else if (defects.get(key).n < 5) writeFailure(r.name, o.seed, f, o.out);
      defects.get(key).n++;
    }
  }
  if (defects.size) {
    process.stdout.write(`\n${failures} failing case(s), ${defects.size} distinct:\n`);
    for (const [key, d] of defects) {
      process.stdout.write(
        `- ${key}  x${d.n}\n    case ${d.first.index}: ${d.first.message ?? ''}\n    recipe: ${d.first.recipe ?? ''}\n    ${d.dir}  (replay: node fuzz/run.mjs --target ${d.target} --seed ${o.seed} --replay ${d.first.index})\n`,
      );
    }
  } else process.stdout.write(`\noverall: ${reports.reduce((a, r) => a + r.counts.cases, 0)} cases, 0 failures\n`);
  if (o.json) {
    writeFileSync(
      o.json,
      JSON.stringify(
        {
          seed: o.seed,
          cases: o.cases,
          targets: Object.fromEntries(
            reports.map((r) => [r.name, { counts: r.counts, peakMB: r.peakMB, seconds: r.seconds, failures: r.failures }]),
          ),
        },
        null,
        1,
      ),
    );
  }
  return failures ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`fuzz: harness error: ${e?.stack ?? e}\n`);
    process.exitCode = 2;
  },
);
