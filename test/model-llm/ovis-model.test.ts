// OvisModel assembly on a random micro checkpoint (all components, real 384/14 geometry):
// crop-by-crop encoding equals the batched (traced) path, embed() wires encode + indicators +
// merge, the context guard uses multimodal_max_length, eos ids default to generation_config.
import { describe, expect, it } from 'vitest';
import { TsBackend } from '../../src/backend/ts.js';
import { InputError } from '../../src/errors.js';
import { generate } from '../../src/generate/generate.js';
import { OvisModel } from '../../src/model/ovis.js';
import type { Tensor } from '../../src/tensor.js';
import { microConfig, randn, randomOvis } from './helpers.js';

const backend = new TsBackend();
const cfg = microConfig('llama');
const S = cfg.visual_tokenizer_config.backbone_config.image_size; // 384

function pixels(n: number, seed: number): Float32Array {
  const r = randn(seed);
  return Float32Array.from({ length: n * 3 * S * S }, () => Math.max(-1, Math.min(1, 0.5 * r())));
}

describe('OvisModel', async () => {
  const gen = {
    bos_token_id: 1,
    eos_token_id: [2, 7],
    pad_token_id: null,
    do_sample: false,
    temperature: 1,
    top_p: 1,
    top_k: 50,
    repetition_penalty: 1,
    max_new_tokens: null,
    max_length: 20,
    source: 'test',
  };
  const model = await OvisModel.fromSource(cfg, gen, randomOvis(cfg, 5), backend);
  const H = cfg.hidden_size;

  it('encodes crops one at a time exactly like the traced batch, and taps every vision stage', () => {
    const px = pixels(2, 1);
    const seen: string[] = [];
    const batched = model.encodeImages(px, 2, (n, t) => {
      seen.push(`${n}[${t.shape}]`);
      return t;
    });
    const single = model.encodeImages(px, 2);
    expect(single.shape).toEqual([2, 196, H]);
    expect(Array.from(single.data)).toEqual(Array.from(batched.data));
    expect(seen[0]).toBe(`pixel_values[2,3,${S},${S}]`);
    expect(seen).toContain(`vte.embeds[2,196,${H}]`);
    // the two crops differ (so the equality above is not trivially about one crop)
    expect(single.data.subarray(0, 196 * H)).not.toEqual(single.data.subarray(196 * H));
    expect(() => model.encodeImages(px.subarray(1), 2)).toThrow(/pixel_values has/);
  });

  it('reports progress: each crop as it is encoded, each decoder layer of the prefill', () => {
    const crops: string[] = [];
    model.encodeImages(pixels(3, 2), 3, undefined, (done, n) => crops.push(`${done}/${n}`));
    expect(crops).toEqual(['1/3', '2/3', '3/3']);
    const layers: string[] = [];
    const ids = Int32Array.from([5, 6, 7]);
    const r = generate(model.llm, model.llm.embedTokens(ids), {
      maxNewTokens: 2,
      eosTokenIds: [],
      onPrefillLayer: (done, n) => layers.push(`${done}/${n}`),
    });
    expect(r.ids.length).toBe(2);
    const L = cfg.llm_config.num_hidden_layers;
    expect(layers).toEqual(Array.from({ length: L }, (_, i) => `${i + 1}/${L}`)); // the prefill only, not the decode steps
  });

  it('embed = merge(encodeImages, indicatorEmbeds) and routes taps', () => {
    const px = pixels(1, 2);
    const ids = [1, 9, -301, -300, -302, -305, 10];
    const e = model.embed(ids, { pixelValues: px, n: 1 });
    const want = model.mergeMultimodal(ids, model.encodeImages(px, 1), model.indicatorEmbeds());
    expect(e.shape).toEqual([ids.length - 1 + 196, H]);
    expect(Array.from(e.data)).toEqual(Array.from(want.data));
    const names: string[] = [];
    model.embed(ids, { pixelValues: px, n: 1 }, (n, t: Tensor) => {
      names.push(n);
      return t;
    });
    expect(names).toContain('vte.indicators');
    expect(names).toContain('vit.layers.1');
    // text only: a plain lookup
    expect(Array.from(model.embed([3, 4]).data)).toEqual(Array.from(model.llm.embedTokens(Int32Array.of(3, 4)).data));
  });

  it('guards the context with multimodal_max_length from config.json', async () => {
    const small = await OvisModel.fromSource({ ...cfg, multimodal_max_length: 150 }, gen, randomOvis(cfg, 5), backend, { textOnly: true });
    const vis: Tensor = { shape: [1, 196, H], data: new Float32Array(196 * H) };
    const ind: Tensor = { shape: [5, H], data: new Float32Array(5 * H) };
    expect(() => small.mergeMultimodal([1, -301, -300, -305], vis, ind)).toThrow(/multimodal_max_length 150/);
    expect(() => small.encodeImages(pixels(1, 3), 1)).toThrow(InputError); // loaded text-only
  });

  it('eosTokenIds: generation_config eos ids, which stop generate', async () => {
    const x = model.embed([1, 5, 6, 8]);
    const free = generate(model.llm, x, { maxNewTokens: 6, eosTokenIds: [] }).ids;
    const k = free.findIndex((id, i) => i >= 1 && !free.slice(0, i).includes(id));
    expect(k).toBeGreaterThan(0);
    // same weights, a generation_config whose eos list holds the k-th generated id
    const m2 = await OvisModel.fromSource(cfg, { ...gen, eos_token_id: [500, free[k]] }, randomOvis(cfg, 5), backend, { textOnly: true });
    const r = generate(m2.llm, x, { maxNewTokens: 6, eosTokenIds: m2.eosTokenIds });
    expect(r.ids).toEqual(free.slice(0, k + 1));
    expect(r.stopReason).toBe('eos');
    expect(generate(m2.llm, x, { maxNewTokens: 6, eosTokenIds: [] }).ids).toEqual(free);
  });
});
