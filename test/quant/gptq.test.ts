// GPTQ reading against PyTorch: every quantized Linear of the tiny GPTQ fixtures
// (reference/make_gptq.py: AutoGPTQ's packing, zero − 1 in qzeros, act-order g_idx) is validated
// and unpacked by src/quant/gptq.ts, and its dequantized weight must equal, bit for bit, the one
// make_gptq.py computed in torch from the same stored tensors (dequantized.safetensors).
// Plus: every unsupported variant is a QuantizationError naming the field and its value.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { QuantizationError } from '../../src/errors.js';
import { SafetensorsFile } from '../../src/io/safetensors.js';
import {
  dequantize,
  type GptqConfig,
  isQuantizedModule,
  parseGptqConfig,
  prepareGptqLinear,
  resolveQuantization,
} from '../../src/quant/gptq.js';
import { FIXTURES, GPTQ_VARIANTS } from './fixture.js';

const GPTQ_FIXTURES = join(FIXTURES, 'tiny-gptq');

async function load(variant: string) {
  const dir = join(GPTQ_FIXTURES, variant);
  const q = parseGptqConfig(JSON.parse(readFileSync(join(dir, 'quantize_config.json'), 'utf8')), 'quantize_config.json');
  const shard = await SafetensorsFile.open(join(dir, 'model-00001-of-00002.safetensors'));
  const deq = await SafetensorsFile.open(join(dir, 'dequantized.safetensors'));
  return { dir, q, shard, deq };
}

describe('GPTQ tensors vs torch (reference/make_gptq.py)', () => {
  for (const variant of GPTQ_VARIANTS) {
    it(`${variant}: every Linear dequantizes to torch's f32 weights bit for bit`, async () => {
      const { q, shard, deq } = await load(variant);
      let n = 0;
      let permuted = 0;
      try {
        for (const [name, info] of deq.tensors) {
          const prefix = name.slice(0, -'.weight'.length);
          expect(isQuantizedModule(prefix)).toBe(true);
          const [N, K] = info.shape;
          const t = {
            qweight: await shard.read(`${prefix}.qweight`),
            qzeros: await shard.read(`${prefix}.qzeros`),
            scales: await shard.read(`${prefix}.scales`),
            g_idx: await shard.read(`${prefix}.g_idx`),
          };
          const d = prepareGptqLinear(prefix, N, K, q, t, variant, false);
          if (d.perm) permuted++;
          const got = dequantize(d);
          const want = (await deq.read(name)).data as Float32Array;
          expect(got.length).toBe(want.length);
          let bad = -1;
          for (let i = 0; i < got.length && bad < 0; i++) if (!Object.is(got[i], want[i])) bad = i;
          if (bad >= 0)
            expect.fail(`${name}: first difference at (${Math.floor(bad / K)}, ${bad % K}): got ${got[bad]}, torch ${want[bad]}`);
          n++;
        }
      } finally {
        await shard.close();
        await deq.close();
      }
      expect(n).toBe(14);
      // act order really permutes (so the repacking is exercised), and only there
      expect(permuted).toBe(q.desc_act ? 14 : 0);
    });
  }

  it('the classic zero − 1 offset: a stored 2^bits − 1 reads back as zero 2^bits (AutoGPTQ semantics)', () => {
    const q: GptqConfig = {
      quant_method: 'gptq',
      bits: 4,
      group_size: -1,
      sym: false,
      desc_act: false,
      checkpoint_format: 'gptq',
      source: 't',
    };
    const N = 8;
    const K = 8;
    const t = {
      qweight: { dtype: 'I32' as const, shape: [1, N], data: new Int32Array(N).fill(0x76543210) }, // q[k] = k
      qzeros: { dtype: 'I32' as const, shape: [1, 1], data: new Int32Array([0xf]) }, // column 0: stored 15 -> zero 16; others stored 0 -> zero 1
      scales: { dtype: 'F16' as const, shape: [1, N], data: new Uint16Array(N).fill(0x3c00) }, // 1.0
    };
    const d = prepareGptqLinear('llm.model.layers.0.mlp.up_proj', N, K, q, t, 't', false);
    const W = dequantize(d);
    expect(Array.from(W.subarray(0, K))).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((k) => k - 16));
    expect(Array.from(W.subarray(K, 2 * K))).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((k) => k - 1));
    const v2 = prepareGptqLinear('llm.model.layers.0.mlp.up_proj', N, K, { ...q, checkpoint_format: 'gptq_v2' }, t, 't', false);
    expect(dequantize(v2)[K]).toBe(0); // gptq_v2 stores the zero itself
  });
});

