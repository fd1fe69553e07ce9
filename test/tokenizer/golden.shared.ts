// The golden-id suite, run once per real tokenizer file (see *.golden.test.ts).
// Expected ids/texts are the Rust `tokenizers` library's (fixtures), never our own output.

import { beforeAll, describe, expect, it } from 'vitest';
import type { Tokenizer } from '../../src/tokenizer/index.js';
import { corpus, type Golden, loadTokenizer, Mismatches } from './fixtures.js';

export function goldenSuite(
  name: string,
  opts: { lossless: (s: string, tok: Tokenizer) => boolean; normalizeForRoundTrip?: (s: string) => string },
): void {
  describe(`${name}: ids equal Hugging Face tokenizers (Rust)`, () => {
    let tok: Tokenizer;
    let g: Golden;
    beforeAll(async () => {
      ({ tok, g } = await loadTokenizer(name));
    });

    it('vocab size and token <-> id', () => {
      expect(tok.vocabSize).toBe(g.vocab_size);
      const bad = g.token_to_id.filter(([t, id]) => tok.tokenToId(t) !== id || tok.idToToken(id) !== t);
      expect(bad.slice(0, 5)).toEqual([]);
    });

    it('main corpus (10,000 strings), add_special_tokens=false', () => {
      const m = new Mismatches(`${name} main`);
      corpus().corpus.forEach((s, i) => m.check(`#${i}`, s, tok.encode(s, { addSpecialTokens: false }), g.ids[i]!));
      expect(m.count).toBe(10000);
      expect(m.report()).toBe('');
    });

    it('held-out corpus (different seed and generator), add_special_tokens=false', () => {
      const m = new Mismatches(`${name} held-out`);
      corpus().heldout.forEach((s, i) => m.check(`#${i}`, s, tok.encode(s, { addSpecialTokens: false }), g.heldout_ids[i]!));
      expect(m.count).toBeGreaterThanOrEqual(2000);
      expect(m.report()).toBe('');
    });

    it('add_special_tokens=true (default) on every 5th string', () => {
      const m = new Mismatches(`${name} special`);
      for (const [i, ids] of Object.entries(g.ids_special)) m.check(`#${i}`, corpus().corpus[+i]!, tok.encode(corpus().corpus[+i]!), ids);
      expect(m.report()).toBe('');
    });

    it('three ~100 KB inputs (mixed, no spaces, whitespace runs)', () => {
      const m = new Mismatches(`${name} long`);
      corpus().long.forEach((s, i) => {
        const t0 = performance.now();
        m.check(`long#${i}`, s, tok.encode(s, { addSpecialTokens: false }), g.long_ids[i]!);
        // generous: guards against quadratic behaviour, not a benchmark (2-core shared CI)
        expect(performance.now() - t0).toBeLessThan(15000);
      });
      expect(m.report()).toBe('');
    });

    it('decode, skip_special_tokens false/true, on every 10th string and 500 random id lists', () => {
      const m = new Mismatches(`${name} decode`);
      for (const [i, [full, skipped]] of Object.entries(g.decode)) {
        const ids = g.ids_special[i]!;
        m.check(`#${i}`, corpus().corpus[+i]!, tok.decode(ids), full);
        m.check(`#${i} skip`, corpus().corpus[+i]!, tok.decode(ids, { skipSpecialTokens: true }), skipped);
      }
      for (const [ids, full, skipped] of g.decode_random) {
        m.check('random', JSON.stringify(ids), tok.decode(ids), full);
        m.check('random skip', JSON.stringify(ids), tok.decode(ids, { skipSpecialTokens: true }), skipped);
      }
      expect(m.report()).toBe('');
    });

    it('streaming decode: concatenation equals full decode, never a U+FFFD the full text lacks', () => {
      const m = new Mismatches(`${name} stream`);
      const strings = corpus()
        .corpus.filter((_, i) => i % 7 === 0)
        .concat(corpus().heldout.slice(0, 300));
      let split = 0;
      for (const s of strings) {
        const ids = tok.encode(s);
        for (const skip of [false, true]) {
          const full = tok.decode(ids, { skipSpecialTokens: skip });
          const st = tok.decodeStream({ skipSpecialTokens: skip });
          const chunks: string[] = [];
          for (const id of ids) chunks.push(st.push(id));
          chunks.push(st.flush());
          m.check(skip ? 'skip' : 'full', s, chunks.join(''), full);
          if (!full.includes('\uFFFD') && chunks.some((c) => c.includes('\uFFFD'))) m.check('fffd', s, 'chunk with U+FFFD', 'none');
          if (chunks.filter((c) => c.length > 0).length > 1) split++;
        }
      }
      expect(split).toBeGreaterThan(100); // the test really streams
      expect(m.report()).toBe('');
    });

    it('decode(encode(x)) round-trips where the tokenizer is lossless', () => {
      const m = new Mismatches(`${name} round trip`);
      let n = 0;
      for (const s of corpus().corpus.concat(corpus().heldout)) {
        if (!opts.lossless(s, tok)) continue;
        n++;
        m.check(
          'rt',
          s,
          tok.decode(tok.encode(s, { addSpecialTokens: false })),
          opts.normalizeForRoundTrip ? opts.normalizeForRoundTrip(s) : s,
        );
      }
      expect(n).toBeGreaterThan(5000);
      expect(m.report()).toBe('');
    });

    it('lone surrogates are encoded as U+FFFD (like TextEncoder)', () => {
      for (const s of ['a\uD800b', '\uDC00', 'x\uD83D', '\uDE00y', '\uD83D\uDE00\uD83D']) {
        const fixed = s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
        expect(fixed).toBe(new TextDecoder().decode(new TextEncoder().encode(s))); // independent definition
        expect(tok.encode(s)).toEqual(tok.encode(fixed));
        expect(tok.encode(s)).not.toEqual(tok.encode(s.replace(/[\uD800-\uDFFF]/g, '')));
      }
    });
  });
}
