// Weight access for the readable operators. A `HostWeight` keeps the checkpoint's stored bits
// (F32 values, or BF16/F16 raw bits in a Uint16Array); operators widen ONE ROW at a time into
// a small f32 scratch buffer and never build an f32 copy of a whole matrix.
// Widening is exact for every stored dtype (bf16 -> f32 is a 16-bit shift; f16 ⊂ f32).

import { f16ToF32 } from '../dtype.js';
import { ShapeError } from '../errors.js';
import { type HostWeight, numel, type Weight } from '../tensor.js';

/** The weight as a host weight (the `ts` backend's handles), checked for a consistent length. */
export function host(w: Weight): HostWeight {
  const h = w as HostWeight;
  if (!h.data || !(h.data instanceof Float32Array || h.data instanceof Uint16Array)) {
    throw new ShapeError(
      `weight ${w.name}: not a host weight (no data array)`,
      'pass weights created by the same backend (TsBackend.loadWeight)',
    );
  }
  return h;
}

/**
 * Row `row` of a weight seen as a matrix of rows of `len` values, as f32.
 * F32 weights return a view (no copy); BF16/F16 are widened into `scratch` (length >= len).
 */
export function widenRow(w: HostWeight, row: number, len: number, scratch: Float32Array): Float32Array {
  return widenRange(w, row * len, len, scratch);
}

/** Values [off, off+len) of a weight as f32 (a view for F32, widened into `scratch` otherwise). */
export function widenRange(w: HostWeight, off: number, len: number, scratch: Float32Array): Float32Array {
  const d = w.data;
  if (w.dtype === 'F32') return (d as Float32Array).subarray(off, off + len);
  const bits = d as Uint16Array;
  const out = scratch.length === len ? scratch : scratch.subarray(0, len);
  if (w.dtype === 'BF16') {
    // bf16 is the top half of an f32: widen by shifting the bits into place (exact).
    const o32 = u32View(scratch); // out aliases scratch[0, len)
    for (let i = 0; i < len; i++) o32[i] = bits[off + i] << 16;
  } else {
    for (let i = 0; i < len; i++) out[i] = f16ToF32(bits[off + i]);
  }
  return out;
}

// The Uint32 alias of a scratch buffer, made once per buffer (not once per row: the lm_head
// of a real vocabulary has 128256 rows per decode step).
let lastF32: Float32Array | undefined;
let lastU32: Uint32Array | undefined;
function u32View(f: Float32Array): Uint32Array {
  if (f !== lastF32) {
    lastF32 = f;
    lastU32 = new Uint32Array(f.buffer, f.byteOffset, f.length);
  }
  return lastU32!;
}

/** Whole (small) weight widened to a fresh f32 array: norms, biases, position embeddings. */
export function widenAll(w: Weight): Float32Array {
  const h = host(w);
  const n = numel(h.shape);
  const out = new Float32Array(n);
  const v = widenRange(h, 0, n, out);
  if (v !== out) out.set(v);
  return out;
}
