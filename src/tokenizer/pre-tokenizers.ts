// Pre-tokenizers (tokenizers/src/pre_tokenizers): cut a normalized piece into "words" that
// the model encodes independently. Written in continuation style — `run(s, first, emit)` —
// so a Sequence is nested calls and no intermediate arrays are built.
// `first` is true when the piece starts at offset 0 of the original text (Rust's
// `offsets_original().0 == 0`, used by Metaspace's prepend_scheme "first").
// Empty pieces are dropped, as Rust's PreTokenizedString::split does.

import { TokenizerError } from '../errors.js';
import { byteLevelEncode } from './unicode.js';
import { compileOnig, findMatches, findStringMatches } from './regex.js';
import { asArr, asObj, bool, pattern, str, unsupported, type Obj } from './json.js';

export type Emit = (s: string, first: boolean) => void;
export type PreTokenizer = (s: string, first: boolean, emit: Emit) => void;

const SUPPORTED = ['Sequence', 'Split', 'ByteLevel', 'Metaspace', 'Whitespace', 'WhitespaceSplit', 'Digits', 'Punctuation'];

/** GPT-2's pattern, used by ByteLevel when use_regex is true (tokenizers byte_level.rs). */
export const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

export type Behavior = 'Removed' | 'Isolated' | 'MergedWithPrevious' | 'MergedWithNext' | 'Contiguous';
const BEHAVIORS: Behavior[] = ['Removed', 'Isolated', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'];

/** NormalizedString::split: turn (start, end, isMatch) pieces into kept ranges per behavior. */
export function applyBehavior(m: Array<[number, number, boolean]>, behavior: Behavior): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  switch (behavior) {
    case 'Isolated':
      for (const [a, b] of m) out.push([a, b]);
      return out;
    case 'Removed':
      for (const [a, b, isM] of m) if (!isM) out.push([a, b]);
      return out;
    case 'Contiguous': {
      let prev = false;
      for (const [a, b, isM] of m) {
        if (isM === prev && out.length > 0) out[out.length - 1]![1] = b;
        else out.push([a, b]);
        prev = isM;
      }
      return out;
    }
    case 'MergedWithPrevious': {
      let prev = false;
      for (const [a, b, isM] of m) {
        if (isM && !prev && out.length > 0) out[out.length - 1]![1] = b;
        else out.push([a, b]);
        prev = isM;
      }
      return out;
    }
    case 'MergedWithNext': {
      let prev = false;
      for (let i = m.length - 1; i >= 0; i--) {
        const [a, b, isM] = m[i]!;
        if (isM && !prev && out.length > 0) out[out.length - 1]![0] = a;
        else out.push([a, b]);
        prev = isM;
      }
      return out.reverse();
    }
  }
}

function emitRanges(s: string, first: boolean, ranges: Array<[number, number]>, emit: Emit): void {
  for (const [a, b] of ranges) if (b > a) emit(s.slice(a, b), first && a === 0);
}

/** Split on every char satisfying `pred`, each such char being its own match (Rust's `Fn(char) -> bool` pattern). */
function charMatches(s: string, pred: (ch: string) => boolean): Array<[number, number, boolean]> {
  if (s.length === 0) return [[0, 0, false]];
  const out: Array<[number, number, boolean]> = [];
  let i = 0;
  let runStart = 0;
  for (const ch of s) {
    if (pred(ch)) {
      if (runStart < i) out.push([runStart, i, false]);
      out.push([i, i + ch.length, true]);
      runStart = i + ch.length;
    }
    i += ch.length;
  }
  if (runStart < s.length) out.push([runStart, s.length, false]);
  return out;
}

function behaviorOf(o: Obj, path: string, dflt: Behavior): Behavior {
  const b = (o.behavior ?? dflt) as Behavior;
  if (!BEHAVIORS.includes(b)) throw new TokenizerError(`${path}.behavior: expected one of ${BEHAVIORS.join(', ')}, got ${JSON.stringify(o.behavior)}`);
  return b;
}

