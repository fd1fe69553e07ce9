// Whole-model parity with the wasm backend at 1 and 2 threads: every f32 dump of both flavours
// within the same tolerance table as the ts backend, greedy ids identical. First asserts that the
// SIMD kernels are what is live (no silent fallback can make this test vacuous).

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WasmBackend } from '../../src/backend/wasm.js';
import { loadReference, runParity } from '../../src/parity.js';
import { OvisRunner } from '../../src/runner.js';

const FIXTURES = join(__dirname, '..', '..', 'reference', 'fixtures');

function f32Dumps(flavour: string): string[] {
  const dir = join(FIXTURES, 'dumps', flavour);
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('__f32.safetensors'))
        .sort()
        .map((f) => join(dir, f))
    : [];
}

for (const flavour of ['llama', 'gemma2']) {
  for (const threads of [1, 2]) {
    describe(`parity ${flavour} (wasm backend, ${threads} thread${threads > 1 ? 's' : ''})`, () => {
      let runner: OvisRunner;
      beforeAll(async () => {
        runner = await OvisRunner.load(join(FIXTURES, 'tiny', flavour), { backend: 'wasm', threads });
      });
      afterAll(() => runner?.dispose());

      it('runs the SIMD kernels', () => {
        const be = runner.model.backend as WasmBackend;
        expect(be.name).toBe('wasm');
        const info = be.info();
        expect(info.variant).toBe('simd');
        expect(info.threads).toBe(threads);
      });

      for (const path of f32Dumps(flavour)) {
        const name = path.split('/').pop()!.replace('.safetensors', '');
        it(name, async () => {
          const ref = await loadReference(path);
          const r = await runParity(runner, ref);
          if (!r.ok) console.log(`${name}\n${r.report}`);
          expect(r.ok, r.report).toBe(true);
        });
      }

      it('read the KV cache in place (the arena path was live)', () => {
        expect((runner.model.backend as WasmBackend).kvInPlaceCalls).toBeGreaterThan(0);
      });
    });
  }
}
