// Oniguruma (what Rust `tokenizers` compiles `{"Regex": ...}` patterns with) -> JS RegExp.
// Both engines are backtracking, leftmost-first, so alternation order and lookaheads
// (`\s+(?!\S)`) mean the same. What differs, and is rewritten here:
//   - `\s`/`\S`: Onig's Unicode \s is White_Space (has U+0085, not U+FEFF); JS's is not.
//   - `\d`, `\w`: Unicode classes in Onig; ASCII in JS.
//   - `\p{L}`, `\p{N}`: replaced by Oniguruma's own tables (onig-unicode.ts) — JS engines
//     know thousands more letters (newer Unicode), which would change the split.
//   - `(?i:...)` scoped case-insensitivity: not in Node 20's RegExp; we expand each ASCII
//     letter to a class with its case variants (plus U+017F 'ſ' for s and U+212A for k,
//     which Unicode case folding also matches).
// Anything we cannot translate faithfully throws, so we never split text differently in silence.

import { TokenizerError } from '../errors.js';
import { ONIG_L, ONIG_N } from './onig-unicode.js';
import { WS_CLASS_BODY } from './unicode.js';

/** `\p{L}` / `\p{N}` as Oniguruma's tables have them (its Unicode is older than V8's / JSC's). */
const ONIG_PROPS: Record<string, string> = { L: ONIG_L, Letter: ONIG_L, N: ONIG_N, Number: ONIG_N };

const W_BODY = '\\p{L}\\p{M}\\p{Nd}\\p{Pc}';
const FOLD_EXTRA: Record<string, string> = { s: '\u017f', k: '\u212a' };

function caseClass(ch: string, inClass: boolean): string {
  const lo = ch.toLowerCase();
  const up = ch.toUpperCase();
  const body = lo + up + (FOLD_EXTRA[lo] ?? '');
  return inClass ? body : `[${body}]`;
}

/**
 * The first group that repeats a repetition — `(\p{L}+)+`, `(?:a*)*`, `(x+y){2,}` — or undefined.
 * Both engines backtrack, and a nested unbounded quantifier makes a failing match exponential in
 * the length of the text (a few dozen letters and a missing `!` take minutes), so a pre_tokenizer
 * pattern with one is refused. No released tokenizer has one; alternation overlap (`(a|a)+`) is
 * not detected here.
 */
export function nestedQuantifier(src: string): string | undefined {
  const open: Array<{ start: number; repeats: boolean }> = []; // repeats: an unbounded quantifier inside
  let inClass = false;
  const unboundedAt = (i: number): boolean =>
    src[i] === '*' ||
    src[i] === '+' ||
    (src[i] === '{' && /^\{\d*,\}/.test(src.slice(i))) ||
    (src[i] === '{' && /^\{(\d+),(\d+)\}/.test(src.slice(i)) && Number(/^\{\d+,(\d+)\}/.exec(src.slice(i))![1]) > 1);
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') {
      inClass = true;
      continue;
    }
    if (c === '(') {
      open.push({ start: i, repeats: false });
      continue;
    }
    if (c === ')') {
      const g = open.pop();
      if (!g) continue;
      if (g.repeats && unboundedAt(i + 1)) return src.slice(g.start, src[i + 1] === '{' ? src.indexOf('}', i + 1) + 1 : i + 2);
      if (g.repeats && open.length) open[open.length - 1].repeats = true;
      continue;
    }
    if (unboundedAt(i) && open.length) open[open.length - 1].repeats = true;
  }
  return undefined;
}

