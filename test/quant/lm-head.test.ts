// `--quant-lm-head` against PyTorch: the tiny GPTQ checkpoints loaded with lm_head quantized at load
// (RTN, symmetric, groups of min(128, H), from the tied embed_tokens) must match the dumps of HF's
// model run with lm_head replaced by reference/make_gptq.py's own quantization of embed_tokens,
// dequantized to f32 (dumps-gptq/<variant>+lm_head-int<bits>) — every stage within the f32
// tolerances, logits included, and the same greedy ids. The same runner without the option must
// FAIL those dumps (the fixture tells the two lm_heads apart). Then the typed refusals and the CLI.

import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend } from '../../src/backend/index.js';
import { Checkpoint } from '../../src/checkpoint/checkpoint.js';
import { loadLlm, OvisModel } from '../../src/model/ovis.js';
import type { TensorSource } from '../../src/model/weights.js';
import { loadReference, runParity } from '../../src/parity.js';
import { dequantize, isQuantWeight, type QuantLinearData } from '../../src/quant/gptq.js';
import { RtnQuantizer, rowsOf, rtnQuantLinear } from '../../src/quant/rtn.js';
import { OvisRunner } from '../../src/runner.js';
import { FIXTURES, materializeGptq } from './fixture.js';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');

const CASES = [
  { variant: 'llama-int4-g16', bits: 4 },
  { variant: 'llama-int8-gall', bits: 8 },
] as const;

const BACKENDS: { backend: 'ts' | 'wasm'; threads?: number }[] = [
  { backend: 'ts' },
  { backend: 'wasm', threads: 1 },
  { backend: 'wasm', threads: 2 },
];

