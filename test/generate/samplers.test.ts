// Samplers against hand-computed small cases (HF logits_process.py semantics, worked by hand in
// the comments) and statistical checks of the seeded PRNG.
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import {
  applyRepetitionPenalty,
  applyTemperature,
  argmax,
  Rng,
  resolveSampling,
  Sampler,
  sampleFromProbs,
  softmaxF64,
  topKFilter,
  topPFilter,
} from '../../src/generate/samplers.js';

const NI = -Infinity;
const f32 = (xs: number[]) => Float32Array.from(xs);
/** Logits whose softmax is exactly proportional to `probs` (up to f32 rounding of the logs). */
const logitsOf = (probs: number[]) => f32(probs.map(Math.log));

describe('argmax', () => {
  it('returns the first index of the maximum (torch.argmax)', () => {
    expect(argmax(f32([1, 5, 5, 2]))).toBe(1);
    expect(argmax(f32([NI, NI, -3]))).toBe(2);
    expect(argmax(f32([NI, NI]))).toBe(0);
  });
  it('throws on all-NaN scores', () => {
    expect(() => argmax(f32([NaN, NaN]))).toThrow(InputError);
  });
});

describe('repetition penalty (HF: s<0 ? s*p : s/p, once per distinct id)', () => {
  it('divides positive and multiplies negative logits of previous ids only', () => {
    const s = f32([2, -2, 1, 0.5]);
    applyRepetitionPenalty(s, [0, 1, 0], 2); // id 0 twice: penalised once
    expect(Array.from(s)).toEqual([1, -4, 1, 0.5]);
  });
  it('is a no-op at penalty 1 and ignores out-of-vocab ids', () => {
    const s = f32([2, -2]);
    applyRepetitionPenalty(s, [0, 1, 7, -1], 1);
    expect(Array.from(s)).toEqual([2, -2]);
    applyRepetitionPenalty(s, [7, -1], 3);
    expect(Array.from(s)).toEqual([2, -2]);
  });
});

describe('temperature', () => {
  it('divides every score', () => {
    const s = f32([1, -2, 0]);
    applyTemperature(s, 0.5);
    expect(Array.from(s)).toEqual([2, -4, 0]);
  });
});

describe('top-k (HF: remove scores < k-th largest; ties at the threshold survive)', () => {
  it('k=2 with a tie at the top keeps both tied tokens', () => {
    const s = f32([1, 3, 2, 3, 0]);
    topKFilter(s, 2); // sorted desc 3,3,2,1,0 -> threshold 3
    expect(Array.from(s)).toEqual([NI, 3, NI, 3, NI]);
  });
  it('k=3 keeps 3, 2, 3', () => {
    const s = f32([1, 3, 2, 3, 0]);
    topKFilter(s, 3); // threshold 2
    expect(Array.from(s)).toEqual([NI, 3, 2, 3, NI]);
  });
  it('k >= vocab is a no-op', () => {
    const s = f32([1, 2]);
    topKFilter(s, 5);
    expect(Array.from(s)).toEqual([1, 2]);
  });
});

describe('top-p (HF: ascending cumsum, drop while cum <= 1-p, keep the top one)', () => {
  // probs 0.5, 0.3, 0.15, 0.05 -> ascending 0.05, 0.15, 0.3, 0.5; cumsum 0.05, 0.20, 0.50, 1.00
  const probs = [0.3, 0.05, 0.5, 0.15];
  const kept = (p: number) => {
    const s = logitsOf(probs);
    topPFilter(s, p);
    return Array.from(s)
      .map((v, i) => (v === NI ? -1 : i))
      .filter((i) => i >= 0);
  };
  it('p=0.85: 1-p=0.15 removes only 0.05', () => expect(kept(0.85)).toEqual([0, 2, 3]));
  it('p=0.75: 1-p=0.25 removes 0.05 and 0.15 (cum 0.20)', () => expect(kept(0.75)).toEqual([0, 2]));
  it('p=0.4: 1-p=0.6 removes all but 0.5 (cum 0.50 <= 0.6)', () => expect(kept(0.4)).toEqual([2]));
  it('p=0.01 still keeps the top token (min_tokens_to_keep 1)', () => expect(kept(0.01)).toEqual([2]));
  it('p=1 is a no-op', () => expect(kept(1)).toEqual([0, 1, 2, 3]));
  it('ignores tokens already at -Inf (after top-k)', () => {
    const s = f32([Math.log(0.3), NI, Math.log(0.5), Math.log(0.15)]); // renormalised: .3/.95, .5/.95, .15/.95
    topPFilter(s, 0.8); // ascending .158, .316, .526; cum .158, .474, 1 -> 1-p=.2 removes .158 only
    expect(Array.from(s).map((v) => v === NI)).toEqual([false, true, false, true]);
  });
});

