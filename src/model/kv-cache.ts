// Key/value cache for causal decoding — what HF's DynamicCache (full layers) and
// DynamicSlidingWindowLayer (Gemma2 sliding layers) hold, as row-major f32 buffers.
// Shapes: L layers · D = Nkv·Dh values per token (keys already rotated by RoPE).
//
// A forward over a chunk of T new tokens (prefill: the whole prompt; decode: T = 1) calls
// `update(layer, k, v)` once per layer with that chunk's rows, attends over what it returns, and
// calls `commit(T)` at the end. Positions are absolute: the chunk's first token sits at
// `length`, and the returned rows start at `kPos0` (> 0 only when a sliding layer dropped rows).
//
// Sliding window W (Gemma2: layers with layer_types[i] == 'sliding_attention'): a query at
// position p sees keys at p-W+1..p (HF mask: q_idx - kv_idx < W). A chunk starting at p0 therefore
// needs at most the last W-1 rows before p0, so everything older is dropped before appending —
// the same W-1 rows HF's sliding layer keeps. Dropping moves a start offset (no copy); the buffer
// is compacted only when it runs out of room, so decode costs amortised O(D) per token.
//
// Storage: each layer's keys and values share one block of 2·cap·D floats, from the backend's
// KV arena when it has one (Backend.kvArena: the wasm backend's attention then reads the rows
// in place) or a plain Float32Array. Arena blocks go back on growth, on dispose(), and — for a
// cache dropped without dispose() — when it is garbage collected.

import type { KVArena } from '../backend/backend.js';
import { InputError, ShapeError } from '../errors.js';
import type { Tensor } from '../tensor.js';

/** The keys and values one layer attends over: rows [kPos0, kPos0 + rows) of the sequence. */
export interface LayerKV {
  /** [Tk, D] */
  readonly k: Tensor;
  /** [Tk, D] */
  readonly v: Tensor;
  /** Absolute position of row 0 (pass as AttentionOptions.kPos0). */
  readonly kPos0: number;
}

export interface KVCacheOptions {
  /** Per-layer sliding window W, or undefined for a full-attention layer. Length = number of layers. */
  windows: readonly (number | undefined)[];
  /** Values per token per layer for keys (and values): Nkv · Dh. */
  kvDim: number;
  /** Tokens to reserve up front for full layers (e.g. prompt length + max_new_tokens); grows if exceeded. */
  reserveTokens?: number;
  /** Where the rows live (Backend.kvArena()); default: plain Float32Arrays. */
  arena?: KVArena;
}

const plainArena: KVArena = { alloc: (n) => new Float32Array(n), free: () => {} };

class LayerBuffer {
  /** [2·cap, D]: keys in the first cap rows, values in the rest. */
  private block: Float32Array | undefined;
  private k: Float32Array;
  private v: Float32Array;
  /** Rows [start, end) of the buffers are live; row `start` holds absolute position `pos0`. */
  private start = 0;
  private end = 0;
  pos0 = 0;

  constructor(
    private readonly D: number,
    private readonly window: number | undefined,
    capRows: number,
    private readonly arena: KVArena,
  ) {
    this.block = arena.alloc(2 * capRows * D);
    this.k = this.block.subarray(0, capRows * D);
    this.v = this.block.subarray(capRows * D);
  }

  /** Return the block to the arena (idempotent). */
  release(): void {
    if (this.block) this.arena.free(this.block);
    this.block = undefined;
  }

  get rows(): number {
    return this.end - this.start;
  }
  /** Absolute position the next appended row will get. */
  get nextPos(): number {
    return this.pos0 + this.rows;
  }

  append(k: Tensor, v: Tensor): LayerKV {
    if (!this.block) throw new InputError('KVCache: used after dispose()', 'create a new cache with model.newCache()');
    const { D } = this;
    const T = k.shape[0];
    // Sliding layer: keep only the W-1 rows any query of this chunk (or later) can still see.
    if (this.window !== undefined) {
      const drop = Math.max(0, this.rows - (this.window - 1));
      this.start += drop;
      this.pos0 += drop;
    }
    const cap = this.k.length / D;
    if (this.end + T > cap) {
      const live = this.rows;
      const need = live + T;
      if (need <= cap) {
        // Enough room once the dropped prefix (start > 0 here) is reclaimed: compact in place.
        this.k.copyWithin(0, this.start * D, this.end * D);
        this.v.copyWithin(0, this.start * D, this.end * D);
      } else {
        // Grow geometrically (x2) so a long decode reallocates O(log n) times.
        const newCap = Math.max(need, cap * 2);
        const block = this.arena.alloc(2 * newCap * D);
        const k2 = block.subarray(0, newCap * D);
        const v2 = block.subarray(newCap * D);
        k2.set(this.k.subarray(this.start * D, this.end * D));
        v2.set(this.v.subarray(this.start * D, this.end * D));
        this.release();
        this.block = block;
        this.k = k2;
        this.v = v2;
      }
      this.start = 0;
      this.end = live;
    }
    this.k.set(k.data, this.end * D);
    this.v.set(v.data, this.end * D);
    this.end += T;
    const rows = this.rows;
    return {
      k: { shape: [rows, D], data: this.k.subarray(this.start * D, this.end * D) }, // [Tk, D]
      v: { shape: [rows, D], data: this.v.subarray(this.start * D, this.end * D) }, // [Tk, D]
      kPos0: this.pos0,
    };
  }

