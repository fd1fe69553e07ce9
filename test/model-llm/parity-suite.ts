// LLM + merge parity against the reference dumps (reference/dump.py: the real HF stack), as a
// suite per flavour (parity-llama.test.ts, parity-gemma2.test.ts).
// For every f32-mode dump of both flavours (stored bf16 weights upcast to f32, f32 compute):
//   - LLM: feed the dump's `inputs_embeds`, compare `llm.layers.{i}`, `llm.norm` and `logits`
//     (at `logits.positions`) with the tolerance table (src/trace/tolerances.ts), and greedy
//     `generated_ids` (KV-cache decode, eos ignored like the dump) must be identical;
//   - merge: feed `input_ids`, `vte.embeds`, `vte.indicators`; `inputs_embeds` must be exact
//     (it is a copy of table rows and visual rows).
// bf16-mode dumps are reported (error table printed), not judged: we compute in f32.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TsBackend } from '../../src/backend/ts.js';
import { Checkpoint } from '../../src/checkpoint/checkpoint.js';
import { generate } from '../../src/generate/generate.js';
import { SafetensorsFile, toF32 } from '../../src/io/safetensors.js';
import { OvisModel } from '../../src/model/ovis.js';
import type { Tensor } from '../../src/tensor.js';
import { compare } from '../../src/trace/metrics.js';
import { evaluate, formatReport, type StageResult } from '../../src/trace/tolerances.js';

const FIXTURES = 'reference/fixtures';
const DUMPS = join(FIXTURES, 'dumps');

interface Dump {
  label: string;
  side: { checkpoint: string; mode: 'f32' | 'bf16'; flavour: string; format_version: number };
  file: SafetensorsFile;
}

/** Dump prefixes (path without extension) of one flavour. */
function listDumps(flavour: string): string[] {
  const dir = join(DUMPS, flavour);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.safetensors'))
    .sort()
    .map((f) => join(dir, f.slice(0, -'.safetensors'.length)));
}

async function openDump(base: string): Promise<Dump> {
  const side = JSON.parse(readFileSync(base + '.json', 'utf8'));
  expect(side.format_version, `${base}.json format_version (regenerate with npm run fixtures)`).toBe(1);
  return { label: base, side, file: await SafetensorsFile.open(base + '.safetensors') };
}

async function stage(d: Dump, name: string): Promise<Tensor> {
  const t = await d.file.read(name);
  return { shape: [...t.shape], data: toF32(t) };
}
async function ids(d: Dump, name: string): Promise<number[]> {
  const t = await d.file.read(name);
  return Array.from(t.data as BigInt64Array, Number);
}

const backend = new TsBackend();
const models = new Map<string, Promise<{ model: OvisModel; ckpt: Checkpoint }>>();
function modelFor(checkpoint: string): Promise<{ model: OvisModel; ckpt: Checkpoint }> {
  const dir = join(FIXTURES, checkpoint);
  if (!models.has(dir)) {
    models.set(
      dir,
      (async () => {
        const ckpt = await Checkpoint.open(dir);
        // The whole model: the merge needs embed_tokens + VTE, the end-to-end check the vision tower.
        return { ckpt, model: await OvisModel.load(ckpt, backend) };
      })(),
    );
  }
  return models.get(dir)!;
}
/** The parity suite of one flavour (one test file per flavour, so the two run in parallel). */
export function paritySuite(flavour: 'llama' | 'gemma2'): void {
  const dumps = listDumps(flavour);
  afterAll(async () => {
    for (const p of models.values()) await (await p).ckpt.close();
  });
  // Skipped only while the fixtures do not exist at all (a fresh checkout before `npm run fixtures`
  // never lacks them: they are committed). Once reference/fixtures/dumps exists, a flavour
  // without f32 dumps fails.
  describe.skipIf(!existsSync(DUMPS))(`${flavour} LLM + merge parity vs reference dumps`, () => {
    it('has f32 dumps for this flavour', () => {
      expect(dumps.filter((b) => b.endsWith('__f32')).length).toBeGreaterThan(0);
    });

    it.each(dumps.map((b) => [b.slice(DUMPS.length + 1), b]))('%s', async (_label, base) => {
      const d = await openDump(base);
      const { model } = await modelFor(d.side.checkpoint);
      const lm = model.llm;
      const have = new Set(d.file.tensors.keys());
      const results: StageResult[] = [];

      // --- merge: ids + vte stages -> inputs_embeds (exact)
      const want = await stage(d, 'inputs_embeds');
      const visual = have.has('vte.embeds') ? await stage(d, 'vte.embeds') : undefined;
      const merged = model.mergeMultimodal(await ids(d, 'input_ids'), visual, await stage(d, 'vte.indicators'));
      const mergeM = compare('inputs_embeds', merged, want);

      // --- end to end before the LLM, when the dump kept the crops: pixel_values -> encodeImages
      //     (crop by crop) -> vte.embeds, then embed() -> inputs_embeds, within the f32 tolerance.
      if (have.has('pixel_values') && visual) {
        const pv = await stage(d, 'pixel_values');
        const enc = model.encodeImages(pv.data, pv.shape[0]);
        results.push(evaluate(compare('vte.embeds', enc, visual), d.side.mode));
        const e2e = model.embed(await ids(d, 'input_ids'), { pixelValues: pv.data, n: pv.shape[0] });
        results.push(evaluate(compare('inputs_embeds', e2e, want), d.side.mode));
      }

      // --- LLM prefill from the reference inputs_embeds; logits at the dump's rows
      // Some dumps omit `logits` (fixture size budget): then the last row is still computed (it
      // picks generated_ids[0]) and judged through generated_ids.
      const rows = have.has('logits.positions') ? await ids(d, 'logits.positions') : [want.shape[0] - 1];
      const got = new Map<string, Tensor>();
      lm.forward(want, lm.newCache(), {
        logitsRows: rows,
        tap: (n, t) => {
          got.set(n, { shape: [...t.shape], data: Float32Array.from(t.data) });
          return t;
        },
      });
      const names = [...have].filter((n) => /^llm\.layers\.\d+$/.test(n) || n === 'llm.norm' || n === 'logits');
      expect(names.filter((n) => n !== 'logits').length, 'every llm.layers.{i} and llm.norm').toBe(lm.numLayers + 1);
      for (const n of names) results.push(evaluate(compare(n, got.get(n)!, await stage(d, n)), d.side.mode));

      // --- greedy decode with the KV cache, eos ignored (fixed length, like the dump)
      const wantIds = await ids(d, 'generated_ids');
      const gen = generate(lm, want, { maxNewTokens: wantIds.length, eosTokenIds: [] });
      const genM = compare('generated_ids', { shape: [gen.ids.length], data: gen.ids }, { shape: [wantIds.length], data: wantIds });
      results.push(evaluate(genM, d.side.mode));

      const report = formatReport(results);
      console.log(
        `${base}  (${d.side.mode}, T=${want.shape[0]})\n  merge: inputs_embeds maxabs ${mergeM.maxAbsErr}\n${report.text.replace(/^/gm, '  ')}`,
      );
      await d.file.close();
      expect(mergeM.shapeMatch && mergeM.maxAbsErr === 0, 'merge_multimodal output must equal the dump exactly').toBe(true);
      if (d.side.mode === 'f32') {
        expect(report.ok, report.text).toBe(true);
        expect(gen.ids).toEqual(wantIds);
      }
    });
  });
}
