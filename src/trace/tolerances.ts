// The ONE table of parity tolerances, each with its reason (docs/numerics.md explains them),
// the verdict rule, and the llm.c-style report: one line per stage, then `overall: k/n OK`.
//
// Modes: 'f32'  — reference = stored weights upcast to f32, f32 compute (the bars the tests hold);
//        'bf16' — reference = bf16 weights and bf16 compute, as HF runs Ovis. We compute in f32,
//                 so this table is informational (printed, never a failure), except ids.

import type { StageMetrics } from './metrics.js';
import { unravel } from './metrics.js';

export type ToleranceKind =
  | 'exact' //   every element identical (and shapes equal)
  | 'relmax' //  maxAbsErr <= value · maxMagnitude (max |reference| of the stage)
  | 'abs' //     maxAbsErr <= value
  | 'info'; //   reported only

export interface Tolerance {
  kind: ToleranceKind;
  value: number;
  reason: string;
}

export type ParityMode = 'f32' | 'bf16';

/** f32 compute in both implementations: only summation order and libm ulps differ. */
const F32_REL = 1e-4;
const F32_REASON_LINEAR =
  'f32 vs f32, different summation order: |Δ| <= K·2^-24·Σ|aᵢbᵢ| per dot product (HF: MKL/oneDNN blocked f32; ours: f64 accumulation); ' +
  'observed errors are ~1e-6 of the stage magnitude, and compound over layers';

interface Row {
  pattern: RegExp;
  f32: Tolerance;
  bf16?: Tolerance;
}

/** Stage name pattern -> tolerance. First match wins; keep the order of docs/design.md#stage-names. */
export const TOLERANCES: readonly Row[] = [
  {
    pattern: /^pixel_values$/,
    f32: {
      kind: 'exact',
      value: 0,
      reason:
        'Pillow BICUBIC on 8-bit RGB is integer arithmetic, reproduced bit-exactly; rescale in f64 then f32 normalise, same steps as SiglipImageProcessor',
    },
    bf16: {
      kind: 'exact',
      value: 0,
      reason: 'preprocessing is f32 in both modes (the processor output, before the cast to the model dtype)',
    },
  },
  {
    pattern: /^vit\.embeddings$/,
    f32: { kind: 'relmax', value: F32_REL, reason: 'Conv2d 14x14 as unfold + matmul (K = 588) + position embedding; ' + F32_REASON_LINEAR },
  },
  {
    pattern: /^vit\.layers\.\d+\.(self_attn|mlp)$/,
    f32: {
      kind: 'relmax',
      value: F32_REL,
      reason:
        'SiglipAttention (out_proj of softmax over 729 keys) / SiglipMLP (fc2 of gelu_tanh of fc1) output, before the residual add; ' +
        F32_REASON_LINEAR,
    },
  },
  {
    pattern: /^vit\.layers\.\d+$/,
    f32: {
      kind: 'relmax',
      value: F32_REL,
      reason:
        'pre-LN SigLIP layer (LayerNorm f64 stats, K = D and Fv matmuls, softmax over 729 keys, gelu_tanh ulps); ' + F32_REASON_LINEAR,
    },
  },
  {
    pattern: /^vt\.features$/,
    f32: { kind: 'relmax', value: F32_REL, reason: 'a permutation (+ zero padding) of the last vit layer: inherits its error, adds none' },
  },
  {
    pattern: /^vt\.head_linear$/,
    f32: { kind: 'relmax', value: F32_REL, reason: 'Linear 4D -> V-5 (K = 4608 for so400m); ' + F32_REASON_LINEAR },
  },
  {
    pattern: /^vt\.logits$/,
    f32: { kind: 'relmax', value: F32_REL, reason: 'LayerNorm over V-5 = 65531 values (torch: f32 moments; ours: f64) of head_linear' },
  },
  {
    pattern: /^vt\.tokens$/,
    f32: { kind: 'relmax', value: F32_REL, reason: 'softmax over V-5 (f32 exp ulps; ours f64) + 5 exact zero columns; |Δp| <= p·|Δlogit|' },
  },
  {
    pattern: /^vte\.embeds$/,
    f32: {
      kind: 'relmax',
      value: F32_REL,
      reason: 'tokens [196, V] · vte [V, H], K = 65536 probability-weighted rows; ' + F32_REASON_LINEAR,
    },
  },
  {
    pattern: /^vte\.indicators$/,
    f32: { kind: 'exact', value: 0, reason: 'rows V-5..V-1 of the table, copied (bf16 -> f32 widening is exact)' },
    bf16: { kind: 'info', value: 0, reason: 'bf16 reference rows (widened exactly); informational' },
  },
  {
    pattern: /^inputs_embeds$/,
    f32: { kind: 'relmax', value: F32_REL, reason: 'text rows are exact table rows; visual rows carry vte.embeds error' },
  },
  {
    pattern: /^llm\.layers\.\d+\.(self_attn|mlp)$/,
    f32: {
      kind: 'relmax',
      value: F32_REL,
      reason:
        'attention (o_proj of GQA softmax·v, rope f32 tables) / gated MLP (down_proj) output, before the residual add (Gemma2: before its post-norm); ' +
        F32_REASON_LINEAR,
    },
  },
  {
    pattern: /^llm\.layers\.\d+$/,
    f32: { kind: 'relmax', value: F32_REL, reason: 'decoder layer (RMSNorm, rope f32 tables, GQA attention, MLP); ' + F32_REASON_LINEAR },
  },
  { pattern: /^llm\.norm$/, f32: { kind: 'relmax', value: F32_REL, reason: 'final RMSNorm of the last layer' } },
  {
    pattern: /^logits$/,
    f32: {
      kind: 'abs',
      value: 1e-3,
      reason:
        'logits within 1e-3 absolute, far below the logit gaps greedy decoding depends on (lm_head K = H dot products of the final norm; Gemma2 softcap 30 shrinks errors)',
    },
  },
  {
    pattern: /^generated_ids$/,
    f32: { kind: 'exact', value: 0, reason: 'greedy decoding: the argmax must not flip (logit gaps >> 1e-3 on fixtures)' },
    bf16: { kind: 'info', value: 0, reason: 'bf16 compute can flip near-tied argmaxes; informational' },
  },
];

