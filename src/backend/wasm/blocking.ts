// GEMM blocking (kc, mc, nc of kernels/gemm.ts gemm_blocked), chosen once per process.
//
// The blocking changes speed only, never a value: every C[i, j] is the same sequential f32
// sum over k whatever the blocks (kernels/gemm.ts Numerics; test/kernels/gemm-blocking.test.ts).
// Order of precedence (docs/kernels.md "GEMM blocking"):
//   1. createWasmBackend({ gemmBlocking }) — explicit, per backend;
//   2. OVIS_GEMM_BLOCKING=kc,mc,nc in the environment (Node, Bun; Deno with --allow-env);
//   3. a short probe at the first createWasmBackend of the process (~0.2-0.4 s: 18
//      candidate blockings timed on a small SigLIP-shaped bf16 GEMM on the calling thread),
//      keeping the default unless a candidate is clearly (> 3%) faster; remembered for the
//      process. Cache sizes are not used to derive a blocking: on the machines measured the
//      GFLOP/s over the whole kc x nc x mc grid stayed within a few % (docs/kernels.md).
// Shapes: kc K-block depth · mc rows of a packed A block · nc columns of a packed B block.

import { InputError } from '../../errors.js';

export interface GemmBlocking {
  kc: number;
  mc: number;
  nc: number;
}

/** How the live blocking was chosen. */
export type GemmBlockingSource = 'option' | 'env' | 'probe' | 'default';

export interface ChosenGemmBlocking extends GemmBlocking {
  source: GemmBlockingSource;
  /** 'probe': candidates timed, GFLOP/s each (best of the rounds), and the probe's wall time. */
  probe?: { candidates: (GemmBlocking & { gflops: number })[]; ms: number };
}

/** The blocking kernels/gemm.ts compiles in (KC/MC/NC_DEFAULT): used when neither an option,
 *  OVIS_GEMM_BLOCKING nor the probe picks another. */
export const DEFAULT_GEMM_BLOCKING: Readonly<GemmBlocking> = Object.freeze({ kc: 256, mc: 128, nc: 1024 });

/** The probe's candidates: kc x nc x mc (18 blockings). */
export const PROBE_KC = [128, 256, 384] as const;
export const PROBE_NC = [256, 512, 1024] as const;
export const PROBE_MC = [64, 128] as const;

/** Per-thread packing scratch limit for one blocking (B block + A block + a tile). */
const MAX_SCRATCH_BYTES = 64 * 2 ** 20;

/** The problems with a blocking (empty when valid): kc >= 1, mc a multiple of 4 (the
 *  micro-kernel's 4-row A tiles), nc a multiple of 8 (8-column B panels), bounded scratch. */
export function blockingProblems(b: Partial<GemmBlocking>): string[] {
  const out: string[] = [];
  const int = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
  if (!int(b.kc) || b.kc < 1 || b.kc > 8192) out.push(`kc must be an integer in [1, 8192], got ${b.kc}`);
  if (!int(b.mc) || b.mc < 4 || b.mc > 8192 || b.mc % 4 !== 0) out.push(`mc must be a multiple of 4 in [4, 8192], got ${b.mc}`);
  if (!int(b.nc) || b.nc < 8 || b.nc > 16384 || b.nc % 8 !== 0) out.push(`nc must be a multiple of 8 in [8, 16384], got ${b.nc}`);
  if (out.length === 0 && gemmScratchBytes(b as GemmBlocking) > MAX_SCRATCH_BYTES) {
    out.push(`kc·(nc + mc) = ${b.kc! * (b.nc! + b.mc!)} floats of packing scratch per thread exceeds ${MAX_SCRATCH_BYTES / 2 ** 20} MiB`);
  }
  return out;
}

