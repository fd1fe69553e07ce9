// KVCache bookkeeping: every row is tagged with its absolute position, so the returned views can be
// checked against the positions each chunk must see (full layers: all; sliding layers: the last
// W-1 before the chunk plus the chunk — HF's mask q - k < W needs no more).
import { describe, expect, it } from 'vitest';
import { ShapeError } from '../../src/errors.js';
import { KVCache } from '../../src/model/kv-cache.js';
import type { Tensor } from '../../src/tensor.js';

const D = 3;
/** Rows for positions p0..p0+T-1; each row = [pos, pos+0.5, layer] (k) or negated (v). */
function chunk(p0: number, T: number, layer: number, sign = 1): Tensor {
  const data = new Float32Array(T * D);
  for (let t = 0; t < T; t++) data.set([sign * (p0 + t), sign * (p0 + t + 0.5), layer], t * D);
  return { shape: [T, D], data };
}
const positions = (t: Tensor) => Array.from({ length: t.shape[0] }, (_, r) => t.data[r * D]);
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

/** Feed chunks of the given sizes to a 2-layer cache (layer 0 full, layer 1 window W) and check
 *  every view. */
function run(W: number, sizes: number[], reserve?: number) {
  const c = new KVCache({ windows: [undefined, W], kvDim: D, reserveTokens: reserve });
  for (const T of sizes) {
    const p0 = c.length;
    for (let layer = 0; layer < 2; layer++) {
      const kv = c.update(layer, chunk(p0, T, layer), chunk(p0, T, layer, -1));
      const first = layer === 0 ? 0 : Math.max(0, p0 - (W - 1));
      expect(kv.kPos0).toBe(first);
      expect(positions(kv.k)).toEqual(range(first, p0 + T));
      expect(positions(kv.v)).toEqual(range(first, p0 + T).map((p) => (p === 0 ? -0 : -p)));
      expect(kv.k.shape).toEqual([p0 + T - first, D]);
      // the layer tag proves the two layers' buffers are separate
      for (let r = 0; r < kv.k.shape[0]; r++) expect(kv.k.data[r * D + 2]).toBe(layer);
    }
    c.commit(T);
    expect(c.length).toBe(p0 + T);
  }
  return c;
}

describe('KVCache', () => {
  it('full layer keeps everything; sliding layer keeps W-1 old rows + the chunk (prefill then decode)', () => {
    const c = run(4, [6, 1, 1, 1, 1]);
    expect(c.rows(0)).toBe(10);
    expect(c.rows(1)).toBe(4); // 3 old + 1 new
  });
  it('stays correct across many decode steps (compaction) and buffer growth', () => {
    run(5, [3, ...new Array(200).fill(1)], 16);
  });
  it('handles chunks larger than the window and mixed chunk sizes', () => {
    run(3, [1, 7, 2, 5, 1, 1, 9]);
  });
  it('window 1 sees only the token itself', () => {
    const c = new KVCache({ windows: [1], kvDim: D });
    c.update(0, chunk(0, 4, 0), chunk(0, 4, 0));
    c.commit(4);
    const kv = c.update(0, chunk(4, 1, 0), chunk(4, 1, 0));
    expect(kv.kPos0).toBe(4);
    expect(positions(kv.k)).toEqual([4]);
  });
  it('reset forgets everything', () => {
    const c = run(4, [5, 1]);
    c.reset();
    expect(c.length).toBe(0);
    const kv = c.update(1, chunk(0, 2, 1), chunk(0, 2, 1, -1));
    expect(kv.kPos0).toBe(0);
    expect(positions(kv.k)).toEqual([0, 1]);
  });
  it('rejects out-of-order use and wrong shapes', () => {
    const c = new KVCache({ windows: [undefined, undefined], kvDim: D });
    c.update(0, chunk(0, 2, 0), chunk(0, 2, 0));
    expect(() => c.update(0, chunk(2, 1, 0), chunk(2, 1, 0))).toThrow(ShapeError); // layer 0 twice before commit
    expect(() => c.commit(2)).toThrow(/layer 1/); // layer 1 not updated
    c.update(1, chunk(0, 2, 1), chunk(0, 2, 1));
    c.commit(2);
    const bad: Tensor = { shape: [1, D + 1], data: new Float32Array(D + 1) };
    expect(() => c.update(0, bad, bad)).toThrow(/\[T, 3\]/);
    expect(() => c.update(5, chunk(2, 1, 0), chunk(2, 1, 0))).toThrow(/out of range/);
    expect(() => new KVCache({ windows: [0], kvDim: D })).toThrow(/window/);
  });
});

describe('truncate (a conversation reusing its common prefix)', () => {
  const feed = (c: KVCache, T: number) => {
    const p0 = c.length;
    const views = [0, 1].map((layer) => c.update(layer, chunk(p0, T, layer), chunk(p0, T, layer, -1)));
    c.commit(T);
    return views;
  };
  it('keeps the first n positions; the next chunk sees exactly what a fresh sequence would', () => {
    const W = 4;
    const c = new KVCache({ windows: [undefined, W], kvDim: D });
    feed(c, 10);
    expect(c.truncate(7)).toBe(true);
    expect(c.length).toBe(7);
    const [full, sliding] = feed(c, 2); // positions 7, 8
    expect(positions(full.k)).toEqual(range(0, 9));
    expect(positions(sliding.k)).toEqual(range(4, 9)); // W-1 = 3 rows before the chunk, then the chunk
    expect(sliding.kPos0).toBe(4);
  });
  it('refuses (and changes nothing) when a sliding layer already dropped rows position n would see', () => {
    const W = 4;
    const c = new KVCache({ windows: [undefined, W], kvDim: D });
    feed(c, 6);
    for (let i = 0; i < 6; i++) feed(c, 1); // decode: the sliding layer drops old rows
    expect(c.truncate(3)).toBe(false);
    expect(c.length).toBe(12);
    expect(c.truncate(13)).toBe(false); // past the end
    // the sliding layer holds positions 8..11 now: n = 10 would need 7..9, n = 11 needs 8..10
    expect(c.truncate(10)).toBe(false);
    expect(c.truncate(11)).toBe(true);
    expect(c.truncate(0)).toBe(true);
    expect(c.length).toBe(0);
  });
});