const DEFAULT_F32: Tolerance = { kind: 'relmax', value: F32_REL, reason: 'unlisted f32 stage: the default f32 bar (1e-4 x max magnitude)' };
const BF16_INFO: Tolerance = {
  kind: 'info',
  value: 0,
  reason: 'bf16-compute reference: bf16 rounds every op to 8 mantissa bits (2^-9 relative), we compute in f32; errors printed, not judged',
};

/** The tolerance of a stage in a mode. */
export function toleranceFor(stage: string, mode: ParityMode = 'f32'): Tolerance {
  const row = TOLERANCES.find((r) => r.pattern.test(stage));
  if (mode === 'bf16') return row?.bf16 ?? BF16_INFO;
  return row?.f32 ?? DEFAULT_F32;
}

export type Verdict = 'OK' | 'NOT OK' | 'INFO';

export function judge(m: StageMetrics, tol: Tolerance): Verdict {
  if (tol.kind === 'info') return 'INFO';
  if (!m.shapeMatch || m.nonFinite > 0) return 'NOT OK';
  switch (tol.kind) {
    case 'exact':
      return m.maxAbsErr === 0 ? 'OK' : 'NOT OK';
    case 'abs':
      return m.maxAbsErr <= tol.value ? 'OK' : 'NOT OK';
    case 'relmax':
      return m.maxAbsErr <= tol.value * m.maxMagnitude ? 'OK' : 'NOT OK';
  }
}

export interface StageResult {
  metrics: StageMetrics;
  tolerance: Tolerance;
  verdict: Verdict;
}