/** Throws an InputError naming every problem of `b` (from `where`). */
export function checkBlocking(b: Partial<GemmBlocking>, where: string): GemmBlocking {
  const p = blockingProblems(b);
  if (p.length)
    throw new InputError(
      `${where}: invalid GEMM blocking ${JSON.stringify(b)}: ${p.join('; ')}`,
      'kc >= 1, mc a multiple of 4, nc a multiple of 8, e.g. 256,128,1024',
    );
  return { kc: b.kc!, mc: b.mc!, nc: b.nc! };
}

/** Per-thread scratch bytes of gemm_blocked (same formula as kernels/gemm.ts gemm_blocked_scratch_bytes). */
export function gemmScratchBytes(b: GemmBlocking): number {
  return (b.kc * b.nc + b.kc * b.mc + 32) * 4;
}

/**
 * The process-wide probed blocking for one backend: kept when its packing scratch for all
 * threads takes at most half of the backend's per-op scratch budget, else the default (a
 * backend made with a small `scratchBytes` — 3 MiB in the thread-independence test — and a
 * probe that picked kc=384 needed 2 x 1.8 MB of packing and every GEMM refused with 'raise
 * scratchBytes'). Explicit choices (option, OVIS_GEMM_BLOCKING) are the user's and are kept.
 */
export function blockingForScratch(chosen: ChosenGemmBlocking, threads: number, scratchBytes: number): ChosenGemmBlocking {
  if (chosen.source !== 'probe' || threads * (gemmScratchBytes(chosen) + 64) <= scratchBytes / 2) return chosen;
  return { ...DEFAULT_GEMM_BLOCKING, source: 'default', ...(chosen.probe ? { probe: chosen.probe } : {}) };
}

/** Parses `kc,mc,nc` (OVIS_GEMM_BLOCKING). */
export function parseBlocking(s: string, where = 'OVIS_GEMM_BLOCKING'): GemmBlocking {
  const parts = s.split(',').map((x) => x.trim());
  if (parts.length !== 3 || parts.some((x) => !/^\d+$/.test(x))) {
    throw new InputError(`${where}: expected three integers kc,mc,nc, got '${s}'`, 'e.g. OVIS_GEMM_BLOCKING=256,128,1024');
  }
  const [kc, mc, nc] = parts.map(Number);
  return checkBlocking({ kc, mc, nc }, where);
}

/** OVIS_GEMM_BLOCKING if set and readable (no permission in Deno, no env in browsers: undefined). */
export function envBlocking(): string | undefined {
  const g = globalThis as {
    process?: { env?: Record<string, string | undefined> };
    Deno?: { env?: { get(k: string): string | undefined } };
  };
  try {
    const v = g.Deno?.env ? g.Deno.env.get('OVIS_GEMM_BLOCKING') : g.process?.env?.OVIS_GEMM_BLOCKING;
    return v === undefined || v === '' ? undefined : v;
  } catch {
    return undefined; // Deno without --allow-env
  }
}

/** Time one GEMM with blocking `b`, returning seconds (the backend provides it). */
export type TimeGemm = (b: GemmBlocking) => number;

/**
 * The probe: every candidate timed once, then the three fastest and the default timed
 * `rounds` more times, interleaved (a neighbour's burst hits several candidates, not one);
 * best time per candidate. The default is kept unless the fastest beats it by more than
 * `margin` (3%): on a shared VM a single pass picked a blocking 2% "faster" that the sweep
 * (bench/kernels.mjs --sweep) then measured 1-4% slower. Stops early after `budgetMs`.
 */
