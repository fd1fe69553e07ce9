// Tokenizer — a from-scratch reader of Hugging Face `tokenizer.json` (tokenizers 0.22 format).
// encode: text -> split on added tokens -> normalize -> pre-tokenize -> BPE -> post-process.
// decode: ids -> token strings (added vocab first, then model) -> decoder chain -> text.
// Mirrors tokenizers/src/tokenizer/mod.rs (`encode_single_sequence`, `decode`); the golden
// ids in reference/fixtures/tokenizer/ come from that library and the tests hold us to them.

import { TokenizerError } from '../errors.js';
import { nestedDeeperThan } from '../io/json.js';
import { type ModelSource, readSmallText } from '../io/source.js';
import { type AddedToken, AddedTokenMatcher, assignIds, type Piece, parseAddedTokens } from './added-tokens.js';
import { BPE } from './bpe.js';
import { buildDecoder, type Decoder } from './decoders.js';
import { asObj, describe } from './json.js';
import { buildNormalizer, type Normalizer } from './normalizers.js';
import { buildPostProcessor, type PostProcessor } from './post-processors.js';
import { buildPreTokenizer, type PreTokenizer } from './pre-tokenizers.js';
import { toWellFormed } from './unicode.js';

export interface EncodeOptions {
  addSpecialTokens?: boolean;
}
export interface DecodeOptions {
  skipSpecialTokens?: boolean;
}
export interface DecodeStream {
  push(id: number): string;
  flush(): string;
}

/** Ids given to decode: an array (or typed array) of non-negative integers. Ids past the
 *  vocabulary are skipped, as tokenizers' id_to_token does; anything else is a caller's bug that
 *  would otherwise decode to silent garbage. */
function checkIds(ids: ArrayLike<number>, where: string): void {
  if (ids === null || typeof ids !== 'object' || typeof ids.length !== 'number') {
    throw new TokenizerError(`${where}: expected an array of token ids, got ${ids === null ? 'null' : typeof ids}`);
  }
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!Number.isSafeInteger(id) || id < 0) throw new TokenizerError(`${where}: ids[${i}] is ${id}, expected a non-negative integer`);
  }
}

/** Nesting depth of a normalizer / pre-tokenizer / post-processor / decoder spec. */
const MAX_PIPELINE_DEPTH = 64;

/** Larger than any real tokenizer.json by ~8x (Gemma3's is 33 MB). */
export const MAX_TOKENIZER_BYTES = 256 << 20;

export class Tokenizer {
  readonly label: string;
  readonly model: BPE;
  readonly addedTokens: readonly AddedToken[];
  readonly specialIds: ReadonlySet<number>;
  readonly vocabSize: number;
  private readonly normalizer: Normalizer | null;
  private readonly preTokenizer: PreTokenizer | null;
  private readonly postProcessor: PostProcessor | null;
  private readonly decoder: Decoder | null;
  private readonly rawMatcher: AddedTokenMatcher;
  private readonly normMatcher: AddedTokenMatcher;
  private readonly addedById = new Map<number, AddedToken>();
  private readonly addedByContent = new Map<string, AddedToken>();
  /** raw regex match -> ids, when the pre-tokenizer has a fast form (see PreTokenizer.fast) */
  private readonly pieceCache = new Map<string, number[]>();

  private constructor(json: unknown, label: string) {
    const root = asObj(json, label);
    if (root.version !== undefined && root.version !== '1.0') {
      throw new TokenizerError(`${label}: version: unknown tokenizer.json version ${JSON.stringify(root.version)}, expected "1.0"`);
    }
    this.label = label;
    const m = asObj(root.model, `${label}: model`);
    // tokenizers infers BPE when "type" is absent but vocab+merges are present
    const mtype = m.type ?? (m.merges !== undefined ? 'BPE' : undefined);
    if (mtype !== 'BPE') {
      throw new TokenizerError(
        `${label}: model.type: unsupported model type ${JSON.stringify(m.type)}`,
        'only "BPE" is implemented (Llama 3, Gemma, Qwen2, Llama 2 all use it); WordPiece/Unigram/WordLevel are not',
      );
    }
    this.normalizer = buildNormalizer(root.normalizer, `${label}: normalizer`);
    this.preTokenizer = buildPreTokenizer(root.pre_tokenizer, `${label}: pre_tokenizer`);
    this.model = new BPE(m, `${label}: model`);
    this.postProcessor = buildPostProcessor(root.post_processor, `${label}: post_processor`);
    this.decoder = buildDecoder(root.decoder, `${label}: decoder`);
    if (root.truncation != null || root.padding != null) {
      throw new TokenizerError(
        `${label}: truncation/padding are set (${describe(root.truncation ?? root.padding)})`,
        'they change encode output and are not implemented; set them to null',
      );
    }

    const raw = parseAddedTokens(root.added_tokens, `${label}: added_tokens`);
    this.addedTokens = assignIds(raw, (s) => this.model.vocab.get(s), this.model.size);
    const special = new Set<number>();
    for (const t of this.addedTokens) {
      this.addedById.set(t.id, t);
      this.addedByContent.set(t.content, t);
      if (t.special) special.add(t.id);
    }
    this.specialIds = special;
    // Rust orders the trie special-first; contents are unique here so order only matters for ties
    const ordered = [...this.addedTokens.filter((t) => t.special), ...this.addedTokens.filter((t) => !t.special)];
    this.rawMatcher = new AddedTokenMatcher(ordered.filter((t) => !t.normalized).map((t) => ({ token: t, pattern: t.content })));
    this.normMatcher = new AddedTokenMatcher(
      ordered.filter((t) => t.normalized).map((t) => ({ token: t, pattern: this.normalizer ? this.normalizer(t.content) : t.content })),
    );
    // HF get_vocab_size(with_added_tokens=True): model vocab plus added tokens not in it
    let extra = 0;
    for (const t of this.addedTokens) if (this.model.vocabR.get(t.id) !== t.content) extra++;
    this.vocabSize = this.model.size + extra;
  }

