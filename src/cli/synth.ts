// `ovis synth --preset NAME --dtype bf16|f32 --out DIR [--seed S]` — write a complete HF-layout
// Ovis1.6 checkpoint with seeded random weights and the real shapes (src/checkpoint/synth.ts), sharded
// like the release (~5 GB shards + model.safetensors.index.json). Streams with bounded memory.
// With --tokenizer the folder also gets a tokenizer.json, so `ovis run --model DIR` runs it as it is.

import { copyFile, readdir, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_SHARD_BYTES, type SynthDType, synthCheckpoint } from '../checkpoint/synth.js';
import { expectedTensors, PRESETS, parseOvisConfig } from '../config/index.js';
import { UsageError } from '../errors.js';
import { resolveTokenizerPath } from '../io/tokenizer-source.js';
import { Tokenizer } from '../tokenizer/index.js';
import { checkOutputDir, formatOptions, type OptionSpecs, parseOptions } from './common.js';

const OPTIONS = {
  preset: { type: 'string', arg: 'NAME', required: true, help: 'one of the presets below' },
  out: { type: 'string', arg: 'DIR', required: true, help: 'output directory; must be empty or new unless --force' },
  tokenizer: {
    type: 'string',
    arg: 'PATH',
    default: 'none',
    help: "tokenizer.json (or a folder holding one) copied into DIR, so that `ovis run --model DIR` needs no --tokenizer; give the real model's",
  },
  dtype: { type: 'string', arg: 'bf16|f32', default: 'bf16, like the release', help: 'stored dtype' },
  seed: { type: 'string', arg: 'S', default: '0', help: 'PRNG seed' },
  'shard-size': { type: 'string', arg: 'BYTES', default: '5000000000, HF\'s "5GB"', help: 'max bytes per shard; accepts 5GB, 200MB' },
  force: { type: 'boolean', help: 'write into a non-empty directory' },
} as const satisfies OptionSpecs;

function help(): string {
  const w = Math.max(...Object.keys(PRESETS).map((k) => k.length));
  return `usage: ovis synth --preset NAME --out DIR [--tokenizer PATH] [--dtype bf16|f32] [--seed S] [--shard-size BYTES] [--force]

Write a random-weight Ovis1.6 checkpoint with the real directory layout and tensor shapes:
config.json, generation_config.json, preprocessor_config.json, tokenizer_config.json, and
model.safetensors or model-0000k-of-0000n.safetensors + model.safetensors.index.json.
Matrices ~ N(0, 0.02), norm weights 1 (0 for Gemma2's 1+w), biases 0; deterministic per seed.

options:
${formatOptions(OPTIONS)}

presets:
${Object.values(PRESETS)
  .map((p) => `  ${p.name.padEnd(w)}  ${p.description}`)
  .join('\n')}`;
}

const DTYPES: Record<string, SynthDType> = { bf16: 'BF16', f32: 'F32' };

function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|KiB|MiB|GiB)?$/i.exec(s.trim());
  if (!m) throw new UsageError(`--shard-size: cannot parse ${JSON.stringify(s)}`, 'give bytes, or a number with KB/MB/GB');
  const unit = (m[2] ?? 'B').toUpperCase();
  const mult: Record<string, number> = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9, KIB: 1024, MIB: 1024 ** 2, GIB: 1024 ** 3 };
  return Math.floor(Number(m[1]) * mult[unit]);
}

