// Unicode and byte helpers shared by the tokenizer pipeline.
// Rust `tokenizers` works on UTF-8 byte offsets; we work on JS strings (UTF-16) and only
// ever cut at code-point boundaries, which gives the same pieces. Lone surrogates cannot
// exist in Rust strings: we replace them with U+FFFD first, as TextEncoder does.

/** Lone surrogates -> U+FFFD (what `new TextEncoder().encode` would do). */
export function toWellFormed(s: string): string {
  const f = (s as unknown as { toWellFormed?: () => string }).toWellFormed;
  if (typeof f === 'function') return f.call(s);
  return s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

/**
 * GPT-2's byte <-> printable-char table (tokenizers `bytes_char`): printable Latin-1 bytes
 * ('!'..'~', 0xA1..0xAC, 0xAE..0xFF) map to themselves, the other 68 bytes to U+0100.. in order.
 */
export const BYTE_TO_CHAR: string[] = (() => {
  const out = new Array<string>(256);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    out[b] = String.fromCharCode(printable ? b : 256 + n++);
  }
  return out;
})();
export const CHAR_TO_BYTE: Map<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

/** UTF-8 bytes of `s`, each byte shown as its GPT-2 char (the ByteLevel pre-tokenizer/normalizer). */
export function byteLevelEncode(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      out += BYTE_TO_CHAR[c];
      continue;
    }
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd; // lone surrogate (only if not pre-cleaned)
    if (c < 0x800) {
      out += BYTE_TO_CHAR[0xc0 | (c >> 6)] + BYTE_TO_CHAR[0x80 | (c & 63)];
    } else if (c < 0x10000) {
      out += BYTE_TO_CHAR[0xe0 | (c >> 12)] + BYTE_TO_CHAR[0x80 | ((c >> 6) & 63)] + BYTE_TO_CHAR[0x80 | (c & 63)];
    } else {
      out +=
        BYTE_TO_CHAR[0xf0 | (c >> 18)] +
        BYTE_TO_CHAR[0x80 | ((c >> 12) & 63)] +
        BYTE_TO_CHAR[0x80 | ((c >> 6) & 63)] +
        BYTE_TO_CHAR[0x80 | (c & 63)];
    }
  }
  return out;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
export const utf8Encode = (s: string): Uint8Array => encoder.encode(s);
/** Like Rust `String::from_utf8_lossy`: each maximal invalid subpart -> one U+FFFD (WHATWG does the same). */
export const utf8DecodeLossy = (b: Uint8Array): string => decoder.decode(b);
/** Like Rust `String::from_utf8(..).ok()`. */
export function utf8DecodeStrict(b: Uint8Array): string | undefined {
  try {
    return strictDecoder.decode(b);
  } catch {
    return undefined;
  }
}

/**
 * Whitespace as Rust `char::is_whitespace` / the Unicode White_Space property
 * (also Oniguruma's Unicode `\s`). Unlike JS `\s` it includes U+0085 and excludes U+FEFF.
 */
export const WS_CLASS_BODY = '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';

/** Python `str.strip()` whitespace (str.isspace): White_Space plus U+001C..U+001F (bidi class B/S/WS). */
const PY_WS = new RegExp(`^[${WS_CLASS_BODY}\\u001c-\\u001f]+|[${WS_CLASS_BODY}\\u001c-\\u001f]+$`, 'gu');
export const pyStrip = (s: string): string => s.replace(PY_WS, '');
