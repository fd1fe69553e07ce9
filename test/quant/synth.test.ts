// `ovis synth --quant` and the 27B preset: a synthetic GPTQ checkpoint loads as GPTQ and runs; the
// Ovis1.6-Gemma2-27B preset has the release's parameter count; a float checkpoint larger than the
// machine's RAM is refused before loading, saying how much it needs and how to make the int4 one.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TsBackend } from '../../src/backend/ts.js';
import { Checkpoint } from '../../src/checkpoint/checkpoint.js';
import { synthCheckpoint } from '../../src/checkpoint/synth.js';
import { expectedTensors, PRESETS, parseOvisConfig } from '../../src/config/index.js';
import { DTYPE_BYTES } from '../../src/dtype.js';
import { OvisModel } from '../../src/model/ovis.js';
import { dequantize, prepareGptqLinear } from '../../src/quant/gptq.js';
import { residentWeightBytes, weightsExceedRam } from '../../src/runner.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('synth --quant gptq-int4', () => {
  it('micro-llama: a GPTQ checkpoint whose weights have the float std and which runs', async () => {
    const out = mkdtempSync(join(tmpdir(), 'ovis-synth-q-'));
    dirs.push(out);
    await synthCheckpoint({ out, preset: 'micro-llama', quant: { bits: 4, groupSize: 32 } });
    const ck = await Checkpoint.open(out);
    try {
      expect(ck.quantization).toMatchObject({ bits: 4, group_size: 32, sym: true });
      expect(ck.check().ok).toBe(true);
      const p = 'llm.model.layers.1.mlp.down_proj';
      const d = prepareGptqLinear(
        p,
        64,
        128,
        ck.quantization!,
        {
          qweight: await ck.read(`${p}.qweight`),
          qzeros: await ck.read(`${p}.qzeros`),
          scales: await ck.read(`${p}.scales`),
          g_idx: await ck.read(`${p}.g_idx`),
        },
        out,
        false,
      );
      const W = dequantize(d);
      const mean = W.reduce((a, b) => a + b, 0) / W.length;
      const std = Math.sqrt(W.reduce((a, b) => a + (b - mean) ** 2, 0) / W.length);
      expect(std).toBeGreaterThan(0.017);
      expect(std).toBeLessThan(0.023); // the float synth's N(0, 0.02)
      const model = await OvisModel.load(ck, new TsBackend(), { textOnly: true });
      const x = model.llm.embedTokens(new Int32Array([1, 2, 3]));
      const r = model.llm.forward(x, model.llm.newCache(), { logitsRows: 'last' });
      expect(r.logits.data.every(Number.isFinite)).toBe(true);
    } finally {
      await ck.close();
    }
  });
});

describe('Ovis1.6-Gemma2-27B', () => {
  const cfg = parseOvisConfig(PRESETS['ovis1.6-gemma2-27b'].files()['config.json'], '27b');
  const asCheckpoint = (q: { bits: 4; group_size: number } | null) => ({
    config: cfg,
    quantization: q
      ? { quant_method: 'gptq' as const, ...q, sym: true, desc_act: false, checkpoint_format: 'gptq' as const, source: '' }
      : null,
    tensors: new Map(
      expectedTensors(cfg, q).map((e) => [
        e.name,
        {
          name: e.name,
          dtype: e.dtype ?? ('BF16' as const),
          shape: e.shape,
          file: '',
          dataOffset: 0,
          byteLength: e.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[e.dtype ?? 'BF16'],
        },
      ]),
    ),
  });

  it('preset: gemma-2-27b-it shapes, ~28.2 B parameters', () => {
    expect(cfg.llm_config).toMatchObject({
      hidden_size: 4608,
      intermediate_size: 36864,
      num_hidden_layers: 46,
      num_attention_heads: 32,
      num_key_value_heads: 16,
      head_dim: 128,
      query_pre_attn_scalar: 144,
    });
    const params = expectedTensors(cfg).reduce((a, e) => a + e.shape.reduce((x, y) => x * y, 1), 0);
    expect(params / 1e9).toBeGreaterThan(28.0);
    expect(params / 1e9).toBeLessThan(28.5);
  });

  it('bf16 is refused on 24 GB with the RAM it needs and the int4 command; int4 fits', () => {
    const bf16 = residentWeightBytes(asCheckpoint(null));
    const int4 = residentWeightBytes(asCheckpoint({ bits: 4, group_size: 128 }));
    expect(bf16 / 1e9).toBeGreaterThan(55);
    expect(int4 / 1e9).toBeLessThan(20);
    const e = weightsExceedRam(bf16, 24e9, asCheckpoint(null), 'AIDC-AI/Ovis1.6-Gemma2-27B');
    expect(e.message).toMatch(/need about 5\d\.\d GB of RAM .* this machine has 24\.0 GB: refused before loading/);
    expect(e.hint).toMatch(/ovis quantize --model AIDC-AI\/Ovis1.6-Gemma2-27B --to int4/);
    expect(e.hint).toContain(`about ${(int4 / 1e9).toFixed(1)} GB`);
    // when the larger half fits, --low-memory comes first; when it does not, the int4 advice stays
    const low = weightsExceedRam(9e9, 8e9, asCheckpoint(null), 'M', 6.5e9);
    expect(low.message).toMatch(/about 9\.0 GB of RAM with the vision half and the LLM resident together, and this machine has 8\.0 GB/);
    expect(low.hint).toMatch(/ovis run --low-memory holds one half at a time \(at most 6\.5 GB of weights\)/);
    expect(weightsExceedRam(bf16, 24e9, asCheckpoint(null), 'M', 50e9).hint).toMatch(/ovis quantize/);
  });
});