export function probeBlocking(time: TimeGemm, flops: number, rounds = 3, margin = 0.03, budgetMs = 800): ChosenGemmBlocking {
  const cands: GemmBlocking[] = [];
  for (const kc of PROBE_KC) for (const nc of PROBE_NC) for (const mc of PROBE_MC) cands.push({ kc, mc, nc });
  const isDef = (b: GemmBlocking) =>
    b.kc === DEFAULT_GEMM_BLOCKING.kc && b.mc === DEFAULT_GEMM_BLOCKING.mc && b.nc === DEFAULT_GEMM_BLOCKING.nc;
  const best = new Array<number>(cands.length).fill(Infinity);
  const t0 = performance.now();
  const within = () => performance.now() - t0 < budgetMs;
  const defIdx = cands.findIndex(isDef);
  best[defIdx] = time(cands[defIdx]);
  cands.forEach((b, i) => {
    if (i !== defIdx && within()) best[i] = time(b);
  });
  const finalists = [
    ...new Set(
      [...cands.keys()]
        .sort((i, j) => best[i] - best[j])
        .slice(0, 3)
        .concat(defIdx),
    ),
  ];
  for (let r = 0; r < rounds && within(); r++) for (const i of finalists) best[i] = Math.min(best[i], time(cands[i]));
  const candidates = cands.map((b, i) => ({ ...b, gflops: flops / best[i] / 1e9 }));
  const def = candidates[defIdx];
  const top = candidates.reduce((a, b) => (b.gflops > a.gflops ? b : a));
  const pick = top.gflops <= def.gflops * (1 + margin) ? def : top;
  return { kc: pick.kc, mc: pick.mc, nc: pick.nc, source: 'probe', probe: { candidates, ms: performance.now() - t0 } };
}

let processChoice: ChosenGemmBlocking | undefined;

/** The process-wide blocking: OVIS_GEMM_BLOCKING, else the probe (run once, via `time`). */
export function processBlocking(time: TimeGemm, flops: number): ChosenGemmBlocking {
  if (processChoice) return processChoice;
  const env = envBlocking();
  processChoice = env !== undefined ? { ...parseBlocking(env), source: 'env' } : probeBlocking(time, flops);
  return processChoice;
}

/** Forget the process-wide choice (tests). */
export function resetProcessBlocking(): void {
  processChoice = undefined;
}

// ---- CPU description (bench/kernels.mjs) ------------------------------------------------

export interface CpuDescription {
  vendor: string;
  model: string;
  /** cpu family / model / stepping as /proc/cpuinfo reports them. */
  family: string;
  modelId: string;
  /** Cache sizes of cpu0 as the OS reports them ("32K", "512K", ...), or 'unknown'. */
  l1d: string;
  l1i: string;
  l2: string;
  l3: string;
}

/** Vendor, model and cache sizes from /proc/cpuinfo and /sys (Linux); 'unknown' where the
 *  runtime has no file access or the OS does not report them (macOS, Windows, browsers). */
export async function describeCpu(): Promise<CpuDescription> {
  const out: CpuDescription = {
    vendor: 'unknown',
    model: 'unknown',
    family: 'unknown',
    modelId: 'unknown',
    l1d: 'unknown',
    l1i: 'unknown',
    l2: 'unknown',
    l3: 'unknown',
  };
  let fs: typeof import('node:fs');
  try {
    fs = await import('node:fs');
  } catch {
    return out;
  }
  const read = (p: string): string | undefined => {
    try {
      return fs.readFileSync(p, 'utf8').trim();
    } catch {
      return undefined;
    }
  };
  const info = read('/proc/cpuinfo');
  if (info) {
    const field = (k: string) => info.match(new RegExp(`^${k}\\s*:\\s*(.*)$`, 'm'))?.[1]?.trim();
    out.vendor = field('vendor_id') ?? field('CPU implementer') ?? 'unknown';
    out.model = field('model name') ?? field('Model') ?? 'unknown';
    out.family = field('cpu family') ?? field('CPU architecture') ?? 'unknown';
    out.modelId = field('model') ?? field('CPU part') ?? 'unknown';
  }
  for (let i = 0; i < 8; i++) {
    const dir = `/sys/devices/system/cpu/cpu0/cache/index${i}`;
    const level = read(`${dir}/level`);
    const type = read(`${dir}/type`);
    const size = read(`${dir}/size`);
    if (!level || !size) continue;
    if (level === '1' && type === 'Data') out.l1d = size;
    else if (level === '1' && type === 'Instruction') out.l1i = size;
    else if (level === '2') out.l2 = size;
    else if (level === '3') out.l3 = size;
  }
  return out;
}