/** Translate an Oniguruma pattern (as used in tokenizer.json) to a JS `u`-mode RegExp source. */
export function onigToJs(src: string, where: string, exactTables = true): string {
  const nested = nestedQuantifier(src);
  if (nested) {
    throw new TokenizerError(
      `${where}: the pattern repeats a repetition (${nested}): matching it can take exponential time`,
      'no released tokenizer uses such a pattern; is this tokenizer.json from a trusted source?',
    );
  }
  let out = '';
  let inClass = false;
  // stack of group kinds so that `)` ends a `(?i:` scope
  const groups: boolean[] = [];
  let ci = 0; // depth of case-insensitive scopes
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === '\\') {
      const n = src[i + 1];
      if (n === undefined) throw new TokenizerError(`${where}: regex ends with a lone backslash: ${JSON.stringify(src)}`);
      i++;
      if (n === 's') {
        out += inClass ? WS_CLASS_BODY : `[${WS_CLASS_BODY}]`;
        continue;
      }
      if (n === 'S') {
        if (inClass)
          throw new TokenizerError(`${where}: unsupported regex construct \\S inside a character class in ${JSON.stringify(src)}`);
        out += `[^${WS_CLASS_BODY}]`;
        continue;
      }
      if (n === 'd') {
        out += inClass ? '\\p{Nd}' : '\\p{Nd}';
        continue;
      }
      if (n === 'D') {
        if (inClass) throw new TokenizerError(`${where}: unsupported \\D inside a class in ${JSON.stringify(src)}`);
        out += '\\P{Nd}';
        continue;
      }
      if (n === 'w') {
        out += inClass ? W_BODY : `[${W_BODY}]`;
        continue;
      }
      if (n === 'W') {
        if (inClass) throw new TokenizerError(`${where}: unsupported \\W inside a class in ${JSON.stringify(src)}`);
        out += `[^${W_BODY}]`;
        continue;
      }
      if (n === 'p' || n === 'P') {
        const close = src.indexOf('}', i);
        if (src[i + 1] !== '{' || close < 0) throw new TokenizerError(`${where}: malformed \\${n} in ${JSON.stringify(src)}`);
        const name = src.slice(i + 2, close);
        const table = exactTables ? ONIG_PROPS[name] : undefined;
        if (table !== undefined) {
          if (n === 'p') out += inClass ? table : `[${table}]`;
          else if (!inClass) out += `[^${table}]`;
          else throw new TokenizerError(`${where}: unsupported \\P{${name}} inside a character class in ${JSON.stringify(src)}`);
        } else {
          // other properties: the JS engine's Unicode tables (may be newer than Oniguruma's)
          out += '\\' + n + src.slice(i + 1, close + 1);
        }
        i = close;
        continue;
      }
      if (n === 'A') {
        out += '^';
        continue;
      }
      if (n === 'z') {
        out += '$';
        continue;
      }
      if (n === 'h' || n === 'H' || n === 'G' || n === 'K' || n === 'R' || n === 'X') {
        throw new TokenizerError(`${where}: unsupported Oniguruma escape \\${n} in ${JSON.stringify(src)}`);
      }
      // \r \n \t \uXXXX \xHH \. \- \\ ... mean the same in JS `u` mode
      if (n === 'x' && src[i + 1] === '{') {
        const close = src.indexOf('}', i);
        out += '\\u{' + src.slice(i + 2, close) + '}';
        i = close;
        continue;
      }
      if (ci > 0 && /[a-zA-Z]/.test(n) && !'rntfvux0'.includes(n)) {
        throw new TokenizerError(`${where}: unsupported escape \\${n} inside (?i:...) in ${JSON.stringify(src)}`);
      }
      out += '\\' + n;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      if (c === '[') throw new TokenizerError(`${where}: nested character classes are not supported: ${JSON.stringify(src)}`);
      out += ci > 0 && /[a-zA-Z]/.test(c) ? caseClass(c, true) : c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      if (src[i + 1] === '^') {
        out += '^';
        i++;
      }
      if (src[i + 1] === ']') {
        out += '\\]';
        i++;
      } // a leading ] is literal in Onig
      continue;
    }
    if (c === '(') {
      if (src.startsWith('(?i:', i)) {
        groups.push(true);
        ci++;
        out += '(?:';
        i += 3;
        continue;
      }
      if (src.startsWith('(?', i) && !/^\(\?(?::|=|!|<=|<!|<[A-Za-z])/.test(src.slice(i, i + 4))) {
        throw new TokenizerError(
          `${where}: unsupported regex group syntax at offset ${i} in ${JSON.stringify(src)}`,
          'inline flags other than (?i:...) are not translated',
        );
      }
      groups.push(false);
      out += c;
      continue;
    }
    if (c === ')') {
      if (groups.pop()) ci--;
      out += c;
      continue;
    }
    out += ci > 0 && /[a-zA-Z]/.test(c) ? caseClass(c, false) : c;
  }
  return out;
}

