// The decode loop — what HF's `generate(inputs_embeds=...)` does for Ovis (batch 1, no beams):
//   1. prefill: one forward over the whole merged prompt [T, H], filling the KV cache;
//   2. pick a token from the last row's logits (greedy argmax, or sampling — samplers.ts);
//   3. decode: embed that token, run a one-token forward against the cache, repeat;
//   4. stop when the token is any of the eos ids (generation_config may list several), or after
//      max_new_tokens tokens. Like HF, the returned ids include the eos token that stopped it.
// Two forms: `generate` (synchronous, with an optional per-token callback) and `generateStream`
// (an async iterator of ids that yields to the event loop between tokens).

import { InputError } from '../errors.js';
import type { CausalLM, LogitsRows } from '../model/causal-lm.js';
import type { KVCache } from '../model/kv-cache.js';
import type { Tensor } from '../tensor.js';
import type { Tap } from '../trace/tap.js';
import { Sampler, type SamplingOptions } from './samplers.js';

export interface GenerateOptions extends SamplingOptions {
  /** At most this many new tokens (HF `max_new_tokens`), eos included. 0 = prefill only. */
  maxNewTokens: number;
  /** Stop on any of these ids (generation_config `eos_token_id`, normalised to a list). */
  eosTokenIds: readonly number[];
  /** Seed of the sampling PRNG (ignored when greedy). Default 0. */
  seed?: number;
  /** Called with each new id (streaming). */
  onToken?: (id: number, index: number) => void;
  /** Stage taps for the prefill forward only (trace mode); decode steps are not tapped. */
  tap?: Tap;
  /** Extra prefill rows whose logits are computed and tapped (trace mode). The last row is always
   *  computed: it picks the first token. */
  prefillLogitsRows?: LogitsRows;
  /** Checked between tokens; an aborted signal ends generation with stopReason 'aborted'. */
  signal?: AbortSignal;
  /** Progress of the prefill forward: called after each decoder layer (of each chunk). */
  onPrefillLayer?: (done: number, layers: number) => void;
  /** Prefill at most about this many prompt rows per forward (default: the whole prompt in one).
   *  The activations of a forward scale with its rows ([T, intermediate] f32 per MLP: 66 MB at
   *  T = 2001 on the 3B), so chunks bound the peak memory of a long prompt. The logits are the
   *  same bits: every chunk has >= 16 rows (the blocked attention, as one forward uses), each
   *  query sees the same keys in the same order, and the GEMMs do not depend on M. Ignored in
   *  trace mode (`tap`, `prefillLogitsRows`), which records whole stages. */
  prefillChunkTokens?: number;
  /** Continue this cache instead of a new one (a conversation's earlier positions): the prompt
   *  rows sit after its `length`, and the cache is left to the caller (not disposed); afterwards
   *  it holds the prompt and every generated token but the last. */
  cache?: KVCache;
}

export interface GenerateResult {
  /** Generated ids, in order, including the eos id that stopped generation (HF semantics). */
  ids: number[];
  stopReason: 'eos' | 'length' | 'aborted';
  /** Prompt length T (merged sequence, visual tokens included). */
  promptTokens: number;
  /** Wall time of the prefill forward. */
  prefillMs: number;
  /** Wall time after the prefill: token selection + one-token forwards. */
  decodeMs: number;
  /** Decode speed: one-token forwards per second (the first token comes from the prefill). */
  tokensPerSecond: number;
}

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

function validate(lm: CausalLM, embeds: Tensor, o: GenerateOptions): void {
  if (!Number.isInteger(o.maxNewTokens) || o.maxNewTokens < 0) {
    throw new InputError(`maxNewTokens must be an integer >= 0, got ${o.maxNewTokens}`);
  }
  const badEos = o.eosTokenIds.filter((id) => !Number.isInteger(id) || id < 0 || id >= lm.vocabSize);
  if (badEos.length) {
    throw new InputError(
      `eos token ids ${JSON.stringify(badEos)} are outside the vocabulary [0, ${lm.vocabSize})`,
      'generation_config.json and config.json come from different checkpoints?',
    );
  }
  if (embeds.shape.length !== 2 || embeds.shape[1] !== lm.hiddenSize || embeds.shape[0] < 1) {
    throw new InputError(
      `inputs_embeds has shape [${embeds.shape}], expected [T, ${lm.hiddenSize}] with T >= 1`,
      'an empty prompt cannot be continued: the prompt needs at least one token',
    );
  }
}

/** The loop as a synchronous generator: yields each id, returns the result. */
function* steps(lm: CausalLM, inputsEmbeds: Tensor, o: GenerateOptions): Generator<number, GenerateResult, void> {
  validate(lm, inputsEmbeds, o);
  const sampler = new Sampler(o, o.seed ?? 0);
  const eos = new Set(o.eosTokenIds);
  const T = inputsEmbeds.shape[0];
  const V = lm.vocabSize;
  if (o.cache) {
    const r = yield* run(lm, inputsEmbeds, o, o.cache, sampler, eos, T, V);
    return { ...r, promptTokens: o.cache.length - Math.max(0, r.ids.length - 1) };
  }
  const cache = lm.newCache(T + o.maxNewTokens);
  try {
    return yield* run(lm, inputsEmbeds, o, cache, sampler, eos, T, V);
  } finally {
    cache.dispose(); // the rows go back to the backend's KV arena now, not at GC time
  }
}

