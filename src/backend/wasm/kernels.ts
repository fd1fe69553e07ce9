// The embedded kernel modules: decode, feature detection, compilation, and instantiation
// against a memory, binding the functions of the kernel table (kernel-table.ts: names and
// typed signatures) to that memory's instances.
//
// Which build is live is decided here, once, and reported as `info` (and in the backend's
// `info()`); tests assert it so a silent fallback can never make them vacuous. There is no
// scalar fallback: an engine without WebAssembly SIMD gets a BackendError, not a slow path.

import { BackendError } from '../../errors.js';
import { EMBEDDED_KERNELS, type KernelGroup, type KernelVariant } from './generated/kernels-wasm.js';
import { KERNEL_GLOBALS, KERNEL_NAMES, KERNELS, type KernelFns, type KernelGlobals } from './kernel-table.js';

export type { KernelGroup, KernelVariant };

export const GROUPS: readonly KernelGroup[] = ['gemm', 'gemv', 'ops'];

/** WebAssembly page size and the wasm32 limit: 65536 pages = 4 GiB per memory. */
export const PAGE = 65536;
export const MAX_PAGES = 65536;

function decodeBase64(b64: string): Uint8Array<ArrayBuffer> {
  // atob exists in Node >= 16, Deno, Bun and browsers; no Buffer, no file access.
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export interface KernelInfo {
  /** The live build: 'simd' (SIMD128, mul+add, the default) or 'relaxed' (relaxed_madd). */
  variant: KernelVariant;
  /** Whether this engine validates the relaxed-SIMD build (Node 20 needs a V8 flag). */
  relaxedAvailable: boolean;
  /** binaryen level of each group and the module sizes. */
  groups: { group: KernelGroup; opt: string; bytes: number; sha256: string }[];
}

export interface CompiledKernels {
  info: KernelInfo;
  bytes: Record<KernelGroup, Uint8Array<ArrayBuffer>>;
  modules: Record<KernelGroup, WebAssembly.Module>;
}

const cache = new Map<KernelVariant, CompiledKernels>();

/** Decode + validate + compile the requested build. `relaxed: true` is honoured only where
 *  the engine validates relaxed SIMD; otherwise it throws (no silent downgrade). */
export function loadKernels(variant: KernelVariant = 'simd'): CompiledKernels {
  const hit = cache.get(variant);
  if (hit) return hit;
  const pick = (v: KernelVariant) =>
    GROUPS.map((g) => {
      const e = EMBEDDED_KERNELS.find((k) => k.variant === v && k.group === g);
      if (!e)
        throw new BackendError(
          `embedded kernels: module '${g}' (${v}) missing`,
          'the build is incomplete: in an ovis-ts clone run `npm run build`; an installed package: reinstall ovis-ts',
        );
      return e;
    });
  const relaxedBytes = pick('relaxed').map((e) => decodeBase64(e.base64));
  const relaxedAvailable = relaxedBytes.every((b) => WebAssembly.validate(b));
  const entries = pick(variant);
  const bytesList = variant === 'relaxed' ? relaxedBytes : entries.map((e) => decodeBase64(e.base64));
  bytesList.forEach((b, i) => {
    if (!WebAssembly.validate(b)) {
      throw new BackendError(
        `kernels: this engine does not validate the '${variant}' build of '${entries[i].group}'`,
        variant === 'relaxed'
          ? 'relaxed SIMD needs Deno/Bun or `node --experimental-wasm-relaxed-simd`; use the default build'
          : 'WebAssembly SIMD128 and threads (shared memory) are required: Node >= 20, Deno, Bun, or a current browser',
      );
    }
  });
  const bytes = {} as Record<KernelGroup, Uint8Array<ArrayBuffer>>;
  const modules = {} as Record<KernelGroup, WebAssembly.Module>;
  GROUPS.forEach((g, i) => {
    bytes[g] = bytesList[i];
    modules[g] = new WebAssembly.Module(bytesList[i]);
  });
  const out: CompiledKernels = {
    info: { variant, relaxedAvailable, groups: entries.map((e) => ({ group: e.group, opt: e.opt, bytes: e.bytes, sha256: e.sha256 })) },
    bytes,
    modules,
  };
  cache.set(variant, out);
  return out;
}

/** Whether the relaxed-SIMD build validates on this engine (without compiling it). */
export function relaxedSimdAvailable(): boolean {
  return EMBEDDED_KERNELS.filter((k) => k.variant === 'relaxed').every((k) => WebAssembly.validate(decodeBase64(k.base64)));
}

/** One memory's kernels: every function of the kernel table, and the constants it lists. */
export interface KernelExports {
  fns: KernelFns;
  globals: KernelGlobals;
}

/** Instantiate all groups against one shared memory (main thread; workers do the same in
 *  pool.ts) and bind the kernel table's functions. A table entry the module does not export
 *  is a BackendError (the embedded build is older than the table). */
export function instantiate(k: CompiledKernels, memory: WebAssembly.Memory): KernelExports {
  const imports = { env: { memory } };
  const ex = {} as Record<KernelGroup, WebAssembly.Exports>;
  for (const g of GROUPS) ex[g] = new WebAssembly.Instance(k.modules[g], imports).exports;
  const missing = (what: string, g: KernelGroup) =>
    new BackendError(
      `kernels: module '${g}' does not export ${what} (listed in kernel-table.ts)`,
      'the embedded kernels are out of date: run `npm run build`',
    );
  const fns = {} as Record<string, unknown>;
  for (const n of KERNEL_NAMES) {
    const f = ex[KERNELS[n].group][n];
    if (typeof f !== 'function') throw missing(`function ${n}`, KERNELS[n].group);
    fns[n] = f;
  }
  const globals = {} as Record<string, number>;
  for (const [n, g] of Object.entries(KERNEL_GLOBALS)) {
    const v = ex[g][n];
    if (!(v instanceof WebAssembly.Global)) throw missing(`global ${n}`, g);
    globals[n] = v.value as number;
  }
  return { fns: fns as KernelFns, globals: globals as KernelGlobals };
}
