// Next-token selection — mirrors transformers 4.57 generation (generation/utils.py
// `_get_logits_processor` and generation/logits_process.py), for one sequence (batch 1).
//
// Order, as HF applies it to the last row of logits (scores, f32, length V):
//   1. RepetitionPenaltyLogitsProcessor (if penalty != 1) — applied in greedy mode too;
//   2. only when do_sample: TemperatureLogitsWarper (t != 1), TopKLogitsWarper (k > 0),
//      TopPLogitsWarper (p < 1);
//   3. greedy: argmax (first index of the maximum, like torch.argmax);
//      sampling: softmax, then one multinomial draw.
// What "previous tokens" means for the repetition penalty: HF penalises the ids in `input_ids`.
// Ovis calls `llm.generate(inputs_embeds=...)` with no input_ids, so HF's input_ids start empty
// and hold only the generated tokens — the prompt is NOT penalised. We do the same.
//
// Randomness: a seeded xoshiro128** generator, so a (seed, options, model) triple always yields
// the same text. It cannot reproduce torch.multinomial's stream; sampling parity with HF is
// distributional, greedy parity is exact.

import { InputError } from '../errors.js';

export interface SamplingOptions {
  /** false (default): greedy argmax; true: sample from the filtered distribution. */
  doSample?: boolean;
  /** Divide logits by t before filtering (HF `temperature`, default 1). Sampling only; must be > 0. */
  temperature?: number;
  /** Keep the k highest logits (HF `top_k`; 0 or undefined = off). Sampling only. */
  topK?: number;
  /** Keep the smallest set of tokens whose probability mass reaches p (HF `top_p`; 1 = off). Sampling only. */
  topP?: number;
  /** HF `repetition_penalty` (1 = off): previous tokens' positive logits / p, negative * p. */
  repetitionPenalty?: number;
}

