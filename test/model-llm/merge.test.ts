// merge_multimodal semantics (Ovis @831b595) on hand-built inputs: which row lands where.
import { describe, expect, it } from 'vitest';
import { TsBackend } from '../../src/backend/ts.js';
import { InputError } from '../../src/errors.js';
import type { CausalLM } from '../../src/model/causal-lm.js';
import { loadLlm, mergeMultimodal } from '../../src/model/ovis.js';
import type { Tensor } from '../../src/tensor.js';
import { microConfig, randomLlm } from './helpers.js';

async function lm(): Promise<CausalLM> {
  const cfg = microConfig('llama');
  return loadLlm(cfg.llm_config, randomLlm(cfg, 4), new TsBackend());
}
/** [rows, H] tensor whose row r is filled with base + r. */
function filled(rows: number, H: number, base: number, shape = [rows, H]): Tensor {
  const d = new Float32Array(rows * H);
  for (let r = 0; r < rows; r++) d.fill(base + r, r * H, (r + 1) * H);
  return { shape, data: d };
}
const row = (t: Tensor, r: number, H: number) => Array.from(t.data.subarray(r * H, (r + 1) * H));

describe('mergeMultimodal', () => {
  it('text rows from embed_tokens, indicators from their table, each atom -> its crop in order', async () => {
    const m = await lm();
    const H = m.hiddenSize;
    const visual = filled(2 * 3, H, 1000, [2, 3, H]); // 2 crops x 3 "visual tokens" (196 in Ovis)
    const ind = filled(5, H, 500); // indicator k = 500 + k
    const ids = [5, -301, -300, -302, -300, -305, 7];
    const out = mergeMultimodal(m, ids, visual, ind);
    expect(out.shape).toEqual([7 - 2 + 2 * 3, H]);
    const emb = m.embedTokens(Int32Array.of(5, 7));
    const want = [
      row(emb, 0, H),
      row(ind, 0, H),
      row(visual, 0, H),
      row(visual, 1, H),
      row(visual, 2, H),
      row(ind, 1, H),
      row(visual, 3, H),
      row(visual, 4, H),
      row(visual, 5, H),
      row(ind, 4, H),
      row(emb, 1, H),
    ];
    want.forEach((w, r) => expect(row(out, r, H)).toEqual(w));
  });
  it('text-only ids are a plain lookup', async () => {
    const m = await lm();
    const H = m.hiddenSize;
    const out = mergeMultimodal(m, [1, 2, 3], undefined, filled(5, H, 0));
    expect(Array.from(out.data)).toEqual(Array.from(m.embedTokens(Int32Array.of(1, 2, 3)).data));
  });
  it('rejects mismatched atoms, unexpanded <image>, unknown placeholders, long contexts', async () => {
    const m = await lm();
    const H = m.hiddenSize;
    const ind = filled(5, H, 0);
    const one = filled(196, H, 0, [1, 196, H]);
    expect(() => mergeMultimodal(m, [1, -300, -300], one, ind)).toThrow(/2 image atom\(s\) but 1 crop/);
    expect(() => mergeMultimodal(m, [1, -300], undefined, ind)).toThrow(/1 image atom\(s\) but 0 crop/);
    expect(() => mergeMultimodal(m, [1, -200], undefined, ind)).toThrow(/<image> marker/);
    expect(() => mergeMultimodal(m, [1, -7], undefined, ind)).toThrow(/unknown placeholder id -7/);
    expect(() => mergeMultimodal(m, [m.vocabSize], undefined, ind)).toThrow(/outside the vocabulary/);
    expect(() => mergeMultimodal(m, [], undefined, ind)).toThrow(InputError);
    // 2 text/indicator + 196 visual = 198 > 197
    const err = (() => {
      try {
        mergeMultimodal(m, [1, -301, -300], one, ind, 197);
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(InputError);
    expect(err?.message).toMatch(/198 positions.*multimodal_max_length 197/s);
    expect(err?.message).toMatch(/max_partition/);
    expect(mergeMultimodal(m, [1, -301, -300], one, ind, 198).shape).toEqual([198, H]);
  });
});
