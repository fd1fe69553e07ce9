// BPE model (tokenizers/src/models/bpe): a word -> its chars -> merged by rank.
// Merging follows word.rs `merge_all` exactly: a min-heap of candidate pairs ordered by
// (rank, left position), symbols in a doubly linked list, stale heap entries skipped when
// the pair at that position no longer produces the same token. That is O(n log n) per word,
// so a 100 KB "word" (Gemma never splits on spaces) stays linear-ish.
// Chars missing from the vocab fall back to <0xXX> byte tokens (byte_fallback) or to the
// unk token (fused into one when fuse_unk). Results of words shorter than 256 code units are
// cached (Rust caches words < 256 bytes; the cache changes speed only, never ids).

import { TokenizerError } from '../errors.js';
import { asArr, asObj, bool, describe, type Obj, optStr } from './json.js';
import { utf8Encode } from './unicode.js';

// Heap key = rank * 2^31 + position, exact in a float64 while rank < 2^22 (checked when the
// merges are read) and position < 2^31 (a JS string holds fewer than 2^30 code units). With
// 2^24 a word over 16 M symbols wrapped positions and silently produced wrong ids.
const POS_BITS = 2 ** 31;
const MAX_MERGES = 2 ** 22;
const CACHE_MAX_WORD = 256;
const CACHE_CAPACITY = 100_000;

/**
 * (left id, right id) -> (rank, new id) in an open-addressing hash table over typed arrays:
 * ~5x faster to build and probe than a Map with 2^40-sized number keys, and no GC pressure.
 */
class MergeTable {
  private mask: number;
  private left: Int32Array;
  private right: Int32Array;
  readonly rank: Int32Array;
  readonly newId: Int32Array;
  constructor(n: number) {
    let cap = 16;
    while (cap < n * 2) cap *= 2;
    this.mask = cap - 1;
    this.left = new Int32Array(cap).fill(-1);
    this.right = new Int32Array(cap);
    this.rank = new Int32Array(cap);
    this.newId = new Int32Array(cap);
  }
  private slot(a: number, b: number): number {
    let h = (Math.imul(a, 0x9e3779b1) ^ Math.imul(b, 0x85ebca6b)) & this.mask;
    for (;;) {
      const l = this.left[h]!;
      if (l === -1 || (l === a && this.right[h] === b)) return h;
      h = (h + 1) & this.mask;
    }
  }
  /** Later duplicates overwrite earlier ones, like Rust collecting into a HashMap. */
  set(a: number, b: number, rank: number, newId: number): void {
    const h = this.slot(a, b);
    this.left[h] = a;
    this.right[h] = b;
    this.rank[h] = rank;
    this.newId[h] = newId;
  }
  /** Slot index of the pair, or -1. */
  find(a: number, b: number): number {
    const h = this.slot(a, b);
    return this.left[h] === -1 ? -1 : h;
  }
}

export class BPE {
  readonly vocab: Map<string, number>;
  readonly vocabR: Map<number, string>;
  private readonly merges: MergeTable;
  private readonly unkToken: string | null;
  private readonly unkId: number | undefined;
  private readonly fuseUnk: boolean;
  private readonly byteFallback: boolean;
  private readonly ignoreMerges: boolean;
  private readonly prefix: string | null;
  private readonly suffix: string | null;
  private readonly byteIds: Int32Array; // <0xXX> token ids, -1 if absent
  private readonly charIds = new Map<number, number>(); // single-code-point tokens
  private readonly cache = new Map<string, number[]>();
  // mergeAll scratch
  private cap = 0;
  private sc = new Int32Array(0);
  private sp = new Int32Array(0);
  private sn = new Int32Array(0);
  private sa = new Uint8Array(0);
  private hk = new Float64Array(64);
  private hv = new Int32Array(64);

  private grow(n: number): void {
    this.cap = Math.max(n, this.cap * 2, 64);
    this.sc = new Int32Array(this.cap);
    this.sp = new Int32Array(this.cap);
    this.sn = new Int32Array(this.cap);
    this.sa = new Uint8Array(this.cap);
  }