export function evaluate(m: StageMetrics, mode: ParityMode = 'f32'): StageResult {
  const tolerance = toleranceFor(m.name, mode);
  return { metrics: m, tolerance, verdict: judge(m, tolerance) };
}

/** Order of stages in reports (docs/design.md#stage-names), then layer index. */
export function stageOrder(name: string): [number, number] {
  const order = [
    'pixel_values',
    'vit.embeddings',
    'vit.layers.',
    'vt.features',
    'vt.head_linear',
    'vt.logits',
    'vt.tokens',
    'vte.embeds',
    'vte.indicators',
    'inputs_embeds',
    'llm.layers.',
    'llm.norm',
    'logits',
    'generated_ids',
  ];
  // biome-ignore lint/complexity/useIndexOf: an entry ending in '.' matches a prefix, not by equality
  const k = order.findIndex((p) => (p.endsWith('.') ? name.startsWith(p) : name === p));
  // within a layer: self_attn, mlp, then the layer's output
  const layer = /\.(\d+)(?:\.(self_attn|mlp))?$/.exec(name);
  const within = layer?.[2] === 'self_attn' ? 0 : layer?.[2] === 'mlp' ? 1 : 2;
  return [k < 0 ? order.length : k, layer ? 3 * Number(layer[1]) + within : 0];
}

export function sortStages<T>(items: T[], name: (t: T) => string): T[] {
  return [...items].sort((a, b) => {
    const [x, i] = stageOrder(name(a));
    const [y, j] = stageOrder(name(b));
    return x - y || i - j || name(a).localeCompare(name(b));
  });
}

const e = (x: number) => (Number.isFinite(x) ? x.toExponential(2) : String(x));
const v = (x: number) => (Number.isFinite(x) ? x.toPrecision(7) : String(x));

function fmtTol(t: Tolerance, m: StageMetrics): string {
  switch (t.kind) {
    case 'exact':
      return 'exact';
    case 'abs':
      return `abs ${e(t.value)}`;
    case 'relmax':
      return `${e(t.value)}·max=${e(t.value * m.maxMagnitude)}`;
    case 'info':
      return 'info';
  }
}

/** One report line (llm.c test_gpt2 style): name, shape, max abs err @index got/want, rel,
 *  cosine, nmse, tolerance, verdict. */
export function formatLine(r: StageResult, nameWidth = 18): string {
  const m = r.metrics;
  const name = m.name.padEnd(nameWidth);
  if (!m.shapeMatch) {
    return `${name} shape [${m.gotShape}] vs reference [${m.wantShape}]  ${r.verdict}`;
  }
  const at = m.maxAbsIndex >= 0 ? `@[${unravel(m.maxAbsIndex, m.wantShape)}] got ${v(m.gotAtMax)} want ${v(m.wantAtMax)}` : '';
  const nf = m.nonFinite ? `  non-finite mismatches ${m.nonFinite}` : '';
  return `${name} [${m.wantShape}]  maxabs ${e(m.maxAbsErr)} ${at}  rel ${e(m.relToMax)}  cos ${m.cosine.toFixed(6)}  nmse ${e(m.nmse)}${nf}  tol ${fmtTol(r.tolerance, m)}  ${r.verdict}`;
}

/** The whole report: one line per stage (in stage order), then `overall: k/n OK` (INFO rows
 *  are listed but not counted). `ok` is true iff no stage is NOT OK. */
export function formatReport(results: StageResult[]): { text: string; ok: boolean; passed: number; judged: number } {
  const sorted = sortStages(results, (r) => r.metrics.name);
  const width = Math.max(18, ...sorted.map((r) => r.metrics.name.length + 1));
  const lines = sorted.map((r) => formatLine(r, width));
  const judged = sorted.filter((r) => r.verdict !== 'INFO').length;
  const passed = sorted.filter((r) => r.verdict === 'OK').length;
  const info = sorted.length - judged;
  lines.push(`overall: ${passed}/${judged} OK${info ? ` (${info} informational)` : ''}`);
  return { text: lines.join('\n'), ok: passed === judged, passed, judged };
}
