// Options shared by the model commands (run, trace, parity) and their parsing.

import type { ParseArgsConfig } from 'node:util';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.js';
import type { BackendName } from '../backend/index.js';

/** The checkpoint `ovis run` uses when no --model is given (committed with the repo). */
export function embeddedCheckpoint(): string {
  // dist/cli/common.js or src/cli/common.ts -> <package root>/reference/fixtures/tiny/llama
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'reference', 'fixtures', 'tiny', 'llama');
}

export const MODEL_OPTIONS = {
  model: { type: 'string' },
  image: { type: 'string', multiple: true },
  prompt: { type: 'string' },
  'max-partition': { type: 'string' },
  'max-new-tokens': { type: 'string' },
  backend: { type: 'string' },
  threads: { type: 'string' },
  kernels: { type: 'string' },
  tokenizer: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

export const MODEL_HELP = `  --model DIR            Ovis1.6 HF checkpoint directory
  --image PATH           an image (PNG or JPEG); repeat for several
  --prompt TEXT          the question; \`<image>\` marks where each image goes (else images come first)
  --max-partition N      at most N crops per image, 1..9 (default 9)
  --max-new-tokens K     tokens to generate
  --backend ts|wasm      readable TypeScript operators or WASM SIMD kernels (default wasm)
  --threads N            worker threads for the wasm backend (default: available cores)
  --kernels simd|relaxed wasm kernel build: SIMD128 mul+add (default, the parity build) or
                         relaxed-SIMD FMA (Deno, Bun, node --experimental-wasm-relaxed-simd)
  --tokenizer PATH       tokenizer.json (default: the checkpoint's)
  -q, --quiet            no progress on stderr
  -h, --help             this help`;

/** Run node:util parseArgs, turning its errors into UsageError (exit code 2) with a hint. */
export function usageErrors<T>(cmd: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw new UsageError((e as Error).message, `see \`ovis ${cmd} --help\``);
  }
}

export function intOption(name: string, v: string | undefined, def: number | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be an integer in [${min}, ${max}], got '${v}'`);
  }
  return n;
}

export function floatOption(name: string, v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`--${name} must be a number in [${min}, ${max}], got '${v}'`);
  return n;
}

export function backendOption(v: string | undefined): BackendName {
  if (v === undefined) return 'wasm';
  if (v !== 'ts' && v !== 'wasm') throw new UsageError(`--backend must be 'ts' or 'wasm', got '${v}'`);
  return v;
}

/** --kernels: only meaningful with the wasm backend. */
export function kernelsOption(v: string | undefined, backend: BackendName): 'simd' | 'relaxed' | undefined {
  if (v === undefined) return undefined;
  if (v !== 'simd' && v !== 'relaxed') throw new UsageError(`--kernels must be 'simd' or 'relaxed', got '${v}'`);
  if (backend !== 'wasm') throw new UsageError(`--kernels ${v} applies to the wasm backend, not '${backend}'`);
  return v;
}

/** Progress printer for stderr, with elapsed seconds. */
export function progress(quiet: boolean | undefined): (msg: string) => void {
  if (quiet) return () => {};
  const t0 = performance.now();
  return (msg) => process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${msg}\n`);
}

