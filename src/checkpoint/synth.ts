// Synthetic Ovis1.6 checkpoints: the release's directory layout, configs and tensor shapes, with
// seeded random weights — for tests (tiny presets) and for memory/speed work on full sizes.
//
// Values: matrices and embeddings ~ N(0, 0.02) (HF initializer_range), norm weights 1 (0 for
// Gemma2, whose RMSNorm scales by 1 + w), biases 0 — so a forward pass stays finite.
// Speed: normals come from a fixed 65536-entry quantile table of N(0, 0.02), indexed by 16-bit
// halves of an xorshift32 stream (one PRNG step per two values), into a reusable chunk buffer;
// generation of the next chunk overlaps the write of the previous one. Memory: two chunks.
// Determinism: each tensor's stream is seeded from (seed, tensor name), so its values do not
// depend on the shard layout.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ExpectedTensor, expectedTensors } from '../config/expected-tensors.js';
import { parseOvisConfig } from '../config/ovis-config.js';
import { PRESETS, type PresetFiles } from '../config/presets.js';
import { DTYPE_BYTES, f32ToBf16 } from '../dtype.js';
import { CheckpointError } from '../errors.js';
import { SafetensorsWriter } from '../io/safetensors.js';
import { SAFE_WEIGHTS_INDEX_NAME, SAFE_WEIGHTS_NAME } from './checkpoint.js';

export type SynthDType = 'BF16' | 'F32';

/** HF save_pretrained's default max_shard_size "5GB" (decimal). */
export const DEFAULT_SHARD_BYTES = 5_000_000_000;

export interface SynthProgress {
  shard: number;
  shards: number;
  bytesDone: number;
  bytesTotal: number;
  seconds: number;
}

export interface SynthOptions {
  out: string;
  /** A preset name (see PRESETS) or the JSON files themselves. */
  preset?: string;
  files?: PresetFiles;
  dtype?: SynthDType;
  seed?: number;
  maxShardBytes?: number;
  /** Bytes per generated chunk (default 16 MiB). */
  chunkBytes?: number;
  /** Called about once a second while writing. */
  onProgress?: (p: SynthProgress) => void;
}

export interface SynthResult {
  dir: string;
  shards: string[];
  tensors: number;
  bytes: number;
  seconds: number;
}

/** Std of synthetic matrices (transformers' default initializer_range). */
const INIT_STD = 0.02;

/** Inverse standard-normal CDF (Acklam's rational approximation, |rel err| < 1.2e-9). */
function normInv(p: number): number {
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - lo) return -normInv(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) /
    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
  );
}

let TABLE_F32: Float32Array | null = null;
let TABLE_BF16: Uint16Array | null = null;
/** 65536 quantiles of N(0, INIT_STD): entry k = std * Phi^-1((k + 0.5) / 65536). */
function normalTables(): { f32: Float32Array; bf16: Uint16Array } {
  if (!TABLE_F32 || !TABLE_BF16) {
    TABLE_F32 = new Float32Array(65536);
    TABLE_BF16 = new Uint16Array(65536);
    for (let k = 0; k < 65536; k++) {
      TABLE_F32[k] = INIT_STD * normInv((k + 0.5) / 65536);
      TABLE_BF16[k] = f32ToBf16(TABLE_F32[k]);
    }
  }
  return { f32: TABLE_F32, bf16: TABLE_BF16 };
}

/** 32-bit FNV-1a of a string mixed with the seed; never 0 (xorshift's fixed point). */
export function streamSeed(seed: number, name: string): number {
  let h = (0x811c9dc5 ^ Math.imul(seed | 0, 0x9e3779b1)) >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  return h || 0x2545f491;
}

/**
 * Fill `out` (a whole number of u32 words) with N(0, 0.02) values; returns the new PRNG state.
 * BF16: each xorshift32 step gives two 16-bit table indices -> two bf16 values in one word.
 * F32: each step gives two values, one word each.
 */
function fillNormal(out: Uint32Array, words: number, dtype: SynthDType, state: number): number {
  let x = state | 0;
  if (dtype === 'BF16') {
    const t = normalTables().bf16;
    for (let i = 0; i < words; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = t[x & 0xffff] | (t[x >>> 16] << 16);
    }
  } else {
    const t = new Uint32Array(normalTables().f32.buffer);
    for (let i = 0; i + 1 < words; i += 2) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = t[x & 0xffff];
      out[i + 1] = t[x >>> 16];
    }
    if (words & 1) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[words - 1] = t[x & 0xffff];
    }
  }
  return x;
}

/** Greedy sharding like HF's split_torch_state_dict_into_shards: start a new shard when the next tensor would overflow. */
export function planShards(tensors: readonly ExpectedTensor[], dtype: SynthDType, maxShardBytes: number): ExpectedTensor[][] {
  const shards: ExpectedTensor[][] = [[]];
  let size = 0;
  for (const t of tensors) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
    if (size + bytes > maxShardBytes && shards[shards.length - 1].length) {
      shards.push([]);
      size = 0;
    }
    shards[shards.length - 1].push(t);
    size += bytes;
  }
  return shards;
}

export function shardName(k: number, n: number): string {
  const pad = (x: number): string => String(x).padStart(5, '0');
  return `model-${pad(k)}-of-${pad(n)}.safetensors`;
}

