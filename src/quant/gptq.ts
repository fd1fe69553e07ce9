// GPTQ checkpoints as AutoGPTQ stores them (AIDC-AI/Ovis1.6-*-GPTQ-Int4, and what `ovis quantize`
// writes): the quantization config, which tensors are quantized, and the validation of one
// quantized Linear's tensors into the layout the kernels read.
//
// Storage (AutoGPTQ QuantLinear, checkpoint_format "gptq"; see reference/make_gptq.py, which
// writes and dequantizes it independently in PyTorch):
//   <p>.qweight  I32 [K·b/32, N]  word r of column n holds k = r·(32/b) + j in bits [b·j, b·j+b)
//   <p>.qzeros   I32 [G, N·b/32]  word c of group g holds column n = c·(32/b) + j, same bit order,
//                                 stored as zero − 1 ("gptq"; "gptq_v2" stores the zero itself)
//   <p>.scales   F16 [G, N]
//   <p>.g_idx    I32 [K]          group of input k (k // group_size without act order)
//   <p>.bias     F16 [N]          only when the float Linear has one
//   W[n, k] = scales[g, n] · (q[k, n] − zero[g, n]),  g = g_idx[k]
// Shapes: K in_features · N out_features · b bits (4 or 8) · G groups = ceil(K / group_size).
//
// The kernels want each group contiguous along k. With act order (desc_act) GPTQ's g_idx is a
// permutation of the groups; a stable sort of k by g_idx gives `perm`, the qweight rows are
// repacked in that order once at load, and x is read as x[perm[i]]. Without act order perm is the
// identity and qweight is used as stored.

import { f16ToF32 } from '../dtype.js';
import { QuantizationError } from '../errors.js';
import { isPlainObject, jsonKind } from '../io/json.js';
import type { HostTensor } from '../tensor.js';

export type QuantBits = 4 | 8;

/** A GPTQ quantization config (quantize_config.json / config.json's quantization_config). */
export interface GptqConfig {
  quant_method: 'gptq';
  bits: QuantBits;
  /** -1 = one group over all of K (per-channel). */
  group_size: number;
  sym: boolean;
  desc_act: boolean;
  /** "gptq": qzeros hold zero − 1 (AutoGPTQ's classic format); "gptq_v2": the zero itself. */
  checkpoint_format: 'gptq' | 'gptq_v2';
  /** The file(s) it was read from, for messages. */
  source: string;
}

export const QUANTIZE_CONFIG_FILE = 'quantize_config.json';

/** AutoGPTQ's quantize_config.json fields for our RTN output. */
export function gptqConfigJson(bits: QuantBits, groupSize: number, sym: boolean): Record<string, unknown> {
  return {
    bits,
    group_size: groupSize,
    damp_percent: 0.01,
    desc_act: false,
    static_groups: false,
    sym,
    true_sequential: true,
    model_name_or_path: null,
    model_file_base_name: 'model',
    quant_method: 'gptq',
    checkpoint_format: 'gptq',
  };
}

/** Keys that only steer how GPTQ quantized (or which CUDA kernel runs it): no effect on the stored
 *  values or their meaning, so they are accepted and not used. */
const QUANTIZE_TIME_KEYS = new Set([
  'damp_percent',
  'true_sequential',
  'static_groups',
  'model_name_or_path',
  'model_file_base_name',
  'use_exllama',
  'exllama_config',
  'use_cuda_fp16',
  'disable_exllama',
  'cache_block_outputs',
  'batch_size',
  'pad_token_id',
  'dataset',
  'tokenizer',
  'module_name_preceding_first_block',
  'modules_in_block_to_quantize',
  'max_input_length',
  'use_marlin' /* false checked below */,
  'backend',
  'meta',
  'quantizer',
  'damp_auto_increment',
  'mse',
  'lm_head',
  'pack_dtype',
  'format',
  'adapter',
  'v2',
  'v2_alpha',
  'rotation',
  'act_group_aware',
]);

