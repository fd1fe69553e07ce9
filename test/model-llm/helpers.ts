// Test helpers: tiny Ovis configs from the `micro-*` presets (with overrides) and in-memory
// checkpoints of seeded random weights in the real HF layout (names/shapes from expectedTensors).

import { expectedTensors } from '../../src/config/expected-tensors.js';
import { type OvisConfig, parseOvisConfig } from '../../src/config/ovis-config.js';
import { PRESETS } from '../../src/config/presets.js';
import { type DType, narrowToBf16 } from '../../src/dtype.js';
import type { TensorSource } from '../../src/model/weights.js';
import type { HostTensor } from '../../src/tensor.js';

/** Deterministic normal(0, 1) generator (mulberry32 + Box-Muller); test-only. */
export function randn(seed: number): () => number {
  let s = seed >>> 0;
  const u = () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(u() + 1e-12)) * Math.cos(2 * Math.PI * u());
}

export function microConfig(flavour: 'llama' | 'gemma2', llmOverrides: Record<string, unknown> = {}): OvisConfig {
  const f = PRESETS[`micro-${flavour}`].files();
  const cfg = f['config.json'];
  const llm = { ...(cfg.llm_config as Record<string, unknown>), ...llmOverrides };
  return parseOvisConfig({ ...cfg, llm_config: llm }, `micro-${flavour}/config.json`);
}

export class MemorySource implements TensorSource {
  readonly tensors = new Map<string, { dtype: DType; shape: number[] }>();
  readonly data = new Map<string, HostTensor>();
  set(name: string, dtype: 'F32' | 'BF16', shape: number[], values: Float32Array): void {
    this.tensors.set(name, { dtype, shape });
    this.data.set(name, { dtype, shape, data: dtype === 'F32' ? values : narrowToBf16(values) });
  }
  async read(name: string): Promise<HostTensor> {
    const t = this.data.get(name);
    if (!t) throw new Error(`MemorySource: no ${name}`);
    return t;
  }
}

/**
 * Random weights for a config, in the real layout (expectedTensors): matrices ~ N(0, 1/fan_in) (so
 * activations stay O(1)); tensors HF initialises to ones / zeros (norm weights, biases) get
 * 1 + N(0, 0.1) / N(0, 0.1), so a wrong offset (Gemma2's 1 + w) or a dropped bias shows.
 * `llmOnly` (default) skips the vision tower, visual head and VTE.
 */
export function randomLlm(
  cfg: OvisConfig,
  seed = 1,
  dtype: 'F32' | 'BF16' = 'F32',
  extra: (src: MemorySource) => void = () => {},
  llmOnly = true,
): MemorySource {
  const r = randn(seed);
  const src = new MemorySource();
  for (const t of expectedTensors(cfg)) {
    if (t.ignored || (llmOnly && t.component !== 'llm')) continue;
    const n = t.shape.reduce((a, b) => a * b, 1);
    const v = new Float32Array(n);
    const fanIn = t.shape.length > 1 ? n / t.shape[0] : n; // conv (D, 3, P, P): 3·P·P
    const scale = t.init === 'normal' ? 1 / Math.sqrt(fanIn) : 0.1;
    const base = t.init === 'ones' ? 1 : 0;
    for (let i = 0; i < n; i++) v[i] = base + scale * r();
    src.set(t.name, dtype, t.shape, v);
  }
  extra(src);
  return src;
}

/** Random weights for every component (vision tower, visual head, VTE, LLM). */
export function randomOvis(cfg: OvisConfig, seed = 1): MemorySource {
  return randomLlm(cfg, seed, 'F32', () => {}, false);
}

/** Random inputs_embeds [T, H] ~ N(0, 1). */
export function randomEmbeds(T: number, H: number, seed = 2): { shape: number[]; data: Float32Array } {
  const r = randn(seed);
  const data = new Float32Array(T * H);
  for (let i = 0; i < data.length; i++) data[i] = r();
  return { shape: [T, H], data };
}

/** Max |a-b| / max(1, max|b|). */
export function relErr(a: Float32Array, b: Float32Array): number {
  let m = 0;
  let s = 1;
  for (let i = 0; i < a.length; i++) {
    m = Math.max(m, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  if (a.length !== b.length) return Infinity;
  return m / s;
}