export async function main(argv: string[]): Promise<number> {
  const o = parseOptions('synth', argv, OPTIONS).values;
  if (o.help) {
    process.stdout.write(help() + '\n');
    return 0;
  }
  if (!o.preset) throw new UsageError('--preset is required', `one of: ${Object.keys(PRESETS).join(', ')}`);
  if (!Object.hasOwn(PRESETS, o.preset))
    throw new UsageError(`unknown preset ${JSON.stringify(o.preset)}`, `one of: ${Object.keys(PRESETS).join(', ')}`);
  if (!o.out) throw new UsageError('--out DIR is required');
  await checkOutputDir('out', o.out);
  const dtypeName = o.dtype ?? 'bf16';
  const dtype = Object.hasOwn(DTYPES, dtypeName.toLowerCase()) ? DTYPES[dtypeName.toLowerCase()] : undefined;
  if (!dtype) throw new UsageError(`--dtype must be bf16 or f32, got ${JSON.stringify(dtypeName)}`);
  const seed = Number(o.seed ?? '0');
  if (!Number.isSafeInteger(seed)) throw new UsageError(`--seed must be an integer, got ${JSON.stringify(o.seed)}`);
  const maxShardBytes = o['shard-size'] ? parseSize(o['shard-size']) : DEFAULT_SHARD_BYTES;
  if (!(maxShardBytes > 0)) throw new UsageError('--shard-size must be > 0');

  let existing: string[] = [];
  try {
    existing = await readdir(o.out);
  } catch {
    /* new directory */
  }
  if (existing.length && !o.force) {
    throw new UsageError(`${o.out} is not empty (${existing.length} entries)`, 'choose a new directory or pass --force');
  }

  // Refuse early if the disk cannot hold the checkpoint (the disk may be shared).
  const files = PRESETS[o.preset].files();
  const cfg = parseOvisConfig(files['config.json'], `preset ${o.preset}`);
  const bytes = expectedTensors(cfg).reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0) * (dtype === 'BF16' ? 2 : 4);
  try {
    const st = await statfs(existing.length || (await dirExists(o.out)) ? o.out : parentOf(o.out));
    const free = Number(st.bavail) * Number(st.bsize);
    if (free < bytes * 1.02) {
      throw new UsageError(`not enough free disk space: need ${(bytes / 1e9).toFixed(2)} GB, ${(free / 1e9).toFixed(2)} GB available`);
    }
  } catch (e) {
    if (e instanceof UsageError) throw e;
  }

  // The tokenizer is checked before gigabytes are written: it must parse, and its ids must fit the
  // embedding table (a Gemma tokenizer on a Llama preset would index past the end).
  let tokenizer: string | undefined;
  if (o.tokenizer) {
    tokenizer = await resolveTokenizerPath(o.out, o.tokenizer);
    const tok = await Tokenizer.fromFile(tokenizer);
    const vocab = cfg.llm_config.vocab_size;
    if (tok.vocabSize > vocab) {
      throw new UsageError(
        `--tokenizer ${o.tokenizer}: ${tok.vocabSize} tokens, but preset ${o.preset} has vocab_size ${vocab}`,
        'give the tokenizer of the model the preset copies',
      );
    }
  }

  process.stderr.write(`ovis synth: ${o.preset} (${dtype}) -> ${o.out}: ${(bytes / 1e9).toFixed(2)} GB\n`);
  const r = await synthCheckpoint({
    out: o.out,
    files,
    dtype,
    seed,
    maxShardBytes,
    onProgress: (p) =>
      process.stderr.write(
        `  shard ${p.shard}/${p.shards}  ${(p.bytesDone / 1e9).toFixed(2)}/${(p.bytesTotal / 1e9).toFixed(2)} GB  ${(p.bytesDone / 1e6 / p.seconds).toFixed(0)} MB/s\n`,
      ),
  });
  process.stderr.write(
    `ovis synth: wrote ${r.tensors} tensors in ${r.shards.length} file(s), ${(r.bytes / 1e9).toFixed(3)} GB in ${r.seconds.toFixed(1)} s (${(r.bytes / 1e6 / r.seconds).toFixed(0)} MB/s)\n`,
  );
  if (tokenizer) {
    await copyFile(tokenizer, join(o.out, 'tokenizer.json'));
    process.stderr.write(
      `ovis synth: copied ${tokenizer} to ${join(o.out, 'tokenizer.json')}; run it with: ovis run --model ${o.out} --prompt "..."\n`,
    );
  } else {
    process.stderr.write(
      `ovis synth: ${o.out} has no tokenizer.json, so \`ovis run --model ${o.out}\` needs --tokenizer PATH; ` +
        `to make the folder complete, copy the real model's tokenizer.json into it (or synth again with --tokenizer PATH)\n`,
    );
  }
  return 0;
}

async function dirExists(p: string): Promise<boolean> {
  try {
    await readdir(p);
    return true;
  } catch {
    return false;
  }
}

function parentOf(p: string): string {
  const i = p.replace(/[\\/]+$/, '').search(/[\\/][^\\/]*$/);
  return i > 0 ? p.slice(0, i) : i === 0 ? '/' : '.';
}
