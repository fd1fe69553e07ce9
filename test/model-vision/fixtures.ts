// Discovery of the committed reference dumps (reference/fixtures/dumps/<flavour>/<case>__<mode>)
// for the vision parity tests, and a small cache of loaded checkpoints.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Backend } from '../../src/backend/backend.js';
import { Checkpoint } from '../../src/checkpoint/checkpoint.js';
import { SafetensorsFile } from '../../src/io/safetensors.js';
import { loadVision, type OvisVision } from '../../src/model/vision.js';
import type { Tensor } from '../../src/tensor.js';

export const FIXTURES = fileURLToPath(new URL('../../reference/fixtures/', import.meta.url));
export const DUMPS = join(FIXTURES, 'dumps');

export interface DumpCase {
  flavour: string;
  name: string; // <case>__<mode>
  json: string;
  file: string;
  sidecar: {
    case: string;
    mode: string;
    checkpoint: string;
    images: { path: string }[];
    max_partition: number;
    grids: number[][];
    stages: { name: string; shape: number[] }[];
    omitted: { names: string[]; same_as?: string }[];
  };
}

export function listDumps(mode: 'f32' | 'bf16'): DumpCase[] {
  if (!existsSync(DUMPS)) return [];
  const out: DumpCase[] = [];
  for (const flavour of readdirSync(DUMPS).sort()) {
    const dir = join(DUMPS, flavour);
    for (const f of readdirSync(dir).sort()) {
      if (!f.endsWith(`__${mode}.json`)) continue;
      const json = join(dir, f);
      const file = json.replace(/\.json$/, '.safetensors');
      if (!existsSync(file)) continue;
      out.push({ flavour, name: f.replace(/\.json$/, ''), json, file, sidecar: JSON.parse(readFileSync(json, 'utf8')) });
    }
  }
  return out;
}

export async function readStage(f: SafetensorsFile, name: string): Promise<Tensor> {
  const t = await f.read(name);
  if (t.dtype !== 'F32') throw new Error(`${f.path}: stage ${name} is ${t.dtype}, expected F32`);
  return { shape: t.shape, data: t.data as Float32Array };
}

const models = new Map<string, Promise<{ ckpt: Checkpoint; vision: OvisVision }>>();

/** Checkpoint + vision weights for a sidecar's `checkpoint` (relative to reference/fixtures). */
export function visionFor(checkpoint: string, be: Backend): Promise<{ ckpt: Checkpoint; vision: OvisVision }> {
  const key = `${be.name}:${checkpoint}`;
  let p = models.get(key);
  if (!p) {
    p = (async () => {
      const ckpt = await Checkpoint.open(join(FIXTURES, checkpoint));
      const vision = await loadVision(ckpt.config, ckpt, be);
      return { ckpt, vision };
    })();
    models.set(key, p);
  }
  return p;
}

export async function closeAll(): Promise<void> {
  for (const p of models.values()) await (await p).ckpt.close();
  models.clear();
}

/**
 * The dump's pixel_values: its own, or those of the dump its sidecar names in
 * `omitted[].same_as` (path relative to reference/fixtures; identical images and preprocessing,
 * verified when dumping). Undefined if neither: recompute them from the images.
 */
export async function dumpPixelValues(d: DumpCase, f: SafetensorsFile): Promise<{ pv: Tensor; source: string } | undefined> {
  if (f.tensors.has('pixel_values')) return { pv: await readStage(f, 'pixel_values'), source: 'dump' };
  const o = d.sidecar.omitted.find((x) => x.names.includes('pixel_values') && x.same_as);
  if (!o) return undefined;
  const other = await SafetensorsFile.open(join(FIXTURES, o.same_as!));
  try {
    return { pv: await readStage(other, 'pixel_values'), source: o.same_as! };
  } finally {
    await other.close();
  }
}
