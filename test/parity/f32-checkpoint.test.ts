// Parity for F32 checkpoints. The committed tiny checkpoints are BF16 with bf16-exact values, so
// an F32 checkpoint is derived here by upcasting (exact) and written with our safetensors writer
// (one unsharded model.safetensors); it must match the f32-mode dumps like the BF16 one does.

import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Checkpoint } from '../../src/checkpoint/checkpoint.js';
import { type TensorEntry, writeSafetensors } from '../../src/io/safetensors.js';
import { loadReference, runParity } from '../../src/parity.js';
import { OvisRunner } from '../../src/runner.js';

const FIXTURES = join(__dirname, '..', '..', 'reference', 'fixtures');

async function deriveF32(flavour: string): Promise<string> {
  const src = join(FIXTURES, 'tiny', flavour);
  const dir = mkdtempSync(join(tmpdir(), `ovis-f32-${flavour}-`));
  for (const f of readdirSync(src))
    if (f.endsWith('.json') && f !== 'model.safetensors.index.json') copyFileSync(join(src, f), join(dir, f));
  const ck = await Checkpoint.open(src);
  const entries: TensorEntry[] = [];
  for (const name of ck.tensors.keys()) {
    entries.push({ name, dtype: 'F32', shape: ck.tensors.get(name)!.shape, data: await ck.readF32(name) });
  }
  await ck.close();
  await writeSafetensors(join(dir, 'model.safetensors'), entries, { format: 'pt' });
  return dir;
}

// both backends: on wasm the F32 weights go through loadWeightFrom (read straight into wasm
// memory) and the f32-weight GEMM/GEMV kernels
for (const flavour of ['llama', 'gemma2'])
  for (const backend of ['ts', 'wasm'] as const) {
    describe(`F32 checkpoint parity (${flavour}, derived from the BF16 one, ${backend} backend)`, () => {
      let dir: string;
      let runner: OvisRunner;
      beforeAll(async () => {
        dir = await deriveF32(flavour);
        runner = await OvisRunner.load(dir, { backend });
      });
      afterAll(() => {
        runner?.dispose();
        rmSync(dir, { recursive: true, force: true });
      });

      it('holds F32 weights', async () => {
        const ck = await Checkpoint.open(dir);
        expect([...ck.tensors.values()].every((t) => t.dtype === 'F32')).toBe(true);
        await ck.close();
        expect(runner.model.backend.name).toBe(backend);
      });

      for (const c of ['text_only', 'square', 'two_images']) {
        it(`${c}__f32`, async () => {
          const r = await runParity(runner, await loadReference(join(FIXTURES, 'dumps', flavour, `${c}__f32.safetensors`)));
          if (!r.ok) console.log(r.report);
          expect(r.ok, r.report).toBe(true);
        });
      }
    });
  }