/** Parse a GPTQ config object; every unsupported variant is a QuantizationError naming the field and value. */
export function parseGptqConfig(json: unknown, file: string): GptqConfig {
  if (!isPlainObject(json)) throw new QuantizationError(file, '(root)', jsonKind(json), 'expected a JSON object');
  const j = json as Record<string, unknown>;
  const method = j.quant_method ?? 'gptq'; // AutoGPTQ < 0.5 wrote no quant_method
  if (method !== 'gptq') {
    const hint =
      method === 'exl2'
        ? 'ExLlamaV2 (EXL2) checkpoints use their own tensor format; use a GPTQ release or `ovis quantize`'
        : method === 'awq'
          ? 'AWQ packs its nibbles in another order; use a GPTQ release or `ovis quantize`'
          : 'ovis-ts reads GPTQ (quant_method "gptq") checkpoints; or quantize the bf16 release with `ovis quantize`';
    throw new QuantizationError(file, 'quant_method', method, 'only "gptq" is supported', hint);
  }
  const fmt = j.checkpoint_format ?? (j.is_marlin_format === true ? 'marlin' : 'gptq');
  if (j.is_marlin_format === true) {
    throw new QuantizationError(
      file,
      'is_marlin_format',
      true,
      'Marlin-repacked weights are not supported',
      'use the checkpoint before Marlin repacking (checkpoint_format "gptq")',
    );
  }
  if (fmt !== 'gptq' && fmt !== 'gptq_v2') {
    throw new QuantizationError(
      file,
      'checkpoint_format',
      fmt,
      'only "gptq" and "gptq_v2" are supported',
      fmt === 'marlin' || fmt === 'bitblas' ? 'this is a kernel-specific repacking; use the plain GPTQ checkpoint' : undefined,
    );
  }
  if (j.use_marlin === true) throw new QuantizationError(file, 'use_marlin', true, 'Marlin-repacked weights are not supported');
  const bits = j.bits;
  if (bits !== 4 && bits !== 8) {
    throw new QuantizationError(
      file,
      'bits',
      bits,
      'only 4 and 8 are supported',
      bits === 3
        ? '3-bit GPTQ packs values across word boundaries; not implemented'
        : bits === 2
          ? '2-bit GPTQ is not implemented'
          : undefined,
    );
  }
  const gs = j.group_size ?? -1;
  if (typeof gs !== 'number' || !Number.isInteger(gs) || (gs !== -1 && gs < 1)) {
    throw new QuantizationError(file, 'group_size', gs, 'expected -1 (one group over all inputs) or a positive integer');
  }
  if (gs !== -1 && gs % (32 / bits) !== 0) {
    throw new QuantizationError(
      file,
      'group_size',
      gs,
      `must be a multiple of ${32 / bits} for ${bits}-bit (a group must start on a qweight word)`,
    );
  }
  const sym = j.sym ?? true;
  if (typeof sym !== 'boolean') throw new QuantizationError(file, 'sym', sym, 'expected true or false');
  const desc = j.desc_act ?? false;
  if (typeof desc !== 'boolean') throw new QuantizationError(file, 'desc_act', desc, 'expected true or false');
  const known = new Set(['quant_method', 'checkpoint_format', 'is_marlin_format', 'bits', 'group_size', 'sym', 'desc_act']);
  for (const k of Object.keys(j)) {
    if (!known.has(k) && !QUANTIZE_TIME_KEYS.has(k)) {
      throw new QuantizationError(
        file,
        k,
        j[k],
        'unknown GPTQ config key (it might change how the stored values are read)',
        'if this key is harmless, it needs adding to QUANTIZE_TIME_KEYS in src/quant/gptq.ts',
      );
    }
  }
  return { quant_method: 'gptq', bits, group_size: gs, sym, desc_act: desc, checkpoint_format: fmt as 'gptq' | 'gptq_v2', source: file };
}

/** The quantization of a checkpoint from config.json's quantization_config and/or quantize_config.json
 *  (AutoGPTQ writes both); null when neither exists. When both exist they must agree. */
