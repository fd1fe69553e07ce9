// `ovis quantize` (src/quant/rtn.ts + quantize.ts) against reference/make_gptq.py: quantizing the
// tiny checkpoints with the fixtures' settings must give torch's GPTQ tensors bit for bit (scales in
// fp16, zero − 1 packing, round half to even), and the written folder must load and run (greedy ids
// and every stage equal to the dumps of HF on the dequantized weights).

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Checkpoint } from '../../src/checkpoint/checkpoint.js';
import { quantizeCheckpoint } from '../../src/checkpoint/quantize.js';
import { SafetensorsFile } from '../../src/io/safetensors.js';
import { loadReference, runParity } from '../../src/parity.js';
import { f32ToF16, roundHalfEven } from '../../src/quant/rtn.js';
import { OvisRunner } from '../../src/runner.js';
import { FIXTURES, flavourOf, type GptqVariant } from './fixture.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const CASES: [GptqVariant, 4 | 8, number, boolean][] = [
  ['llama-int4-g16', 4, 16, false],
  ['llama-int8-gall', 8, -1, true],
];

describe('ovis quantize vs make_gptq.py', () => {
  for (const [variant, bits, gs, sym] of CASES) {
    it(`${variant}: every GPTQ tensor equals torch's, and the folder runs with parity`, async () => {
      const out = mkdtempSync(join(tmpdir(), 'ovis-quantize-'));
      dirs.push(out);
      const r = await quantizeCheckpoint({
        model: join(FIXTURES, 'tiny', flavourOf(variant)),
        out,
        bits,
        groupSize: gs,
        sym,
        maxShardBytes: 1e6,
      });
      expect(r.quantized).toBe(14);
      expect(r.shards.length).toBeGreaterThan(1); // sharded + index (the 8 MB embedding alone exceeds 1 MB)
      const ck = await Checkpoint.open(out);
      const ref = await SafetensorsFile.open(join(FIXTURES, 'tiny-gptq', variant, 'model-00001-of-00002.safetensors'));
      try {
        expect(ck.quantization).toMatchObject({ bits, group_size: gs, sym, desc_act: false });
        expect(ck.check().ok).toBe(true);
        let n = 0;
        for (const name of ref.tensors.keys()) {
          const want = await ref.read(name);
          const got = await ck.read(name);
          expect(got.dtype, name).toBe(want.dtype);
          expect(got.shape, name).toEqual(want.shape);
          const a = new Uint8Array(got.data.buffer, got.data.byteOffset, got.data.byteLength);
          const b = new Uint8Array(want.data.buffer, want.data.byteOffset, want.data.byteLength);
          const i = a.findIndex((v, j) => v !== b[j]);
          if (i >= 0) expect.fail(`${name}: first differing byte ${i} of ${a.length}`);
          n++;
        }
        expect(n).toBe(14 * 4);
        const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
        expect(cfg.quantization_config).toEqual(JSON.parse(readFileSync(join(out, 'quantize_config.json'), 'utf8')));
      } finally {
        await ck.close();
        await ref.close();
      }
      const runner = await OvisRunner.load(out, { backend: 'ts' });
      try {
        const dump = await loadReference(join(FIXTURES, 'dumps-gptq', variant, 'text_only__f32.safetensors'));
        const p = await runParity(runner, dump);
        expect(p.ok, p.report).toBe(true);
      } finally {
        runner.dispose();
      }
    });
  }

  it('f32 -> fp16 rounds to nearest even, with subnormals and overflow (IEEE 754 binary16)', () => {
    expect(f32ToF16(1)).toBe(0x3c00);
    expect(f32ToF16(65504)).toBe(0x7bff);
    expect(f32ToF16(65520)).toBe(0x7c00); // halfway to 2^16 rounds to even = overflow
    expect(f32ToF16(65519)).toBe(0x7bff);
    expect(f32ToF16(2 ** -24)).toBe(0x0001);
    expect(f32ToF16(2 ** -25)).toBe(0x0000); // tie -> even (0)
    expect(f32ToF16(Math.fround(2 ** -25 * 1.0000001))).toBe(0x0001);
    expect(f32ToF16(3 * 2 ** -25)).toBe(0x0002); // 1.5 ulp -> even 2
    expect(f32ToF16(2 ** -14)).toBe(0x0400); // smallest normal
    expect(f32ToF16(1 + 2 ** -11)).toBe(0x3c00); // tie -> even
    expect(f32ToF16(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(f32ToF16(-2)).toBe(0xc000);
    expect(roundHalfEven(2.5)).toBe(2);
    expect(roundHalfEven(-2.5)).toBe(-2);
    expect(roundHalfEven(3.5)).toBe(4);
    expect(roundHalfEven(-0.4)).toBe(-0);
  });
});
