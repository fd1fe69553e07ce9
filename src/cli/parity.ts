// `ovis parity` — recompute a reference dump's request and print one line per stage (shape,
// max abs error with its index and both values, relative error, cosine, NMSE, tolerance,
// verdict), then `overall: k/n OK`. Exit 1 if any stage is past its tolerance.

import { writeFile } from 'node:fs/promises';
import { UsageError } from '../errors.js';
import { loadReference, runParity } from '../parity.js';
import { OvisRunner } from '../runner.js';
import { checkOutputFile, ENGINE_OPTIONS, engineValues, formatOptions, type OptionSpecs, parseOptions, progress } from './common.js';

const OPTIONS = {
  model: { type: 'string', arg: 'DIR', required: true, help: 'the checkpoint the dump was made from' },
  reference: { type: 'string', arg: 'FILE', required: true, help: 'a dump from reference/dump.py (or from ovis trace)' },
  isolated: { type: 'boolean', help: "feed each stage the reference's own input (errors do not compound)" },
  'from-reference': {
    type: 'string',
    multiple: true,
    arg: 'S',
    default: 'none',
    help: "take stage S from the reference (repeatable); e.g. pixel_values, to check the model\nfrom the reference's own pixels",
  },
  mode: { type: 'string', arg: 'f32|bf16', default: "the dump's mode, else f32", help: 'which tolerance table' },
  json: { type: 'string', arg: 'FILE', default: 'none', help: 'also write the results as JSON' },
  ...ENGINE_OPTIONS,
} as const satisfies OptionSpecs;

const HELP = `usage: ovis parity --model DIR --reference DUMP.safetensors [--isolated] [--json FILE] [options]

Recompute the request recorded in DUMP (+ DUMP.json: prompt, images, max_partition, ids) and
compare every stage with the tolerance table (src/trace/tolerances.ts, docs/numerics.md).

options:
${formatOptions(OPTIONS)}`;

export async function main(argv: string[]): Promise<number> {
  const { values: v } = parseOptions('parity', argv, OPTIONS);
  if (v.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  if (!v.model) throw new UsageError('--model DIR is required');
  if (!v.reference) throw new UsageError('--reference DUMP.safetensors is required');
  if (v.json) await checkOutputFile('json', v.json);
  if (v.mode !== undefined && v.mode !== 'f32' && v.mode !== 'bf16') throw new UsageError(`--mode must be f32 or bf16, got '${v.mode}'`);
  const engine = engineValues(v);
  const say = progress(v.quiet);
  const ref = await loadReference(v.reference);
  const runner = await OvisRunner.load(v.model, { ...engine, onProgress: say });
  try {
    const r = await runParity(runner, ref, {
      isolated: v.isolated,
      fromReference: v['from-reference'],
      mode: v.mode as 'f32' | 'bf16' | undefined,
    });
    process.stdout.write(
      `parity of ${v.reference} (${r.mode} tolerances, ${v.isolated ? 'isolated' : 'end to end'}, backend ${runner.model.backend.name})\n`,
    );
    process.stdout.write(r.report + '\n');
    const px = r.results.find((x) => x.metrics.name === 'pixel_values');
    if (px?.verdict === 'NOT OK' && ref.imagePaths.some((p) => /\.jpe?g$/i.test(p))) {
      // the JPEG decoder is bit-exact with Pillow except for the rare files docs/image.md §4 lists
      process.stdout.write(
        'hint: a JPEG input whose pixels differ: one of the rare JPEG variants not decoded exactly (docs/image.md §4), or another Pillow; add --from-reference pixel_values to check the model from the same pixels\n',
      );
    }
    if (v.json) {
      const rows = r.results.map((x) => ({ ...x.metrics, tolerance: x.tolerance, verdict: x.verdict }));
      await writeFile(
        v.json,
        JSON.stringify({ reference: v.reference, mode: r.mode, isolated: !!v.isolated, ok: r.ok, stages: rows }, null, 1) + '\n',
      );
    }
    return r.ok ? 0 : 1;
  } finally {
    runner.dispose();
  }
}
