// Normalizers (tokenizers/src/normalizers): string -> string, applied to each piece of text
// between added tokens. We do not track offsets (encode returns ids only), so each is a
// plain function. Semantics follow the Rust crate, which is not always JS's:
//   - Lowercase maps each char alone with Rust's table (`char::to_lowercase`): no final-sigma
//     rule (JS `toLowerCase` turns a word-final Σ into ς), no newer-Unicode case pairs.
//   - Strip uses Unicode White_Space.
//   - Prepend only prepends to non-empty strings.

import { asArr, asObj, bool, type Obj, pattern, str, unsupported } from './json.js';
import { RUST_LOWER } from './onig-unicode.js';
import { compileOnig } from './regex.js';
import { byteLevelEncode, WS_CLASS_BODY } from './unicode.js';

export type Normalizer = (s: string) => string;

/**
 * Code points that Rust tokenizers' Unicode normalization (crate unicode-normalization-alignments,
 * an old Unicode version) treats as plain starters — no decomposition, combining class 0, no
 * composition — while ICU (Unicode 15-17 in Node 20+, Deno, Bun) reorders, decomposes or composes
 * them (e.g. U+0EBA LAO SIGN PALI VIRAMA, ccc 9). Found by comparing both on every code point
 * (NFD/NFKD/NFC/NFKC of c, and reordering of U+0345+c and c+U+0316); for a newly encoded
 * composite, its new components are listed too. We cut the text at these characters and
 * normalize the pieces separately: a starter blocks reordering and composition across it, so
 * this reproduces Rust exactly. test/tokenizer/normalization.test.ts holds it to Rust.
 */
const RUST_INERT =
  '\u{7fd}\u{897}-\u{89f}\u{8ca}-\u{8d3}\u{9fe}\u{c3c}\u{d3b}-\u{d3c}\u{eba}\u{1715}\u{1abf}-\u{1add}\u{1ae0}-\u{1aeb}\u{1df6}-\u{1dfa}\u{32ff}\u{a7f1}-\u{a7f4}\u{a82c}\u{ab69}\u{105c9}\u{105d2}\u{105da}\u{105e4}\u{10781}-\u{10785}\u{10787}-\u{107b0}\u{107b2}-\u{107ba}\u{10d24}-\u{10d27}\u{10d69}-\u{10d6d}\u{10eab}-\u{10eac}\u{10efa}-\u{10efb}\u{10efd}-\u{10eff}\u{10f46}-\u{10f50}\u{10f82}-\u{10f85}\u{11070}\u{1133b}\u{11382}-\u{11385}\u{1138b}\u{1138e}\u{11390}-\u{11391}\u{113b8}\u{113bb}\u{113c2}\u{113c5}\u{113c7}-\u{113c9}\u{113ce}-\u{113d0}\u{1145e}\u{11839}-\u{1183a}\u{11930}\u{11935}\u{11938}\u{1193d}-\u{1193e}\u{11943}\u{119e0}\u{11a34}\u{11a47}\u{11a99}\u{11d42}\u{11d44}-\u{11d45}\u{11d97}\u{11f41}-\u{11f42}\u{1611e}-\u{16129}\u{1612f}\u{16d63}\u{16d67}-\u{16d6a}\u{16ff0}-\u{16ff1}\u{1ccd6}-\u{1ccf9}\u{1e030}-\u{1e06d}\u{1e08f}\u{1e130}-\u{1e136}\u{1e2ae}\u{1e2ec}-\u{1e2ef}\u{1e4ec}-\u{1e4ef}\u{1e5ee}-\u{1e5ef}\u{1e6e3}\u{1e6e6}\u{1e6ee}-\u{1e6ef}\u{1e6f5}\u{1f16c}\u{1fbf0}-\u{1fbf9}';
const RUST_INERT_TEST = new RegExp(`[${RUST_INERT}]`, 'u');
const RUST_INERT_SPLIT = new RegExp(`([${RUST_INERT}])`, 'u');