  /** Read `tokenizer.json` (or `<dir>/tokenizer.json`). Node/Deno/Bun (uses node:fs). */
  static async fromFile(pathOrDir: string): Promise<Tokenizer> {
    const fs = await import('node:fs/promises');
    let file = pathOrDir;
    try {
      if ((await fs.stat(pathOrDir)).isDirectory()) file = pathOrDir.replace(/[\\/]+$/, '') + '/tokenizer.json';
    } catch (e) {
      throw new TokenizerError(
        `${pathOrDir}: cannot read tokenizer (${(e as Error).message})`,
        'pass a tokenizer.json file or a directory containing one',
      );
    }
    // by kind (a FIFO would block) and size (Gemma3's 33 MB is the largest real one) before reading
    const { fileProblem } = await import('../io/fs.js');
    const problem = await fileProblem(file);
    if (problem) throw new TokenizerError(`${file}: cannot read tokenizer.json: ${problem}`);
    const size = (await fs.stat(file)).size;
    if (size > MAX_TOKENIZER_BYTES)
      throw new TokenizerError(`${file}: ${size} bytes; a tokenizer.json has at most ${MAX_TOKENIZER_BYTES} (256 MiB)`);
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (e) {
      throw new TokenizerError(`${file}: cannot read tokenizer.json (${(e as Error).message})`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new TokenizerError(`${file}: not valid JSON (${(e as Error).message})`, 'is the file truncated, or a Git LFS pointer?');
    }
    return Tokenizer.fromJSON(json, file);
  }

  /** Read `name` (default tokenizer.json) of a ModelSource: a checkpoint by URL or picked in a
   *  browser (io/source.ts). Same size limit and errors as fromFile. */
  static async fromSource(src: ModelSource, name = 'tokenizer.json'): Promise<Tokenizer> {
    const file = src.where(name);
    if (!(await src.probe(name))) {
      throw new TokenizerError(
        `${src.label}: no ${name}`,
        "add the model's tokenizer.json (from its Hugging Face repo) next to config.json, or pass a Tokenizer",
      );
    }
    const text = await readSmallText(src, name, MAX_TOKENIZER_BYTES, (msg) => new TokenizerError(`${file}: ${msg}`), 'a tokenizer.json');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new TokenizerError(`${file}: not valid JSON (${(e as Error).message})`, 'is the file truncated, or a Git LFS pointer?');
    }
    return Tokenizer.fromJSON(json, file);
  }

  /** Build from an already-parsed tokenizer.json object (no file system: browsers, Deno, Bun). */
  static fromJSON(json: unknown, label = 'tokenizer.json'): Tokenizer {
    // The pipeline builders recurse into nested "Sequence"s; real files nest a few levels.
    if (json !== null && typeof json === 'object') {
      for (const key of ['normalizer', 'pre_tokenizer', 'post_processor', 'decoder']) {
        if (nestedDeeperThan((json as Record<string, unknown>)[key], MAX_PIPELINE_DEPTH)) {
          throw new TokenizerError(
            `${label}: ${key} nests more than ${MAX_PIPELINE_DEPTH} levels deep`,
            'real tokenizer.json files nest a few levels; is this file from a trusted source?',
          );
        }
      }
    }
    return new Tokenizer(json, label);
  }

  tokenToId(token: string): number | undefined {
    return this.addedByContent.get(token)?.id ?? this.model.vocab.get(token);
  }
  idToToken(id: number): string | undefined {
    return this.addedById.get(id)?.content ?? this.model.vocabR.get(id);
  }

