// softmax_rows, layer_norm_rows, gelu_tanh and the decode attention (kernels/ops.ts
// attention_decode_scores + attention_decode_pv) equal scalar twins that follow their
// `Numerics:` notes step by step, bit for bit: vexp_nonpos and vexp2 (f32, each step
// Math.fround), vexp64 (f64) as written in kernels/vmath.ts, the f64 sums lane by lane in the
// kernels' order. These pin the values while the kernels are restructured for speed
// (unrolling, fused passes, two rows side by side): a change of order or of a constant shows
// up here. The f32 exps are also measured against Math.exp over their whole range.
// Sizes: 0..17 around the vector width and the 16-element unroll, the model's 729, 1152,
// 4304 and 65531; special values (±0, ±inf, NaN, subnormals, beyond the exp limits).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWasmBackend, type WasmBackend } from '../../src/backend/wasm.js';
import { rng, t } from '../ops/helpers.js';

const f = Math.fround;
const F = new Float32Array(1);
const I = new Int32Array(F.buffer);
const bitsOf = (x: number) => {
  F[0] = x;
  return I[0];
};
const fromBits = (b: number) => {
  I[0] = b;
  return F[0];
};
/** f32x4.pmin / pmax: b < a ? b : a / a < b ? b : a (NaN in a passes through). */
const pmin = (a: number, b: number) => (b < a ? b : a);
const pmax = (a: number, b: number) => (a < b ? b : a);

/** f32 a + b·c, each step rounded (the kernels' mul then add). */
const fma32 = (a: number, b: number, c: number) => f(a + f(b * c));

/** kernels/vmath.ts pow2n: 2^n as (n + 127) << 23 from tn = n + 1.5·2^23 (i32 wrap-around). */
const pow2n = (tn: number) => fromBits((((bitsOf(tn) - (0x4b400000 - 127)) | 0) << 23) | 0);

/** kernels/vmath.ts expPoly6 / pow2Poly6: (1 + c1·r) + r²·(b + r²·(c + r²·c6)), b = c2 + c3·r,
 *  c = c4 + c5·r (c1 = 1 in expPoly6: a plain 1 + r). */
function poly6(r: number, c: readonly number[]): number {
  const r2 = f(r * r);
  const a = c[1] === 1 ? f(1 + r) : fma32(1, r, f(c[1]));
  const b = fma32(f(c[2]), r, f(c[3]));
  const cc = fma32(f(c[4]), r, f(c[5]));
  const d = fma32(cc, r2, f(c[6]));
  return fma32(a, r2, fma32(b, r2, d));
}
const EXP6 = [1, 1, 0.4999999403953552, 0.16666431725025177, 0.04166800528764725, 0.008374178782105446, 0.0013843626948073506];
const POW2_6 = [
  1, 0.6931471824645996, 0.24022647738456726, 0.055503323674201965, 0.00961843691766262, 0.0013398875016719103, 0.00015353361959569156,
];

/** kernels/vmath.ts vexp_nonpos, one lane (t <= 0 or NaN). */
function vexpNonpos(t: number): number {
  const xc = pmax(t, -88);
  const magic = 12582912;
  // biome-ignore lint/correctness/noPrecisionLoss: the kernel's literal, digit for digit (f32 rounds it)
  // biome-ignore lint/suspicious/noApproximativeNumericConstant: log2(e) as the kernel spells it
  const tn = f(f(xc * f(1.44269504088896341)) + magic);
  const n = f(tn - magic);
  const r = f(f(xc - f(n * f(0.693359375))) - f(n * f(-2.1219444e-4)));
  return f(poly6(r, EXP6) * pow2n(tn));
}

/** kernels/vmath.ts vexp2, one lane. */
function vexp2(w: number): number {
  const wc = pmax(pmin(w, f(128.4)), f(-127.4));
  const magic = 12582912;
  const tn = f(wc + magic);
  const fr = f(wc - f(tn - magic));
  return f(poly6(fr, POW2_6) * pow2n(tn));
}

/** kernels/ops.ts gelu32, one lane: x / (1 + vexp2(x·(k1 + k2·x²))), every step in f32. */
function gelu(x: number): number {
  const w = f(x * fma32(f(-2.302208185195923), f(x * x), f(-0.10294324159622192)));
  return f(x / f(1 + vexp2(w)));
}

