// Vision parity, the image cases whose dumps keep only vte.embeds (fixture size budget): the
// dump's pixel_values (or, where omitted, its images through src/image's Pillow-exact
// preprocessing) go through our vision path on the `ts` backend; vte.embeds [n, 196, H] and vte.indicators are held to the tolerance table.
// Identical crops (the same image in several cases, the shared global views) are computed
// once per checkpoint, keyed by a hash of their pixels, to keep the file fast.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TsBackend } from '../../src/backend/ts.js';
import { preprocessImage } from '../../src/image/index.js';
import { SafetensorsFile } from '../../src/io/safetensors.js';
import { encodeImages, indicatorEmbeds } from '../../src/model/vision.js';
import { compare } from '../../src/trace/metrics.js';
import { evaluate, formatReport } from '../../src/trace/tolerances.js';
import { closeAll, dumpPixelValues, FIXTURES, listDumps, readStage, visionFor } from './fixtures.js';

const be = new TsBackend();
const CROP = 3 * 384 * 384;

/** FNV-1a over the crop's f32 bits (a cache key, not security). */
function cropKey(px: Float32Array): string {
  const u = new Uint32Array(px.buffer, px.byteOffset, px.length);
  let h1 = 0x811c9dc5;
  let h2 = 0x12345678;
  for (let i = 0; i < u.length; i++) {
    h1 = Math.imul(h1 ^ u[i], 16777619);
    h2 = Math.imul(h2 ^ u[u.length - 1 - i], 2246822519);
  }
  return `${(h1 >>> 0).toString(16)}${(h2 >>> 0).toString(16)}:${u.length}`;
}
const cache = new Map<string, Float32Array>(); // checkpoint:crop -> embeds [196, H]

/** Define the tests for one flavour (one file per flavour: vitest runs files in parallel). */
export function embedsParity(flavour: string): void {
  const dumps = listDumps('f32').filter(
    (d) => d.flavour === flavour && d.sidecar.images.length > 0 && !d.sidecar.stages.some((s) => /^(vit|vt)\./.test(s.name)),
  );
  afterAll(closeAll);

  describe(`vision parity vs reference dumps (${flavour}, f32, vte.embeds of every image case)`, () => {
    it('finds image dumps without vision internals', () => {
      expect(dumps.length, `no such ${flavour} f32 dumps under reference/fixtures/dumps (run npm run fixtures)`).toBeGreaterThan(0);
    });
    for (const d of dumps) {
      it(`${d.flavour}/${d.name}: vte.embeds within tolerance`, async () => {
        const f = await SafetensorsFile.open(d.file);
        try {
          const want = await readStage(f, 'vte.embeds'); // [n, 196, H]
          // pixel_values: the dump's own or its same_as dump's when kept (JPEG cases: libjpeg-turbo's
          // decode is not reproducible bit-exactly), else recomputed from the images by src/image.
          const crops: Float32Array[] = [];
          let pvSource = 'src/image';
          const kept = await dumpPixelValues(d, f);
          if (kept) {
            for (let c = 0; c < kept.pv.shape[0]; c++) crops.push(kept.pv.data.subarray(c * CROP, (c + 1) * CROP));
            pvSource = kept.source;
          } else {
            for (const img of d.sidecar.images) {
              const bytes = new Uint8Array(await readFile(join(FIXTURES, img.path)));
              const p = preprocessImage(bytes, { maxPartition: d.sidecar.max_partition, label: img.path });
              for (let c = 0; c < p.n; c++) crops.push(p.pixelValues.subarray(c * CROP, (c + 1) * CROP));
            }
          }
          const { vision } = await visionFor(d.sidecar.checkpoint, be);
          const keys = crops.map((c) => `${d.sidecar.checkpoint}:${cropKey(c)}`);
          const todo = [...new Set(keys.filter((k) => !cache.has(k)))];
          if (todo.length) {
            const px = new Float32Array(todo.length * CROP);
            todo.forEach((k, i) => px.set(crops[keys.indexOf(k)], i * CROP));
            const e = encodeImages(be, vision, { shape: [todo.length, 3, 384, 384], data: px }); // [m, 196, H]
            const per = e.shape[1] * e.shape[2];
            todo.forEach((k, i) => cache.set(k, e.data.slice(i * per, (i + 1) * per)));
          }
          const per = cache.get(keys[0])!.length;
          const got = new Float32Array(keys.length * per);
          keys.forEach((k, i) => got.set(cache.get(k)!, i * per));
          const results = [evaluate(compare('vte.embeds', { shape: [keys.length, 196, per / 196], data: got }, want), 'f32')];
          if (f.tensors.has('vte.indicators')) {
            results.push(evaluate(compare('vte.indicators', indicatorEmbeds(be, vision), await readStage(f, 'vte.indicators')), 'f32'));
          }
          const report = formatReport(results);
          console.log(
            `${d.flavour}/${d.name} (pixel_values from ${pvSource}, ${crops.length} crops, ${todo.length} computed)\n${report.text}`,
          );
          expect(report.ok, report.text).toBe(true);
        } finally {
          await f.close();
        }
      }, 120_000);
    }
  });
}
