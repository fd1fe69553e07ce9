// Malformed or unsupported tokenizer.json -> TokenizerError naming the file, the JSON path,
// expected vs got. Built from a tiny valid tokenizer (hand-written) by breaking one thing at a time.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TokenizerError } from '../../src/errors.js';
import { Tokenizer } from '../../src/tokenizer/index.js';

const tiny = () => ({
  version: '1.0',
  added_tokens: [{ id: 5, content: '<s>', special: true, normalized: false, lstrip: false, rstrip: false, single_word: false }],
  normalizer: null,
  pre_tokenizer: { type: 'Split', pattern: { String: ' ' }, behavior: 'Removed', invert: false },
  post_processor: null,
  decoder: null,
  model: { type: 'BPE', vocab: { a: 0, b: 1, ab: 2, c: 3, abc: 4 }, merges: ['a b', ['ab', 'c']], dropout: null, unk_token: null },
});

function expectErr(j: unknown, re: RegExp): void {
  try {
    Tokenizer.fromJSON(j, 'tiny.json');
  } catch (e) {
    expect(e).toBeInstanceOf(TokenizerError);
    expect((e as Error).message).toMatch(re);
    return;
  }
  throw new Error(`expected a TokenizerError matching ${re}`);
}

describe('tokenizer.json errors', () => {
  it('the tiny tokenizer works (both merge formats, added token, decoder-less decode joins with spaces)', () => {
    const t = Tokenizer.fromJSON(tiny());
    expect(t.encode('abc ab<s>c')).toEqual([4, 2, 5, 3]);
    expect(t.decode([4, 2, 5])).toBe('abc ab <s>');
    expect(t.decode([4, 2, 5], { skipSpecialTokens: true })).toBe('abc ab');
    expect(t.vocabSize).toBe(6);
    expect([...t.specialIds]).toEqual([5]);
  });
  it('bad JSON and missing file name the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tok-'));
    writeFileSync(join(dir, 'tokenizer.json'), '{"version": "1.0", "model": {');
    await expect(Tokenizer.fromFile(dir)).rejects.toThrow(/tokenizer\.json: not valid JSON/);
    await expect(Tokenizer.fromFile(join(dir, 'nope.json'))).rejects.toThrow(/nope\.json: cannot read tokenizer/);
  });
  it('unknown model type', () => {
    const j = tiny();
    (j.model as { type: string }).type = 'Unigram';
    expectErr(j, /tiny\.json: model\.type: unsupported model type "Unigram"/);
  });
  it('merges referencing unknown tokens', () => {
    const j = tiny();
    j.model.merges = ['a b', ['ab', 'zz']];
    expectErr(j, /model\.merges\[1\]: merge \["ab","zz"\] references "zz", which is not in model\.vocab/);
    const k = tiny();
    k.model.merges = ['a b c'];
    expectErr(k, /model\.merges\[0\]: expected "left right"/);
  });
  it('unsupported component types name the type and JSON path', () => {
    const j = tiny();
    (j as Record<string, unknown>).normalizer = { type: 'Sequence', normalizers: [{ type: 'Precompiled', precompiled_charsmap: '' }] };
    expectErr(j, /normalizer\.normalizers\[0\]: unsupported normalizer type "Precompiled"/);
    const p = tiny();
    (p as Record<string, unknown>).pre_tokenizer = { type: 'BertPreTokenizer' };
    expectErr(p, /pre_tokenizer: unsupported pre-tokenizer type "BertPreTokenizer"/);
    const d = tiny();
    (d as Record<string, unknown>).decoder = { type: 'WordPiece' };
    expectErr(d, /decoder: unsupported decoder type "WordPiece"/);
  });
  it('dropout, bad version, bad vocab ids', () => {
    const j = tiny();
    (j.model as Record<string, unknown>).dropout = 0.1;
    expectErr(j, /model\.dropout: BPE dropout number 0\.1/);
    const v = tiny();
    v.version = '2.0';
    expectErr(v, /unknown tokenizer\.json version "2\.0"/);
    const w = tiny();
    (w.model.vocab as Record<string, unknown>).b = 'one';
    expectErr(w, /model\.vocab\["b"\]: expected a non-negative integer id, got the string "one"/);
  });
});

