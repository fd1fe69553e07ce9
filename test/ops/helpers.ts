// Test helpers shared by the operator suites: a seeded RNG, independent float64 references
// and error bounds. Nothing here calls the code under test.

import type { Backend } from '../../src/backend/backend.js';
import type { Tensor, Weight, WeightDType } from '../../src/tensor.js';

/** 2^-24: unit roundoff of f32. */
export const U = 2 ** -24;

/** mulberry32: small seeded PRNG, uniform in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n values uniform in [-amp, amp), as f32. */
export function randF32(r: () => number, n: number, amp = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (2 * r() - 1) * amp;
  return a;
}

export function t(shape: number[], data: Float32Array): Tensor {
  return { shape, data };
}

/** bf16 bits by truncating f32 values (any 16-bit pattern is a valid bf16: no rounding needed
 *  for a test input), and their exact f64 values (widened independently of src/dtype.ts). */
export function toBf16(v: Float32Array): { bits: Uint16Array; values: Float64Array } {
  const u = new Uint32Array(v.buffer, v.byteOffset, v.length);
  const bits = new Uint16Array(v.length);
  const values = new Float64Array(v.length);
  const dv = new DataView(new ArrayBuffer(4));
  for (let i = 0; i < v.length; i++) {
    bits[i] = u[i] >>> 16;
    dv.setUint32(0, bits[i] * 65536);
    values[i] = dv.getFloat32(0);
  }
  return { bits, values };
}

/** f16 bits of small test values (normal range only, round toward zero) and exact values. */
export function toF16(v: Float32Array): { bits: Uint16Array; values: Float64Array } {
  const bits = new Uint16Array(v.length);
  const values = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    const s = x < 0 ? 1 : 0;
    const a = Math.abs(x);
    if (a < 2 ** -14) {
      bits[i] = s << 15;
      values[i] = s ? -0 : 0;
      continue;
    }
    const e = Math.floor(Math.log2(a));
    const m = Math.floor((a / 2 ** e - 1) * 1024);
    bits[i] = (s << 15) | ((e + 15) << 10) | m;
    values[i] = (s ? -1 : 1) * (1 + m / 1024) * 2 ** e;
  }
  return { bits, values };
}

/** A weight in the given stored dtype on a backend, plus its exact f64 values. */
export function makeWeight(
  be: Backend,
  name: string,
  dtype: WeightDType,
  shape: number[],
  v: Float32Array,
): { w: Weight; values: Float64Array } {
  if (dtype === 'F32') return { w: be.loadWeight(name, 'F32', shape, v.slice()), values: Float64Array.from(v) };
  const { bits, values } = dtype === 'BF16' ? toBf16(v) : toF16(v);
  return { w: be.loadWeight(name, dtype, shape, bits), values };
}

export interface Failure {
  index: number;
  got: number;
  want: number;
  bound: number;
}

/** Compare element-wise against a float64 reference with a per-element bound; collects the
 *  failures (first few + count) so a failing test prints the worst, not the whole array. */
export function check(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  bound: (i: number) => number,
): { failures: number; worst?: Failure; first: Failure[] } {
  if (got.length !== want.length) return { failures: -1, first: [] };
  let failures = 0;
  let worstRatio = 0;
  let worst: Failure | undefined;
  const first: Failure[] = [];
  for (let i = 0; i < got.length; i++) {
    const g = got[i];
    const w = want[i];
    const b = bound(i);
    const d = Math.abs(g - w);
    const ok = d <= b || (Number.isNaN(g) && Number.isNaN(w)) || g === w;
    if (!ok) {
      failures++;
      const f = { index: i, got: g, want: w, bound: b };
      if (first.length < 3) first.push(f);
      const ratio = Number.isFinite(d / b) ? d / b : Infinity;
      if (!worst || ratio > worstRatio) {
        worst = f;
        worstRatio = ratio;
      }
    }
  }
  return { failures, worst, first };
}
