// Normalizers (tokenizers/src/normalizers): string -> string, applied to each piece of text
// between added tokens. We do not track offsets (encode returns ids only), so each is a
// plain function. Semantics follow the Rust crate, which is not always JS's:
//   - Lowercase maps each char alone (Rust `char::to_lowercase`), so no final-sigma rule
//     (JS `toLowerCase` turns a word-final Σ into ς).
//   - Strip uses Unicode White_Space.
//   - Prepend only prepends to non-empty strings.

import { byteLevelEncode, WS_CLASS_BODY } from './unicode.js';
import { compileOnig } from './regex.js';
import { asArr, asObj, bool, pattern, str, unsupported, type Obj } from './json.js';

export type Normalizer = (s: string) => string;

const SUPPORTED = ['Sequence', 'Replace', 'Prepend', 'NFC', 'NFD', 'NFKC', 'NFKD', 'Lowercase', 'Strip', 'ByteLevel'];

function lowercase(s: string): string {
  // fast path: ASCII
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(s)) return s.toLowerCase();
  let out = '';
  for (const ch of s) out += ch === '\u03a3' ? '\u03c3' : ch.toLowerCase();
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
      return (s) => { for (const n of parts) s = n(s); return s; };
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
      return (s) => s.replace(re, lit);
    }
    case 'Prepend': {
      const pre = str(o, 'prepend', path);
      return (s) => (s.length > 0 ? pre + s : s);
    }
    case 'NFC': return (s) => s.normalize('NFC');
    case 'NFD': return (s) => s.normalize('NFD');
    case 'NFKC': return (s) => s.normalize('NFKC');
    case 'NFKD': return (s) => s.normalize('NFKD');
    case 'Lowercase': return lowercase;
    case 'Strip': {
      const left = bool(o, 'strip_left', path, true);
      const right = bool(o, 'strip_right', path, true);
      const l = new RegExp(`^[${WS_CLASS_BODY}]+`, 'u');
      const r = new RegExp(`[${WS_CLASS_BODY}]+$`, 'u');
      return (s) => { if (left) s = s.replace(l, ''); if (right) s = s.replace(r, ''); return s; };
    }
    case 'ByteLevel': return byteLevelEncode;
    default:
      return unsupported('normalizer', type, path, SUPPORTED);
  }
}