  constructor(spec: unknown, path: string) {
    const o: Obj = asObj(spec, path);
    const dropout = o.dropout;
    if (dropout !== undefined && dropout !== null && dropout !== 0) {
      throw new TokenizerError(
        `${path}.dropout: BPE dropout ${describe(dropout)} is random at encode time`,
        'only null or 0 is supported (inference is deterministic)',
      );
    }
    const vocabObj = asObj(o.vocab, `${path}.vocab`);
    this.vocab = new Map();
    this.vocabR = new Map();
    let maxId = -1;
    for (const k in vocabObj) {
      const id = vocabObj[k];
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0)
        throw new TokenizerError(`${path}.vocab[${JSON.stringify(k)}]: expected a non-negative integer id, got ${describe(id)}`);
      this.vocab.set(k, id);
      this.vocabR.set(id, k);
      if (id > maxId) maxId = id;
    }
    this.unkToken = optStr(o, 'unk_token', path);
    this.unkId = this.unkToken === null ? undefined : this.vocab.get(this.unkToken);
    this.fuseUnk = bool(o, 'fuse_unk', path, false);
    this.byteFallback = bool(o, 'byte_fallback', path, false);
    this.ignoreMerges = bool(o, 'ignore_merges', path, false);
    this.prefix = optStr(o, 'continuing_subword_prefix', path);
    this.suffix = optStr(o, 'end_of_word_suffix', path);
    if (this.prefix === '') this.prefix = null;
    if (this.suffix === '') this.suffix = null;

