// The KV arena (Backend.kvArena): KV-cache rows in wasm memories of their own, so attention
// reads the cache in place instead of copying the whole cache into kernel memory at every
// decode step (~27 ms of a ~207 ms token at 2048 cached tokens on the 3B). Allocation is
// first-fit over a free list per memory, sorted by address; a freed block is coalesced with
// its neighbours, and a free block at the top goes back to the memory's bump pointer. New
// memories are added as needed and never hold weights. Values are the same with or without
// the arena (test/kernels/kv-arena.test.ts). docs/kernels.md "Weight store beyond 4 GiB".

import type { Tensor } from '../../tensor.js';
import type { KernelMemory, Memories } from './memory.js';

/** A KV-arena block: where it lives. */
interface KvBlock {
  mem: KernelMemory;
  ptr: number;
  bytes: number;
}

export class KvArenaAllocator {
  /** Arena memories, first-fit free lists sorted by address. */
  private readonly kvMems: KernelMemory[] = [];
  private readonly kvFree = new Map<KernelMemory, { ptr: number; bytes: number }[]>();
  private readonly kvBlocks = new WeakMap<Float32Array, KvBlock>();
  /** SharedArrayBuffer objects of arena views -> their memory (subarrays share the buffer). */
  private readonly kvBuffers = new WeakMap<ArrayBufferLike, KernelMemory>();

  /** `cap`: bytes per arena memory (the backend's weightBytesPerMemory). */
  constructor(
    private readonly mems: Memories,
    private readonly cap: number,
  ) {}

  alloc(floats: number): Float32Array {
    const bytes = Math.ceil(Math.max(floats, 1) / 16) * 64;
    if (bytes > this.cap) return new Float32Array(floats); // too big for an arena memory: a plain array (attention copies it)
    const take = (mem: KernelMemory, ptr: number): Float32Array => {
      const a = new Float32Array(mem.memory.buffer, ptr, floats);
      this.kvBlocks.set(a, { mem, ptr, bytes });
      this.kvBuffers.set(a.buffer, mem);
      return a;
    };
    for (const mem of this.kvMems) {
      const free = this.kvFree.get(mem)!;
      const i = free.findIndex((b) => b.bytes >= bytes);
      if (i >= 0) {
        const b = free[i];
        if (b.bytes === bytes) free.splice(i, 1);
        else free[i] = { ptr: b.ptr + bytes, bytes: b.bytes - bytes };
        return take(mem, b.ptr);
      }
      if (mem.weightTop + bytes <= this.cap + 65536) return take(mem, mem.allocWeight(bytes));
    }
    const mem = this.mems.add('kv');
    this.kvMems.push(mem);
    this.kvFree.set(mem, []);
    return take(mem, mem.allocWeight(bytes));
  }

  free(a: Float32Array): void {
    const blk = this.kvBlocks.get(a);
    if (!blk) return;
    this.kvBlocks.delete(a);
    const free = this.kvFree.get(blk.mem)!;
    let i = free.findIndex((b) => b.ptr > blk.ptr);
    if (i < 0) i = free.length;
    free.splice(i, 0, { ptr: blk.ptr, bytes: blk.bytes });
    // coalesce with the neighbours, and hand the top block back to the bump pointer
    if (i + 1 < free.length && free[i].ptr + free[i].bytes === free[i + 1].ptr)
      free.splice(i, 2, { ptr: free[i].ptr, bytes: free[i].bytes + free[i + 1].bytes });
    if (i > 0 && free[i - 1].ptr + free[i - 1].bytes === free[i].ptr)
      free.splice(i - 1, 2, { ptr: free[i - 1].ptr, bytes: free[i - 1].bytes + free[i].bytes });
    const last = free[free.length - 1];
    if (last && last.ptr + last.bytes === blk.mem.weightTop) {
      blk.mem.weightTop = last.ptr;
      free.pop();
    }
  }

  /** The arena memory holding both k's and v's rows, if they are arena views. */
  resident(k: Tensor, v: Tensor): KernelMemory | undefined {
    const mem = this.kvBuffers.get(k.data.buffer);
    return mem && this.kvBuffers.get(v.data.buffer) === mem ? mem : undefined;
  }
}