/** `String.prototype.normalize` as Rust tokenizers does it (see RUST_INERT). */
export function unicodeNormalize(s: string, form: 'NFC' | 'NFD' | 'NFKC' | 'NFKD'): string {
  if (!RUST_INERT_TEST.test(s)) return s.normalize(form);
  const parts = s.split(RUST_INERT_SPLIT); // odd indices are the inert characters
  for (let i = 0; i < parts.length; i += 2) parts[i] = parts[i]!.normalize(form);
  return parts.join('');
}

const SUPPORTED = ['Sequence', 'Replace', 'Prepend', 'NFC', 'NFD', 'NFKC', 'NFKD', 'Lowercase', 'Strip', 'ByteLevel'];

let lowerMap: Map<number, string> | undefined;
/** Rust `char::to_lowercase` per character, from Rust's own table (RUST_LOWER), so the JS engine's Unicode version cannot leak in. */
function lowercase(s: string): string {
  // eslint-disable-next-line no-control-regex
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range, control characters included
  if (/^[\x00-\x7f]*$/.test(s)) return s.toLowerCase();
  if (!lowerMap) {
    lowerMap = new Map();
    for (const pair of RUST_LOWER.split(' ')) {
      const [cp, lo] = pair.split(':') as [string, string];
      lowerMap.set(parseInt(cp, 16), String.fromCodePoint(...lo.split(',').map((h) => parseInt(h, 16))));
    }
  }
  let out = '';
  for (const ch of s) out += lowerMap.get(ch.codePointAt(0)!) ?? ch;
  return out;
}

export function buildNormalizer(spec: unknown, path: string): Normalizer | null {
  if (spec === null || spec === undefined) return null;
  const o: Obj = asObj(spec, path);
  const type = o.type;
  switch (type) {
    case 'Sequence': {
      const parts = asArr(o.normalizers, `${path}.normalizers`)
        .map((n, i) => buildNormalizer(n, `${path}.normalizers[${i}]`))
        .filter((n): n is Normalizer => n !== null);
      return (s) => {
        for (const n of parts) s = n(s);
        return s;
      };
    }
    case 'Replace': {
      const p = pattern(o.pattern, `${path}.pattern`);
      const content = str(o, 'content', path);
      if (p.kind === 'string') {
        const needle = p.value;
        // Rust: an empty String pattern matches nothing
        return needle === '' ? (s) => s : (s) => s.replaceAll(needle, content);
      }
      const re = compileOnig(p.value, `${path}.pattern.Regex`);
      // `content` is literal in Rust; escape `$` for String.replace
      const lit = content.replace(/\$/g, '$$$$');
      return (s) => s.replace(re.pick(s), lit);
    }
    case 'Prepend': {
      const pre = str(o, 'prepend', path);
      return (s) => (s.length > 0 ? pre + s : s);
    }
    case 'NFC':
      return (s) => unicodeNormalize(s, 'NFC');
    case 'NFD':
      return (s) => unicodeNormalize(s, 'NFD');
    case 'NFKC':
      return (s) => unicodeNormalize(s, 'NFKC');
    case 'NFKD':
      return (s) => unicodeNormalize(s, 'NFKD');
    case 'Lowercase':
      return lowercase;
    case 'Strip': {
      const left = bool(o, 'strip_left', path, true);
      const right = bool(o, 'strip_right', path, true);
      const l = new RegExp(`^[${WS_CLASS_BODY}]+`, 'u');
      const r = new RegExp(`[${WS_CLASS_BODY}]+$`, 'u');
      return (s) => {
        if (left) s = s.replace(l, '');
        if (right) s = s.replace(r, '');
        return s;
      };
    }
    case 'ByteLevel':
      return byteLevelEncode;
    default:
      return unsupported('normalizer', type, path, SUPPORTED);
  }
}
