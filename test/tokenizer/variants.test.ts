// Components and added-token flags the real files above do not use (Metaspace first/always,
// NFKC/NFKD/Lowercase/Strip/Replace-regex normalizers, Digits/Punctuation/Split-string
// pre-tokenizers, lstrip/rstrip/single_word/normalized added tokens, Metaspace/Strip decoders),
// as patches over the Llama-2-style file; expected ids from Rust tokenizers on the same patch.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Tokenizer } from '../../src/tokenizer/index.js';
import { FIXTURES, Mismatches, readGz } from './fixtures.js';

interface Variants {
  base: string;
  variants: Record<string, { normalizer: unknown; pre_tokenizer: unknown; decoder: unknown; added_tokens_extra: unknown[] }>;
}
const V = JSON.parse(readFileSync(FIXTURES + 'sp_variants.json', 'utf8')) as Variants;
const base = JSON.parse(readFileSync(V.base, 'utf8')) as Record<string, unknown> & { added_tokens: unknown[] };

describe('tokenizer.json variants vs Rust', () => {
  for (const [name, patch] of Object.entries(V.variants)) {
    it(name, () => {
      const j = {
        ...base,
        normalizer: patch.normalizer,
        pre_tokenizer: patch.pre_tokenizer,
        decoder: patch.decoder,
        added_tokens: [...base.added_tokens, ...patch.added_tokens_extra],
      };
      const tok = Tokenizer.fromJSON(j, name);
      const g = readGz<{ strings: string[]; ids: number[][]; decode: Array<[string, string]> }>(`variant_${name}.golden.json.gz`);
      const m = new Mismatches(name);
      g.strings.forEach((s, i) => m.check(`#${i}`, s, tok.encode(s, { addSpecialTokens: false }), g.ids[i]!));
      g.decode.forEach(([full, skipped], k) => {
        m.check(`dec#${k}`, g.strings[k * 5]!, tok.decode(g.ids[k * 5]!), full);
        m.check(`dec-skip#${k}`, g.strings[k * 5]!, tok.decode(g.ids[k * 5]!, { skipSpecialTokens: true }), skipped);
      });
      expect(g.strings.length).toBeGreaterThan(2000);
      expect(m.report()).toBe('');
    });
  }
});

describe('tiny BPE models trained by Rust tokenizers (prefix/suffix, unk, fuse_unk, Bert/Roberta, no decoder)', () => {
  for (const name of ['bpe_prefix_suffix_unk', 'bpe_fuse_unk_digits', 'bytelevel_normalizer']) {
    it(name, async () => {
      const tok = await Tokenizer.fromFile(`${FIXTURES}trained_${name}.json`);
      const g = readGz<{ strings: string[]; ids: number[][]; ids_special: number[][]; decode: Array<[string, string]> }>(
        `trained_${name}.golden.json.gz`,
      );
      const m = new Mismatches(name);
      g.strings.forEach((s, i) => m.check(`#${i}`, s, tok.encode(s, { addSpecialTokens: false }), g.ids[i]!));
      g.ids_special.forEach((ids, k) => {
        const s = g.strings[k * 10]!;
        m.check(`special#${k}`, s, tok.encode(s), ids);
        m.check(`dec#${k}`, s, tok.decode(ids), g.decode[k]![0]);
        m.check(`dec-skip#${k}`, s, tok.decode(ids, { skipSpecialTokens: true }), g.decode[k]![1]);
      });
      expect(m.report()).toBe('');
    });
  }
});