/** kernels/vmath.ts vexp64, one lane (plain JS doubles are the f64 lanes). */
function vexp64(a: number): number {
  if (Number.isNaN(a)) return a;
  const x = pmax(pmin(a, 700), -700);
  const magic = 6755399441055744;
  // biome-ignore lint/suspicious/noApproximativeNumericConstant: log2(e) as the kernel spells it
  const tn = x * 1.4426950408889634 + magic;
  const n = tn - magic;
  // biome-ignore lint/correctness/noPrecisionLoss: Cody-Waite ln2 hi/lo as the kernel spells them
  let r = x - n * 6.9314718036912381649e-1;
  // biome-ignore lint/correctness/noPrecisionLoss: (see above)
  r = r - n * 1.90821492927058770002e-10;
  let p = 1 / 362880;
  for (const c of [1 / 40320, 1 / 5040, 1 / 720, 1 / 120, 1 / 24, 1 / 6, 0.5, 1, 1]) p = p * r + c;
  return p * 2 ** n;
}

/** f64 sum in the kernels' lane order: lane l sums i ≡ l (mod 4), (l0 + l2) + (l1 + l3), tail. */
function laneSum(n: number, term: (i: number) => number): number {
  const n4 = n & ~3;
  const l = [0, 0, 0, 0];
  for (let i = 0; i < n4; i++) l[i & 3] += term(i);
  let s = l[0] + l[2] + (l[1] + l[3]);
  for (let i = n4; i < n; i++) s += term(i);
  return s;
}

/** softmax_rows: m = max; e = vexpNonpos(x - m); Σe in f64 — per 16 elements the f32 lanes
 *  (e0 + e1) + (e2 + e3) into the f64 lanes, then the remaining vectors one by one, then
 *  (l0 + l2) + (l1 + l3), then the tail; y = e·f32(1/Σe). A NaN anywhere: the row is NaN. */
function softmaxTwin(x: Float32Array, rows: number, n: number): Float32Array {
  const y = new Float32Array(rows * n);
  const n4 = n & ~3;
  const n16 = n & ~15;
  for (let r = 0; r < rows; r++) {
    const xr = x.subarray(r * n, (r + 1) * n);
    let m = -Infinity;
    for (const v of xr) if (v > m) m = v;
    const e = xr.map((v) => vexpNonpos(f(v - m)));
    const l = [0, 0, 0, 0];
    let i = 0;
    for (; i < n16; i += 16) for (let k = 0; k < 4; k++) l[k] += f(f(e[i + k] + e[i + 4 + k]) + f(e[i + 8 + k] + e[i + 12 + k]));
    for (; i < n4; i++) l[i & 3] += e[i];
    let sum = l[0] + l[2] + (l[1] + l[3]);
    for (; i < n; i++) sum += e[i];
    const inv = f(1 / sum);
    const nan = xr.some((v) => Number.isNaN(v)) || Number.isNaN(sum);
    for (let j = 0; j < n; j++) y[r * n + j] = nan ? NaN : f(e[j] * inv);
  }
  return y;
}

function layerNormTwin(x: Float32Array, rows: number, n: number, w: Float32Array, b: Float32Array, eps: number): Float32Array {
  const y = new Float32Array(rows * n);
  for (let r = 0; r < rows; r++) {
    const xr = x.subarray(r * n, (r + 1) * n);
    const mean = laneSum(n, (i) => xr[i]) / n;
    const ss = laneSum(n, (i) => (xr[i] - mean) * (xr[i] - mean));
    const rstd = f(1 / Math.sqrt(ss / n + f(eps)));
    const m32 = f(mean);
    for (let i = 0; i < n; i++) y[r * n + i] = f(f(f(f(xr[i] - m32) * rstd) * w[i]) + b[i]);
  }
  return y;
}

/** kernels/vmath.ts vtanh64, one lane: sign(z)·(1 - 2/(vexp64(2|z|) + 1)), the sign bit copied. */
function vtanh64(z: number): number {
  const az = Math.abs(z);
  const tt = 1 - 2 / (vexp64(az + az) + 1);
  return z < 0 || Object.is(z, -0) ? -tt : tt;
}

