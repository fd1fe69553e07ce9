// Whole-model parity against every committed Hugging Face dump (reference/fixtures/dumps):
// every stage within the tolerance table, greedy ids identical. f32-mode dumps are judged;
// bf16-compute dumps are printed (informational, see docs/numerics.md) and only their
// structure is checked. Runs on the `ts` backend; test/parity/backends.test.ts repeats a
// subset with the wasm backend at 1 and 2 threads.

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadReference, runParity } from '../../src/parity.js';
import { OvisRunner } from '../../src/runner.js';

const FIXTURES = join(__dirname, '..', '..', 'reference', 'fixtures');
const FLAVOURS = ['llama', 'gemma2'] as const;

function dumps(flavour: string): string[] {
  const dir = join(FIXTURES, 'dumps', flavour);
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.safetensors'))
        .sort()
        .map((f) => join(dir, f))
    : [];
}

for (const flavour of FLAVOURS) {
  describe(`parity ${flavour} (ts backend)`, () => {
    let runner: OvisRunner;
    beforeAll(async () => {
      runner = await OvisRunner.load(join(FIXTURES, 'tiny', flavour), { backend: 'ts' });
    });
    afterAll(() => runner?.dispose());

    it('has fixtures for every case of the dump table (reference/make_dumps.py)', () => {
      const names = dumps(flavour).map((p) => p.split('/').pop()!.replace('.safetensors', ''));
      for (const c of [
        'text_only',
        'square',
        'wide',
        'tall',
        'tiny',
        'gray',
        'rgba',
        'palette',
        'jpeg',
        'two_images',
        'mp1',
        'mp4',
        'mp9',
      ]) {
        expect(names, `missing ${c}__f32`).toContain(`${c}__f32`);
      }
      expect(names.some((n) => n.endsWith('__bf16'))).toBe(true);
    });

    for (const path of dumps(flavour)) {
      const name = path.split('/').pop()!.replace('.safetensors', '');
      it(name, async () => {
        const ref = await loadReference(path);
        // every case starts from the image file, JPEG included: the decoder is bit-exact with
        // Pillow's libjpeg-turbo (src/image/jpeg/, docs/image.md §4)
        const r = await runParity(runner, ref);
        if (r.mode === 'f32') {
          if (!r.ok) console.log(`${name}\n${r.report}`);
          expect(r.ok, r.report).toBe(true);
          // the fixture's continuation must be long enough to mean something
          expect(r.trace.generation.ids.length).toBeGreaterThanOrEqual(16);
        } else {
          // bf16-compute reference: informational table; structure must still agree exactly
          console.log(`${name} (bf16-compute reference, informational)\n${r.report}`);
          const byName = new Map(r.results.map((x) => [x.metrics.name, x]));
          expect(byName.get('input_ids')?.verdict).toBe('OK');
          for (const x of r.results) expect(x.metrics.shapeMatch, x.metrics.name).toBe(true);
        }
      });
    }
  });
}
