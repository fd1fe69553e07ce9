// `ovis quantize --model DIR --to int8|int4 [--group-size 32|64|128|-1] [--sym] --out DIR` — write a
// GPTQ checkpoint (AutoGPTQ's layout: qweight/qzeros/scales/g_idx, quantize_config.json) from a float
// Ovis1.6 checkpoint by round to nearest with per-group fp16 scales (src/quant/rtn.ts; the scheme
// and its measured error: docs/quantization.md). `ovis run --model OUT` runs the result.

import { quantizeCheckpoint } from '../checkpoint/quantize.js';
import { UsageError } from '../errors.js';
import { resolveModel } from '../hub/cache.js';
import { checkOutputDir, formatOptions, type OptionSpecs, parseOptions } from './common.js';

const OPTIONS = {
  model: {
    type: 'string',
    arg: 'DIR|REPO',
    required: true,
    help: 'the float (bf16) checkpoint: a folder or a Hugging Face repo id in the cache',
  },
  to: { type: 'string', arg: 'int8|int4', required: true, help: 'bits per weight of the decoder Linears' },
  'group-size': { type: 'string', arg: 'N', default: '128', help: 'inputs per scale: 32, 64, 128 or -1 (one per output row)' },
  sym: { type: 'boolean', help: 'symmetric (zero point 2^(bits-1), as most GPTQ releases); default asymmetric (a zero point per group)' },
  out: { type: 'string', arg: 'DIR', required: true, help: 'output directory (new or empty)' },
  'shard-size': { type: 'string', arg: 'BYTES', default: '5000000000', help: 'max bytes per shard' },
} as const satisfies OptionSpecs;

function help(): string {
  return `usage: ovis quantize --model DIR --to int8|int4 [--group-size 32|64|128|-1] [--sym] --out DIR

Quantize the LLM's decoder Linears (q/k/v/o_proj, gate/up/down_proj) of an Ovis1.6 checkpoint to
int8 or int4 by round to nearest with per-group fp16 scales, in AutoGPTQ's checkpoint layout
(quantize_config.json, qweight/qzeros/scales/g_idx). Embeddings, norms, the vision tower, the
visual head and the VTE stay as stored. Streams tensor by tensor (bounded memory).

options:
${formatOptions(OPTIONS)}`;
}

export async function main(argv: string[]): Promise<number> {
  const o = parseOptions('quantize', argv, OPTIONS).values;
  if (o.help) {
    process.stdout.write(help() + '\n');
    return 0;
  }
  if (!o.model) throw new UsageError('--model is required');
  if (!o.out) throw new UsageError('--out DIR is required');
  const bits = o.to === 'int4' ? 4 : o.to === 'int8' ? 8 : undefined;
  if (!bits) throw new UsageError(`--to must be int8 or int4, got ${JSON.stringify(o.to)}`);
  const gs = Number(o['group-size'] ?? '128');
  if (![32, 64, 128, -1].includes(gs))
    throw new UsageError(`--group-size must be 32, 64, 128 or -1, got ${JSON.stringify(o['group-size'])}`);
  const shard = Number(o['shard-size'] ?? '5000000000');
  if (!(shard > 0)) throw new UsageError('--shard-size must be a positive number of bytes');
  await checkOutputDir('out', o.out);
  const model = await resolveModel(o.model);
  process.stderr.write(`ovis quantize: ${model} -> ${o.out}: int${bits}, group size ${gs}, ${o.sym ? 'symmetric' : 'asymmetric'}\n`);
  let last = 0;
  const r = await quantizeCheckpoint({
    model,
    out: o.out,
    bits,
    groupSize: gs,
    sym: !!o.sym,
    maxShardBytes: shard,
    onProgress: (p) => {
      if (p.seconds - last < 2 && p.done < p.total) return;
      last = p.seconds;
      process.stderr.write(`  ${p.done}/${p.total} tensors  ${p.tensor}  ${p.seconds.toFixed(1)} s\n`);
    },
  });
  process.stderr.write(
    `ovis quantize: ${r.quantized} Linears quantized, ${r.tensors} tensors in ${r.shards.length} file(s): ` +
      `${(r.bytesIn / 1e9).toFixed(2)} GB read, ${(r.bytesOut / 1e9).toFixed(2)} GB written in ${r.seconds.toFixed(1)} s; run it with: ovis run --model ${o.out}\n`,
  );
  return 0;
}
