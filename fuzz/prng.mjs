// Seeded PRNG for the fuzz suite: sfc32 seeded by cyrb128 of a string key, so case k of target T
// under seed S is `rngFor(S, T, k)` — every case can be regenerated alone (replay, batch re-runs)
// without generating the cases before it.

/** cyrb128: a 128-bit string hash, four 32-bit words (public domain, bryc). */
function cyrb128(str) {
  let h1 = 1779033703;
  let h2 = 3144134277;
  let h3 = 1013904242;
  let h4 = 2773480762;
  for (let i = 0; i < str.length; i++) {
    const k = str.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  return [(h1 ^ h2 ^ h3 ^ h4) >>> 0, (h2 ^ h1) >>> 0, (h3 ^ h1) >>> 0, (h4 ^ h1) >>> 0];
}

export class Rng {
  constructor(key) {
    [this.a, this.b, this.c, this.d] = cyrb128(String(key));
    for (let i = 0; i < 12; i++) this.u32();
  }
  /** sfc32: a uniform 32-bit unsigned integer. */
  u32() {
    let { a, b, c, d } = this;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    this.a = a;
    this.b = b;
    this.c = c;
    this.d = d;
    return t >>> 0;
  }
  /** uniform in [0, 1) */
  float() {
    return this.u32() / 4294967296;
  }
  /** uniform integer in [0, n) (n >= 1) */
  int(n) {
    return Math.floor(this.float() * n);
  }
  /** uniform integer in [lo, hi] */
  range(lo, hi) {
    return lo + this.int(hi - lo + 1);
  }
  bool(p = 0.5) {
    return this.float() < p;
  }
  pick(arr) {
    return arr[this.int(arr.length)];
  }
  /** pick by weight: [[weight, value], ...] */
  weighted(pairs) {
    let total = 0;
    for (const [w] of pairs) total += w;
    let x = this.float() * total;
    for (const [w, v] of pairs) {
      if ((x -= w) < 0) return v;
    }
    return pairs[pairs.length - 1][1];
  }
  bytes(n) {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.u32() & 0xff;
    return b;
  }
  /** a small count skewed towards 1 (1..max) */
  small(max = 8) {
    return Math.min(max, 1 + Math.floor(-Math.log(1 - this.float()) * 1.5));
  }
}

/** The generator of case `index` of `target` under `seed`. */
export function rngFor(seed, target, index) {
  return new Rng(`${seed}/${target}/${index}`);
}