function* run(
  lm: CausalLM,
  inputsEmbeds: Tensor,
  o: GenerateOptions,
  cache: KVCache,
  sampler: Sampler,
  eos: Set<number>,
  T: number,
  V: number,
): Generator<number, GenerateResult, void> {
  // --- prefill: logits for the last row (+ any rows a trace asked for)
  let rows: readonly number[] = [T - 1];
  const extra = o.prefillLogitsRows;
  if (extra === 'all') rows = Array.from({ length: T }, (_, i) => i);
  else if (Array.isArray(extra)) rows = [...new Set([...(extra as readonly number[]), T - 1])].sort((a, b) => a - b);
  const t0 = now();
  const pieces = o.tap || extra !== undefined ? [T] : prefillPieces(T, o.prefillChunkTokens);
  const H = inputsEmbeds.shape[1];
  let r0 = 0; // first prompt row of the current piece
  let pre: ReturnType<CausalLM['forward']> | undefined;
  for (const [i, n] of pieces.entries()) {
    const last = i === pieces.length - 1;
    const chunk = pieces.length === 1 ? inputsEmbeds : { shape: [n, H], data: inputsEmbeds.data.subarray(r0 * H, (r0 + n) * H) }; // [n, H]
    const onLayer = o.onPrefillLayer && ((done: number, layers: number) => o.onPrefillLayer!(i * layers + done, pieces.length * layers));
    // logits rows are rows of the piece; with several pieces only the prompt's last row
    pre = lm.forward(chunk, cache, { logitsRows: !last ? 'none' : pieces.length === 1 ? rows : [n - 1], tap: o.tap, onLayer });
    if (!last) r0 += n;
  }
  const tPrefill = now();
  const lastAt = pre!.rows.indexOf(T - 1 - r0);
  let logits = pre!.logits.data.subarray(lastAt * V, (lastAt + 1) * V); // [V]

  // --- decode
  const ids: number[] = [];
  let stopReason: GenerateResult['stopReason'] = 'length';
  while (ids.length < o.maxNewTokens) {
    if (o.signal?.aborted) {
      stopReason = 'aborted';
      break;
    }
    const id = sampler.next(logits, ids);
    ids.push(id);
    o.onToken?.(id, ids.length - 1);
    yield id;
    if (eos.has(id)) {
      stopReason = 'eos';
      break;
    }
    if (ids.length >= o.maxNewTokens) break;
    const e = lm.embedTokens(Int32Array.of(id)); // [1, H]
    logits = lm.forward(e, cache, { logitsRows: 'last' }).logits.data; // [1, V]
  }
  const tEnd = now();
  const decodeMs = tEnd - tPrefill;
  const steps1 = Math.max(0, ids.length - 1);
  return {
    ids,
    stopReason,
    promptTokens: T,
    prefillMs: tPrefill - t0,
    decodeMs,
    tokensPerSecond: steps1 > 0 && decodeMs > 0 ? (steps1 * 1000) / decodeMs : 0,
  };
}

/** Row counts of the prefill forwards: T split into ceil(T / chunk) near-equal pieces, each
 *  >= 16 rows (a forward of fewer rows takes the decode attention kernel, whose summation
 *  order differs); one piece without a chunk size or when T is small. */
export function prefillPieces(T: number, chunk: number | undefined): number[] {
  if (chunk === undefined || !(chunk >= 32) || T <= chunk) return [T];
  const n = Math.ceil(T / Math.floor(chunk));
  const base = Math.floor(T / n);
  return Array.from({ length: n }, (_, i) => base + (i < T - base * n ? 1 : 0));
}

/** Generate synchronously (onToken is called for each id). */
export function generate(lm: CausalLM, inputsEmbeds: Tensor, opts: GenerateOptions): GenerateResult {
  const it = steps(lm, inputsEmbeds, opts);
  for (;;) {
    const r = it.next();
    if (r.done) return r.value;
  }
}

/**
 * Generate as an async iterator of ids: `for await (const id of generateStream(...))`.
 * The iterator's return value (via `.next()` when done) is the GenerateResult; `onResult` gets it
 * too, for `for await` loops. Yields to the event loop between tokens so output can flush and
 * signals/timers run while the CPU-bound forward passes go on.
 */
export async function* generateStream(
  lm: CausalLM,
  inputsEmbeds: Tensor,
  opts: GenerateOptions & { onResult?: (r: GenerateResult) => void },
): AsyncGenerator<number, GenerateResult, void> {
  const it = steps(lm, inputsEmbeds, opts);
  for (;;) {
    const r = it.next();
    if (r.done) {
      opts.onResult?.(r.value);
      return r.value;
    }
    yield r.value;
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
  }
}