  /** text -> ids; `addSpecialTokens` (default true, like HF) applies the post-processor template. */
  encode(text: string, opts: EncodeOptions = {}): number[] {
    if (typeof text !== 'string') throw new TokenizerError(`encode: expected a string, got ${describe(text)}`);
    text = toWellFormed(text);
    const ids: number[] = [];
    // 1. cut on added tokens that match the raw text
    const pieces: Piece[] = [];
    this.rawMatcher.split(text, 0, pieces);
    for (const p of pieces) {
      if (p.id >= 0) {
        ids.push(p.id);
        continue;
      }
      // 2. normalize, then cut on added tokens that match normalized text
      const norm = this.normalizer ? this.normalizer(p.text) : p.text;
      if (this.normMatcher.empty) {
        this.encodePiece(norm, p.start === 0, ids);
        continue;
      }
      const sub: Piece[] = [];
      this.normMatcher.split(norm, p.start, sub);
      for (const q of sub) {
        if (q.id >= 0) ids.push(q.id);
        else this.encodePiece(q.text, q.start === 0, ids);
      }
    }
    const add = opts.addSpecialTokens ?? true;
    return add && this.postProcessor ? this.postProcessor(ids) : ids;
  }

  /** 3. pre-tokenize a normalized piece and 4. run the model on each word. */
  private encodePiece(s: string, first: boolean, out: number[]): void {
    if (s.length === 0) return;
    const pre = this.preTokenizer;
    if (!pre) {
      this.model.tokenize(s, out);
      return;
    }
    const fast = pre.fast;
    if (!fast || fast.re === null) {
      pre(s, first, (w) => this.model.tokenize(w, out));
      return;
    }
    // fast path: same pieces as findMatches + Isolated (gaps between matches are pieces too)
    const re = fast.re.pick(s);
    const cache = this.pieceCache;
    let prev = 0;
    re.lastIndex = 0;
    for (;;) {
      const m = re.exec(s);
      const start = m === null ? s.length : m.index;
      if (start > prev) this.encodeWord(s.slice(prev, start), fast.map, cache, out);
      if (m === null) break;
      const w = m[0];
      if (w.length === 0) {
        // empty match: step one code point (Onig's find_iter)
        const c = s.charCodeAt(start);
        re.lastIndex = start + (c >= 0xd800 && c <= 0xdbff ? 2 : 1);
        prev = start;
        if (start >= s.length) break;
        continue;
      }
      this.encodeWord(w, fast.map, cache, out);
      prev = start + w.length;
    }
  }

  private encodeWord(w: string, map: (s: string) => string, cache: Map<string, number[]>, out: number[]): void {
    let ids = cache.get(w);
    if (ids === undefined) {
      ids = [];
      this.model.tokenize(map(w), ids);
      if (w.length < 256) {
        if (cache.size >= 100_000) cache.clear();
        cache.set(w, ids);
      }
    }
    for (let i = 0; i < ids.length; i++) out.push(ids[i]!);
  }

  /** Token strings for ids (unknown ids are skipped, as in Rust). */
  private tokensOf(ids: ArrayLike<number>, skipSpecial: boolean): string[] {
    const toks: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      const added = this.addedById.get(id);
      if (added) {
        if (!(skipSpecial && added.special)) toks.push(added.content);
        continue;
      }
      const t = this.model.vocabR.get(id);
      if (t !== undefined) toks.push(t);
    }
    return toks;
  }

  /** ids -> text, like `tokenizers.Tokenizer.decode` (no clean_up_tokenization_spaces). */
  decode(ids: ArrayLike<number>, opts: DecodeOptions = {}): string {
    checkIds(ids, 'decode');
    const toks = this.tokensOf(ids, opts.skipSpecialTokens ?? false);
    return this.decoder ? this.decoder(toks).join('') : toks.join(' ');
  }

  /**
   * Incremental decoding for streaming generation. Text is emitted once it cannot change:
   * while the decoded tail ends in U+FFFD (an incomplete UTF-8 sequence, bytes split across
   * tokens) it is held. Each emission decodes [context, pending] minus [context], where the
   * context is the previous emitted chunk: decoders that treat the first token specially
   * (Metaspace, Strip) then see the same first token as a full decode, so the concatenation
   * of everything pushed + flush() equals decode(all ids).
   */
  decodeStream(opts: DecodeOptions = {}): DecodeStream {
    let ctx: number[] = [];
    let ctxText = '';
    let pending: number[] = [];
    const emit = (force: boolean): string => {
      if (pending.length === 0) return '';
      const all = ctx.concat(pending);
      const full = this.decode(all, opts);
      if (!force && (full.endsWith('\uFFFD') || !full.startsWith(ctxText))) return '';
      const out = full.startsWith(ctxText) ? full.slice(ctxText.length) : full;
      // keep a context that decodes to something, so a first-token rule never re-applies
      if (this.decode(pending, opts).length > 0) {
        ctx = pending;
        ctxText = this.decode(ctx, opts);
      } else {
        ctx = all;
        ctxText = full;
      }
      pending = [];
      return out;
    };
    return {
      push: (id: number) => {
        pending.push(id);
        return emit(false);
      },
      flush: () => emit(true),
    };
  }
}