/** Keys per P·V block (kernels/ops.ts ATT_PVB). */
const PVB = 256;

/** Decode attention as its Numerics note says: per score a 4-lane f32 dot (lane l sums
 *  d ≡ l mod 4, mul then add), (l0+l2)+(l1+l3), tail in order, times f32(scale); softcap
 *  f32(c·vtanh64(s/c)) in f64; softmaxTwin over the visible range; P·V sequential in j within
 *  blocks of PVB keys (by key index), the block sums added in block order. */
function decodeAttentionTwin(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  c: {
    Tq: number;
    Tk: number;
    Nq: number;
    Nkv: number;
    Dh: number;
    scale: number;
    causal: boolean;
    qPos0: number;
    kPos0: number;
    window?: number;
    softcap?: number;
  },
): Float32Array {
  const { Tq, Tk, Nq, Nkv, Dh } = c;
  const G = Nq / Nkv;
  const d4 = Dh & ~3;
  const scl = f(c.scale);
  const o = new Float32Array(Tq * Nq * Dh);
  for (let i = 0; i < Tq; i++) {
    const qpos = c.qPos0 + i;
    const lo = c.window ? Math.max(0, qpos - c.window - c.kPos0 + 1) : 0;
    const hi = c.causal ? Math.min(Tk, qpos - c.kPos0 + 1) : Tk;
    for (let h = 0; h < Nq; h++) {
      const qo = (i * Nq + h) * Dh;
      const kvo = Math.floor(h / G) * Dh;
      const s = new Float32Array(hi - lo);
      for (let j = lo; j < hi; j++) {
        const ko = j * Nkv * Dh + kvo;
        const l = [0, 0, 0, 0];
        for (let d = 0; d < d4; d++) l[d & 3] = f(l[d & 3] + f(q[qo + d] * k[ko + d]));
        let dot = f(f(l[0] + l[2]) + f(l[1] + l[3]));
        for (let d = d4; d < Dh; d++) dot = f(dot + f(q[qo + d] * k[ko + d]));
        let x = f(dot * scl);
        if (c.softcap) x = f(f(c.softcap) * vtanh64(x / f(c.softcap)));
        s[j - lo] = x;
      }
      const p = softmaxTwin(s, 1, hi - lo);
      for (let d = 0; d < Dh; d++) {
        let out = 0;
        for (let b0 = Math.floor(lo / PVB) * PVB; b0 < hi; b0 += PVB) {
          // blocks of PVB keys by key index
          let acc = 0;
          for (let j = Math.max(lo, b0); j < Math.min(hi, b0 + PVB); j++) acc = f(acc + f(p[j - lo] * v[j * Nkv * Dh + kvo + d]));
          out = b0 <= lo ? acc : f(out + acc);
        }
        o[qo + d] = out;
      }
    }
  }
  return o;
}

/** Spacing of f32 values at |v| (the ulp of v's binade). */
const ulpOf = (v: number) => {
  const a = Math.abs(f(v));
  return fromBits(bitsOf(a) + 1) - a;
};