export function buildPreTokenizer(spec: unknown, path: string): PreTokenizer | null {
  if (spec === null || spec === undefined) return null;
  const o = asObj(spec, path);
  const type = o.type;
  switch (type) {
    case 'Sequence': {
      const parts = asArr(o.pretokenizers, `${path}.pretokenizers`)
        .map((p, i) => buildPreTokenizer(p, `${path}.pretokenizers[${i}]`))
        .filter((p): p is PreTokenizer => p !== null);
      // compose right to left: parts[0] feeds parts[1] ... feeds emit
      return (s, first, emit) => {
        let sink: Emit = emit;
        for (let i = parts.length - 1; i >= 0; i--) {
          const p = parts[i]!;
          const next = sink;
          sink = (t, f) => p(t, f, next);
        }
        sink(s, first);
      };
    }
    case 'Split': {
      const p = pattern(o.pattern, `${path}.pattern`);
      const behavior = behaviorOf(o, path, 'Isolated');
      const invert = bool(o, 'invert', path, false);
      const re = p.kind === 'regex' ? compileOnig(p.value, `${path}.pattern.Regex`) : null;
      const needle = p.value;
      return (s, first, emit) => {
        const m = re ? findMatches(re, s) : findStringMatches(needle, s);
        if (invert) for (const x of m) x[2] = !x[2];
        emitRanges(s, first, applyBehavior(m, behavior), emit);
      };
    }
    case 'ByteLevel': {
      const addPrefixSpace = bool(o, 'add_prefix_space', path, true);
      const useRegex = bool(o, 'use_regex', path, true);
      const re = useRegex ? compileOnig(GPT2_PATTERN, `${path} (GPT-2 pattern)`) : null;
      return (s, first, emit) => {
        if (addPrefixSpace && s[0] !== ' ') s = ' ' + s;
        if (!re) { emit(byteLevelEncode(s), first); return; }
        for (const [a, b] of applyBehavior(findMatches(re, s), 'Isolated')) {
          if (b > a) emit(byteLevelEncode(s.slice(a, b)), first && a === 0);
        }
      };
    }
    case 'Metaspace': {
      const replacement = str(o, 'replacement', path, '\u2581');
      if ([...replacement].length !== 1) throw new TokenizerError(`${path}.replacement: expected one character, got ${JSON.stringify(replacement)}`);
      // Older files have add_prefix_space instead of prepend_scheme (true -> "always").
      let scheme = o.prepend_scheme as string | undefined;
      if (scheme === undefined) scheme = bool(o, 'add_prefix_space', path, true) ? 'always' : 'never';
      if (!['always', 'first', 'never'].includes(scheme)) throw new TokenizerError(`${path}.prepend_scheme: expected "always", "first" or "never", got ${JSON.stringify(scheme)}`);
      const split = bool(o, 'split', path, true);
      return (s, first, emit) => {
        s = s.replaceAll(' ', replacement);
        if (!s.startsWith(replacement) && (scheme === 'always' || (scheme === 'first' && first))) s = replacement + s;
        if (!split) { if (s.length > 0) emit(s, first); return; }
        emitRanges(s, first, applyBehavior(findStringMatches(replacement, s), 'MergedWithNext'), emit);
      };
    }
    case 'Whitespace': {
      // Rust regex `\w+|[^\w\s]+` (Unicode \w and \s)
      const W = '\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}';
      const re = new RegExp(`[${W}]+|[^${W}\\p{White_Space}]+`, 'gu');
      return (s, first, emit) => {
        const m = findMatches(re, s);
        for (const x of m) x[2] = !x[2]; // matches are the words: Invert + Removed
        emitRanges(s, first, applyBehavior(m, 'Removed'), emit);
      };
    }
    case 'WhitespaceSplit': {
      const ws = /^\p{White_Space}$/u;
      return (s, first, emit) => emitRanges(s, first, applyBehavior(charMatches(s, (c) => ws.test(c)), 'Removed'), emit);
    }
    case 'Digits': {
      const individual = bool(o, 'individual_digits', path, false);
      const num = /^[\p{Nd}\p{Nl}\p{No}]$/u; // Rust char::is_numeric
      return (s, first, emit) => emitRanges(s, first, applyBehavior(charMatches(s, (c) => num.test(c)), individual ? 'Isolated' : 'Contiguous'), emit);
    }
    case 'Punctuation': {
      const behavior = behaviorOf(o, path, 'Isolated');
      const punct = /^[\p{P}!-\/:-@\[-`{-~]$/u; // Rust: is_ascii_punctuation || general category P*
      return (s, first, emit) => emitRanges(s, first, applyBehavior(charMatches(s, (c) => punct.test(c)), behavior), emit);
    }
    default:
      return unsupported('pre-tokenizer', type, path, SUPPORTED);
  }
}