for (const { variant, bits } of CASES) {
  const dump = join(FIXTURES, 'dumps-gptq', `${variant}+lm_head-int${bits}`, 'text_only__f32.safetensors');
  describe(`--quant-lm-head int${bits} on GPTQ ${variant}`, () => {
    let dir: string;
    beforeAll(async () => {
      dir = await materializeGptq(variant);
    });
    afterAll(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    for (const be of BACKENDS) {
      it(`matches HF with the dequantized RTN lm_head (${be.backend}${be.threads ? `, ${be.threads} threads` : ''})`, async () => {
        const runner = await OvisRunner.load(dir, { ...be, quantLmHead: bits });
        try {
          const llm = runner.model.llm as unknown as { weights: { lm_head: { weight: unknown }; embed_tokens: unknown } };
          expect(isQuantWeight(llm.weights.lm_head.weight)).toBe(true);
          expect(isQuantWeight(llm.weights.embed_tokens)).toBe(false); // the input embeddings stay float
          const ref = await loadReference(dump);
          expect(ref.stages.has('logits')).toBe(true);
          const r = await runParity(runner, ref);
          expect(r.ok, r.report).toBe(true);
        } finally {
          runner.dispose();
        }
      });
    }

    it('the same runner without --quant-lm-head fails these dumps (at the logits)', async () => {
      const runner = await OvisRunner.load(dir, { backend: 'wasm', threads: 1 });
      try {
        const r = await runParity(runner, await loadReference(dump));
        expect(r.ok).toBe(false);
        const bad = r.results.filter((s) => s.verdict === 'NOT OK').map((s) => s.metrics.name);
        expect(bad).toContain('logits');
        expect(bad.every((n) => !n.startsWith('llm.layers'))).toBe(true); // only what follows lm_head
      } finally {
        runner.dispose();
      }
    });
  });
}

describe('rtnQuantLinear', () => {
  it('is RtnQuantizer (the quantizer `ovis quantize` writes with) on BF16 rows, in the kernels layout', async () => {
    const N = 40;
    const K = 48;
    const bf = new Uint16Array(N * K);
    let s = 12345;
    for (let i = 0; i < bf.length; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      bf[i] = 0x3c00 + ((s >>> 8) & 0x3ff) + ((s >>> 20) & 1 ? 0x8000 : 0); // |w| in [2^-7, 2^-6)
    }
    for (const bits of [4, 8] as const) {
      const d: QuantLinearData = await rtnQuantLinear('w', N, K, rowsOf({ dtype: 'BF16', shape: [N, K], data: bf }), bits, 16);
      const rq = new RtnQuantizer(N, K, bits, 16, true, 'w');
      const f = new Float32Array(N * K);
      new Uint32Array(f.buffer).set(Array.from(bf, (b) => b << 16));
      rq.addRows(0, f);
      expect(Array.from(d.qweight)).toEqual(Array.from(rq.t.qweight));
      expect(d.perm).toBeNull();
      expect(Array.from(new Set(d.zeros))).toEqual([2 ** (bits - 1)]);
      const W = dequantize(d);
      // within half a step of the weight, plus the fp16 rounding of the step (relative <= 2^-11)
      // times the 2^(b-1) steps of the largest |q - zero|: the group's max sits at 2^(b-1) - 1/2
      // exact steps, so a scale rounded down clamps it one step in
      for (let n = 0; n < N; n++)
        for (let k = 0; k < K; k++) {
          const step = d.scales[Math.floor(k / 16) * N + n];
          expect(Math.abs(W[n * K + k] - f[n * K + k])).toBeLessThanOrEqual(step * (0.5 + 2 ** (bits - 1) * 2 ** -11));
        }
    }
  });
});

describe('Checkpoint.readRows (how the lm_head is read, a block at a time)', () => {
  it('gives the rows of read(), and refuses a range outside the tensor', async () => {
    const ck = await Checkpoint.open(join(FIXTURES, 'tiny', 'llama'));
    try {
      const name = 'llm.model.embed_tokens.weight';
      const all = await ck.read(name);
      const K = all.shape[1];
      const part = await ck.readRows(name, 1000, 37);
      expect(part.dtype).toBe(all.dtype);
      expect(part.shape).toEqual([37, K]);
      expect(Array.from(part.data as Uint16Array)).toEqual(Array.from((all.data as Uint16Array).subarray(1000 * K, 1037 * K)));
      await expect(ck.readRows(name, all.shape[0] - 2, 3)).rejects.toThrow(
        /readRows llm\.model\.embed_tokens\.weight: rows \[128254, 128257\) outside \[0, 128256\)/,
      );
    } finally {
      await ck.close();
    }
  });
});

describe('how the head is read', () => {
  it('OvisModel reads it a block of rows at a time (readRows through the progress wrapper), never whole', async () => {
    const ck = await Checkpoint.open(join(FIXTURES, 'tiny', 'llama'));
    const be = await createBackend('wasm', { threads: 1 });
    try {
      const head = 'llm.model.embed_tokens.weight';
      const whole: string[] = [];
      const blocks: number[] = [];
      const src: TensorSource = {
        tensors: ck.tensors,
        quantization: ck.quantization,
        read: (n) => {
          whole.push(n);
          return ck.read(n);
        },
        readInto: (n, d) => ck.readInto(n, d),
        readRows: (n, n0, rows) => {
          if (n === head) blocks.push(rows);
          return ck.readRows(n, n0, rows);
        },
      };
      const m = await OvisModel.fromSource(ck.config, ck.generationConfig, src, be, {
        textOnly: true,
        quantLmHead: 8,
        onProgress: () => {},
      });
      expect(isQuantWeight((m.llm as unknown as { weights: { lm_head: { weight: unknown } } }).weights.lm_head.weight)).toBe(true);
      expect(whole).not.toContain(head); // the float embedding went straight into wasm memory (readInto)
      expect(blocks.reduce((a, b) => a + b, 0)).toBe(128256);
      expect(Math.max(...blocks)).toBe(1024);
    } finally {
      be.dispose();
      await ck.close();
    }
  });
});

describe('--quant-lm-head refusals', () => {
  it('a NaN or inf in the weight is a typed error naming the row (not a quantized garbage row)', async () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const w = new Float32Array(16 * 32).fill(0.5);
      w[5 * 32 + 7] = bad;
      await expect(rtnQuantLinear('llm.lm_head', 16, 32, rowsOf({ dtype: 'F32', shape: [16, 32], data: w }), 4, 32)).rejects.toThrow(
        /llm\.lm_head: row 5 has a non-finite value/,
      );
    }
  });

  it('a vocabulary that cannot be packed (tiny Gemma2: 262145) is a typed error naming vocab_size', async () => {
    const ck = await Checkpoint.open(join(FIXTURES, 'tiny', 'gemma2'));
    try {
      const { createBackend } = await import('../../src/backend/index.js');
      const b = await createBackend('ts');
      await expect(loadLlm(ck.config.llm_config, ck, b, 'llm.', { quantLmHead: 4 })).rejects.toThrow(
        /--quant-lm-head int4: lm_head \(vocab_size 262145, hidden_size 24\) cannot be packed at 4 bits/,
      );
      b.dispose();
    } finally {
      await ck.close();
    }
  });

  it('CLI: a bad value is a usage error; int8 runs and says so', () => {
    const bad = spawnSync(process.execPath, [CLI, 'run', '--prompt', 'hi', '--quant-lm-head', 'int3'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--quant-lm-head must be 'int8' or 'int4', got 'int3'/);
    const ok = spawnSync(
      process.execPath,
      [CLI, 'run', '--model', join(FIXTURES, 'tiny', 'llama'), '--prompt', 'hi', '--max-new-tokens', '3', '--quant-lm-head', 'int8'],
      { cwd: ROOT, encoding: 'utf8', timeout: 120_000 },
    );
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stderr).toMatch(/quantizing lm_head to int8 \(round to nearest, groups of 128\)/);
    expect(ok.stdout.length).toBeGreaterThan(0);
  });
});