/**
 * A compiled tokenizer.json regex. `exact` uses Oniguruma's \\p{L}/\\p{N} tables; `fast` uses the
 * engine's own (irregexp runs them ~5x faster than a 677-range class). They differ only on
 * characters the JS engine knows as letters/numbers and Oniguruma does not (newer Unicode), so
 * `pick` uses `fast` unless the text has such a character.
 */
export class OnigRegex {
  readonly exact: RegExp;
  readonly fast: RegExp;
  readonly source: string;
  constructor(src: string, where: string) {
    this.source = src;
    const exact = onigToJs(src, where, true);
    const fast = onigToJs(src, where, false);
    try {
      this.exact = new RegExp(exact, 'gu');
      this.fast = exact === fast ? this.exact : new RegExp(fast, 'gu');
    } catch (e) {
      throw new TokenizerError(
        `${where}: cannot compile regex ${JSON.stringify(src)} (as JS ${JSON.stringify(exact.slice(0, 200))}): ${(e as Error).message}`,
      );
    }
  }
  pick(s: string): RegExp {
    if (this.fast === this.exact || !MAYBE_NEWER.test(s) || !NEWER_THAN_ONIG.test(s)) return this.fast;
    return this.exact;
  }
}
// Every code point below U+0378 was assigned long before any Oniguruma release we could meet.
// biome-ignore lint/suspicious/noControlCharactersInRegex: a code-point range that starts at U+0000
const MAYBE_NEWER = /[^\u0000-\u0377]/;
const NEWER_THAN_ONIG = new RegExp(`(?![${ONIG_L}${ONIG_N}])[\\p{L}\\p{N}]`, 'u');

/** Compile a tokenizer.json regex; errors name the JSON path. */
export function compileOnig(src: string, where: string): OnigRegex {
  return new OnigRegex(src, where);
}

/**
 * Cover `s` with (start, end, isMatch) pieces like tokenizers' `Pattern::find_matches`:
 * the gaps between matches are non-matches; empty input -> one empty non-match.
 */
export function findMatches(re: RegExp, s: string): Array<[number, number, boolean]> {
  if (s.length === 0) return [[0, 0, false]];
  const out: Array<[number, number, boolean]> = [];
  let prev = 0;
  re.lastIndex = 0;
  for (;;) {
    const m = re.exec(s);
    if (m === null) break;
    const start = m.index;
    const end = start + m[0].length;
    if (prev !== start) out.push([prev, start, false]);
    out.push([start, end, true]);
    prev = end;
    if (end === start) {
      // empty match: step one code point forward (Onig's find_iter does the same)
      if (end >= s.length) break;
      const c = s.charCodeAt(end);
      re.lastIndex = end + (c >= 0xd800 && c <= 0xdbff ? 2 : 1);
    }
  }
  if (prev !== s.length) out.push([prev, s.length, false]);
  return out;
}

/** Every occurrence of a literal string, covered like `findMatches` (Rust escapes it into a regex). */
export function findStringMatches(needle: string, s: string): Array<[number, number, boolean]> {
  if (s.length === 0) return [[0, 0, false]];
  if (needle.length === 0) return [[0, s.length, false]];
  const out: Array<[number, number, boolean]> = [];
  let prev = 0;
  for (let at = s.indexOf(needle); at >= 0; at = s.indexOf(needle, at + needle.length)) {
    if (prev !== at) out.push([prev, at, false]);
    out.push([at, at + needle.length, true]);
    prev = at + needle.length;
  }
  if (prev !== s.length) out.push([prev, s.length, false]);
  return out;
}
