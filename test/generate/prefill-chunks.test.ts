// Prefill in pieces (GenerateOptions.prefillChunkTokens, used by `ovis run --low-memory`) gives
// the same bits as one forward over the whole prompt: the last row's logits and the greedy ids,
// on both tiny flavours with an image prompt (Gemma2's sliding layers, window 16, see pieces
// of 20-30 rows), for several piece sizes.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate, prefillPieces } from '../../src/generate/generate.js';
import { OvisRunner } from '../../src/runner.js';
import type { Tensor } from '../../src/tensor.js';

const FIX = join(__dirname, '..', '..', 'reference', 'fixtures');
const square = new Uint8Array(readFileSync(join(FIX, 'images', 'square.png')));

describe('prefillPieces', () => {
  it('near-equal pieces of >= 16 rows that add up to T; one piece without a chunk size', () => {
    expect(prefillPieces(2001, 512)).toEqual([501, 500, 500, 500]);
    expect(prefillPieces(229, 32)).toEqual([29, 29, 29, 29, 29, 28, 28, 28]);
    expect(prefillPieces(100, undefined)).toEqual([100]);
    expect(prefillPieces(40, 64)).toEqual([40]);
    expect(prefillPieces(40, 16)).toEqual([40]); // below 32 rows a chunk size is ignored
    for (const [T, c] of [
      [33, 32],
      [1000, 33],
      [4097, 512],
      [65, 64],
    ]) {
      const p = prefillPieces(T, c);
      expect(p.reduce((a, b) => a + b, 0)).toBe(T);
      expect(Math.min(...p)).toBeGreaterThanOrEqual(16);
      expect(Math.max(...p) - Math.min(...p)).toBeLessThanOrEqual(1);
    }
  });
});

for (const flavour of ['llama', 'gemma2'] as const) {
  describe(`prefill in pieces on tiny ${flavour}`, () => {
    let r: OvisRunner;
    let embeds: Tensor;
    beforeAll(async () => {
      r = await OvisRunner.load(join(FIX, 'tiny', flavour), { threads: 2, maxPartition: 4 });
      embeds = r.embed(r.prepare({ prompt: 'Describe the image in detail.', images: [square] }));
    });
    afterAll(() => r?.dispose());

    it('the last row logits: the same bits from one forward and from pieces', () => {
      const lm = r.model.llm;
      const T = embeds.shape[0];
      const H = embeds.shape[1];
      expect(T).toBeGreaterThan(200);
      const whole = lm.forward(embeds, lm.newCache(T)).logits.data;
      for (const chunk of [32, 64, 100]) {
        const cache = lm.newCache(T);
        let r0 = 0;
        let last: Float32Array | undefined;
        for (const [i, n] of prefillPieces(T, chunk).entries()) {
          const piece = { shape: [n, H], data: embeds.data.subarray(r0 * H, (r0 + n) * H) };
          const out = lm.forward(piece, cache, { logitsRows: i === prefillPieces(T, chunk).length - 1 ? 'last' : 'none' });
          last = out.logits.data;
          r0 += n;
        }
        expect(new Uint32Array(last!.buffer, last!.byteOffset, last!.length)).toEqual(
          new Uint32Array(whole.buffer, whole.byteOffset, whole.length),
        );
        cache.dispose();
      }
      // why pieces keep >= 16 rows: 8-row forwards take the decode attention kernel, whose
      // summation order differs, and the bits move (this comparison would catch it)
      const cache = lm.newCache(T);
      let last: Float32Array | undefined;
      for (let r0 = 0; r0 < T; r0 += 8) {
        const n = Math.min(8, T - r0);
        last = lm.forward({ shape: [n, H], data: embeds.data.subarray(r0 * H, (r0 + n) * H) }, cache, { logitsRows: 'last' }).logits.data;
      }
      expect(Array.from(last!)).not.toEqual(Array.from(whole));
      cache.dispose();
    });

    it('generate: the same greedy ids, progress over every piece', () => {
      const base = { eosTokenIds: r.model.eosTokenIds, maxNewTokens: 10 };
      const a = generate(r.model.llm, embeds, base);
      const layers: Array<[number, number]> = [];
      const b = generate(r.model.llm, embeds, { ...base, prefillChunkTokens: 48, onPrefillLayer: (d, n) => layers.push([d, n]) });
      expect(b.ids).toEqual(a.ids);
      expect(b.promptTokens).toBe(a.promptTokens);
      const pieces = prefillPieces(embeds.shape[0], 48).length;
      expect(pieces).toBeGreaterThan(3);
      expect(layers.at(-1)).toEqual([layers.at(-1)![1], layers.at(-1)![1]]);
      expect(layers.length).toBe(layers.at(-1)![1]); // every layer of every piece, counted through
      expect(layers.at(-1)![1] % pieces).toBe(0);
    });
  });
}
