// Parity metrics between a computed stage and the reference's, defined once for every report.
//
//   maxAbsErr    max |got - want| over all elements (with its flat index and both values)
//   maxMagnitude max |want| (the scale the f32 tolerance is relative to)
//   relToMax     maxAbsErr / maxMagnitude
//   maxRelErr    max |got - want| / max(|want|, 1e-6·maxMagnitude) — elementwise, floored so
//                values near zero do not dominate (reported, not used for verdicts)
//   cosine       Σ g·w / (‖g‖‖w‖) over finite pairs (1 when both are all-zero)
//   nmse         Σ (g - w)² / Σ w² over finite pairs (ggml's NMSE; 0 when both are all-zero)
// Non-finite values: NaN equals nothing (not even NaN); ±Inf equals only the same ±Inf. A
// non-finite mismatch counts in `nonFinite` and makes maxAbsErr Infinity at that index.
// All sums in float64.

import { numel } from '../tensor.js';

export interface StageMetrics {
  name: string;
  gotShape: number[];
  wantShape: number[];
  shapeMatch: boolean;
  /** Number of compared elements. */
  n: number;
  maxAbsErr: number;
  /** Flat index of the max abs error (-1 if n = 0 or shapes differ). */
  maxAbsIndex: number;
  gotAtMax: number;
  wantAtMax: number;
  maxMagnitude: number;
  relToMax: number;
  maxRelErr: number;
  cosine: number;
  nmse: number;
  /** Positions where a non-finite value does not match (NaN anywhere, Inf vs anything else). */
  nonFinite: number;
}

type Num = ArrayLike<number>;

export function compare(
  name: string,
  got: { shape: readonly number[]; data: Num },
  want: { shape: readonly number[]; data: Num },
): StageMetrics {
  const shapeMatch =
    got.shape.length === want.shape.length &&
    got.shape.every((d, i) => d === want.shape[i]) &&
    got.data.length === want.data.length &&
    got.data.length === numel(want.shape);
  const m: StageMetrics = {
    name,
    gotShape: [...got.shape],
    wantShape: [...want.shape],
    shapeMatch,
    n: 0,
    maxAbsErr: shapeMatch ? 0 : Infinity,
    maxAbsIndex: -1,
    gotAtMax: NaN,
    wantAtMax: NaN,
    maxMagnitude: 0,
    relToMax: shapeMatch ? 0 : Infinity,
    maxRelErr: shapeMatch ? 0 : Infinity,
    cosine: shapeMatch ? 1 : NaN,
    nmse: shapeMatch ? 0 : NaN,
    nonFinite: 0,
  };
  if (!shapeMatch) return m;
  const g = got.data;
  const w = want.data;
  const n = w.length;
  m.n = n;
  let maxMag = 0;
  for (let i = 0; i < n; i++) {
    const a = Math.abs(w[i]);
    if (a > maxMag && a !== Infinity) maxMag = a;
  }
  m.maxMagnitude = maxMag;
  const floor = 1e-6 * maxMag || Number.MIN_VALUE;
  let dot = 0;
  let gg = 0;
  let ww = 0;
  let se = 0;
  for (let i = 0; i < n; i++) {
    const gi = g[i];
    const wi = w[i];
    let err: number;
    if (Number.isFinite(gi) && Number.isFinite(wi)) {
      err = Math.abs(gi - wi);
      dot += gi * wi;
      gg += gi * gi;
      ww += wi * wi;
      se += (gi - wi) * (gi - wi);
      const rel = err / Math.max(Math.abs(wi), floor);
      if (rel > m.maxRelErr) m.maxRelErr = rel;
    } else if (gi === wi && !Number.isNaN(gi)) {
      err = 0; // the same infinity
    } else {
      err = Infinity; // NaN on either side, or an infinity against anything else
      m.nonFinite++;
      m.maxRelErr = Infinity;
    }
    if (err > m.maxAbsErr || (m.maxAbsIndex < 0 && err >= m.maxAbsErr)) {
      m.maxAbsErr = err;
      m.maxAbsIndex = i;
      m.gotAtMax = gi;
      m.wantAtMax = wi;
    }
  }
  m.cosine = gg === 0 && ww === 0 ? 1 : dot / Math.sqrt(gg * ww);
  if (!Number.isFinite(m.cosine)) m.cosine = 0; // one side all-zero
  m.nmse = ww === 0 ? (se === 0 ? 0 : Infinity) : se / ww;
  m.relToMax = maxMag === 0 ? (m.maxAbsErr === 0 ? 0 : Infinity) : m.maxAbsErr / maxMag;
  if (m.nonFinite) m.relToMax = Infinity;
  return m;
}

/** Row-major multi-index of a flat index, for reports: 1234 in [2,729,48] -> [0,25,34]. */
export function unravel(index: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length).fill(0);
  let r = index;
  for (let i = shape.length - 1; i >= 0; i--) {
    const d = shape[i] || 1;
    out[i] = r % d;
    r = Math.floor(r / d);
  }
  return out;
}
