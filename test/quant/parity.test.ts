// The quantized path end to end against PyTorch: each tiny GPTQ checkpoint (reference/make_gptq.py,
// AutoGPTQ's format) is loaded as released — config.json quantization_config + quantize_config.json,
// qweight/qzeros/scales/g_idx — and run; every stage must match the dumps of HF's model run on the
// dequantized weights in f32 (reference/fixtures/dumps-gptq) within the f32 tolerance table, and the
// greedy ids must be identical. Backends: ts, and wasm at 1, 2 and 3 threads where it runs GPTQ.

import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Checkpoint } from '../../src/checkpoint/checkpoint.js';
import { loadReference, runParity } from '../../src/parity.js';
import { OvisRunner } from '../../src/runner.js';
import { FIXTURES, GPTQ_VARIANTS, materializeGptq } from './fixture.js';

const BACKENDS: { backend: 'ts' | 'wasm'; threads?: number }[] = [
  { backend: 'ts' },
  { backend: 'wasm', threads: 1 },
  { backend: 'wasm', threads: 2 },
  { backend: 'wasm', threads: 3 },
];

for (const variant of GPTQ_VARIANTS) {
  const dumpDir = join(FIXTURES, 'dumps-gptq', variant);
  const dumps = existsSync(dumpDir)
    ? readdirSync(dumpDir)
        .filter((f) => f.endsWith('__f32.safetensors'))
        .sort()
    : [];
  for (const be of BACKENDS) {
    describe(`GPTQ ${variant} (${be.backend}${be.threads ? `, ${be.threads} threads` : ''})`, () => {
      let dir: string;
      let runner: OvisRunner;
      beforeAll(async () => {
        dir = await materializeGptq(variant);
        runner = await OvisRunner.load(dir, { backend: be.backend, threads: be.threads });
      });
      afterAll(() => {
        runner?.dispose();
        if (dir) rmSync(dir, { recursive: true, force: true });
      });

      it('is read as a GPTQ checkpoint and every decoder Linear is quantized', async () => {
        const ck = await Checkpoint.open(dir);
        try {
          expect(ck.quantization).not.toBeNull();
          expect(ck.check().ok).toBe(true);
        } finally {
          await ck.close();
        }
        const layers = (
          runner.model.llm as unknown as {
            weights: {
              layers: { self_attn: { q_proj: { weight: { kind?: string } } }; mlp: { down_proj: { weight: { kind?: string } } } }[];
            };
          }
        ).weights.layers;
        expect(layers.every((L) => L.self_attn.q_proj.weight.kind === 'gptq' && L.mlp.down_proj.weight.kind === 'gptq')).toBe(true);
      });

      expect(dumps.length).toBe(2);
      for (const f of dumps) {
        it(f.replace('.safetensors', ''), async () => {
          const ref = await loadReference(join(dumpDir, f));
          const r = await runParity(runner, ref);
          if (!r.ok) console.log(`${variant}/${f}\n${r.report}`);
          expect(r.ok, r.report).toBe(true);
        });
      }
    });
  }
}
