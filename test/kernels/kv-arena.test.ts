// The wasm backend's KV arena (Backend.kvArena): KV-cache rows live in a wasm memory of their
// own and attention() reads them in place. Checked here: a cache on the arena returns the same
// rows as a plain cache through growth and sliding-window compaction; attention over arena rows
// equals attention over copies bit for bit (decode and blocked paths, 1 and 2 threads); blocks
// are reused after free and all given back by dispose(); weights never land in an arena memory.
import { describe, expect, it } from 'vitest';
import { createWasmBackend } from '../../src/backend/wasm.js';
import { KVCache } from '../../src/model/kv-cache.js';
import type { Tensor } from '../../src/tensor.js';
import { randF32, rng } from '../ops/helpers.js';

const t = (shape: number[], data: Float32Array): Tensor => ({ shape, data });
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength) as ArrayBuffer));

describe('wasm KV arena', () => {
  it('a cache on the arena holds the same rows as a plain cache (growth, sliding compaction)', async () => {
    const be = await createWasmBackend({ threads: 1 });
    const D = 8;
    const windows = [undefined, 5];
    const r = rng(41);
    const plain = new KVCache({ windows, kvDim: D, reserveTokens: 16 });
    const onArena = new KVCache({ windows, kvDim: D, reserveTokens: 16, arena: be.kvArena() });
    for (const T of [7, 1, 1, 12, ...new Array(40).fill(1), 3]) {
      for (let l = 0; l < 2; l++) {
        const k = t([T, D], randF32(r, T * D));
        const v = t([T, D], randF32(r, T * D));
        const a = plain.update(l, k, v);
        const b = onArena.update(l, k, v);
        expect(b.kPos0).toBe(a.kPos0);
        expect(Array.from(b.k.data)).toEqual(Array.from(a.k.data));
        expect(Array.from(b.v.data)).toEqual(Array.from(a.v.data));
      }
      plain.commit(T);
      onArena.commit(T);
    }
    const kv = be.info().memories.filter((m) => m.kind === 'kv');
    expect(kv.length).toBe(1);
    expect(kv[0].weightBytes).toBeGreaterThan(0);
    onArena.dispose();
    expect(be.info().memories.find((m) => m.kind === 'kv')!.weightBytes).toBe(0); // everything given back
    expect(() => onArena.update(0, t([1, D], new Float32Array(D)), t([1, D], new Float32Array(D)))).toThrow(/after dispose/);
    be.dispose();
  });

  it('attention over arena rows equals attention over copies, bit for bit (decode and blocked, 1 and 2 threads)', async () => {
    for (const threads of [1, 2]) {
      const be = await createWasmBackend({ threads });
      const r = rng(42 + threads);
      const Nq = 6;
      const Nkv = 2;
      const Dh = 16;
      const D = Nkv * Dh;
      const Tk = 300;
      const cache = new KVCache({ windows: [undefined], kvDim: D, reserveTokens: 8, arena: be.kvArena() });
      const kv = cache.update(0, t([Tk, D], randF32(r, Tk * D)), t([Tk, D], randF32(r, Tk * D)));
      cache.commit(Tk);
      const copy = (x: Tensor) => t([...x.shape], x.data.slice());
      for (const Tq of [1, 3, 40]) {
        const q = t([Tq, Nq * Dh], randF32(r, Tq * Nq * Dh));
        const o = { nHeads: Nq, nKvHeads: Nkv, headDim: Dh, scale: Dh ** -0.5, causal: true, qPos0: Tk - Tq };
        const before = be.kvInPlaceCalls;
        const inPlace = be.attention(q, kv.k, kv.v, o).data;
        expect(be.kvInPlaceCalls).toBe(before + 1); // the in-place path ran
        const copied = be.attention(q, copy(kv.k), copy(kv.v), o).data;
        expect(be.kvInPlaceCalls).toBe(before + 1);
        expect(bits(inPlace)).toEqual(bits(copied));
      }
      cache.dispose();
      be.dispose();
    }
  });

  it('freed blocks are reused; weights never go to an arena memory', async () => {
    const be = await createWasmBackend({ threads: 1, weightBytesPerMemory: 1 << 20 });
    const arena = be.kvArena();
    const a = arena.alloc(1000);
    const b = arena.alloc(5000);
    arena.free(a);
    const c = arena.alloc(900); // fits a's block
    expect(c.byteOffset).toBe(a.byteOffset);
    arena.free(b);
    arena.free(c);
    expect(be.info().memories.find((m) => m.kind === 'kv')!.weightBytes).toBe(0);
    const w = be.loadWeight('w', 'F32', [3, 4], new Float32Array(12));
    expect(be.info().memories[(w as unknown as { mem: number }).mem].kind).toBe('weights');
    be.dispose();
  });
});