describe('streaming decode holds split UTF-8', () => {
  it('byte-fallback bytes of one character arrive one token at a time', () => {
    // vocab with only byte tokens: "é" = C3 A9, "😀" = F0 9F 98 80
    const vocab: Record<string, number> = {};
    for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`] = b;
    vocab.x = 256;
    const t = Tokenizer.fromJSON({
      model: { type: 'BPE', vocab, merges: [], byte_fallback: true },
      decoder: { type: 'Sequence', decoders: [{ type: 'ByteFallback' }, { type: 'Fuse' }] },
    });
    const ids = t.encode('xé😀x');
    expect(ids).toEqual([256, 0xc3, 0xa9, 0xf0, 0x9f, 0x98, 0x80, 256]);
    const st = t.decodeStream();
    expect(ids.map((id) => st.push(id))).toEqual(['x', '', 'é', '', '', '', '😀', 'x']);
    expect(st.flush()).toBe('');
    // a truncated sequence at the end comes out on flush, as the full decode has it
    const st2 = t.decodeStream();
    expect([st2.push(256), st2.push(0xf0), st2.push(0x9f)]).toEqual(['x', '', '']);
    expect(st2.flush()).toBe(t.decode([0xf0, 0x9f]));
    expect(t.decode([0xf0, 0x9f])).toBe('\uFFFD\uFFFD'); // Rust: one U+FFFD per byte of an invalid run
  });
});

describe('BPE bounds', () => {
  it('more merges than the heap key can rank exactly (2^22) is a TokenizerError, not silently wrong ids', () => {
    const j = tiny();
    j.model.merges = new Array(2 ** 22).fill('a b');
    expectErr(j, /model\.merges: 4194304 merges; at most 4194303 are supported/);
  });
  it('a word of more than 2^24 symbols merges right (the heap key once wrapped at 16 M positions)', () => {
    // ~4 s and ~0.75 GB: the only way to reach the wrap is a word that long
    const tok = Tokenizer.fromJSON(tiny(), 'tiny.json');
    const n = Math.ceil((2 ** 24 + 10) / 3);
    const ids = tok.encode('abc'.repeat(n));
    expect(ids.length).toBe(n);
    expect(ids.findIndex((id) => id !== 4)).toBe(-1);
  });
});

describe('pre_tokenizer patterns that backtrack exponentially are refused (a hostile tokenizer.json cannot hang the process)', () => {
  for (const pattern of ['(\\p{L}+)+!', '(?:a*)*b', '(x+y){2,}', '((ab)+c)*']) {
    it(pattern, () => {
      const j = tiny();
      (j as Record<string, unknown>).pre_tokenizer = { type: 'Split', pattern: { Regex: pattern }, behavior: 'Isolated', invert: false };
      expectErr(j, /the pattern repeats a repetition \(.+\): matching it can take exponential time/);
    });
  }
  it('bounded repetitions of repetitions and the real patterns pass', () => {
    const j = tiny();
    (j as Record<string, unknown>).pre_tokenizer = {
      type: 'Split',
      pattern: { Regex: "(?i:'s|'t)|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|(a+)?|(?:ab){2}" },
      behavior: 'Isolated',
      invert: false,
    };
    expect(() => Tokenizer.fromJSON(j, 'tiny.json')).not.toThrow();
  });
});

describe('post-processor special ids (found by the fuzz suite)', () => {
  const withPost = (post: unknown) => ({ ...tiny(), post_processor: post });
  it('Roberta/Bert cls and sep ids must be non-negative integers', () => {
    for (const bad of [-1, 0.5, 1e300, 'x', null]) {
      expectErr(
        withPost({ type: 'RobertaProcessing', cls: ['<s>', bad], sep: ['</s>', 2], trim_offsets: true, add_prefix_space: false }),
        /post_processor: cls\/sep must be \[token, id\] pairs with a non-negative integer id/,
      );
    }
  });
  it('a template special token named like an Object.prototype key is not found', () => {
    expectErr(
      withPost({
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: 'toString', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
        pair: [],
        special_tokens: {},
      }),
      /post_processor\.single\[0\]\.SpecialToken\.id: "toString" is not in .*special_tokens/,
    );
  });
  it('a long input passes through Roberta processing (no call-stack spread)', () => {
    const tok = Tokenizer.fromJSON(
      withPost({ type: 'RobertaProcessing', cls: ['<s>', 5], sep: ['</s>', 5], trim_offsets: true, add_prefix_space: false }),
      'tiny.json',
    );
    const ids = tok.encode('abc '.repeat(200_000), { addSpecialTokens: true });
    expect(ids.length).toBe(200_002);
  });
});

describe('nesting depth read from a file is bounded (no stack overflow)', () => {
  for (const [key, field] of [
    ['normalizer', 'normalizers'],
    ['pre_tokenizer', 'pretokenizers'],
    ['decoder', 'decoders'],
    ['post_processor', 'processors'],
  ]) {
    it(`${key}: 100,000 nested Sequences are a TokenizerError, not a call-stack overflow`, () => {
      let v: unknown = null;
      for (let i = 0; i < 100_000; i++) v = { type: 'Sequence', [field]: v ? [v] : [] };
      expectErr({ ...tiny(), [key]: v }, new RegExp(`${key} nests more than 64 levels deep`));
    });
  }
});
