// quantDot 'int8' (`--quant-dot-activations int8`) at model level, on the tiny GPTQ checkpoints:
// every quantized Linear rounds x to int8 per block of 32 inputs (decode's GEMV and prefill's GEMM
// alike: the same twin, kernels.test.ts). Teacher-forced
// decode on the same token sequence through three runners — the f32 parity path, quantDot 'int16'
// and 'int8' (relaxed build: i8 dots on int4 weights) — and the logits of the prefill and of every
// step compared with the f32 path's: int8 must move them (it is live), but by no more than
// the int8 rounding allows (docs/quantization.md: ~5e-3 of the outputs of one Linear, 1e-2 with
// outlier channels; through the layers ~1e-2 of the logits' range). The kernel-level bits are held
// to the twin in kernels.test.ts / wasm-backend.test.ts; here: wiring and magnitude.
// Then the CLI: the option's refusals, and a run.

import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWasmBackend } from '../../src/backend/wasm.js';
import { BackendError } from '../../src/errors.js';
import { OvisRunner } from '../../src/runner.js';
import { materializeGptq } from './fixture.js';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');

/** Logits of a 12-token prefill (last row) and of 8 teacher-forced decode steps. */
async function forcedLogits(runner: OvisRunner, ids: number[], steps: number[]): Promise<Float32Array[]> {
  const lm = runner.model.llm;
  const cache = lm.newCache(ids.length + steps.length);
  try {
    const out: Float32Array[] = [];
    out.push(lm.forward(lm.embedTokens(Int32Array.from(ids)), cache).logits.data.slice());
    for (const t of steps) out.push(lm.forward(lm.embedTokens(Int32Array.of(t)), cache).logits.data.slice());
    return out;
  } finally {
    cache.dispose();
  }
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
}

/** max |a − b| / (max b − min b) */
function relToRange(a: Float32Array, b: Float32Array): number {
  let lo = Infinity;
  let hi = -Infinity;
  let d = 0;
  for (let i = 0; i < b.length; i++) {
    lo = Math.min(lo, b[i]);
    hi = Math.max(hi, b[i]);
    d = Math.max(d, Math.abs(a[i] - b[i]));
  }
  return d / (hi - lo);
}

for (const variant of ['llama-int4-g16', 'gemma2-int4-g8-act', 'llama-int8-gall'] as const) {
  describe(`quantDot 'int8' decode on GPTQ ${variant}`, () => {
    let dir: string;
    beforeAll(async () => {
      dir = await materializeGptq(variant);
    });
    afterAll(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('moves the prefill and decode logits by int8 rounding only, in the default and the relaxed build', async () => {
      const ids = [1, 17, 5, 99, 23, 7, 64, 3, 250, 11, 42, 8];
      const steps = [5, 77, 19, 3, 140, 2, 66, 31];
      const run = async (opts: Parameters<typeof OvisRunner.load>[1]) => {
        const r = await OvisRunner.load(dir, { backend: 'wasm', threads: 2, ...opts });
        try {
          return await forcedLogits(r, ids, steps);
        } finally {
          r.dispose();
        }
      };
      const f32 = await run({});
      const i16 = await run({ quantDot: 'int16' });
      const i8 = await run({ quantDot: 'int8' });
      const i8r = await run({ quantDot: 'int8', kernels: 'relaxed' });
      // (no toEqual on 128k-entry arrays: its diff of a failure would take minutes)
      expect(sameBits(i8[0], i16[0])).toBe(false); // the prefill (12 rows, GEMM) is int8 too
      for (let s = 0; s < f32.length; s++) {
        const e16 = relToRange(i16[s], f32[s]);
        const e8 = relToRange(i8[s], f32[s]);
        expect(e16, `step ${s}: int16`).toBeLessThan(1e-3);
        expect(e8, `step ${s}: int8 moves the logits`).toBeGreaterThan(e16);
        expect(e8, `step ${s}: int8 within its rounding`).toBeLessThan(5e-2);
        // the relaxed build: i8 dots (the same integers) but FMA in the f32 kernels, whose last-bit
        // differences can move an x across an int8 rounding boundary: held to the same bound
        expect(relToRange(i8r[s], f32[s]), `step ${s}: int8, relaxed build`).toBeLessThan(5e-2);
      }
    });
  });
}

describe('quantDot option checks', () => {
  it('the backend refuses an unknown quantDot value', async () => {
    await expect(createWasmBackend({ threads: 1, quantDot: 'int4' as never })).rejects.toThrow(BackendError);
    await expect(createWasmBackend({ threads: 1, quantDot: 'int4' as never })).rejects.toThrow(
      /quantDot must be true, false, 'int16' or 'int8', got "int4"/,
    );
  });

  it('CLI: a bad value and the ts backend are usage errors; int8 runs a GPTQ checkpoint', async () => {
    const bad = spawnSync(process.execPath, [CLI, 'run', '--prompt', 'hi', '--quant-dot-activations', 'int4'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--quant-dot-activations must be 'int16' or 'int8', got 'int4'/);
    const ts = spawnSync(process.execPath, [CLI, 'run', '--prompt', 'hi', '--backend', 'ts', '--quant-dot-activations', 'int8'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(ts.status).toBe(2);
    expect(ts.stderr).toMatch(/--quant-dot applies to the wasm backend, not 'ts'/);
    const dir = await materializeGptq('llama-int4-g16');
    try {
      const ok = spawnSync(
        process.execPath,
        [CLI, 'run', '--model', dir, '--prompt', 'hi', '--max-new-tokens', '4', '--quant-dot-activations', 'int8', '-q'],
        { cwd: ROOT, encoding: 'utf8', timeout: 120_000 },
      );
      expect(ok.status, ok.stderr).toBe(0);
      expect(ok.stdout.length).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
