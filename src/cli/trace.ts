// `ovis trace` — run the model once and dump every stage (the stage names of docs/design.md#stage-names, F32; ids I64)
// to one .safetensors file plus a JSON sidecar, in the same format as reference/dump.py, so a
// trace can be compared with a Hugging Face dump by any tool.

import { writeFile } from 'node:fs/promises';
import { InputError, UsageError } from '../errors.js';
import { type TensorEntry, writeSafetensors } from '../io/safetensors.js';
import type { LogitsRows } from '../model/causal-lm.js';
import { OvisRunner, type TraceResult } from '../runner.js';
import type { Tensor } from '../tensor.js';
import { StageRecorder } from '../trace/recorder.js';
import {
  checkOutputFile,
  ENGINE_OPTIONS,
  engineValues,
  formatOptions,
  intOption,
  type OptionSpecs,
  parseOptions,
  progress,
  promptOption,
  REQUEST_OPTIONS,
  readImages,
} from './common.js';

const OPTIONS = {
  model: { type: 'string', arg: 'DIR', required: true, help: 'Ovis1.6 checkpoint: a directory, or org/name[@rev] in the HF cache' },
  ...REQUEST_OPTIONS,
  'max-new-tokens': { type: 'string', arg: 'K', default: '16', help: 'greedy tokens generated after the prefill' },
  out: { type: 'string', arg: 'FILE', required: true, help: 'output .safetensors (the sidecar is FILE with .json)' },
  'logits-rows': { type: 'string', arg: 'R', default: 'last', help: 'prefill rows whose logits are kept: last, all, or i,j,k' },
  ...ENGINE_OPTIONS,
} as const satisfies OptionSpecs;

const HELP = `usage: ovis trace --model DIR [--image PATH]... --prompt TEXT --out FILE.safetensors [options]

Run the model once and write every stage (pixel_values, vit.*, vt.*, vte.*, inputs_embeds,
llm.layers.*, llm.norm, logits, generated_ids, input_ids, grids) to FILE.safetensors, plus
FILE.json with the prompt, ids and grids.

options:
${formatOptions(OPTIONS)}`;

export const TRACE_FORMAT_VERSION = 1;

export function parseLogitsRows(v: string | undefined): LogitsRows {
  if (v === undefined || v === 'last') return 'last';
  if (v === 'all') return 'all';
  const rows = v.split(',').map((s) => Number(s.trim()));
  if (!rows.length || rows.some((r) => !Number.isInteger(r) || r < 0)) {
    throw new UsageError(`--logits-rows must be 'last', 'all' or comma-separated row indices, got '${v}'`);
  }
  return rows;
}

const i64 = (xs: readonly number[]) => BigInt64Array.from(xs.map((x) => BigInt(x)));

/** The tensors of a trace, in the reference dump's layout. */
export function traceEntries(stages: Map<string, Tensor>, r: TraceResult): TensorEntry[] {
  const out: TensorEntry[] = [];
  for (const [name, t] of stages) out.push({ name, dtype: 'F32', shape: t.shape, data: t.data });
  out.push({ name: 'logits.positions', dtype: 'I64', shape: [r.logitsPositions.length], data: i64(r.logitsPositions) });
  out.push({ name: 'input_ids', dtype: 'I64', shape: [r.prepared.inputIds.length], data: i64(r.prepared.inputIds) });
  if (r.prepared.grids.length) {
    out.push({ name: 'grids', dtype: 'I64', shape: [r.prepared.grids.length, 2], data: i64(r.prepared.grids.flat()) });
  }
  out.push({ name: 'generated_ids', dtype: 'I64', shape: [r.generation.ids.length], data: i64(r.generation.ids) });
  return out;
}

export async function main(argv: string[]): Promise<number> {
  const { values: v } = parseOptions('trace', argv, OPTIONS);
  if (v.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  if (!v.model) throw new UsageError('--model DIR is required');
  if (!v.out) throw new UsageError('--out FILE.safetensors is required');
  await checkOutputFile('out', v.out);
  if (v.prompt === undefined) throw new InputError('--prompt is required', 'or --prompt - to read it from stdin');
  const engine = engineValues(v);
  const maxPartition = intOption('max-partition', v['max-partition'], 9, 1, 9)!;
  const maxNewTokens = intOption('max-new-tokens', v['max-new-tokens'], 16, 0, 1 << 20)!;
  const logitsRows = parseLogitsRows(v['logits-rows']);
  const prompt = (await promptOption(v.prompt))!;
  const imagePaths = v.image ?? [];
  const images = await readImages(imagePaths);
  const say = progress(v.quiet);
  const runner = await OvisRunner.load(v.model, { ...engine, onProgress: say });
  try {
    const rec = new StageRecorder();
    const r = runner.trace({ prompt, images }, { recorder: rec, maxPartition, maxNewTokens, logitsRows });
    const entries = traceEntries(rec.stages, r);
    const meta = { format_version: String(TRACE_FORMAT_VERSION), producer: 'ovis-ts trace', backend: runner.model.backend.name };
    await writeSafetensors(v.out, entries, meta);
    const sidecar = {
      format_version: TRACE_FORMAT_VERSION,
      producer: 'ovis-ts trace',
      checkpoint: v.model,
      backend: runner.model.backend.name,
      user_prompt: prompt,
      images: imagePaths.map((path) => ({ path })),
      max_partition: maxPartition,
      max_new_tokens: maxNewTokens,
      prompt: r.prepared.prompt,
      input_ids: r.prepared.inputIds,
      num_tokens: r.prepared.inputIds.length,
      grids: r.prepared.grids,
      generated_ids: r.generation.ids,
      generated_text: runner.tokenizer.decode(r.generation.ids, { skipSpecialTokens: true }),
      logits_positions: r.logitsPositions,
      stages: entries.map((e) => ({ name: e.name, shape: e.shape, dtype: e.dtype })),
    };
    const side = v.out.replace(/\.safetensors$/, '') + '.json';
    await writeFile(side, JSON.stringify(sidecar, null, 1) + '\n');
    say(`wrote ${v.out} (${entries.length} tensors) and ${side}`);
  } finally {
    runner.dispose();
  }
  return 0;
}