describe('the f32 exps against Math.exp (dense grids over their whole range)', () => {
  it('vexp_nonpos <= 1.5 ulp on [-87.3, 0]; below: 0 (or a subnormal) as its note says', () => {
    let worst = 0;
    for (let k = 0; k <= 400000; k++) {
      const t = f(-87.3 * (k / 400000) ** 0.5); // denser near 0, where e is large
      worst = Math.max(worst, Math.abs(vexpNonpos(t) - Math.exp(t)) / ulpOf(Math.exp(t)));
    }
    expect(worst).toBeLessThanOrEqual(1.5);
    expect(worst).toBeGreaterThan(0.5); // the grid reaches the polynomial's worst points
    expect([vexpNonpos(-88), vexpNonpos(-1000), vexpNonpos(-Infinity), vexpNonpos(-0), vexpNonpos(0)]).toEqual([0, 0, 0, 1, 1]);
    expect(vexpNonpos(-87.5)).toBeGreaterThan(0); // e^-87.5 is a subnormal: kept, rounded once
    expect(Number.isNaN(vexpNonpos(NaN))).toBe(true);
  });

  it('vexp2 <= 1.5 ulp on [-126, 127.4]; 0 below 2^-126.5, inf from 2^127.5', () => {
    let worst = 0;
    for (let k = 0; k <= 400000; k++) {
      const w = f(-126 + 253.4 * (k / 400000));
      worst = Math.max(worst, Math.abs(vexp2(w) - 2 ** w) / ulpOf(2 ** w));
    }
    expect(worst).toBeLessThanOrEqual(1.5);
    expect([vexp2(-127), vexp2(-Infinity), vexp2(127.5), vexp2(Infinity), vexp2(0), vexp2(-1)]).toEqual([0, 0, Infinity, Infinity, 1, 0.5]);
  });

  it('gelu_tanh (the kernel) within (3 + 3.5·|2u|)·u·|y| + 2^-126·|x| of x·σ(2u) in f64 (kernels/ops.ts note)', async () => {
    const sig = (z: number) => 1 / (1 + Math.exp(-z));
    const xs = Float32Array.from({ length: 600001 }, (_, k) => -30 + 60 * (k / 600000));
    const be = await createWasmBackend({ threads: 1 });
    const got = be.geluTanh(t([xs.length], xs)).data;
    be.dispose();
    let worst = 0;
    xs.forEach((x, k) => {
      const z = 2 * Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3);
      const want = x * sig(z);
      const bound = (3 + 3.5 * Math.abs(z)) * 2 ** -24 * Math.abs(want) + 2 ** -126 * Math.abs(x);
      if (x !== 0) worst = Math.max(worst, Math.abs(got[k] - want) / bound);
    });
    expect(worst).toBeLessThanOrEqual(1);
    expect(worst).toBeGreaterThan(0.5);
    expect([gelu(Infinity), gelu(0), gelu(-100), gelu(3.4e38)]).toEqual([Infinity, 0, -0, f(3.4e38)]);
    expect(Number.isNaN(gelu(-Infinity))).toBe(true); // torch: 0.5·(-inf)·(1 + tanh(-inf)) = -inf·0
  });
});

const SPECIALS = [0, -0, Infinity, -Infinity, NaN, 1e-40, -1e-40, 88.8, -87.4, -103, 1e4, -1e4, 3.4e38, -3.4e38];
function data(r: () => number, len: number, amp: number, specials: boolean): Float32Array {
  const a = new Float32Array(len);
  for (let i = 0; i < len; i++) a[i] = (r() - 0.5) * amp;
  if (specials) for (let i = 0; i < len; i++) if (r() < 0.2) a[i] = SPECIALS[Math.floor(r() * SPECIALS.length)];
  return a;
}

/** Collected failures: first k, each with index and both values. */
function diffs(got: Float32Array, want: Float32Array): string | undefined {
  const ug = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const uw = new Uint32Array(want.buffer, want.byteOffset, want.length);
  if (got.length !== want.length) return `length ${got.length} vs ${want.length}`;
  let first = -1;
  let count = 0;
  for (let i = 0; i < ug.length; i++)
    if (ug[i] !== uw[i] && !(Number.isNaN(got[i]) && Number.isNaN(want[i]))) {
      if (first < 0) first = i;
      count++;
    }
  return count ? `${count} of ${got.length} differ, first at ${first}: got ${got[first]}, want ${want[first]}` : undefined;
}

const SIZES = [0, 1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 31, 33, 729, 1152, 4304, 65531];