  reset(): void {
    this.start = 0;
    this.end = 0;
    this.pos0 = 0;
  }

  /** Can the first n positions be kept with everything a chunk appended at n will attend to?
   *  A sliding layer must still hold positions n-W+1 .. n-1 (it may have dropped older ones). */
  canTruncate(n: number): boolean {
    if (n > this.nextPos) return false;
    const needFrom = this.window === undefined ? 0 : Math.max(0, n - (this.window - 1));
    return this.pos0 <= needFrom || n === 0;
  }

  truncate(n: number): void {
    if (n === 0) {
      this.reset();
      return;
    }
    this.end = this.start + (n - this.pos0);
  }
}

/** Frees the arena blocks of caches that were dropped without dispose(). */
const unreleased = new FinalizationRegistry<LayerBuffer[]>((layers) => {
  for (const l of layers) l.release();
});

export class KVCache {
  private readonly layers: LayerBuffer[];
  private committed = 0;
  readonly kvDim: number;
  readonly windows: readonly (number | undefined)[];

  constructor(opts: KVCacheOptions) {
    this.kvDim = opts.kvDim;
    this.windows = [...opts.windows];
    const reserve = Math.max(16, opts.reserveTokens ?? 256);
    this.layers = opts.windows.map((w) => {
      if (w !== undefined && !(Number.isInteger(w) && w >= 1)) {
        throw new ShapeError(`KVCache: sliding window must be an integer >= 1, got ${w}`);
      }
      // A sliding layer never holds more than W-1 old rows plus one chunk; reserve W + slack for
      // decode so compaction happens once every ~W/4 tokens, not every token.
      const cap = w === undefined ? reserve : Math.min(reserve, w) + Math.max(16, Math.ceil(w / 4));
      return new LayerBuffer(opts.kvDim, w, cap, opts.arena ?? plainArena);
    });
    if (opts.arena) unreleased.register(this, this.layers, this);
  }

  /** Give the rows back to the backend's arena now (the cache is unusable afterwards). */
  dispose(): void {
    for (const l of this.layers) l.release();
    unreleased.unregister(this);
  }

  get numLayers(): number {
    return this.layers.length;
  }
  /** Tokens processed so far = absolute position of the next token. */
  get length(): number {
    return this.committed;
  }
  /** Rows currently held by a layer (<= length; < length only for a sliding layer that dropped rows). */
  rows(layer: number): number {
    return this.layers[layer].rows;
  }

  /**
   * Append a chunk's keys/values (already RoPE-rotated) for one layer, and return everything that
   * layer attends over. k, v: [T, D] with the chunk's first row at position `length`.
   */
  update(layer: number, k: Tensor, v: Tensor): LayerKV {
    const buf = this.layers[layer];
    if (!buf) throw new ShapeError(`KVCache.update: layer ${layer} out of range (cache has ${this.layers.length} layers)`);
    const D = this.kvDim;
    if (k.shape.length !== 2 || k.shape[1] !== D || v.shape.length !== 2 || v.shape[0] !== k.shape[0] || v.shape[1] !== D) {
      throw new ShapeError(`KVCache.update at layer ${layer}: expected k and v of shape [T, ${D}], got k [${k.shape}] and v [${v.shape}]`);
    }
    if (buf.nextPos !== this.committed) {
      throw new ShapeError(
        `KVCache.update at layer ${layer}: layer already holds positions up to ${buf.nextPos}, but the cache length is ${this.committed}`,
        'each forward must update every layer once and then call commit(T)',
      );
    }
    return buf.append(k, v);
  }

  /** Mark a chunk of T tokens as processed (after every layer has been updated). */
  commit(T: number): void {
    for (let i = 0; i < this.layers.length; i++) {
      if (this.layers[i].nextPos !== this.committed + T) {
        throw new ShapeError(
          `KVCache.commit(${T}): layer ${i} holds positions up to ${this.layers[i].nextPos}, expected ${this.committed + T}`,
        );
      }
    }
    this.committed += T;
  }

  /**
   * Keep only the first n positions (a conversation's common prefix with the next request), so the
   * next forward appends at position n. False, and nothing changed, when a sliding layer has
   * already dropped rows that a query at n would see: the caller then starts from scratch.
   */
  truncate(n: number): boolean {
    if (!Number.isInteger(n) || n < 0 || n > this.committed) return false;
    if (!this.layers.every((l) => l.canTruncate(n))) return false;
    for (const l of this.layers) l.truncate(n);
    this.committed = n;
    return true;
  }

  /** Forget everything (reuse the buffers for a new sequence). */
  reset(): void {
    for (const l of this.layers) l.reset();
    this.committed = 0;
  }
}
