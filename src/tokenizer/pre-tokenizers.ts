// Pre-tokenizers (tokenizers/src/pre_tokenizers): cut a normalized piece into "words" that
// the model encodes independently. Written in continuation style — `run(s, first, emit)` —
// so a Sequence is nested calls and no intermediate arrays are built.
// `first` is true when the piece starts at offset 0 of the original text (Rust's
// `offsets_original().0 == 0`, used by Metaspace's prepend_scheme "first").
// Empty pieces are dropped, as Rust's PreTokenizedString::split does.

import { TokenizerError } from '../errors.js';
import { asArr, asObj, bool, type Obj, pattern, str, unsupported } from './json.js';
import { RUST_NUMERIC, RUST_PUNCT, RUST_W } from './onig-unicode.js';
import { compileOnig, findMatches, findStringMatches, type OnigRegex } from './regex.js';
import { byteLevelEncode } from './unicode.js';

export type Emit = (s: string, first: boolean) => void;
export type PreTokenizer = ((s: string, first: boolean, emit: Emit) => void) & {
  /**
   * Set when the whole pre-tokenizer is "regex matches (Isolated), each mapped to one word by
   * a pure function" — Llama 3 / Qwen2 (Split + ByteLevel without regex) and GPT-2 (ByteLevel
   * with regex). The tokenizer then caches raw match -> ids and skips the mapping on hits.
   */
  fast?: { re: OnigRegex | null; map: (s: string) => string };
};

const SUPPORTED = ['Sequence', 'Split', 'ByteLevel', 'Metaspace', 'Whitespace', 'WhitespaceSplit', 'Digits', 'Punctuation'];

/** GPT-2's pattern, used by ByteLevel when use_regex is true (tokenizers byte_level.rs). */
export const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

const identity = (s: string): string => s;

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
  if (!BEHAVIORS.includes(b))
    throw new TokenizerError(`${path}.behavior: expected one of ${BEHAVIORS.join(', ')}, got ${JSON.stringify(o.behavior)}`);
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
      const seq: PreTokenizer = (s, first, emit) => {
        let sink: Emit = emit;
        for (let i = parts.length - 1; i >= 0; i--) {
          const p = parts[i]!;
          const next = sink;
          sink = (t, f) => p(t, f, next);
        }
        sink(s, first);
      };
      if (parts.length === 1) seq.fast = parts[0]!.fast;
      if (parts.length === 2 && parts[0]!.fast && parts[1]!.fast && parts[1]!.fast.re === null) {
        const m0 = parts[0]!.fast.map;
        const m1 = parts[1]!.fast.map;
        seq.fast = { re: parts[0]!.fast.re, map: m0 === identity ? m1 : (x) => m1(m0(x)) };
      }
      return seq;
    }
    case 'Split': {
      const p = pattern(o.pattern, `${path}.pattern`);
      const behavior = behaviorOf(o, path, 'Isolated');
      const invert = bool(o, 'invert', path, false);
      const re = p.kind === 'regex' ? compileOnig(p.value, `${path}.pattern.Regex`) : null;
      const needle = p.value;
      const split: PreTokenizer = (s, first, emit) => {
        const m = re ? findMatches(re.pick(s), s) : findStringMatches(needle, s);
        if (invert) for (const x of m) x[2] = !x[2];
        emitRanges(s, first, applyBehavior(m, behavior), emit);
      };
      if (re && behavior === 'Isolated' && !invert) split.fast = { re, map: identity };
      return split;
    }
    case 'ByteLevel': {
      const addPrefixSpace = bool(o, 'add_prefix_space', path, true);
      const useRegex = bool(o, 'use_regex', path, true);
      const re = useRegex ? compileOnig(GPT2_PATTERN, `${path} (GPT-2 pattern)`) : null;
      const bl: PreTokenizer = (s, first, emit) => {
        if (addPrefixSpace && s[0] !== ' ') s = ' ' + s;
        if (!re) {
          emit(byteLevelEncode(s), first);
          return;
        }
        for (const [a, b] of applyBehavior(findMatches(re.pick(s), s), 'Isolated')) {
          if (b > a) emit(byteLevelEncode(s.slice(a, b)), first && a === 0);
        }
      };
      // add_prefix_space changes the text before the regex runs, so no fast form with it
      if (!addPrefixSpace) bl.fast = { re, map: byteLevelEncode };
      return bl;
    }
    case 'Metaspace': {
      const replacement = str(o, 'replacement', path, '\u2581');
      if ([...replacement].length !== 1)
        throw new TokenizerError(`${path}.replacement: expected one character, got ${JSON.stringify(replacement)}`);
      // Older files have add_prefix_space instead of prepend_scheme (true -> "always").
      let scheme = o.prepend_scheme as string | undefined;
      if (scheme === undefined) scheme = bool(o, 'add_prefix_space', path, true) ? 'always' : 'never';
      if (!['always', 'first', 'never'].includes(scheme))
        throw new TokenizerError(`${path}.prepend_scheme: expected "always", "first" or "never", got ${JSON.stringify(scheme)}`);
      const split = bool(o, 'split', path, true);
      return (s, first, emit) => {
        s = s.replaceAll(' ', replacement);
        if (!s.startsWith(replacement) && (scheme === 'always' || (scheme === 'first' && first))) s = replacement + s;
        if (!split) {
          if (s.length > 0) emit(s, first);
          return;
        }
        emitRanges(s, first, applyBehavior(findStringMatches(replacement, s), 'MergedWithNext'), emit);
      };
    }
    case 'Whitespace': {
      // Rust regex `\w+|[^\w\s]+`, with the regex crate's own \w table (older Unicode than JS's)
      const re = new RegExp(`[${RUST_W}]+|[^${RUST_W}\\p{White_Space}]+`, 'gu');
      return (s, first, emit) => {
        const m = findMatches(re, s);
        for (const x of m) x[2] = !x[2]; // matches are the words: Invert + Removed
        emitRanges(s, first, applyBehavior(m, 'Removed'), emit);
      };
    }
    case 'WhitespaceSplit': {
      const ws = /^\p{White_Space}$/u;
      return (s, first, emit) =>
        emitRanges(
          s,
          first,
          applyBehavior(
            charMatches(s, (c) => ws.test(c)),
            'Removed',
          ),
          emit,
        );
    }
    case 'Digits': {
      const individual = bool(o, 'individual_digits', path, false);
      const num = new RegExp(`^[${RUST_NUMERIC}]$`, 'u'); // Rust char::is_numeric, Rust's table
      return (s, first, emit) =>
        emitRanges(
          s,
          first,
          applyBehavior(
            charMatches(s, (c) => num.test(c)),
            individual ? 'Isolated' : 'Contiguous',
          ),
          emit,
        );
    }
    case 'Punctuation': {
      const behavior = behaviorOf(o, path, 'Isolated');
      const punct = new RegExp(`^[${RUST_PUNCT}]$`, 'u'); // is_ascii_punctuation || category P*, Rust's table
      return (s, first, emit) =>
        emitRanges(
          s,
          first,
          applyBehavior(
            charMatches(s, (c) => punct.test(c)),
            behavior,
          ),
          emit,
        );
    }
    default:
      return unsupported('pre-tokenizer', type, path, SUPPORTED);
  }
}