export function resolveQuantization(
  fromConfig: unknown,
  configFile: string,
  fromQuantizeConfig: unknown,
  quantizeFile: string,
): GptqConfig | null {
  const a = fromConfig === undefined || fromConfig === null ? null : parseGptqConfig(fromConfig, `${configFile} quantization_config`);
  const b = fromQuantizeConfig === undefined ? null : parseGptqConfig(fromQuantizeConfig, quantizeFile);
  if (a && b) {
    for (const k of ['bits', 'group_size', 'sym', 'desc_act', 'checkpoint_format'] as const) {
      if (a[k] !== b[k]) {
        throw new QuantizationError(
          quantizeFile,
          k,
          b[k],
          `differs from ${configFile} quantization_config.${k} = ${JSON.stringify(a[k])}`,
          'the two files come from different quantizations',
        );
      }
    }
  }
  return a ?? b;
}

// ------------------------------------------------------------------------------------------
// Which tensors are quantized

/** The nn.Linear modules GPTQ quantizes in each decoder layer (Ovis's inside_layer_modules). */
export const QUANTIZED_MODULES = [
  'self_attn.q_proj',
  'self_attn.k_proj',
  'self_attn.v_proj',
  'self_attn.o_proj',
  'mlp.gate_proj',
  'mlp.up_proj',
  'mlp.down_proj',
] as const;

const LINEAR_RE = /^llm\.model\.layers\.\d+\.(self_attn\.[qkvo]_proj|mlp\.(gate|up|down)_proj)$/;

/** Whether `prefix` (a module path without `.weight`) is a Linear that GPTQ quantizes. */
export function isQuantizedModule(prefix: string): boolean {
  return LINEAR_RE.test(prefix);
}

/** The stored tensors of one quantized Linear (out N, in K) with their dtypes and shapes. */
export function gptqTensorSpecs(
  prefix: string,
  N: number,
  K: number,
  q: Pick<GptqConfig, 'bits' | 'group_size'>,
  bias: boolean,
): { name: string; dtype: 'I32' | 'F16'; shape: number[] }[] {
  const G = groupCount(K, q.group_size);
  const specs: { name: string; dtype: 'I32' | 'F16'; shape: number[] }[] = [
    { name: `${prefix}.qweight`, dtype: 'I32', shape: [(K * q.bits) / 32, N] },
    { name: `${prefix}.qzeros`, dtype: 'I32', shape: [G, (N * q.bits) / 32] },
    { name: `${prefix}.scales`, dtype: 'F16', shape: [G, N] },
    { name: `${prefix}.g_idx`, dtype: 'I32', shape: [K] },
  ];
  if (bias) specs.push({ name: `${prefix}.bias`, dtype: 'F16', shape: [N] });
  return specs;
}

export function groupSize(K: number, group_size: number): number {
  return group_size === -1 ? K : group_size;
}
export function groupCount(K: number, group_size: number): number {
  return Math.ceil(K / groupSize(K, group_size));
}

// ------------------------------------------------------------------------------------------
// One quantized Linear, as the kernels read it

/**
 * A GPTQ Linear ready for the kernels. `qweight` rows are in the order `perm` (identity without act
 * order), so group g covers the permuted inputs [g·gs, min(K, (g+1)·gs)).
 */
export interface QuantLinearData {
  name: string; //           module path, e.g. llm.model.layers.3.mlp.down_proj
  bits: QuantBits;
  K: number; //              in_features
  N: number; //              out_features
  groupSize: number; //      gs (K for group_size -1)
  qweight: Int32Array; //    [K·b/32, N], rows in perm order
  scales: Float32Array; //   [G, N]  fp16 widened (exact)
  zeros: Float32Array; //    [G, N]  the zero point as a value (stored + 1 for "gptq")
  /** x index of permuted input i, or null for the identity. */
  perm: Int32Array | null;
  bias: Float32Array | null; // [N] fp16 widened, or null
}

function expectTensor(t: HostTensor | undefined, file: string, name: string, dtype: string, shape: number[]): HostTensor {
  if (!t) throw new QuantizationError(file, name, 'missing', `a GPTQ Linear needs this tensor (${dtype} [${shape}])`);
  if (t.dtype !== dtype) throw new QuantizationError(file, name, t.dtype, `expected dtype ${dtype}`);
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new QuantizationError(
      file,
      name,
      t.shape,
      `expected shape [${shape}]`,
      'the quantization config (bits, group_size) and the tensors disagree, or config.json belongs to another model',
    );
  }
  return t;
}