describe('GPTQ config: typed errors name the field and value', () => {
  const base = { bits: 4, group_size: 128, sym: true, desc_act: false, quant_method: 'gptq', checkpoint_format: 'gptq' };
  const bad: [Record<string, unknown>, string, unknown][] = [
    [{ bits: 3 }, 'bits', 3],
    [{ bits: 2 }, 'bits', 2],
    [{ checkpoint_format: 'marlin' }, 'checkpoint_format', 'marlin'],
    [{ is_marlin_format: true }, 'is_marlin_format', true],
    [{ quant_method: 'exl2' }, 'quant_method', 'exl2'],
    [{ quant_method: 'awq' }, 'quant_method', 'awq'],
    [{ group_size: 0 }, 'group_size', 0],
    [{ group_size: 12 }, 'group_size', 12],
    [{ sym: 'yes' }, 'sym', 'yes'],
    [{ some_new_key: 1 }, 'some_new_key', 1],
  ];
  for (const [patch, field, value] of bad) {
    it(`${JSON.stringify(patch)} -> QuantizationError on ${field}`, () => {
      let err: unknown;
      try {
        parseGptqConfig({ ...base, ...patch }, 'quantize_config.json');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(QuantizationError);
      const q = err as QuantizationError;
      expect(q.field).toBe(field);
      expect(q.value).toEqual(value);
      expect(q.message).toContain(`${field} = ${JSON.stringify(value)}`);
    });
  }

  it('accepts the release fields, defaults as AutoGPTQ, and checks the two files agree', () => {
    const c = parseGptqConfig(
      {
        bits: 4,
        group_size: 128,
        damp_percent: 0.01,
        desc_act: false,
        static_groups: false,
        sym: true,
        true_sequential: true,
        model_name_or_path: null,
        model_file_base_name: 'model',
      },
      'q',
    );
    expect(c).toMatchObject({ bits: 4, group_size: 128, sym: true, desc_act: false, checkpoint_format: 'gptq' });
    expect(() => resolveQuantization({ ...base, group_size: 64 }, 'config.json', base, 'quantize_config.json')).toThrow(
      /group_size = 128: differs from config.json quantization_config.group_size = 64/,
    );
    expect(resolveQuantization(undefined, 'c', undefined, 'q')).toBeNull();
  });

  it('tensor shape and dtype problems name the tensor', () => {
    const q = parseGptqConfig(base, 'q');
    const t = {
      qweight: { dtype: 'I32' as const, shape: [16, 64], data: new Int32Array(16 * 64) },
      qzeros: { dtype: 'I32' as const, shape: [1, 8], data: new Int32Array(8) },
      scales: { dtype: 'BF16' as const, shape: [1, 64], data: new Uint16Array(64) },
    };
    expect(() => prepareGptqLinear('p', 64, 128, q, t, 'f', false)).toThrow(/p.scales = "BF16": expected dtype F16/);
    expect(() => prepareGptqLinear('p', 64, 128, q, { ...t, qweight: undefined }, 'f', false)).toThrow(/p.qweight = "missing"/);
    expect(() =>
      prepareGptqLinear('p', 64, 128, q, { ...t, scales: { dtype: 'F16', shape: [1, 64], data: new Uint16Array(64) } }, 'f', true),
    ).toThrow(/p.bias = "missing"/);
  });
});
