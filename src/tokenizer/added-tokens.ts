// Added tokens (tokenizers/src/tokenizer/added_vocabulary.rs). Before any normalization the
// text is cut on the tokens with normalized=false, then each remaining piece is normalized
// and cut on the tokens with normalized=true (whose contents were normalized the same way).
// Matching is leftmost-longest and non-overlapping (Rust uses Aho-Corasick with
// MatchKind::LeftmostLongest); a match refused by single_word is dropped, not retried.
// lstrip / rstrip swallow neighbouring whitespace into the token's piece.

import { TokenizerError } from '../errors.js';
import { asArr, asObj, bool, int, str } from './json.js';
import { RUST_W } from './onig-unicode.js';

export interface AddedToken {
  id: number;
  content: string;
  special: boolean;
  singleWord: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
}

export function parseAddedTokens(v: unknown, path: string): AddedToken[] {
  if (v === undefined || v === null) return [];
  return asArr(v, path).map((t, i) => {
    const p = `${path}[${i}]`;
    const o = asObj(t, p);
    return {
      id: int(o, 'id', p),
      content: str(o, 'content', p),
      special: bool(o, 'special', p, false),
      singleWord: bool(o, 'single_word', p, false),
      lstrip: bool(o, 'lstrip', p, false),
      rstrip: bool(o, 'rstrip', p, false),
      // tokenizers' AddedToken default: normalized = !special
      normalized: bool(o, 'normalized', p, !bool(o, 'special', p, false)),
    };
  });
}

interface TrieNode {
  next: Map<number, TrieNode>;
  token: AddedToken | null;
}

// Rust regex crate (Unicode): \w (its own table) and \s used by single_word / lstrip / rstrip
const WORD_END = new RegExp(`[${RUST_W}]$`, 'u');
const WORD_START = new RegExp(`^[${RUST_W}]`, 'u');
const SPACE_END = /\p{White_Space}*$/u;
const SPACE_START = /^\p{White_Space}*/u;

/** One piece of text after added-token splitting: a token id, or text to encode. */
export type Piece = { id: number; text: string; start: number } | { id: -1; text: string; start: number };

export class AddedTokenMatcher {
  private readonly root: TrieNode = { next: new Map(), token: null };
  readonly empty: boolean;

  constructor(tokens: Array<{ token: AddedToken; pattern: string }>) {
    for (const { token, pattern } of tokens) {
      if (pattern.length === 0) continue;
      let node = this.root;
      for (let i = 0; i < pattern.length; i++) {
        const c = pattern.charCodeAt(i);
        let nx = node.next.get(c);
        if (!nx) {
          nx = { next: new Map(), token: null };
          node.next.set(c, nx);
        }
        node = nx;
      }
      // first registration wins for duplicate contents (same id in practice)
      if (node.token === null) node.token = token;
    }
    this.empty = this.root.next.size === 0;
  }

  /** Split `s` into pieces; `base` is s's offset in the original text (for Metaspace "first"). */
  split(s: string, base: number, out: Piece[]): void {
    if (this.empty || s.length === 0) {
      if (s.length > 0) out.push({ id: -1, text: s, start: base });
      return;
    }
    // 1. non-overlapping leftmost-longest matches
    const matches: Array<[number, number, AddedToken]> = [];
    const root = this.root;
    for (let i = 0; i < s.length; ) {
      let node = root.next.get(s.charCodeAt(i));
      if (node === undefined) {
        i++;
        continue;
      }
      let best: AddedToken | null = null;
      let bestEnd = -1;
      let j = i + 1;
      for (;;) {
        if (node.token !== null) {
          best = node.token;
          bestEnd = j;
        }
        if (j >= s.length) break;
        const nx: TrieNode | undefined = node.next.get(s.charCodeAt(j));
        if (nx === undefined) break;
        node = nx;
        j++;
      }
      if (best !== null) {
        matches.push([i, bestEnd, best]);
        i = bestEnd;
      } else i++;
    }
    if (matches.length === 0) {
      out.push({ id: -1, text: s, start: base });
      return;
    }
    // 2. single_word / lstrip / rstrip, then cut
    let startOffset = 0;
    for (let [start, stop, tok] of matches) {
      if (tok.singleWord) {
        const startSpace = start === 0 || !WORD_END.test(s.slice(Math.max(0, start - 2), start));
        const stopSpace = stop === s.length || !WORD_START.test(s.slice(stop, stop + 2));
        if (!startSpace || !stopSpace) continue;
      }
      if (tok.lstrip) {
        const before = s.slice(0, start);
        const ns = SPACE_END.exec(before)!.index;
        start = Math.max(ns, startOffset);
      }
      if (tok.rstrip) stop += SPACE_START.exec(s.slice(stop))![0].length;
      if (startOffset < start) out.push({ id: -1, text: s.slice(startOffset, start), start: base + startOffset });
      out.push({ id: tok.id, text: s.slice(start, stop), start: base + start });
      startOffset = stop;
    }
    if (startOffset < s.length) out.push({ id: -1, text: s.slice(startOffset), start: base + startOffset });
  }
}

/**
 * Assign ids like Rust `AddedVocabulary::add_tokens`: a token already in the model vocab keeps
 * the model's id; otherwise ids continue after max(model vocab size, largest added id).
 * (The "id" field in tokenizer.json is only checked with a warning by Rust; we follow Rust.)
 */
export function assignIds(tokens: AddedToken[], modelId: (s: string) => number | undefined, modelSize: number): AddedToken[] {
  const out: AddedToken[] = [];
  const byContent = new Map<string, number>();
  let nextId = modelSize; // Rust: fixed once from the (empty) added map, then incremented
  for (const t of tokens) {
    if (t.content.length === 0) continue;
    let id = byContent.get(t.content) ?? modelId(t.content);
    if (id === undefined) id = nextId++;
    byContent.set(t.content, id);
    out.push({ ...t, id });
  }
  return out;
}

export { TokenizerError };