/**
 * Validate the stored tensors of one quantized Linear (N, K) and bring them into the kernels' layout:
 * zeros unpacked (+1 for "gptq"), scales and bias widened to f32, and with act order the qweight rows
 * repacked along the stable sort of g_idx. `file` names the checkpoint in messages.
 */
export function prepareGptqLinear(
  prefix: string,
  N: number,
  K: number,
  q: GptqConfig,
  t: { qweight?: HostTensor; qzeros?: HostTensor; scales?: HostTensor; g_idx?: HostTensor; bias?: HostTensor },
  file: string,
  wantBias: boolean,
): QuantLinearData {
  const b = q.bits;
  const per = 32 / b;
  const mask = (1 << b) - 1;
  if (K % per !== 0)
    throw new QuantizationError(file, `${prefix}.qweight`, K, `in_features must be a multiple of ${per} for ${b}-bit packing`);
  if (N % per !== 0)
    throw new QuantizationError(file, `${prefix}.qzeros`, N, `out_features must be a multiple of ${per} for ${b}-bit zero packing`);
  const gs = groupSize(K, q.group_size);
  const G = groupCount(K, q.group_size);
  const qw = expectTensor(t.qweight, file, `${prefix}.qweight`, 'I32', [K / per, N]).data as Int32Array;
  const qz = expectTensor(t.qzeros, file, `${prefix}.qzeros`, 'I32', [G, N / per]).data as Int32Array;
  const sc = expectTensor(t.scales, file, `${prefix}.scales`, 'F16', [G, N]).data as Uint16Array;
  if (t.bias && !wantBias) throw new QuantizationError(file, `${prefix}.bias`, 'present', 'the config says this Linear has no bias');
  if (!t.bias && wantBias) throw new QuantizationError(file, `${prefix}.bias`, 'missing', 'the config says this Linear has a bias');
  const bias = t.bias ? f16Widen(expectTensor(t.bias, file, `${prefix}.bias`, 'F16', [N]).data as Uint16Array) : null;
  let gIdx: Int32Array;
  if (t.g_idx) gIdx = expectTensor(t.g_idx, file, `${prefix}.g_idx`, 'I32', [K]).data as Int32Array;
  else {
    if (q.desc_act) throw new QuantizationError(file, `${prefix}.g_idx`, 'missing', 'desc_act checkpoints must store g_idx');
    gIdx = Int32Array.from({ length: K }, (_, k) => Math.floor(k / gs));
  }

  // perm: inputs stably sorted by group; every group must then cover exactly [g·gs, (g+1)·gs).
  const count = new Int32Array(G);
  for (let k = 0; k < K; k++) {
    const g = gIdx[k];
    if (!(g >= 0 && g < G)) throw new QuantizationError(file, `${prefix}.g_idx[${k}]`, g, `expected a group in [0, ${G})`);
    count[g]++;
  }
  for (let g = 0; g < G; g++) {
    const want = Math.min(gs, K - g * gs);
    if (count[g] !== want) {
      throw new QuantizationError(
        file,
        `${prefix}.g_idx`,
        `group ${g} has ${count[g]} inputs`,
        `expected ${want} (group_size ${q.group_size})`,
        'groups of unequal size are not supported',
      );
    }
  }
  let identity = true;
  for (let k = 0; k < K && identity; k++) if (gIdx[k] !== Math.floor(k / gs)) identity = false;
  let perm: Int32Array | null = null;
  let qweight = qw;
  if (!identity) {
    const next = Int32Array.from({ length: G }, (_, g) => g * gs);
    perm = new Int32Array(K);
    for (let k = 0; k < K; k++) perm[next[gIdx[k]]++] = k;
    qweight = new Int32Array(qw.length);
    for (let i = 0; i < K; i++) {
      const k = perm[i];
      const src = (k / per) | 0;
      const sh = b * (k % per);
      const dst = (i / per) | 0;
      const dh = b * (i % per);
      for (let n = 0; n < N; n++) qweight[dst * N + n] |= ((qw[src * N + n] >>> sh) & mask) << dh;
    }
  }

  const off = q.checkpoint_format === 'gptq' ? 1 : 0;
  const zeros = new Float32Array(G * N);
  for (let g = 0; g < G; g++) {
    for (let n = 0; n < N; n++) zeros[g * N + n] = ((qz[g * (N / per) + ((n / per) | 0)] >>> (b * (n % per))) & mask) + off;
  }
  const scales = f16Widen(sc);
  for (let i = 0; i < scales.length; i++) {
    if (!Number.isFinite(scales[i]))
      throw new QuantizationError(file, `${prefix}.scales[${(i / N) | 0}, ${i % N}]`, scales[i], 'expected a finite scale');
  }
  return { name: prefix, bits: b, K, N, groupSize: gs, qweight, scales, zeros, perm, bias };
}

