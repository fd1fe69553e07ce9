// Vision parity against the reference dumps (reference/dump.py: the real HF SiglipVisionModel +
// the Ovis head/VTE glue, f32 mode = stored bf16 weights upcast to f32, f32 compute).
// This file: the f32 dumps that keep the per-crop internals (vit.*, vt.*): pixel_values (the
// dump's own; recomputed by src/image if omitted) go through our vision path on the `ts`
// backend, and every vision stage is held to the tolerance table (src/trace/tolerances.ts).
// The report is printed per case, llm.c style. The other image cases: parity-embeds.test.ts.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TsBackend } from '../../src/backend/ts.js';
import { preprocessImage } from '../../src/image/index.js';
import { SafetensorsFile } from '../../src/io/safetensors.js';
import { encodeImages, indicatorEmbeds } from '../../src/model/vision.js';
import type { Tensor } from '../../src/tensor.js';
import { compare } from '../../src/trace/metrics.js';
import { StageRecorder } from '../../src/trace/recorder.js';
import { makeTap } from '../../src/trace/tap.js';
import { evaluate, formatReport } from '../../src/trace/tolerances.js';
import { closeAll, dumpPixelValues, FIXTURES, listDumps, readStage, visionFor } from './fixtures.js';

const VISION_STAGE = /^(pixel_values|vit\.|vt\.|vte\.)/;
const be = new TsBackend();
const dumps = listDumps('f32').filter((d) => d.sidecar.stages.some((s) => /^(vit|vt)\./.test(s.name)));

afterAll(closeAll);

describe('vision parity vs reference dumps (f32, cases with every vision stage)', () => {
  it('finds the committed f32 dumps with vision internals', () => {
    expect(dumps.length, `no f32 dumps with vit.* stages under reference/fixtures/dumps (run npm run fixtures)`).toBeGreaterThan(0);
  });

  for (const d of dumps) runCase(d, 'f32');
});

// bf16-compute references (how HF runs Ovis): our f32 compute cannot match bf16 rounding, so
// the table is printed (INFO rows) and only shapes / finiteness are asserted.
const bf16Dumps = listDumps('bf16').filter((d) => d.sidecar.stages.some((s) => /^(vit|vt)\./.test(s.name)));
describe.runIf(bf16Dumps.length > 0)('vision vs bf16-compute reference dumps (informational)', () => {
  for (const d of bf16Dumps) runCase(d, 'bf16');
});

function runCase(d: ReturnType<typeof listDumps>[number], mode: 'f32' | 'bf16'): void {
  const hasImages = d.sidecar.images.length > 0;
  it.runIf(hasImages)(
    `${d.flavour}/${d.name}: every vision stage ${mode === 'f32' ? 'within tolerance' : 'reported'}`,
    async () => {
      const f = await SafetensorsFile.open(d.file);
      try {
        const names = [...f.tensors.keys()].filter((n) => VISION_STAGE.test(n));
        // pixel_values: the dump's (or its same_as dump's), else recomputed from its images (src/image).
        let pv: Tensor;
        let pvSource: string;
        const kept = await dumpPixelValues(d, f);
        if (kept) {
          pv = kept.pv;
          pvSource = kept.source;
        } else {
          const parts: Float32Array[] = [];
          let n = 0;
          for (const img of d.sidecar.images) {
            const bytes = new Uint8Array(await readFile(join(FIXTURES, img.path)));
            const p = preprocessImage(bytes, { maxPartition: d.sidecar.max_partition, label: img.path });
            parts.push(p.pixelValues);
            n += p.n;
          }
          const data = new Float32Array(n * 3 * 384 * 384);
          let o = 0;
          for (const p of parts) {
            data.set(p, o);
            o += p.length;
          }
          pv = { shape: [n, 3, 384, 384], data };
          pvSource = 'src/image';
        }
        const { vision } = await visionFor(d.sidecar.checkpoint, be);
        const rec = new StageRecorder({ keep: (n) => names.includes(n) });
        const tap = makeTap(rec);
        encodeImages(be, vision, pv, tap);
        indicatorEmbeds(be, vision, tap);
        const results = [];
        for (const n of names) {
          if (n === 'pixel_values') continue;
          const got = rec.stages.get(n);
          expect(got, `stage ${n} of the dump was not produced`).toBeDefined();
          results.push(evaluate(compare(n, got!, await readStage(f, n)), mode));
        }
        const report = formatReport(results);
        console.log(`${d.flavour}/${d.name} (pixel_values from ${pvSource}, ${pv.shape[0]} crops)\n${report.text}`);
        expect(results.length).toBeGreaterThan(0);
        expect(report.ok, report.text).toBe(true);
        for (const r of results) expect(r.metrics.shapeMatch && r.metrics.nonFinite === 0, r.metrics.name).toBe(true);
      } finally {
        await f.close();
      }
    },
    120_000,
  );
}
