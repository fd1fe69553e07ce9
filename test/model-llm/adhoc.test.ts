import { it } from 'vitest';
import { readFileSync } from 'node:fs';
import { TsBackend } from '../../src/backend/ts.js';
import { Checkpoint } from '../../src/io/checkpoint.js';
import { loadLlm } from '../../src/model/ovis.js';
import { generate } from '../../src/generate/generate.js';
const rd = (p: string) => { const b = readFileSync(p); return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4); };
it.each(['llama', 'gemma2'])('adhoc %s', async (flav) => {
  const ck = await Checkpoint.open(`reference/fixtures/tiny/${flav}`);
  const lm = await loadLlm(ck.config.llm_config, ck, new TsBackend());
  const meta = JSON.parse(readFileSync(`/tmp/h6/${flav}.json`, 'utf8'));
  const x = { shape: meta.inputs_embeds, data: rd(`/tmp/h6/${flav}.inputs_embeds.bin`) };
  const got = new Map<string, Float32Array>();
  lm.forward(x, lm.newCache(), { logitsRows: 'all', tap: (n, t) => { got.set(n, Float32Array.from(t.data)); return t; } });
  for (const k of ['llm.layers.0', 'llm.layers.1', 'llm.norm', 'logits']) {
    const ref = rd(`/tmp/h6/${flav}.${k}.bin`), g = got.get(k)!;
    let m = 0, s = 0; for (let i = 0; i < ref.length; i++) { m = Math.max(m, Math.abs(ref[i] - g[i])); s = Math.max(s, Math.abs(ref[i])); }
    console.log(flav, k, ref.length === g.length, 'maxabs', m, 'scale', s, 'rel', m / s);
  }
  console.log(flav, generate(lm, x, { maxNewTokens: 8, eosTokenIds: [] }).ids, meta.gen);
});