/** Write a complete synthetic checkpoint directory. */
export async function synthCheckpoint(opts: SynthOptions): Promise<SynthResult> {
  const t0 = performance.now();
  const dtype = opts.dtype ?? 'BF16';
  const seed = opts.seed ?? 0;
  let files = opts.files;
  if (!files) {
    const p = opts.preset ? PRESETS[opts.preset] : undefined;
    if (!p) throw new CheckpointError(`unknown preset ${JSON.stringify(opts.preset)}; expected one of ${Object.keys(PRESETS).join(', ')}`);
    files = p.files();
  }
  // Record the stored dtype the way HF does (torch_dtype at top level and in llm_config).
  const torchDtype = dtype === 'BF16' ? 'bfloat16' : 'float32';
  const config = structuredClone(files['config.json']);
  config.torch_dtype = torchDtype;
  if (config.llm_config && typeof config.llm_config === 'object') (config.llm_config as Record<string, unknown>).torch_dtype = torchDtype;
  const cfg = parseOvisConfig(config, join(opts.out, 'config.json'));

  await mkdir(opts.out, { recursive: true });
  // Python writes these keys as floats ("factor": 32.0); HF's rope validation warns on ints.
  const FLOAT_KEYS =
    /^(\s*"(?:rope_theta|factor|low_freq_factor|high_freq_factor|attn_logit_softcapping|final_logit_softcapping|attention_dropout|tau|temperature|top_p)": -?\d+)(,?)$/gm;
  const json = (o: unknown): string => JSON.stringify(o, null, 2).replace(FLOAT_KEYS, '$1.0$2') + '\n';
  await writeFile(join(opts.out, 'config.json'), json(config));
  await writeFile(join(opts.out, 'generation_config.json'), json(files['generation_config.json']));
  await writeFile(join(opts.out, 'preprocessor_config.json'), json(files['preprocessor_config.json']));
  await writeFile(join(opts.out, 'tokenizer_config.json'), json(files['tokenizer_config.json']));

  const tensors = expectedTensors(cfg);
  const plan = planShards(tensors, dtype, opts.maxShardBytes ?? DEFAULT_SHARD_BYTES);
  const names = plan.length === 1 ? [SAFE_WEIGHTS_NAME] : plan.map((_, k) => shardName(k + 1, plan.length));
  const elt = DTYPE_BYTES[dtype];
  const bytesTotal = tensors.reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1) * elt, 0);

  if (plan.length > 1) {
    // HF writes the index with sorted keys and total_size = bytes of tensor data.
    const weightMap: Record<string, string> = {};
    const pairs: [string, string][] = [];
    plan.forEach((s, k) => s.forEach((t) => pairs.push([t.name, names[k]])));
    pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    for (const [n, f] of pairs) weightMap[n] = f;
    await writeFile(join(opts.out, SAFE_WEIGHTS_INDEX_NAME), json({ metadata: { total_size: bytesTotal }, weight_map: weightMap }));
  }

  // Two chunk buffers (generate one while the other is written) + constant chunks for 0 and 1.
  // Buffers are no larger than the largest tensor of their kind (tiny checkpoints stay cheap).
  const roundUp8 = (n: number): number => Math.max(8, Math.ceil(n / 8) * 8);
  const biggest = (init: string): number =>
    Math.max(0, ...tensors.filter((t) => t.init === init).map((t) => t.shape.reduce((a, b) => a * b, 1) * elt));
  const chunkBytes = Math.min(roundUp8(opts.chunkBytes ?? 16 << 20), roundUp8(biggest('normal')));
  const bufs = [new Uint32Array(chunkBytes / 4), new Uint32Array(chunkBytes / 4)];
  const zeros = new Uint8Array(Math.min(chunkBytes, roundUp8(biggest('zeros'))));
  const ones = new Uint32Array(Math.min(chunkBytes, roundUp8(biggest('ones'))) / 4);
  ones.fill(dtype === 'BF16' ? 0x3f803f80 : 0x3f800000); // 1.0 in bf16 (twice per word) / f32

  let bytesDone = 0;
  let lastReport = performance.now();
  for (let k = 0; k < plan.length; k++) {
    const w = await SafetensorsWriter.create(
      join(opts.out, names[k]),
      plan[k].map((t) => ({ name: t.name, dtype, shape: t.shape })),
      { format: 'pt' },
    );
    let pending: Promise<void> | null = null;
    let which = 0;
    try {
      for (const t of plan[k]) {
        let left = t.shape.reduce((a, b) => a * b, 1) * elt;
        let state = streamSeed(seed, t.name);
        while (left > 0) {
          const len = Math.min(left, t.init === 'normal' ? chunkBytes : t.init === 'zeros' ? zeros.length : ones.byteLength);
          let chunk: Uint8Array;
          if (t.init === 'normal') {
            const buf = bufs[which];
            which ^= 1;
            state = fillNormal(buf, Math.ceil(len / 4), dtype, state);
            chunk = new Uint8Array(buf.buffer, 0, len);
          } else {
            chunk = t.init === 'zeros' ? zeros.subarray(0, len) : new Uint8Array(ones.buffer, 0, len);
          }
          if (pending) await pending;
          pending = w.write(chunk);
          left -= len;
          bytesDone += len;
          const now = performance.now();
          if (opts.onProgress && now - lastReport > 1000) {
            lastReport = now;
            opts.onProgress({ shard: k + 1, shards: plan.length, bytesDone, bytesTotal, seconds: (now - t0) / 1000 });
          }
        }
      }
      if (pending) await pending;
      pending = null;
    } catch (e) {
      if (pending) await pending.catch(() => undefined);
      await w.abort();
      throw e;
    }
    await w.close();
  }
  return { dir: opts.out, shards: names, tensors: tensors.length, bytes: bytesTotal, seconds: (performance.now() - t0) / 1000 };
}
