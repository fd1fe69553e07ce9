// `ovis quantize`: a float Ovis1.6 checkpoint -> a GPTQ checkpoint (AutoGPTQ's layout, so what
// `ovis run` loads and what AutoGPTQ-based tools read): every decoder Linear of the LLM quantized
// by round to nearest (src/quant/rtn.ts), everything else copied as stored. Streaming with bounded
// memory: float tensors are copied in 64 MiB pieces; a quantized Linear is read 256 output rows at a
// time while its packed tensors (b/16 of its bf16 bytes) are held until written.
//
// Output: config.json (+ quantization_config), quantize_config.json, the other JSON/tokenizer files
// copied, model.safetensors or ~5 GB shards + model.safetensors.index.json, in expectedTensors order.

import { copyFile, mkdir, open, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ExpectedTensor, expectedTensors } from '../config/expected-tensors.js';
import { DTYPE_BYTES } from '../dtype.js';
import { CheckpointError, ConfigError, InputError } from '../errors.js';
import { isPlainObject } from '../io/json.js';
import { SafetensorsWriter, type TensorSpec, toF32 } from '../io/safetensors.js';
import { gptqConfigJson, isQuantizedModule, QUANTIZE_CONFIG_FILE, type QuantBits } from '../quant/gptq.js';
import { f32ToF16, RtnQuantizer } from '../quant/rtn.js';
import { Checkpoint, SAFE_WEIGHTS_INDEX_NAME, SAFE_WEIGHTS_NAME } from './checkpoint.js';
import { DEFAULT_SHARD_BYTES, shardName } from './synth.js';

export interface QuantizeOptions {
  model: string;
  out: string;
  bits: QuantBits;
  /** 32, 64, 128 or -1 (one group over all inputs). */
  groupSize: number;
  sym: boolean;
  maxShardBytes?: number;
  onProgress?: (p: { done: number; total: number; tensor: string; seconds: number }) => void;
}

export interface QuantizeResult {
  tensors: number;
  quantized: number;
  bytesIn: number;
  bytesOut: number;
  shards: string[];
  seconds: number;
}

/** Extra files copied next to the weights when present. */
const COPY_FILES = [
  'generation_config.json',
  'preprocessor_config.json',
  'tokenizer_config.json',
  'tokenizer.json',
  'special_tokens_map.json',
  'tokenizer.source.json',
];

const ROWS_PER_BLOCK = 256;
const COPY_CHUNK = 64 << 20;