let F16_TABLE: Float32Array | null = null;
/** fp16 bits -> f32 through a 65536-entry table (exact; ~10x faster than f16ToF32 per value: the
 *  27B has 200 M scales). */
function f16Widen(h: Uint16Array): Float32Array {
  if (!F16_TABLE) {
    F16_TABLE = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) F16_TABLE[i] = f16ToF32(i);
  }
  const t = F16_TABLE;
  const out = new Float32Array(h.length);
  for (let i = 0; i < h.length; i++) out[i] = t[h[i]];
  return out;
}

// ------------------------------------------------------------------------------------------
// Readable definitions (the twins of kernels/quant.ts)

/** The quantized value of permuted input i, column n. */
export function qAt(d: QuantLinearData, i: number, n: number): number {
  const per = 32 / d.bits;
  return (d.qweight[((i / per) | 0) * d.N + n] >>> (d.bits * (i % per))) & ((1 << d.bits) - 1);
}

/** Dequantized W (N, K) in the ORIGINAL input order: scale · (q − zero), exact in f32. */
export function dequantize(d: QuantLinearData): Float32Array {
  const { K, N, groupSize: gs } = d;
  const W = new Float32Array(N * K);
  for (let i = 0; i < K; i++) {
    const k = d.perm ? d.perm[i] : i;
    const g = (i / gs) | 0;
    for (let n = 0; n < N; n++) W[n * K + k] = Math.fround(d.scales[g * N + n] * (qAt(d, i, n) - d.zeros[g * N + n]));
  }
  return W;
}

/**
 * y = x · Wᵀ (+ b) on a quantized W, x [M, K] -> [M, N], in the kernels' order (kernels/quant.ts
 * Numerics): per output, acc = 0; for i ascending: acc = f32(acc + f32(x[perm[i]] · w_i)) with
 * w_i = f32(scale · f32(q − zero)) exact; then f32(acc + b). GEMV and GEMM give these bits.
 */
export function linearQuantF32(x: Float32Array, M: number, d: QuantLinearData): Float32Array {
  const { K, N, groupSize: gs } = d;
  const f = Math.fround;
  const y = new Float32Array(M * N);
  const w = new Float32Array(K);
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < K; i++) {
      const g = (i / gs) | 0;
      w[i] = f(d.scales[g * N + n] * f(qAt(d, i, n) - d.zeros[g * N + n]));
    }
    for (let m = 0; m < M; m++) {
      let acc = 0;
      for (let i = 0; i < K; i++) acc = f(acc + f(x[m * K + (d.perm ? d.perm[i] : i)] * w[i]));
      y[m * N + n] = d.bias ? f(acc + d.bias[n]) : acc;
    }
  }
  return y;
}

/**
 * The GEMV's order (kernels/quant.ts gemv_q, M <= 3): per group g, A = Σ f32(x_i·q_i) and xs = Σ x_i
 * (f32, inputs ascending in perm order), then y = f32(y + f32(s · f32(A − f32(z · xs)))); the bias last.
 * The product is formed as the kernel forms it: f32(x_i·2^-e) · (q_i·2^e), j = i mod (32/b), e = 4·(j&1)
 * for int4, 8j (j < 3) or 0 (j = 3) for int8 — x_i·q_i exactly unless x_i·2^-e is subnormal.
 */