describe('softmax and inverse-CDF draw', () => {
  it('softmaxF64 gives zero mass to -Inf and sums to 1', () => {
    const p = softmaxF64(f32([0, NI, Math.log(3)]));
    expect(p[0]).toBeCloseTo(0.25, 6);
    expect(p[1]).toBe(0);
    expect(p[2]).toBeCloseTo(0.75, 6);
  });
  it('sampleFromProbs walks the cumulative distribution', () => {
    const p = Float64Array.from([0.25, 0, 0.75]);
    expect(sampleFromProbs(p, 0)).toBe(0);
    expect(sampleFromProbs(p, 0.2499)).toBe(0);
    expect(sampleFromProbs(p, 0.25)).toBe(2);
    expect(sampleFromProbs(p, 0.999999)).toBe(2);
  });
});

describe('Rng (seeded xoshiro128**)', () => {
  it('is reproducible per seed and differs across seeds', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const xa = Array.from({ length: 5 }, () => a.next());
    const xb = Array.from({ length: 5 }, () => b.next());
    const xc = Array.from({ length: 5 }, () => c.next());
    expect(xa).toEqual(xb);
    expect(xa).not.toEqual(xc);
    for (const x of xa) expect(x >= 0 && x < 1).toBe(true);
  });
  it('is roughly uniform (mean and decile counts of 20000 draws)', () => {
    const r = new Rng(7);
    const bins = new Array(10).fill(0);
    let sum = 0;
    for (let i = 0; i < 20000; i++) {
      const x = r.next();
      sum += x;
      bins[Math.floor(x * 10)]++;
    }
    expect(Math.abs(sum / 20000 - 0.5)).toBeLessThan(0.01);
    // each bin expects 2000, sd ~42: 6 sd
    for (const n of bins) expect(Math.abs(n - 2000)).toBeLessThan(250);
  });
});

describe('Sampler (the whole step)', () => {
  it('greedy applies the repetition penalty (as HF does without do_sample)', () => {
    const s = new Sampler({ repetitionPenalty: 1.5 });
    // 3/1.5 = 2 < 2.9: the repeated token loses
    expect(s.next(f32([3, 2.9]), [0])).toBe(1);
    expect(s.next(f32([3, 2.9]), [])).toBe(0);
  });
  it("does not modify the caller's logits", () => {
    const l = f32([3, 2.9]);
    new Sampler({ repetitionPenalty: 1.5, doSample: true, temperature: 0.7, topK: 1 }).next(l, [0]);
    expect(Array.from(l)).toEqual([Math.fround(3), Math.fround(2.9)]);
  });
  it('topK=1 sampling always returns the argmax', () => {
    const s = new Sampler({ doSample: true, topK: 1 }, 123);
    for (let i = 0; i < 20; i++) expect(s.next(f32([0.1, 2, 1.9, -1]), [])).toBe(1);
  });
  it('samples with the right frequencies and is reproducible by seed', () => {
    const logits = logitsOf([0.1, 0.2, 0.7]);
    const draw = (seed: number, n: number) => {
      const s = new Sampler({ doSample: true }, seed);
      return Array.from({ length: n }, () => s.next(logits, []));
    };
    const xs = draw(5, 10000);
    const freq = [0, 1, 2].map((k) => xs.filter((x) => x === k).length / xs.length);
    expect(Math.abs(freq[0] - 0.1)).toBeLessThan(0.02);
    expect(Math.abs(freq[1] - 0.2)).toBeLessThan(0.02);
    expect(Math.abs(freq[2] - 0.7)).toBeLessThan(0.02);
    expect(draw(5, 50)).toEqual(xs.slice(0, 50));
    expect(draw(6, 50)).not.toEqual(xs.slice(0, 50));
  });
  it('temperature sharpens: t=0.25 on probs (0.4, 0.6) gives 0.4^4 : 0.6^4', () => {
    const s = new Sampler({ doSample: true, temperature: 0.25 }, 9);
    const l = logitsOf([0.4, 0.6]);
    const n = 10000;
    let ones = 0;
    for (let i = 0; i < n; i++) ones += s.next(l, []);
    const want = 0.6 ** 4 / (0.4 ** 4 + 0.6 ** 4); // 0.835
    expect(Math.abs(ones / n - want)).toBeLessThan(0.02);
  });
  it('rejects options HF rejects', () => {
    expect(() => resolveSampling({ doSample: true, temperature: 0 })).toThrow(InputError);
    expect(() => resolveSampling({ topP: 1.5 })).toThrow(/topP/);
    expect(() => resolveSampling({ topK: -1 })).toThrow(/topK/);
    expect(() => resolveSampling({ repetitionPenalty: 0 })).toThrow(/repetitionPenalty/);
    expect(resolveSampling({})).toEqual({ doSample: false, temperature: 1, topK: 0, topP: 1, repetitionPenalty: 1 });
  });
});
