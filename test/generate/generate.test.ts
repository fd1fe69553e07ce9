// The decode loop on a small random Llama: greedy ids equal step-by-step argmax over full
// recomputes (no cache), eos stopping (any id of a list), max_new_tokens, streaming forms,
// seeded sampling reproducibility.
import { describe, expect, it } from 'vitest';
import { TsBackend } from '../../src/backend/ts.js';
import { InputError } from '../../src/errors.js';
import { type GenerateResult, generate, generateStream } from '../../src/generate/generate.js';
import type { CausalLM } from '../../src/model/causal-lm.js';
import { loadLlm } from '../../src/model/ovis.js';
import type { Tensor } from '../../src/tensor.js';
import { microConfig, randomEmbeds, randomLlm } from '../model-llm/helpers.js';

const backend = new TsBackend();

async function tinyLm(flavour: 'llama' | 'gemma2', over: Record<string, unknown> = {}): Promise<CausalLM> {
  const cfg = microConfig(flavour, over);
  return loadLlm(cfg.llm_config, randomLlm(cfg, 3), backend);
}

/** Greedy continuation computed the slow, independent way: full forward over the whole
 *  sequence (fresh cache every step), argmax of the last row. */
function slowGreedy(lm: CausalLM, x: Tensor, n: number): number[] {
  const H = lm.hiddenSize;
  let seq = Float32Array.from(x.data);
  const ids: number[] = [];
  for (let s = 0; s < n; s++) {
    const T = seq.length / H;
    const l = lm.forward({ shape: [T, H], data: seq }, lm.newCache()).logits.data;
    let best = 0;
    for (let i = 1; i < l.length; i++) if (l[i] > l[best]) best = i;
    ids.push(best);
    const e = lm.embedTokens(Int32Array.of(best)).data;
    const next = new Float32Array(seq.length + H);
    next.set(seq);
    next.set(e, seq.length);
    seq = next;
  }
  return ids;
}

describe.each(['llama', 'gemma2'] as const)('generate (%s)', (flavour) => {
  it('greedy == step-by-step argmax over full recomputes', async () => {
    const lm = await tinyLm(flavour, flavour === 'gemma2' ? { sliding_window: 4 } : {});
    const x = randomEmbeds(6, lm.hiddenSize, 21);
    const want = slowGreedy(lm, x, 8);
    const got = generate(lm, x, { maxNewTokens: 8, eosTokenIds: [] });
    expect(got.ids).toEqual(want);
    expect(got.stopReason).toBe('length');
    expect(got.promptTokens).toBe(6);
    expect(got.prefillMs).toBeGreaterThanOrEqual(0);
    // the ids are not all the same token (else the check above would be weak)
    expect(new Set(want).size).toBeGreaterThan(1);
  });
});

describe('generate: stopping, callbacks, streaming, sampling', () => {
  it('stops on any eos id of the list and includes it (HF semantics)', async () => {
    const lm = await tinyLm('llama');
    const x = randomEmbeds(5, lm.hiddenSize, 22);
    const free = generate(lm, x, { maxNewTokens: 8, eosTokenIds: [] }).ids;
    const k = free.findIndex((id, i) => i >= 2 && !free.slice(0, i).includes(id));
    expect(k).toBeGreaterThan(0);
    const r = generate(lm, x, { maxNewTokens: 8, eosTokenIds: [lm.vocabSize - 1 === free[k] ? 0 : lm.vocabSize - 1, free[k]] });
    expect(r.ids).toEqual(free.slice(0, k + 1));
    expect(r.stopReason).toBe('eos');
  });
  it('maxNewTokens bounds the output; 0 runs only the prefill', async () => {
    const lm = await tinyLm('llama');
    const x = randomEmbeds(3, lm.hiddenSize, 23);
    expect(generate(lm, x, { maxNewTokens: 3, eosTokenIds: [] }).ids).toHaveLength(3);
    const seen: string[] = [];
    const r0 = generate(lm, x, {
      maxNewTokens: 0,
      eosTokenIds: [],
      tap: (n, t) => {
        seen.push(n);
        return t;
      },
    });
    expect(r0.ids).toEqual([]);
    expect(seen).toContain('logits');
    expect(() => generate(lm, x, { maxNewTokens: -1, eosTokenIds: [] })).toThrow(InputError);
    expect(() => generate(lm, x, { maxNewTokens: 2, eosTokenIds: [lm.vocabSize] })).toThrow(/outside the vocabulary/);
    expect(() => generate(lm, { shape: [0, lm.hiddenSize], data: new Float32Array(0) }, { maxNewTokens: 2, eosTokenIds: [] })).toThrow(
      /empty prompt/,
    );
  });
  it('onToken, the async iterator and the sync form agree', async () => {
    const lm = await tinyLm('gemma2');
    const x = randomEmbeds(4, lm.hiddenSize, 24);
    const cb: [number, number][] = [];
    const sync = generate(lm, x, { maxNewTokens: 5, eosTokenIds: [], onToken: (id, i) => cb.push([id, i]) });
    expect(cb).toEqual(sync.ids.map((id, i) => [id, i]));
    const streamed: number[] = [];
    let result: GenerateResult | undefined;
    for await (const id of generateStream(lm, x, {
      maxNewTokens: 5,
      eosTokenIds: [],
      onResult: (r) => {
        result = r;
      },
    }))
      streamed.push(id);
    expect(streamed).toEqual(sync.ids);
    expect(result?.ids).toEqual(sync.ids);
  });
  it('an aborted signal stops between tokens', async () => {
    const lm = await tinyLm('llama');
    const ac = new AbortController();
    const r = generate(lm, randomEmbeds(3, lm.hiddenSize, 25), {
      maxNewTokens: 10,
      eosTokenIds: [],
      signal: ac.signal,
      onToken: (_id, i) => {
        if (i === 1) ac.abort();
      },
    });
    expect(r.ids).toHaveLength(2);
    expect(r.stopReason).toBe('aborted');
  });
  it('sampling is reproducible by seed and differs across seeds', async () => {
    const lm = await tinyLm('llama');
    const x = randomEmbeds(3, lm.hiddenSize, 26);
    // temperature 3 flattens the tiny model's distribution so different seeds visibly diverge
    const opts = { maxNewTokens: 12, eosTokenIds: [], doSample: true, temperature: 3, topP: 0.95 };
    const a = generate(lm, x, { ...opts, seed: 1 }).ids;
    expect(generate(lm, x, { ...opts, seed: 1 }).ids).toEqual(a);
    expect(generate(lm, x, { ...opts, seed: 2 }).ids).not.toEqual(a);
  });
});
