// Bit-level helpers shared by the kernel tests.
import type { Tensor } from '../../src/tensor.js';

export const t = (shape: number[], data: Float32Array): Tensor => ({ shape, data });

/** bf16 bit patterns -> their exact f32 values. */
export const bf16Values = (bits: Uint16Array): Float32Array => new Float32Array(new Uint32Array(Array.from(bits, (b) => b << 16)).buffer);

/** First index where two arrays differ bit-wise (NaN-aware), -1 if none, -2 if lengths differ. */
export function firstDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return -2;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return i;
  return -1;
}