export function linearQuantGemvF32(x: Float32Array, M: number, d: QuantLinearData): Float32Array {
  const { K, N, groupSize: gs } = d;
  const f = Math.fround;
  const G = Math.ceil(K / gs);
  const per = 32 / d.bits;
  const y = new Float32Array(M * N);
  for (let m = 0; m < M; m++) {
    const xp = (i: number) => x[m * K + (d.perm ? d.perm[i] : i)];
    const xs = new Float32Array(G);
    for (let g = 0; g < G; g++) {
      let s = 0;
      for (let i = g * gs; i < Math.min(K, (g + 1) * gs); i++) s = f(s + xp(i));
      xs[g] = s;
    }
    for (let n = 0; n < N; n++) {
      let acc = 0;
      for (let g = 0; g < G; g++) {
        let A = 0;
        for (let i = g * gs; i < Math.min(K, (g + 1) * gs); i++) {
          const j = i % per;
          const sc = 2 ** (d.bits === 4 ? 4 * (j & 1) : j === 3 ? 0 : 8 * j);
          A = f(A + f(f(xp(i) / sc) * (qAt(d, i, n) * sc)));
        }
        acc = f(acc + f(d.scales[g * N + n] * f(A - f(d.zeros[g * N + n] * xs[g]))));
      }
      y[m * N + n] = d.bias ? f(acc + d.bias[n]) : acc;
    }
  }
  return y;
}

/** Inputs per integer block of the integer-dot GEMM (kernels/quant.ts DOT_KB): its i32 sums stay < 2^31. */
export const DOT_KB = 128;

/**
 * One row of activations as int16 for the integer-dot GEMM (kernels/quant.ts quant_rows_i16):
 * ax = f32(amax / 32767), xq_i = round-half-even(f32(x_i · f32(32767 / amax))) clamped to ±32767;
 * amax = 0 gives ax = 0 and all zeros.
 */
export function quantRowI16(x: Float32Array): { xq: Int16Array; ax: number } {
  const f = Math.fround;
  let amax = 0;
  for (const v of x) amax = Math.max(amax, Math.abs(v));
  const inv = amax > 0 ? f(32767 / amax) : 0;
  const xq = new Int16Array(x.length);
  for (let i = 0; i < x.length; i++) xq[i] = Math.min(32767, Math.max(-32767, roundHalfEven(f(x[i] * inv))));
  return { xq, ax: f(amax / 32767) };
}

function roundHalfEven(v: number): number {
  const r = Math.round(v); // half up
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** x [M, K] with each row's inputs in act order, out[m, i] = x[m, perm[i]] (what every quantized
 *  kernel reads); x itself without act order. */
export function permuteInputs(x: Float32Array, M: number, K: number, perm: Int32Array | null): Float32Array {
  if (!perm) return x;
  const out = new Float32Array(M * K);
  for (let m = 0; m < M; m++) for (let i = 0; i < K; i++) out[m * K + i] = x[m * K + perm[i]];
  return out;
}

/**
 * The integer-dot GEMM's result (kernels/quant.ts gemm_q_dot; opt-in, it rounds x to 16 bits): per
 * row, x (in perm order) as int16 (quantRowI16); per output, blocks of at most DOT_KB inputs inside
 * each group, ascending: D = Σ xq_i·(q_i − zero) exactly (an integer < 2^31), t = f32(scale ·
 * f32(D)), acc = t for the first block else f32(acc + t); y = f32(acc · ax), then f32(y + b).
 */
export function linearQuantDotI16(x: Float32Array, M: number, d: QuantLinearData): Float32Array {
  const { K, N, groupSize: gs } = d;
  const f = Math.fround;
  const y = new Float32Array(M * N);
  const xa = permuteInputs(x, M, K, d.perm);
  for (let m = 0; m < M; m++) {
    const { xq, ax } = quantRowI16(xa.subarray(m * K, (m + 1) * K));
    for (let n = 0; n < N; n++) {
      let acc = 0;
      for (let k0 = 0; k0 < K; ) {
        const g = (k0 / gs) | 0;
        const k1 = Math.min(k0 + DOT_KB, K, (g + 1) * gs);
        const z = d.zeros[g * N + n];
        let D = 0;
        for (let i = k0; i < k1; i++) D += xq[i] * (qAt(d, i, n) - z);
        const t = f(d.scales[g * N + n] * f(D));
        acc = k0 === 0 ? t : f(acc + t);
        k0 = k1;
      }
      const v = f(acc * ax);
      y[m * N + n] = d.bias ? f(v + d.bias[n]) : v;
    }
  }
  return y;
}