describe('row ops bit for bit vs their step-by-step twins (wasm, 1 and 2 threads)', () => {
  let bes: WasmBackend[];
  beforeAll(async () => {
    bes = [await createWasmBackend({ threads: 1 }), await createWasmBackend({ threads: 2 })];
  });
  afterAll(() => bes.forEach((b) => b.dispose()));

  it('softmax_rows = max, vexp_nonpos(x - max), lane-ordered f64 sum, times f32(1/sum)', () => {
    const r = rng(181);
    const fails: string[] = [];
    for (const be of bes)
      for (const n of SIZES)
        for (const [amp, sp] of [
          [1, false],
          [60, false],
          [400, false],
          [40, true],
        ] as const) {
          const rows = n > 4304 ? 3 : 5;
          const x = data(r, rows * n, amp, sp);
          if (sp && n > 2) x.fill(-Infinity, 0, n); // a row of -inf: NaN, as in torch
          const d = diffs(be.softmax(t([rows, n], x)).data, softmaxTwin(x, rows, n));
          if (d) fails.push(`T=${be.threads} n=${n} amp=${amp} specials=${sp}: ${d}`);
        }
    expect(fails, fails.slice(0, 5).join('\n')).toEqual([]);
  });

  it('layer_norm_rows = lane-ordered f64 mean and Σ(x-mean)², f32 affine (odd and even row counts)', () => {
    const r = rng(182);
    const fails: string[] = [];
    for (const be of bes)
      for (const n of SIZES.filter((s) => s > 0))
        for (const rows of [1, 2, 3, 6]) {
          const x = data(r, rows * n, 8, false);
          const w = data(r, n, 2, false);
          const b = data(r, n, 1, false);
          const W = be.loadWeight('w', 'F32', [n], w);
          const B = be.loadWeight('b', 'F32', [n], b);
          const d = diffs(be.layerNorm(t([rows, n], x), W, B, 1e-6).data, layerNormTwin(x, rows, n, w, b, 1e-6));
          if (d) fails.push(`T=${be.threads} n=${n} rows=${rows}: ${d}`);
        }
    expect(fails, fails.slice(0, 5).join('\n')).toEqual([]);
  });

  it('decode attention (Tq < 16) = 4-lane dots, scale, softcap, softmax twin, P·V in key order per 256-key block (1 and 2 threads)', () => {
    const r = rng(184);
    const fails: string[] = [];
    // Tq, Tk, Nq, Nkv, Dh, causal, qPos0, kPos0, window, softcap: GQA groups 1-4 (head pairs and
    // a single head), Dh with and without a tail, sliding windows, long enough to split keys
    const cases: [number, number, number, number, number, boolean, number, number, number?, number?][] = [
      [1, 1500, 24, 8, 128, true, 1499, 0], // Llama 3.2 3B decode (6 key blocks)
      [1, 700, 16, 8, 256, true, 750, 40, 600, 50], // Gemma2 9B sliding layer with softcap (starts mid-block)
      [3, 257, 32, 8, 64, true, 256, 2], // G = 4
      [15, 90, 6, 2, 12, true, 80, 0, 20, 3], // G = 3, 15 queries, window
      [2, 45, 5, 5, 5, false, 0, 0], // MHA, tails in d and in keys
      [1, 7, 4, 1, 3, true, 6, 0, undefined, 1], // MQA, Dh < 4
    ];
    for (const be of bes)
      for (const [Tq, Tk, Nq, Nkv, Dh, causal, qPos0, kPos0, window, softcap] of cases) {
        const q = data(r, Tq * Nq * Dh, 4, false);
        const k = data(r, Tk * Nkv * Dh, 4, false);
        const v = data(r, Tk * Nkv * Dh, 6, false);
        const c = { Tq, Tk, Nq, Nkv, Dh, scale: Dh ** -0.5, causal, qPos0, kPos0, window, softcap };
        const got = be.attention(t([Tq, Nq * Dh], q), t([Tk, Nkv * Dh], k), t([Tk, Nkv * Dh], v), {
          nHeads: Nq,
          nKvHeads: Nkv,
          headDim: Dh,
          ...c,
        }).data;
        const d = diffs(got, decodeAttentionTwin(q, k, v, c));
        if (d) fails.push(`T=${be.threads} ${JSON.stringify(c)}: ${d}`);
      }
    expect(fails, fails.slice(0, 5).join('\n')).toEqual([]);
  });

  it('gelu_tanh = f32 x / (1 + vexp2(x·(k1 + k2·x²))), every element through any loop', () => {
    const r = rng(183);
    const fails: string[] = [];
    for (const be of bes)
      for (const n of [...SIZES, 729 * 4304])
        for (const sp of [false, true]) {
          const x = data(r, n, 12, sp);
          const want = x.map(gelu);
          const d = diffs(be.geluTanh(t([n], x)).data, want);
          if (d) fails.push(`T=${be.threads} n=${n} specials=${sp}: ${d}`);
        }
    expect(fails, fails.slice(0, 5).join('\n')).toEqual([]);
  });
});
