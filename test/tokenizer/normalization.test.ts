// Unicode normalization must be Rust tokenizers' (old Unicode tables), not the JS engine's:
// every code point's NFD/NFKD/NFC/NFKC and two canonical-reordering probes, against Rust.

import { describe, expect, it } from 'vitest';
import { unicodeNormalize } from '../../src/tokenizer/normalizers.js';
import { onigToJs } from '../../src/tokenizer/regex.js';
import { readGz } from './fixtures.js';

describe('normalization equals Rust tokenizers on every code point', () => {
  it('NFD, NFKD, NFC, NFKC, and reordering after U+0345 / before U+0316', () => {
    const g = readGz<{ rows: Array<[number, ...string[]]> }>('normalization.json.gz');
    const rows = new Map(g.rows.map((r) => [r[0], r.slice(1) as string[]]));
    expect(rows.size).toBeGreaterThan(10000);
    const forms = ['NFD', 'NFKD', 'NFC', 'NFKC'] as const;
    const bad: string[] = [];
    for (let cp = 0; cp < 0x110000; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const c = String.fromCodePoint(cp);
      const exp = rows.get(cp) ?? [c, c, c, c, '\u0345' + c, c + '\u0316'];
      const got = forms.map((f) => unicodeNormalize(c, f));
      got.push(unicodeNormalize('\u0345' + c, 'NFD'), unicodeNormalize(c + '\u0316', 'NFD'));
      for (let k = 0; k < 6; k++)
        if (got[k] !== exp[k]) bad.push(`U+${cp.toString(16)} probe ${k}: got ${JSON.stringify(got[k])} exp ${JSON.stringify(exp[k])}`);
    }
    expect(bad.slice(0, 5)).toEqual([]);
  });

  it('the Rust-inert table matters on this engine (else the test above is vacuous here)', () => {
    // U+0EBA has ccc 9 since Unicode 12; Rust's tables leave "\u0325\u0EBA" alone.
    const s = 'x\u0325\u0eba'; // x + ring below has no precomposed form
    expect(unicodeNormalize(s, 'NFC')).toBe(s);
    expect(s.normalize('NFC')).not.toBe(s);
  });
});

describe('Oniguruma -> JS regex translation', () => {
  const re = (p: string) => new RegExp(`^(?:${onigToJs(p, 'test')})$`, 'u');
  it('(?i:...) folds like Oniguruma, including ſ (U+017F) and K (U+212A)', () => {
    const r = re("(?i:'s|'ll|'k)");
    for (const ok of ["'s", "'S", "'\u017f", "'LL", "'lL", "'\u212a"]) expect(r.test(ok)).toBe(true);
    for (const no of ["'x", "'ß", 's']) expect(r.test(no)).toBe(false);
  });
  it("\\s is White_Space (U+0085 yes, U+FEFF no), \\p{L} is Oniguruma's table", () => {
    expect(re('\\s').test('\u0085')).toBe(true);
    expect(re('\\s').test('\ufeff')).toBe(false);
    expect(re('[^\\s\\p{L}]').test('\ufeff')).toBe(true);
    expect(/^\p{L}$/u.test('\u088f')).toBe(true); // a newer letter for the JS engine...
    expect(re('\\p{L}').test('\u088f')).toBe(false); // ...that Oniguruma does not know
  });
  it('refuses what it cannot translate', () => {
    expect(() => onigToJs('(?m:a)', 'pre_tokenizer.pattern')).toThrow(/pre_tokenizer\.pattern: unsupported regex group/);
    expect(() => onigToJs('[^\\S]', 'p')).toThrow(/\\S inside a character class/);
    expect(() => onigToJs('\\h', 'p')).toThrow(/unsupported Oniguruma escape/);
  });
});

describe('regex fast/exact selection', () => {
  it('uses Oniguruma tables exactly when the text has letters Oniguruma does not know', async () => {
    const { OnigRegex } = await import('../../src/tokenizer/regex.js');
    const r = new OnigRegex("[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|'s| ?[^\\s\\p{L}\\p{N}]+", 'test');
    expect(r.pick('plain ascii text')).toBe(r.fast);
    expect(r.pick('日本語 Ελληνικά')).toBe(r.fast);
    expect(r.pick("a\u088f's")).toBe(r.exact);
    // the two split "a\u088f's" differently (the golden corpus holds this string: Rust agrees with exact)
    const pieces = (re: RegExp) => [..."a\u088f's".matchAll(re)].map((m) => m[0]);
    expect(pieces(r.exact)).toEqual(['a', "\u088f'", 's']);
    expect(pieces(r.fast)).toEqual(['a\u088f', "'s"]);
  });
});