/** Inputs per activation block of the int8-activation GEMV (kernels/quant.ts DOT8_KB, q8_0's block). */
export const DOT8_KB = 32;

/** The number of DOT8_KB blocks of one row: blocks of <= 32 inputs inside each group of gs. */
export function dot8BlockCount(K: number, gs: number): number {
  let B = 0;
  for (let g0 = 0; g0 < K; g0 += gs) B += Math.ceil((Math.min(K, g0 + gs) - g0) / DOT8_KB);
  return B;
}

/**
 * One row (K inputs, permuted) as int8 per block for the int8-activation GEMV (kernels/quant.ts
 * quant_blocks_i8): blocks of at most DOT8_KB inputs inside each group of gs; per block
 * axb = f32(amax / 127), xq_i = round-half-even(f32(x_i · f32(127 / amax))) clamped to ±127
 * (amax = 0: zeros and axb = 0; NaN: 0); per group xg = the sequential f32 sum over its blocks of
 * f32(axb · Σ xq).
 */
export function quantBlocksI8(x: Float32Array, K: number, gs: number): { xq: Int8Array; axb: Float32Array; xg: Float32Array } {
  const f = Math.fround;
  const xq = new Int8Array(K);
  const axb: number[] = [];
  const xg = new Float32Array(Math.ceil(K / gs));
  for (let g0 = 0, g = 0; g0 < K; g0 += gs, g++) {
    const g1 = Math.min(K, g0 + gs);
    let xs = 0;
    for (let k0 = g0; k0 < g1; k0 += DOT8_KB) {
      const k1 = Math.min(g1, k0 + DOT8_KB);
      let amax = 0;
      for (let i = k0; i < k1; i++) amax = Math.max(amax, Math.abs(x[i]));
      const inv = amax > 0 ? f(127 / amax) : 0;
      const ab = f(amax / 127);
      axb.push(ab);
      let s = 0;
      for (let i = k0; i < k1; i++) {
        xq[i] = Math.min(127, Math.max(-127, roundHalfEven(f(x[i] * inv)))); // NaN stores 0
        s += xq[i];
      }
      const t = f(ab * s);
      xs = k0 === g0 ? t : f(xs + t);
    }
    xg[g] = xs;
  }
  return { xq, axb: Float32Array.from(axb), xg };
}

/**
 * The int8-activation GEMV's result (kernels/quant.ts gemv_q_dot8; opt-in, quantDot 'int8'): per
 * row, x (in perm order) as int8 per block (quantBlocksI8); per output n, per group g, per block b
 * in g ascending: P = Σ xq_i·q_i exactly, A = f32(axb · f32(P)) for the first block else
 * f32(A + f32(axb · f32(P))); u = f32(scale · f32(A − f32(zero · xg))), y = u for the first group
 * else f32(y + u); then f32(y + b).
 */
export function linearQuantDotI8(x: Float32Array, M: number, d: QuantLinearData): Float32Array {
  const { K, N, groupSize: gs } = d;
  const f = Math.fround;
  const y = new Float32Array(M * N);
  const xa = permuteInputs(x, M, K, d.perm);
  for (let m = 0; m < M; m++) {
    const { xq, axb, xg } = quantBlocksI8(xa.subarray(m * K, (m + 1) * K), K, gs);
    for (let n = 0; n < N; n++) {
      let acc = 0;
      let b = 0;
      for (let g0 = 0, g = 0; g0 < K; g0 += gs, g++) {
        const g1 = Math.min(K, g0 + gs);
        let A = 0;
        for (let k0 = g0; k0 < g1; k0 += DOT8_KB, b++) {
          const k1 = Math.min(g1, k0 + DOT8_KB);
          let P = 0;
          for (let i = k0; i < k1; i++) P += xq[i] * qAt(d, i, n);
          const t = f(axb[b] * P);
          A = k0 === g0 ? t : f(A + t);
        }
        const u = f(d.scales[g * N + n] * f(A - f(d.zeros[g * N + n] * xg[g])));
        acc = g0 === 0 ? u : f(acc + u);
      }
      y[m * N + n] = d.bias ? f(acc + d.bias[n]) : acc;
    }
  }
  return y;
}