/** Reject options HF would reject (its messages, our InputError). Returns the options with defaults. */
export function resolveSampling(o: SamplingOptions): Required<SamplingOptions> {
  const r = {
    doSample: o.doSample ?? false,
    temperature: o.temperature ?? 1,
    topK: o.topK ?? 0,
    topP: o.topP ?? 1,
    repetitionPenalty: o.repetitionPenalty ?? 1,
  };
  const bad: string[] = [];
  if (!(Number.isFinite(r.temperature) && r.temperature > 0)) bad.push(`temperature must be a number > 0, got ${r.temperature}`);
  if (!(Number.isInteger(r.topK) && r.topK >= 0)) bad.push(`topK must be an integer >= 0 (0 = off), got ${r.topK}`);
  if (!(r.topP > 0 && r.topP <= 1)) bad.push(`topP must be in (0, 1] (1 = off), got ${r.topP}`);
  if (!(Number.isFinite(r.repetitionPenalty) && r.repetitionPenalty > 0)) {
    bad.push(`repetitionPenalty must be a number > 0 (1 = off), got ${r.repetitionPenalty}`);
  }
  if (bad.length) {
    throw new InputError(
      `invalid sampling options: ${bad.join('; ')}`,
      'for greedy decoding leave doSample false; temperature 0 is not a sampling temperature',
    );
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// Seeded PRNG: xoshiro128** (Blackman & Vigna), state from splitmix32 of the seed.

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    // splitmix32 expands one 32-bit seed into four non-zero state words.
    let x = (Math.trunc(seed) >>> 0) ^ Math.imul(Math.trunc(seed / 2 ** 32) >>> 0, 0x9e3779b9);
    const next = (): number => {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /** Next 32 random bits as an unsigned integer. */
  nextU32(): number {
    const r = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return r;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

// ---------------------------------------------------------------------------------------------
// Logit processors. Each works in place on f32 scores, like HF's in-place-ish torch ops, so every
// intermediate is rounded to f32 exactly where HF's f32 tensors round.

/** Index of the first maximum (torch.argmax picks the first on ties). NaN never wins. */
export function argmax(scores: Float32Array): number {
  let best = -1;
  let bestV = -Infinity;
  for (let i = 0; i < scores.length; i++) {
    const v = scores[i];
    if (v > bestV || (best < 0 && v === -Infinity)) {
      best = i;
      bestV = v;
    }
  }
  if (best < 0) throw new InputError(`argmax over ${scores.length} scores: every score is NaN`, 'the model produced NaN logits');
  return best;
}

/** HF RepetitionPenaltyLogitsProcessor: for each distinct previous id, s < 0 ? s * p : s / p. */
export function applyRepetitionPenalty(scores: Float32Array, previous: Iterable<number>, penalty: number): void {
  if (penalty === 1) return;
  const seen = new Set<number>();
  for (const id of previous) {
    if (seen.has(id) || id < 0 || id >= scores.length) continue;
    seen.add(id);
    const s = scores[id];
    scores[id] = s < 0 ? s * penalty : s / penalty;
  }
}

/** HF TemperatureLogitsWarper: scores / t. */
export function applyTemperature(scores: Float32Array, t: number): void {
  if (t === 1) return;
  for (let i = 0; i < scores.length; i++) scores[i] = scores[i] / t;
}

/** HF TopKLogitsWarper: every score strictly below the k-th largest becomes -Inf (ties at the
 *  threshold survive, so more than k may remain). */
export function topKFilter(scores: Float32Array, k: number, minTokensToKeep = 1): void {
  const kk = Math.min(Math.max(k, minTokensToKeep), scores.length);
  if (kk <= 0 || kk >= scores.length) return;
  const sorted = Float32Array.from(scores).sort(); // ascending; NaN sorts last
  // Finite scores only matter; NaN (if any) sorts to the end — skip past them.
  let nanCount = 0;
  while (nanCount < sorted.length && Number.isNaN(sorted[sorted.length - 1 - nanCount])) nanCount++;
  const threshold = sorted[sorted.length - nanCount - kk];
  for (let i = 0; i < scores.length; i++) if (scores[i] < threshold) scores[i] = -Infinity;
}

/**
 * HF TopPLogitsWarper: sort ascending, cumulative softmax, drop tokens while the cumulative mass
 * is <= 1 - p (so the kept set is the smallest top set with mass >= p), always keep the top
 * `minTokensToKeep`. Ties are ordered by index (a stable sort; torch.sort's tie order is
 * unspecified). Probabilities are computed in float64 here (HF: f32) — the cut can differ from
 * HF only when a cumulative sum lands within f32 rounding of 1 - p.
 */
export function topPFilter(scores: Float32Array, p: number, minTokensToKeep = 1): void {
  if (p >= 1) return;
  // Only finite scores carry mass; -Inf ones are already removed.
  const idx: number[] = [];
  for (let i = 0; i < scores.length; i++) if (scores[i] > -Infinity) idx.push(i);
  idx.sort((a, b) => scores[a] - scores[b] || a - b); // ascending, stable by index
  let max = -Infinity;
  for (const i of idx) if (scores[i] > max) max = scores[i];
  let total = 0;
  const e = new Float64Array(idx.length);
  for (let j = 0; j < idx.length; j++) {
    e[j] = Math.exp(scores[idx[j]] - max);
    total += e[j];
  }
  let cum = 0;
  const keepFrom = idx.length - minTokensToKeep; // the last minTokensToKeep are never removed
  for (let j = 0; j < idx.length; j++) {
    cum += e[j] / total;
    if (j < keepFrom && cum <= 1 - p) scores[idx[j]] = -Infinity;
  }
}

/** Softmax in float64 (for sampling): -Inf -> probability 0. */
export function softmaxF64(scores: Float32Array): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < scores.length; i++) if (scores[i] > max) max = scores[i];
  const out = new Float64Array(scores.length);
  if (max === -Infinity)
    throw new InputError(`softmax over ${scores.length} scores: every score is -Inf`, 'the filters removed every token');
  let total = 0;
  for (let i = 0; i < scores.length; i++) {
    const e = scores[i] === -Infinity ? 0 : Math.exp(scores[i] - max);
    out[i] = e;
    total += e;
  }
  for (let i = 0; i < out.length; i++) out[i] /= total;
  return out;
}

/** Inverse-CDF draw: the first index whose cumulative probability exceeds u ∈ [0, 1). */
export function sampleFromProbs(probs: Float64Array, u: number): number {
  let cum = 0;
  let last = -1;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] <= 0) continue;
    last = i;
    cum += probs[i];
    if (u < cum) return i;
  }
  // u landed in the rounding gap above the final cumulative sum: the last non-zero token.
  return last;
}

/** The whole selection step for one position. Keeps its PRNG across calls. */
export class Sampler {
  readonly options: Required<SamplingOptions>;
  private readonly rng: Rng;

  constructor(opts: SamplingOptions = {}, seed = 0) {
    this.options = resolveSampling(opts);
    this.rng = new Rng(seed);
  }

  /** Choose the next id from one row of logits [V]; `previous` = ids generated so far. The
   *  logits are copied, not modified. */
  next(logits: Float32Array, previous: readonly number[]): number {
    const o = this.options;
    const scores = Float32Array.from(logits);
    applyRepetitionPenalty(scores, previous, o.repetitionPenalty);
    if (!o.doSample) return argmax(scores);
    applyTemperature(scores, o.temperature);
    if (o.topK > 0) topKFilter(scores, o.topK);
    if (o.topP < 1) topPFilter(scores, o.topP);
    return sampleFromProbs(softmaxF64(scores), this.rng.next());
  }
}
