// The complete directory of a tiny GPTQ fixture (reference/make_gptq.py): the committed files
// (configs, the index, shard 1 = the GPTQ tensors) plus shard 2 = every float tensor, copied from
// reference/fixtures/tiny/<flavour> (not committed: it would duplicate the token embeddings).
// Same tensors and bytes as make_gptq.py's `materialize`.
import { copyFileSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Checkpoint } from '../../src/checkpoint/checkpoint.js';
import { writeSafetensors } from '../../src/io/safetensors.js';

export const FIXTURES = join(__dirname, '..', '..', 'reference', 'fixtures');
export const GPTQ_VARIANTS = ['llama-int4-g16', 'llama-int8-gall', 'gemma2-int4-g8-act'] as const;
export type GptqVariant = (typeof GPTQ_VARIANTS)[number];

export function flavourOf(v: GptqVariant): 'llama' | 'gemma2' {
  return v.startsWith('gemma2') ? 'gemma2' : 'llama';
}

export async function materializeGptq(variant: GptqVariant): Promise<string> {
  const src = join(FIXTURES, 'tiny-gptq', variant);
  const dir = mkdtempSync(join(tmpdir(), `ovis-gptq-${variant}-`));
  for (const f of readdirSync(src)) if (f !== 'dequantized.safetensors') copyFileSync(join(src, f), join(dir, f));
  const index = JSON.parse(readFileSync(join(src, 'model.safetensors.index.json'), 'utf8')) as { weight_map: Record<string, string> };
  const floats = Object.entries(index.weight_map)
    .filter(([, f]) => f === 'model-00002-of-00002.safetensors')
    .map(([n]) => n)
    .sort();
  const tiny = await Checkpoint.open(join(FIXTURES, 'tiny', flavourOf(variant)));
  try {
    const entries = [];
    for (const name of floats) {
      const t = await tiny.read(name);
      entries.push({ name, dtype: t.dtype, shape: t.shape, data: t.data });
    }
    await writeSafetensors(join(dir, 'model-00002-of-00002.safetensors'), entries, { format: 'pt' });
  } finally {
    await tiny.close();
  }
  return dir;
}