export async function quantizeCheckpoint(o: QuantizeOptions): Promise<QuantizeResult> {
  const t0 = performance.now();
  const ck = await Checkpoint.open(o.model);
  try {
    if (ck.quantization)
      throw new InputError(`${o.model} is already quantized (${ck.quantization.bits}-bit GPTQ)`, 'quantize the float (bf16) release');
    ck.assertRunnable();
    const q = { bits: o.bits, group_size: o.groupSize };
    const plan = expectedTensors(ck.config, q).filter((e) => ck.tensors.has(e.name) || e.init === 'gptq');
    // AutoGPTQ keeps a quantized Linear's bias in fp16
    const gptqBias = (n: string) => n.endsWith('.bias') && isQuantizedModule(n.slice(0, -'.bias'.length));
    const dtypeOf = (e: ExpectedTensor) => e.dtype ?? (gptqBias(e.name) ? 'F16' : ck.info(e.name).dtype);
    const specs: TensorSpec[] = plan.map((e) => ({ name: e.name, dtype: dtypeOf(e), shape: e.shape }));
    const bytesOf = (s: TensorSpec) => s.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[s.dtype];
    // Greedy ~5 GB shards, never splitting one Linear's GPTQ tensors across shards.
    const maxShard = o.maxShardBytes ?? DEFAULT_SHARD_BYTES;
    const shards: TensorSpec[][] = [[]];
    let size = 0;
    for (let i = 0; i < specs.length; i++) {
      let j = i + 1;
      if (plan[i].init === 'gptq') while (j < specs.length && plan[j].init === 'gptq' && sameModule(plan[j].name, plan[i].name)) j++;
      const group = specs.slice(i, j);
      const b = group.reduce((a, s) => a + bytesOf(s), 0);
      if (size + b > maxShard && shards[shards.length - 1].length) {
        shards.push([]);
        size = 0;
      }
      shards[shards.length - 1].push(...group);
      size += b;
      i = j - 1;
    }
    const names = shards.length === 1 ? [SAFE_WEIGHTS_NAME] : shards.map((_, k) => shardName(k + 1, shards.length));

    await mkdir(o.out, { recursive: true });
    const existing = (await readdir(o.out)).filter((f) => f.endsWith('.safetensors') || f === SAFE_WEIGHTS_INDEX_NAME);
    if (existing.length)
      throw new InputError(`${o.out} already holds weights (${existing.join(', ')})`, 'choose an empty output directory');
    const json = (x: unknown) => JSON.stringify(x, null, 2) + '\n';
    // Checkpoint.open above already read and validated it: this copy keeps every key as written
    const cfgPath = join(o.model, 'config.json');
    let cfg: unknown;
    try {
      cfg = JSON.parse(await readFile(cfgPath, 'utf8'));
    } catch (e) {
      throw new ConfigError(cfgPath, [`cannot read it as JSON: ${(e as Error).message}`]);
    }
    if (!isPlainObject(cfg)) throw new CheckpointError(`${o.model}/config.json: not an object`);
    const qc = gptqConfigJson(o.bits, o.groupSize, o.sym);
    await writeFile(join(o.out, 'config.json'), json({ ...cfg, quantization_config: qc }));
    await writeFile(join(o.out, QUANTIZE_CONFIG_FILE), json(qc));
    for (const f of COPY_FILES) {
      try {
        await copyFile(join(o.model, f), join(o.out, f));
      } catch {
        /* optional */
      }
    }
    const bytesTotal = specs.reduce((a, s) => a + bytesOf(s), 0);
    if (shards.length > 1) {
      const wm: Record<string, string> = {};
      const pairs = shards
        .flatMap((s, k) => s.map((t) => [t.name, names[k]] as const))
        .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      for (const [n, f] of pairs) wm[n] = f;
      await writeFile(join(o.out, SAFE_WEIGHTS_INDEX_NAME), json({ metadata: { total_size: bytesTotal }, weight_map: wm }));
    }

    const byName = new Map(plan.map((e) => [e.name, e]));
    let done = 0;
    let quantized = 0;
    let bytesIn = 0;
    for (let k = 0; k < shards.length; k++) {
      const w = await SafetensorsWriter.create(join(o.out, names[k]), shards[k], { format: 'pt' });
      try {
        for (let i = 0; i < shards[k].length; i++) {
          const s = shards[k][i];
          const e = byName.get(s.name)!;
          if (gptqBias(s.name)) {
            const b = await ck.readF32(s.name);
            const h = Uint16Array.from(b, (v) => f32ToF16(v));
            await w.write(new Uint8Array(h.buffer));
            bytesIn += ck.info(s.name).byteLength;
          } else if (e.init !== 'gptq') {
            bytesIn += await copyTensor(ck, s.name, (c) => w.write(c));
          } else {
            // this Linear's qweight, qzeros, scales, g_idx: quantize the float weight once, write all four
            const prefix = s.name.slice(0, s.name.lastIndexOf('.'));
            const wname = `${prefix}.weight`;
            const info = ck.info(wname);
            const [N, K] = info.shape;
            const rq = new RtnQuantizer(N, K, o.bits, o.groupSize, o.sym, wname);
            for (let n0 = 0; n0 < N; n0 += ROWS_PER_BLOCK) {
              const rows = Math.min(ROWS_PER_BLOCK, N - n0);
              rq.addRows(n0, await readRowsF32(ck, wname, n0, rows));
            }
            bytesIn += info.byteLength;
            const parts: Record<string, ArrayBufferView> = {
              qweight: rq.t.qweight,
              qzeros: rq.t.qzeros,
              scales: rq.t.scales,
              g_idx: rq.t.g_idx,
            };
            for (let j = 0; j < 4; j++) {
              const sj = shards[k][i + j];
              const v = parts[sj.name.slice(prefix.length + 1)];
              await w.write(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
            }
            i += 3;
            quantized++;
          }
          done++;
          o.onProgress?.({ done, total: plan.length, tensor: s.name, seconds: (performance.now() - t0) / 1000 });
        }
      } catch (err) {
        await w.abort();
        throw err;
      }
      await w.close();
    }
    return { tensors: specs.length, quantized, bytesIn, bytesOut: bytesTotal, shards: names, seconds: (performance.now() - t0) / 1000 };
  } finally {
    await ck.close();
  }
}

function sameModule(a: string, b: string): boolean {
  return a.slice(0, a.lastIndexOf('.')) === b.slice(0, b.lastIndexOf('.'));
}

/** Copy one stored tensor's bytes in COPY_CHUNK pieces (positional reads of its file range). */
async function copyTensor(ck: Checkpoint, name: string, write: (c: Uint8Array) => Promise<void>): Promise<number> {
  const info = ck.info(name);
  const fh = await open(info.file, 'r');
  try {
    const buf = new Uint8Array(Math.min(COPY_CHUNK, Math.max(1, info.byteLength)));
    for (let off = 0; off < info.byteLength; off += buf.length) {
      const len = Math.min(buf.length, info.byteLength - off);
      const { bytesRead } = await fh.read(buf, 0, len, info.dataOffset + off);
      if (bytesRead !== len) throw new CheckpointError(`${info.file}: short read of ${name}`);
      await write(buf.subarray(0, len));
    }
  } finally {
    await fh.close();
  }
  return info.byteLength;
}

/** Rows n0 .. n0+rows−1 of a 2-D float tensor (N, K) widened to f32. */
async function readRowsF32(ck: Checkpoint, name: string, n0: number, rows: number): Promise<Float32Array> {
  const dtype = ck.info(name).dtype;
  if (!['BF16', 'F16', 'F32'].includes(dtype)) throw new CheckpointError(`${name}: dtype ${dtype} is not a float weight`);
  return toF32(await ck.readRows(name, n0, rows));
}