/** Bytes a quantized Linear takes in memory (qweight + f32 scales and zeros + perm). */
export function quantLinearBytes(d: QuantLinearData): number {
  return d.qweight.byteLength + d.scales.byteLength + d.zeros.byteLength + (d.perm?.byteLength ?? 0) + (d.bias?.byteLength ?? 0);
}

/**
 * The kernels' weight layout (kernels/quant.ts): qweight [R, N] (R = K·b/32) regrouped into panels of 8
 * columns, word (r, n) at ((n >> 3)·R + r)·8 + (n & 7); N padded to a multiple of 8 with zero words.
 * The same words, reordered (no value changes): one panel is one sequential stream for the GEMV.
 */
export function toPanels(qweight: Int32Array, K: number, N: number, bits: QuantBits, out?: Int32Array): Int32Array {
  const R = (K * bits) / 32;
  const P = Math.ceil(N / 8);
  // `out`: where the panels go (the backend's memory: no second host copy of the weights)
  if (out && out.length !== P * R * 8) throw new RangeError(`toPanels: out has ${out.length} words, the panels ${P * R * 8}`);
  const dst = out ?? new Int32Array(P * R * 8);
  let o = 0;
  for (let p = 0; p < P; p++) {
    const n0 = p * 8;
    const w = Math.min(8, N - n0);
    for (let r = 0; r < R; r++, o += 8) {
      const src = r * N + n0;
      for (let c = 0; c < w; c++) dst[o + c] = qweight[src + c];
      for (let c = w; c < 8; c++) dst[o + c] = 0; // the padded columns of the last panel
    }
  }
  return dst;
}

/**
 * The kernels' layout of the group scales and zero points (kernels/quant.ts `sz`): scales and
 * zeros [G, N] regrouped like the panels — per 8-column panel, per group, one 64-byte line of the 8
 * columns' scales then their 8 zeros (0 for the padded columns of the last panel). A GEMV pass over
 * a panel then reads its G lines as one sequential stream next to the panel's weights, not G rows
 * N·4 bytes apart. `out`: as in toPanels.
 */
export function panelScales(scales: Float32Array, zeros: Float32Array, G: number, N: number, out?: Float32Array): Float32Array {
  const P = Math.ceil(N / 8);
  if (scales.length !== G * N || zeros.length !== G * N) throw new RangeError(`panelScales: scales/zeros must hold G·N = ${G * N} values`);
  if (out && out.length !== P * G * 16) throw new RangeError(`panelScales: out has ${out.length} floats, the lines ${P * G * 16}`);
  const dst = out ?? new Float32Array(P * G * 16);
  for (let p = 0, o = 0; p < P; p++) {
    const n0 = p * 8;
    const w = Math.min(8, N - n0);
    for (let g = 0; g < G; g++, o += 16) {
      for (let c = 0; c < 8; c++) {
        dst[o + c] = c < w ? scales[g * N + n0 + c] : 0;
        dst[o + 8 + c] = c < w ? zeros[g * N + n0 + c] : 0;
      }
    }
  }
  return dst;
}

/** A quantized Linear held by a backend (the packed weights live there). shape = (out N, in K). */
export interface QuantWeight {
  readonly kind: 'gptq';
  readonly name: string;
  readonly bits: QuantBits;
  readonly shape: readonly [number, number];
  readonly hasBias: boolean;
}

export function isQuantWeight(w: unknown): w is QuantWeight {
  return typeof w === 'object' && w !== null && (w as { kind?: unknown }).kind === 'gptq';
}