    // merges: ["a b", ...] (legacy) or [["a", "b"], ...]; rank = index; a later duplicate
    // pair overwrites an earlier one (Rust collects into a HashMap).
    const merges = asArr(o.merges ?? [], `${path}.merges`);
    if (merges.length >= MAX_MERGES) {
      throw new TokenizerError(
        `${path}.merges: ${merges.length} merges; at most ${MAX_MERGES - 1} are supported (real tokenizers have < 300k)`,
      );
    }
    this.merges = new MergeTable(merges.length);
    const prefixLen = this.prefix?.length ?? 0;
    let rank = 0;
    for (let i = 0; i < merges.length; i++) {
      const m = merges[i];
      let a: string;
      let b: string;
      if (typeof m === 'string') {
        if (i === 0 && m.startsWith('#version')) continue;
        const sp = m.indexOf(' ');
        if (sp < 0 || m.indexOf(' ', sp + 1) >= 0)
          throw new TokenizerError(`${path}.merges[${i}]: expected "left right" (exactly one space), got ${JSON.stringify(m)}`);
        a = m.slice(0, sp);
        b = m.slice(sp + 1);
      } else if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') {
        [a, b] = m as [string, string];
      } else {
        throw new TokenizerError(`${path}.merges[${i}]: expected "a b" or ["a", "b"], got ${describe(m)}`);
      }
      const ai = this.vocab.get(a);
      const bi = this.vocab.get(b);
      const merged = a + b.slice(prefixLen);
      const ni = this.vocab.get(merged);
      if (ai === undefined || bi === undefined || ni === undefined) {
        const missing = ai === undefined ? a : bi === undefined ? b : merged;
        throw new TokenizerError(
          `${path}.merges[${i}]: merge ${JSON.stringify([a, b])} references ${JSON.stringify(missing)}, which is not in model.vocab`,
          'vocab and merges come from different tokenizers, or the file is truncated',
        );
      }
      this.merges.set(ai, bi, rank, ni);
      rank++;
    }
    if (rank >= 2 ** 29 || maxId >= 2 ** 31 - 1)
      throw new TokenizerError(`${path}: ${rank} merges / max id ${maxId} exceed this implementation's packing (2^29 ranks)`);

    this.byteIds = new Int32Array(256).fill(-1);
    for (let b = 0; b < 256; b++) {
      const id = this.vocab.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
      if (id !== undefined) this.byteIds[b] = id;
    }
    for (const [k, id] of this.vocab) {
      const cp = k.codePointAt(0)!;
      if (k.length > 0 && k.length === (cp > 0xffff ? 2 : 1)) this.charIds.set(cp, id);
    }
  }

  get size(): number {
    return this.vocab.size;
  }

  /** Encode one pre-tokenized word, appending ids to `out`. */
  tokenize(word: string, out: number[]): void {
    if (word.length === 0) return;
    if (this.ignoreMerges) {
      const id = this.vocab.get(word);
      if (id !== undefined) {
        out.push(id);
        return;
      }
    }
    const hit = this.cache.get(word);
    if (hit !== undefined) {
      for (let i = 0; i < hit.length; i++) out.push(hit[i]!);
      return;
    }
    const ids = this.mergeWord(word);
    if (word.length < CACHE_MAX_WORD) {
      if (this.cache.size >= CACHE_CAPACITY) this.cache.clear();
      this.cache.set(word, ids);
    }
    for (let i = 0; i < ids.length; i++) out.push(ids[i]!);
  }

  /** word -> initial symbols (chars, byte fallback, unk) -> merged ids. */
  private mergeWord(word: string): number[] {
    const syms: number[] = [];
    let unk = -1; // pending unk (fused while fuse_unk)
    const simple = this.prefix === null && this.suffix === null;
    for (let i = 0; i < word.length; ) {
      const cp = word.codePointAt(i)!;
      const w = cp > 0xffff ? 2 : 1;
      const isFirst = i === 0;
      const isLast = i + w >= word.length;
      let id: number | undefined;
      let s: string | null = null;
      if (simple) id = this.charIds.get(cp);
      else {
        s = word.slice(i, i + w);
        if (!isFirst && this.prefix !== null) s = this.prefix + s;
        if (isLast && this.suffix !== null) s = s + this.suffix;
        id = this.vocab.get(s);
      }
      i += w;
      if (id !== undefined) {
        if (unk >= 0) {
          syms.push(unk);
          unk = -1;
        }
        syms.push(id);
        continue;
      }
      if (this.byteFallback) {
        const bytes = utf8Encode(s ?? String.fromCodePoint(cp));
        let ok = true;
        for (const b of bytes)
          if (this.byteIds[b]! < 0) {
            ok = false;
            break;
          }
        if (ok) {
          // Rust does not flush a pending unk here: it stays pending and lands after these bytes
          for (const b of bytes) syms.push(this.byteIds[b]!);
          continue;
        }
      }
      if (this.unkToken !== null) {
        if (this.unkId === undefined)
          throw new TokenizerError(
            `model.unk_token ${JSON.stringify(this.unkToken)} is not in model.vocab`,
            'fix unk_token or add it to the vocab',
          );
        if (unk >= 0 && !this.fuseUnk) syms.push(unk);
        unk = this.unkId;
      }
      // no unk token: the char is silently dropped (Rust does the same)
    }
    if (unk >= 0) syms.push(unk);
    return this.mergeAll(syms);
  }

  private mergeAll(syms: number[]): number[] {
    const n = syms.length;
    if (n < 2) return syms;
    const merges = this.merges;
    const mRank = merges.rank;
    const mNew = merges.newId;
    if (n === 2) {
      const h = merges.find(syms[0]!, syms[1]!);
      return h < 0 ? syms : [mNew[h]!];
    }
    // scratch buffers reused across words (no per-word allocation; grown on demand)
    if (this.cap < n) this.grow(n);
    const c = this.sc; // symbol id at each position
    const prev = this.sp;
    const next = this.sn;
    const alive = this.sa;
    for (let i = 0; i < n; i++) {
      c[i] = syms[i]!;
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
      alive[i] = 1;
    }
    // binary min-heap of (key = rank*2^24 + pos, newId); at most n-1 live + 2 per merge entries
    let hk = this.hk;
    let hv = this.hv;
    let size = 0;
    const push = (key: number, val: number): void => {
      if (size === hk.length) {
        const k2 = new Float64Array(size * 2);
        k2.set(hk);
        hk = this.hk = k2;
        const v2 = new Int32Array(size * 2);
        v2.set(hv);
        hv = this.hv = v2;
      }
      let i = size++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (hk[p]! <= key) break;
        hk[i] = hk[p]!;
        hv[i] = hv[p]!;
        i = p;
      }
      hk[i] = key;
      hv[i] = val;
    };
    const pop = (): void => {
      const key = hk[--size]!;
      const val = hv[size]!;
      let i = 0;
      for (;;) {
        let ch = 2 * i + 1;
        if (ch >= size) break;
        if (ch + 1 < size && hk[ch + 1]! < hk[ch]!) ch++;
        if (hk[ch]! >= key) break;
        hk[i] = hk[ch]!;
        hv[i] = hv[ch]!;
        i = ch;
      }
      hk[i] = key;
      hv[i] = val;
    };
    for (let i = 0; i + 1 < n; i++) {
      const h = merges.find(c[i]!, c[i + 1]!);
      if (h >= 0) push(mRank[h]! * POS_BITS + i, mNew[h]!);
    }
    while (size > 0) {
      const key = hk[0]!;
      const newId = hv[0]!;
      pop();
      const pos = key % POS_BITS;
      if (!alive[pos]) continue;
      const r = next[pos]!;
      if (r < 0) continue;
      const cur = merges.find(c[pos]!, c[r]!);
      if (cur < 0 || mNew[cur] !== newId) continue; // stale entry
      // merge pos with r
      c[pos] = newId;
      alive[r] = 0;
      const rn = next[r]!;
      next[pos] = rn;
      if (rn >= 0) prev[rn] = pos;
      const p = prev[pos]!;
      if (p >= 0) {
        const h = merges.find(c[p]!, newId);
        if (h >= 0) push(mRank[h]! * POS_BITS + p, mNew[h]!);
      }
      if (rn >= 0) {
        const h = merges.find(newId, c[rn]!);
        if (h >= 0) push(mRank[h]! * POS_BITS + pos, mNew[h]!);
      }
    }
    const out: number[] = [];
    for (let i = 0; i >= 0; i = next[i]!) out.push(c[i]!);
    return out;
  }
}
